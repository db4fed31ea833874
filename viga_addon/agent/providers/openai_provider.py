"""GPT, or any OpenAI-compatible server (Ollama, vLLM, LM Studio), via Chat Completions."""

from __future__ import annotations

import json
import os
from typing import Any

from ..dependencies import import_problem
from ..errors import BadResponse, ConfigError, MalformedToolCall, TruncatedReply
from ..messages import images_in
from . import models
from .base import Provider
from .images import encode_image
from .keys import is_local_url
from .sdk_errors import OWN_HOSTS, map_sdk_error


class OpenAIProvider(Provider):
    """``client.chat.completions.create`` with function tools (tool_choice "auto", or
    "required" when asked for).

    ``request["reasoning_effort"]`` is sent to the models that take it
    (``models.takes_reasoning_effort``: GPT-5, o-series, gpt-oss) and left out, with a notice,
    for the others. Extra option: ``free`` (None = auto: a local base_url costs nothing).
    The SDK's own retries are off (max_retries=0): ``Provider.complete`` retries.

    Caching is the service's own (an identical prefix of 1,024 tokens or more is read from its
    cache): the session keeps each conversation's prefix stable, and OpenAI's own API gets
    ``prompt_cache_key`` = the request's "conversation" so a conversation's requests meet the
    same cache. Cached tokens are reported as ``cache_read_tokens``, apart from input_tokens.
    A server of another base URL is preflighted (``preflight.py``) with tool_protocol "auto".
    """

    name = "openai"
    MAX_IMAGE_SIDE = 2048  # px: the service fits a larger image into 2048 x 2048 first

    def __init__(
        self,
        model: str,
        api_key: str,
        base_url: str | None = None,
        free: bool | None = None,
        **opts: Any,
    ) -> None:
        super().__init__(model, **opts)
        try:
            import openai
        except ImportError as exc:
            raise ConfigError(import_problem("openai", exc)) from None
        self._sdk = openai
        self._api_key = api_key
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.free = is_local_url(self.base_url) if free is None else bool(free)
        self._client = openai.OpenAI(
            api_key=api_key, base_url=self.base_url, max_retries=0, timeout=self.timeout
        )

    def _send(self, request: dict) -> dict:
        kwargs = {
            "model": self.model,
            "messages": to_openai_messages(
                request.get("system", ""), request["messages"], self.max_image_side
            ),
        }
        # OpenAI's newer models only accept max_completion_tokens (its reasoning models on any
        # URL: Azure, proxies); compatible servers know max_tokens.
        own = self._own_service()
        reasoning = models.openai_reasoning_model(self.model)
        token_key = "max_completion_tokens" if own or reasoning else "max_tokens"
        limit = int(request.get("max_tokens") or models.FALLBACK_MAX_TOKENS)
        kwargs[token_key] = limit
        effort = request.get("reasoning_effort")
        if effort and models.takes_reasoning_effort(self.model):
            kwargs["reasoning_effort"] = str(effort)
        elif effort:
            self.warn_once(
                "effort",
                f"reasoning_effort {effort!r} was not sent: {self.model} is not a reasoning "
                "model that takes it (GPT-5, o-series, gpt-oss).",
            )
        if request.get("tools"):
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t["name"],
                        "description": t.get("description", ""),
                        "parameters": t["parameters"],
                    },
                }
                for t in request["tools"]
            ]
            kwargs["tool_choice"] = self.choice_for(request)
        if own and request.get("conversation"):
            kwargs["prompt_cache_key"] = str(request["conversation"])[:64]
        try:
            completion = self._client.chat.completions.create(
                **kwargs, timeout=self.request_timeout(limit)
            )
        except self._sdk.OpenAIError as exc:
            raise map_sdk_error(exc, self.name, self._sdk, self._api_key, self.base_url) from None
        return from_openai_completion(completion, images_in(request["messages"]), limit)

    def _own_service(self) -> bool:
        return not self.base_url or OWN_HOSTS["openai"] in self.base_url

    def needs_preflight(self) -> bool:
        """Servers other than OpenAI's own may lack tools (many Ollama vision models)."""
        return not self._own_service()


def _image_part(path: str, max_side: int) -> dict:
    media_type, data = encode_image(path, max_side)
    return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{data}"}}


def _user_part(part: dict, max_side: int) -> dict:
    if part["type"] == "text":
        return {"type": "text", "text": part["text"]}
    return _image_part(part["path"], max_side)


def to_openai_messages(
    system: str, messages: list[dict], max_side: int = OpenAIProvider.MAX_IMAGE_SIDE
) -> list[dict]:
    """Neutral messages -> Chat Completions messages.

    Tool results become role "tool" messages (text only); their images, and any other parts of
    the same user turn, follow in one user message.
    """
    out = [{"role": "system", "content": system}] if system else []
    for message in messages:
        if message["role"] == "assistant":
            out.append(_assistant_message(message))
            continue
        trailing = []
        for part in message["content"]:
            if part["type"] != "tool_result":
                trailing.append(_user_part(part, max_side))
                continue
            texts = [p["text"] for p in part["content"] if p["type"] == "text"]
            images = [p for p in part["content"] if p["type"] == "image"]
            body = "\n".join(texts) or "(no text output)"
            if part.get("is_error"):
                body = "ERROR: " + body
            if images:
                body += f"\n({len(images)} image(s) follow in the next user message.)"
                trailing.append(
                    {"type": "text", "text": f"Image(s) returned by tool call {part['id']}:"}
                )
                trailing.extend(_image_part(p["path"], max_side) for p in images)
            out.append({"role": "tool", "tool_call_id": part["id"], "content": body})
        if trailing:
            out.append({"role": "user", "content": trailing})
    return out


def _assistant_message(message: dict) -> dict:
    texts = [p["text"] for p in message["content"] if p["type"] == "text"]
    calls = [
        {
            "id": p["id"],
            "type": "function",
            "function": {"name": p["name"], "arguments": json.dumps(p["arguments"])},
        }
        for p in message["content"]
        if p["type"] == "tool_call"
    ]
    result = {"role": "assistant", "content": "\n".join(texts) or None}
    if calls:
        result["tool_calls"] = calls
    return result


def from_openai_completion(completion: Any, images: int, limit: int = 0) -> dict:
    """SDK ``ChatCompletion`` -> neutral response (no cost yet). TruncatedReply when the reply
    was cut at ``limit`` tokens (finish_reason "length": tool-call JSON is then incomplete);
    MalformedToolCall on bad JSON. Reasoning tokens are part of ``completion_tokens`` (OpenAI
    bills them as output); ``reasoning_tokens`` is their share. A server that reports more
    reasoning tokens than completion tokens counted them apart: then both are output."""
    if not completion.choices:
        raise BadResponse("The server returned a completion without choices.")
    choice = completion.choices[0]
    message = choice.message
    output = int(getattr(completion.usage, "completion_tokens", 0) or 0)
    details = getattr(completion.usage, "completion_tokens_details", None)
    reasoning = int(getattr(details, "reasoning_tokens", 0) or 0)
    prompt = int(getattr(completion.usage, "prompt_tokens", 0) or 0)
    prompt_details = getattr(completion.usage, "prompt_tokens_details", None)
    cached = min(prompt, int(getattr(prompt_details, "cached_tokens", 0) or 0))
    usage = {
        "input_tokens": prompt - cached,  # prompt_tokens counts the cached ones too
        "output_tokens": output + reasoning if reasoning > output else output,
        "cache_write_tokens": 0,
        "cache_read_tokens": cached,
        "images": images,
    }
    if reasoning:
        usage["reasoning_tokens"] = reasoning
    text = message.content or ""
    if choice.finish_reason == "length":
        raise TruncatedReply(
            f"The reply was cut at {limit} output tokens.",
            limit=limit,
            partial={"text": text, "usage": usage},
        )
    calls = []
    for call in message.tool_calls or []:
        function = getattr(call, "function", None)
        if function is None:
            continue  # custom (non-function) tools are never offered
        try:
            arguments = json.loads(function.arguments or "{}")
        except json.JSONDecodeError as exc:
            arguments = exc
        if not isinstance(arguments, dict):
            raise MalformedToolCall(
                f"The arguments of tool call {function.name!r} were not valid JSON "
                f"({str(arguments)[:120]}).",
                partial={"text": text, "usage": usage},
            )
        calls.append({"id": call.id, "name": function.name, "arguments": arguments})
    return {
        "text": text,
        "tool_calls": calls,
        "stop_reason": str(choice.finish_reason or ""),
        "model": str(completion.model or ""),
        "usage": usage,
        "cost_usd": 0.0,
    }
