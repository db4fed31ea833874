"""Claude through the Messages API of the ``anthropic`` SDK (tools, images, tool results,
extended thinking)."""

from __future__ import annotations

from typing import Any

from ..dependencies import import_problem
from ..errors import ConfigError, MalformedToolCall, TruncatedReply
from ..messages import images_in
from . import models
from .base import Provider
from .images import encode_image
from .sdk_errors import map_sdk_error

THINKING_KINDS = ("thinking", "redacted_thinking")
EPHEMERAL = {"type": "ephemeral"}
MAX_BREAKPOINTS = 4  # the API refuses more cache_control blocks than this
_REMEMBERED_CALLS = 256  # tool calls whose thinking blocks are kept for the next requests


class AnthropicProvider(Provider):
    """``client.messages.create`` with tools (tool_choice "auto" unless "required" is asked
    for: then {"type": "any"}) and base64 images.

    With ``request["thinking"]`` (a budget in tokens) Claude thinks before it answers
    (``models.claude_thinking`` picks the form); tool choice is then always "auto", the only
    one the API takes with thinking. The thinking blocks of a reply are kept, by the ids of its
    tool calls, and sent back before those calls in later requests, as the API requires for
    the last assistant turn of a tool loop; a conversation whose last tool call's blocks are
    not known here (a resumed run: they live only in this process) is sent without thinking.

    Prompt caching (``cache=True``, the default): ``cache_control`` breakpoints after the
    system prompt (tools included), the photo, the first user message (the photo, the scene
    graph, scene info) and the newest turn, so each request reads the conversation so far from
    the cache and writes only its new turn (see ``add_breakpoints``). The session keeps each
    conversation append-only.

    The SDK's own retries are off (max_retries=0): ``Provider.complete`` retries, so that
    backoff is testable and Cancel can interrupt it.
    """

    name = "anthropic"
    MAX_IMAGE_SIDE = 1568  # px: Claude scales a larger image down to this long side

    def __init__(
        self,
        model: str,
        api_key: str,
        base_url: str | None = None,
        cache: bool = True,
        **opts: Any,
    ) -> None:
        super().__init__(model, **opts)
        self.cache = bool(cache)
        try:
            import anthropic
        except ImportError as exc:
            raise ConfigError(import_problem("anthropic", exc)) from None
        self._sdk = anthropic
        self._api_key = api_key
        self.base_url = base_url
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=self.timeout
        )
        self._thinking_blocks: dict[str, list[dict]] = {}  # tool-call id -> its reply's blocks

    def _send(self, request: dict) -> dict:
        limit = int(request.get("max_tokens") or models.FALLBACK_MAX_TOKENS)
        messages = to_anthropic_messages(
            request["messages"], self._thinking_blocks, max_side=self.max_image_side
        )
        kwargs: dict[str, Any] = {"model": self.model, "max_tokens": limit, "messages": messages}
        if request.get("system"):
            kwargs["system"] = [{"type": "text", "text": request["system"]}]
        thinking = self._thinking(request, limit, messages)
        if thinking:
            kwargs["thinking"] = thinking
        if request.get("tools"):
            kwargs["tools"] = [
                {
                    "name": t["name"],
                    "description": t.get("description", ""),
                    "input_schema": t["parameters"],
                }
                for t in request["tools"]
            ]
            kwargs["tool_choice"] = {"type": self._tool_choice(request, thinking)}
        if self.cache:
            add_breakpoints(kwargs)
        try:
            message = self._client.messages.create(**kwargs, timeout=self.request_timeout(limit))
        except self._sdk.AnthropicError as exc:
            raise map_sdk_error(exc, self.name, self._sdk, self._api_key, self.base_url) from None
        response = from_anthropic_message(message, images_in(request["messages"]), limit)
        self._remember_thinking(message)
        return response

    def _tool_choice(self, request: dict, thinking: dict | None) -> str:
        choice = self.choice_for(request)
        if choice == "required" and thinking:
            self.warn_once(
                "choice",
                "Claude takes only tool choice auto with thinking on: the model may answer in "
                "text, and is asked again for a tool call when it does.",
            )
            return "auto"
        return "any" if choice == "required" else "auto"

    def _thinking(self, request: dict, limit: int, messages: list[dict]) -> dict | None:
        budget = int(request.get("thinking") or 0)
        if budget <= 0:
            return None
        thinking = models.claude_thinking(self.model, budget, limit)
        if thinking is None:
            self.warn_once(
                "thinking",
                f"Thinking was not sent: {self.model} has no extended thinking, or "
                f"max_tokens {limit} leaves no room for a budget of at least "
                f"{models.MIN_THINKING} tokens and an answer.",
            )
            return None
        last = next((m for m in reversed(messages) if m["role"] == "assistant"), None)
        if last is not None:
            kinds = [b.get("type") for b in last["content"]]
            if "tool_use" in kinds and kinds[0] not in THINKING_KINDS:
                self.warn_once(
                    "unknown_blocks",
                    "This request goes without thinking: the thinking of the model's last "
                    "tool call is not known here (a resumed run), and the API needs it back.",
                )
                return None
        return thinking

    def _remember_thinking(self, message: Any) -> None:
        blocks = [thinking_block(b) for b in message.content if b.type in THINKING_KINDS]
        calls = [b.id for b in message.content if b.type == "tool_use"]
        if not blocks or not calls:
            return
        for call_id in calls:
            self._thinking_blocks[call_id] = blocks
        while len(self._thinking_blocks) > _REMEMBERED_CALLS:
            self._thinking_blocks.pop(next(iter(self._thinking_blocks)))


def add_breakpoints(kwargs: dict) -> int:
    """Mark ``cache_control`` on the system prompt (the tools before it included; the last
    tool when there is no system prompt), the photo (the first image of the first message),
    the last block of the first message and the last block of the newest message (at most
    MAX_BREAKPOINTS); returns how many.

    A cache hit needs an identical prefix up to a breakpoint: tools and system are read by
    every request of the stage and role, the photo by every conversation of them (a new
    round's first message differs after it), the pinned first message by every request of
    its conversation, and the newest turn's mark lets the next request read all of this one.
    """
    marks: list[dict] = []
    if kwargs.get("system"):
        marks.append(kwargs["system"][-1])
    elif kwargs.get("tools"):
        marks.append(kwargs["tools"][-1])
    messages = kwargs.get("messages") or []
    if messages:
        first = messages[0].get("content") or []
        photo = next((b for b in first if isinstance(b, dict) and b.get("type") == "image"), None)
        if photo is not None and photo is not _cacheable_block(messages[0]):
            marks.append(photo)
    for index in dict.fromkeys((0, len(messages) - 1)) if messages else ():
        block = _cacheable_block(messages[index])
        if block is not None:
            marks.append(block)
    for block in marks[:MAX_BREAKPOINTS]:
        block["cache_control"] = dict(EPHEMERAL)
    return min(len(marks), MAX_BREAKPOINTS)


def _cacheable_block(message: dict) -> dict | None:
    """The last block of ``message`` that may carry cache_control (not a thinking block)."""
    for block in reversed(message.get("content") or []):
        if isinstance(block, dict) and block.get("type") not in THINKING_KINDS:
            return block
    return None


def thinking_block(block: Any) -> dict:
    """A thinking or redacted_thinking block of a reply, as the API takes it back."""
    if block.type == "redacted_thinking":
        return {"type": "redacted_thinking", "data": block.data}
    return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}


def _image_block(path: str, max_side: int) -> dict:
    media_type, data = encode_image(path, max_side)
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _content_block(part: dict, max_side: int = AnthropicProvider.MAX_IMAGE_SIDE) -> dict:
    if part["type"] == "text":
        return {"type": "text", "text": part["text"]}
    if part["type"] == "image":
        return _image_block(part["path"], max_side)
    raise ValueError(f"Unexpected part type {part['type']!r} here")


def to_anthropic_messages(
    messages: list[dict],
    thinking: dict[str, list[dict]] | None = None,
    max_side: int = AnthropicProvider.MAX_IMAGE_SIDE,
) -> list[dict]:
    """Neutral messages -> Messages API ``messages`` (tool results first in a user turn).

    ``thinking`` maps tool-call ids to the thinking blocks of the reply that made them: an
    assistant turn with such a call starts with those blocks, unchanged, as the API wants.
    """
    out = []
    for message in messages:
        blocks, results = [], []
        known = [
            thinking[p["id"]]
            for p in message["content"]
            if thinking and p["type"] == "tool_call" and p["id"] in thinking
        ]
        if known and message["role"] == "assistant":
            blocks.extend(known[0])
        for part in message["content"]:
            kind = part["type"]
            if kind == "tool_call":
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": part["id"],
                        "name": part["name"],
                        "input": part["arguments"],
                    }
                )
            elif kind == "tool_result":
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": part["id"],
                        "content": [_content_block(p, max_side) for p in part["content"]],
                        "is_error": bool(part.get("is_error")),
                    }
                )
            elif kind == "text" and not part["text"]:
                continue  # the API rejects empty text blocks
            else:
                blocks.append(_content_block(part, max_side))
        content = results + blocks
        if content:
            out.append({"role": message["role"], "content": content})
    return out


def from_anthropic_message(message: Any, images: int, limit: int = 0) -> dict:
    """SDK ``Message`` -> neutral response (no cost yet). TruncatedReply when the reply was cut
    at ``limit`` output tokens (tool calls in it may be incomplete); MalformedToolCall when a
    tool call's input is not an object. Thinking tokens are in ``output_tokens`` (billed so);
    ``reasoning_tokens`` is their share, where the API reports it."""
    texts, calls = [], []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            calls.append({"id": block.id, "name": block.name, "arguments": block.input})
    usage = {
        "input_tokens": int(getattr(message.usage, "input_tokens", 0) or 0),
        "output_tokens": int(getattr(message.usage, "output_tokens", 0) or 0),
        "cache_write_tokens": int(getattr(message.usage, "cache_creation_input_tokens", 0) or 0),
        "cache_read_tokens": int(getattr(message.usage, "cache_read_input_tokens", 0) or 0),
        "images": images,
    }
    details = getattr(message.usage, "output_tokens_details", None)
    thinking_tokens = int(getattr(details, "thinking_tokens", 0) or 0)
    if thinking_tokens:
        usage["reasoning_tokens"] = thinking_tokens
    text = "\n".join(texts)
    if message.stop_reason == "max_tokens":
        raise TruncatedReply(
            f"The reply was cut at {limit} output tokens.",
            limit=limit,
            partial={"text": text, "usage": usage},
        )
    bad = [c for c in calls if not isinstance(c["arguments"], dict)]
    if bad:
        raise MalformedToolCall(
            f"The arguments of tool call {bad[0]['name']!r} were not a JSON object.",
            partial={"text": text, "usage": usage},
        )
    return {
        "text": text,
        "tool_calls": calls,
        "stop_reason": str(message.stop_reason or ""),
        "model": str(message.model or ""),
        "usage": usage,
        "cost_usd": 0.0,
    }
