"""Claude through the Messages API of the ``anthropic`` SDK (tools, images, tool results)."""

from __future__ import annotations

from typing import Any

from ..messages import images_in
from .base import Provider
from .errors import ConfigError, MalformedToolCall
from .images import encode_image
from .sdk_errors import map_sdk_error


class AnthropicProvider(Provider):
    """``client.messages.create`` with tools (tool_choice "any") and base64 images.

    The SDK's own retries are off (max_retries=0): ``Provider.complete`` retries, so that
    backoff is testable and Cancel can interrupt it.
    """

    name = "anthropic"

    def __init__(self, model: str, api_key: str, base_url: str | None = None, **opts: Any) -> None:
        super().__init__(model, **opts)
        try:
            import anthropic
        except ImportError as exc:
            raise ConfigError(f"The anthropic package is not installed: {exc}") from None
        self._sdk = anthropic
        self._api_key = api_key
        self.base_url = base_url
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=self.timeout
        )

    def _send(self, request: dict) -> dict:
        kwargs = {
            "model": self.model,
            "max_tokens": int(request.get("max_tokens") or 4096),
            "messages": to_anthropic_messages(request["messages"]),
        }
        if request.get("system"):
            kwargs["system"] = request["system"]
        if request.get("tools"):
            kwargs["tools"] = [
                {
                    "name": t["name"],
                    "description": t.get("description", ""),
                    "input_schema": t["parameters"],
                }
                for t in request["tools"]
            ]
            kwargs["tool_choice"] = {"type": "any"}
        try:
            message = self._client.messages.create(**kwargs)
        except self._sdk.AnthropicError as exc:
            raise map_sdk_error(exc, self.name, self._sdk, self._api_key) from None
        return from_anthropic_message(message, images_in(request["messages"]))


def _image_block(path: str) -> dict:
    media_type, data = encode_image(path)
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _content_block(part: dict) -> dict:
    if part["type"] == "text":
        return {"type": "text", "text": part["text"]}
    if part["type"] == "image":
        return _image_block(part["path"])
    raise ValueError(f"Unexpected part type {part['type']!r} here")


def to_anthropic_messages(messages: list[dict]) -> list[dict]:
    """Neutral messages -> Messages API ``messages`` (tool results first in a user turn)."""
    out = []
    for message in messages:
        blocks, results = [], []
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
                        "content": [_content_block(p) for p in part["content"]],
                        "is_error": bool(part.get("is_error")),
                    }
                )
            elif kind == "text" and not part["text"]:
                continue  # the API rejects empty text blocks
            else:
                blocks.append(_content_block(part))
        content = results + blocks
        if content:
            out.append({"role": message["role"], "content": content})
    return out


def from_anthropic_message(message: Any, images: int) -> dict:
    """SDK ``Message`` -> neutral response (no cost yet)."""
    texts, calls = [], []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            calls.append({"id": block.id, "name": block.name, "arguments": block.input})
    usage = {
        "input_tokens": int(getattr(message.usage, "input_tokens", 0) or 0),
        "output_tokens": int(getattr(message.usage, "output_tokens", 0) or 0),
        "images": images,
    }
    text = "\n".join(texts)
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
