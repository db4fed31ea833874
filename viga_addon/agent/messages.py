"""Provider-neutral chat messages, as plain JSON-ready dicts.

Message   {"role": "user" | "assistant", "content": [Part, ...]}
Part      {"type": "text", "text": str}
          {"type": "image", "path": str}        a PNG/JPEG on disk; providers load, cap and encode it
          {"type": "tool_call", "id": str, "name": str, "arguments": dict}       (assistant only)
          {"type": "tool_result", "id": str, "content": [text/image parts], "is_error": bool}
                                                                                    (user only)
Tool      {"name": str, "description": str, "parameters": <JSON schema of an object>}
Request   {"system": str, "messages": [Message], "tools": [Tool], "max_tokens": int,
           "meta": {"stage": str, "role": "generator" | "verifier", "round": int, "turn": int},
           "conversation": str (a cache key per conversation; OpenAI's prompt_cache_key)}
Response  {"text": str, "tool_calls": [{"id", "name", "arguments"}], "stop_reason": str,
           "model": str, "usage": {"input_tokens": int (uncached), "cache_write_tokens": int,
           "cache_read_tokens": int, "output_tokens": int, "images": int}, "cost_usd": float,
           "protocol": "native" | "text" (how the tools went: providers/text_protocol.py)}
"""

from __future__ import annotations

MAX_IMAGE_SIDE = 768


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def image(path: str) -> dict:
    return {"type": "image", "path": str(path)}


def user(*parts: dict) -> dict:
    return {"role": "user", "content": list(parts)}


def tool_result(call_id: str, parts: list[dict], is_error: bool = False) -> dict:
    return {"type": "tool_result", "id": call_id, "content": parts, "is_error": is_error}


def tool(name: str, description: str, properties: dict, required: list[str] | None = None) -> dict:
    return {
        "name": name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": list(required or []),
        },
    }


def images_in(messages: list[dict]) -> int:
    """Count image parts, including those nested in tool results."""
    count = 0
    for message in messages:
        for part in message["content"]:
            if part["type"] == "image":
                count += 1
            elif part["type"] == "tool_result":
                count += sum(1 for p in part["content"] if p["type"] == "image")
    return count
