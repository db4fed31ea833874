"""Tool calls in plain text, for servers whose models take no native tools (HTTP 400 "… does
not support tools", as many vision models on Ollama answer).

The same tools, described in the system prompt; the model answers each turn with exactly one
fenced block::

    ```json
    {"tool": "execute_code", "arguments": {"code": "...", "intent": "..."}}
    ```

``as_text_request`` turns a neutral request (messages.py) into one without tools: the tool
specs and the protocol go into the system prompt, earlier tool calls become such blocks in the
assistant's text, tool results become user text (their images follow as images).
``parse_reply`` reads the first ```json fence, else the first bare JSON object, of a reply into
one tool call; a reply without a valid call raises MalformedToolCall (``Provider.complete``
then asks again with ``NUDGE``). Standard library only.
"""

from __future__ import annotations

import json
import re
import uuid

from ..errors import MalformedToolCall

PROTOCOL = (
    "How to call a tool: this server takes no native tool calls, so you call tools in text. "
    "End every reply with exactly one fenced block, and nothing after it:\n"
    "```json\n"
    '{"tool": "TOOL_NAME", "arguments": {...}}\n'
    "```\n"
    "You may think in text before the block. One tool call per reply; its result comes back "
    "in the next user message. The arguments follow the tool's JSON schema below. The tools:"
)

NUDGE = (
    "Your reply had no valid tool call. Answer with exactly one fenced block "
    '```json {"tool": NAME, "arguments": {...}}``` that calls one of the tools listed in the '
    "system prompt."
)

_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n?(.*?)```", re.S)


def tools_text(tools: list[dict]) -> str:
    """The tools as the system prompt lists them: name, description, argument schema."""
    lines = []
    for tool in tools:
        schema = json.dumps(tool.get("parameters") or {"type": "object"}, separators=(",", ":"))
        lines.append(f"- {tool['name']}: {tool.get('description', '').strip()}")
        lines.append(f"  arguments schema: {schema}")
    return "\n".join(lines)


def call_block(name: str, arguments: dict) -> str:
    """A tool call as the protocol writes it."""
    return "```json\n" + json.dumps({"tool": name, "arguments": arguments}) + "\n```"


def as_text_request(request: dict) -> dict:
    """``request`` without tools: the protocol and the tools in the system prompt, tool calls
    and results as text. The input is not changed."""
    tools = request.get("tools") or []
    out = {k: v for k, v in request.items() if k not in ("tools", "tool_choice")}
    system = request.get("system") or ""
    if tools:
        system = f"{system}\n\n{PROTOCOL}\n{tools_text(tools)}".strip()
    out["system"] = system
    out["messages"] = to_text_messages(request.get("messages") or [])
    return out


def to_text_messages(messages: list[dict]) -> list[dict]:
    """Neutral messages with tool_call / tool_result parts rewritten as text (and images)."""
    names: dict[str, str] = {}
    out = []
    for message in messages:
        content = []
        for part in message["content"]:
            kind = part["type"]
            if kind == "tool_call":
                names[part["id"]] = part["name"]
                content.append(
                    {"type": "text", "text": call_block(part["name"], part["arguments"])}
                )
            elif kind == "tool_result":
                name = names.get(part["id"], "the tool")
                head = "ERROR from" if part.get("is_error") else "Result of"
                content.append({"type": "text", "text": f"{head} {name}:"})
                for inner in part["content"]:
                    content.append(dict(inner))
            else:
                content.append(dict(part))
        if content:
            out.append({"role": message["role"], "content": content})
    return out


def parse_reply(text: str, tool_names: list[str] | set[str] | None = None) -> dict:
    """The one tool call in ``text``: {"id", "name", "arguments"}. MalformedToolCall when there
    is none, it is not an object with "tool" and "arguments", or names an unknown tool."""
    return split_reply(text, tool_names)[1]


def split_reply(text: str, tool_names: list[str] | set[str] | None = None) -> tuple[str, dict]:
    """(the reply's prose without the call, the call) — see ``parse_reply``."""
    found, start, end = _first_object(text or "")
    prose = ((text or "")[:start] + (text or "")[end:]).strip()
    if found is None:
        raise MalformedToolCall(
            "The reply held no JSON tool call.", partial={"text": text or "", "usage": {}}
        )
    name = found.get("tool") or found.get("name")
    arguments = found.get("arguments", found.get("args", found.get("parameters", {})))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            pass
    if not isinstance(name, str) or not isinstance(arguments, dict):
        raise MalformedToolCall(
            'The JSON block must be {"tool": NAME, "arguments": {...}} with an object of '
            "arguments.",
            partial={"text": text, "usage": {}},
        )
    if tool_names is not None and name not in tool_names:
        raise MalformedToolCall(
            f"Unknown tool {name!r}; the tools are {', '.join(sorted(tool_names))}.",
            partial={"text": text, "usage": {}},
        )
    return prose, {"id": f"text_{uuid.uuid4().hex[:10]}", "name": name, "arguments": arguments}


def _first_object(text: str) -> tuple[dict | None, int, int]:
    """The first fenced JSON object, else the first bare one, in ``text``, with its span
    ((None, 0, 0) when there is none)."""
    decoder = json.JSONDecoder()
    for fence in _FENCE.finditer(text):
        body = fence.group(1).strip()
        try:
            value = json.loads(body)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value, fence.start(), fence.end()
    for match in re.finditer(r"\{", text):
        try:
            value, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and ("tool" in value or "name" in value):
            return value, match.start(), end
    return None, 0, 0
