"""The provider interface, and the retry / re-ask loop and cost shared by all providers.

A provider turns one neutral request (see ``messages.py``) into one neutral response. Subclasses
implement ``_send(request) -> response`` (exactly one HTTP call, SDK errors mapped by
``sdk_errors.map_sdk_error``); ``Provider.complete`` adds retries with backoff, re-asks when no
tool was called, a second ask with more room when a reply was cut at its output-token limit,
usage totals and cost. Errors are errors.py's; building a provider by name is registry.py's.
This module imports no concrete provider.

Besides the fields of ``messages.py``, a request may carry (all optional):
    "tool_choice"       "auto" (default: the model may write text, then call a tool) or
                        "required" (it must call one; for servers that answer better forced)
    "thinking"          Claude's thinking budget in tokens (0 or absent: off); see models.py
    "reasoning_effort"  "low" | "medium" | "high" for models that take it (GPT-5, o-series)
"max_tokens" is the output-token limit of a reply, thinking and reasoning tokens included, as
both services count it; it is capped at the model's own ceiling (models.py).
"""

from __future__ import annotations

import copy
import logging
import os
import random
import threading

from .. import cost as cost_module
from ..errors import (
    BadResponse,
    Cancelled,
    ConfigError,
    InvalidRequest,
    MalformedToolCall,
    ProviderError,
    ToolsUnsupported,
    TruncatedReply,
)
from . import models, text_protocol
from .catalog import DEFAULT_MODELS, KEY_ENV_VARS, PROVIDER_LABELS
from .keys import is_local_url
from .sdk_errors import party

# Re-exported for modules outside agent/ that still import them from here (ui.live,
# preferences, operators/pump); new code imports them from the package.
__all__ = [
    "DEFAULT_MODELS",
    "KEY_ENV_VARS",
    "NUDGE_NO_TOOL",
    "PROVIDER_LABELS",
    "Provider",
    "ProviderError",
    "empty_usage",
    "is_local_url",
    "normal_tool_choice",
]

log = logging.getLogger("viga.providers")

NUDGE_NO_TOOL = (
    "Call one of the tools to act; a reply without a tool call does nothing. You may think in "
    "text first, but end your reply with a tool call: as the verifier, put your judgement in "
    "submit_verdict's `analysis` field; as the generator, say what your code is for in "
    "execute_code's `intent` field."
)

TOOL_CHOICES = ("auto", "required")
#: how tools reach the model: "native" (the API's own tool calls), "text" (text_protocol.py),
#: "auto" (native; text once a preflight or a refusal says the server takes no tools)
TOOL_PROTOCOLS = ("auto", "native", "text")
#: the output-token limit the provider's ``timeout`` is meant for; larger limits scale it
TIMEOUT_TOKENS = 4096
DEFAULT_TIMEOUT = 120.0  # seconds for a reply of up to TIMEOUT_TOKENS


#: token counts of a usage dict; ``input_tokens`` is the uncached input, the cache counts apart
USAGE_KEYS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")


def empty_usage() -> dict:
    """Token and image counts of no request."""
    return {**dict.fromkeys(USAGE_KEYS, 0), "images": 0}


class Provider:
    """One model behind one API. ``complete(request) -> response`` (formats in messages.py).

    Options (keyword arguments, all optional):
      max_retries  retries after a rate limit, 5xx/529, timeout or dropped connection (4)
      base_delay   first backoff in seconds, doubled each retry, with jitter (1.0)
      max_delay    cap of one backoff and of an honoured retry-after (60.0)
      reask        times a reply without a (valid) tool call is re-asked when tools exist (2)
      timeout      seconds for one HTTP request, as given; by default 120 s for up to 4,096
                   output tokens, proportionally longer for a larger limit (16,384: 480 s)
      prices       price table dict or JSON path (defaults: cost.load_price_table())
      tool_choice  "auto" | "required": overrides the request's (None: the request's, else
                   "auto"); "required" is for servers whose models only call tools when forced
      tool_protocol  "auto" (default) | "native" | "text": see TOOL_PROTOCOLS
    """

    name = "base"
    MAX_IMAGE_SIDE = 768  # px: a provider sets the limit its service scales images down to

    def __init__(
        self,
        model: str,
        *,
        max_retries: int = 4,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        reask: int = 2,
        timeout: float | None = None,
        prices: dict | str | os.PathLike | None = None,
        tool_choice: str | None = None,
        max_image_side: int | None = None,
        tool_protocol: str = "auto",
    ) -> None:
        if tool_choice is not None and normal_tool_choice(tool_choice) is None:
            raise ConfigError(
                f"tool_choice must be one of {', '.join(TOOL_CHOICES)}, not {tool_choice!r}"
            )
        if tool_protocol not in TOOL_PROTOCOLS:
            raise ConfigError(
                f"tool_protocol must be one of {', '.join(TOOL_PROTOCOLS)}, not {tool_protocol!r}"
            )
        self.tool_protocol = tool_protocol
        self.protocol = "text" if tool_protocol == "text" else "native"
        # the preflight runs once, before the first request with tools, in "auto" only
        self._preflight_done = tool_protocol != "auto"
        self.model = model
        self.tool_choice = normal_tool_choice(tool_choice) if tool_choice else None
        # long side images are sent at, at most: the service's own limit unless asked for less
        self.max_image_side = int(max_image_side or self.MAX_IMAGE_SIDE)
        self.max_retries = int(max_retries)
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.reask = int(reask)
        # an explicit timeout is one request's limit as given; the default grows with the reply
        self._timeout_given = timeout is not None
        self.timeout = float(DEFAULT_TIMEOUT if timeout is None else timeout)
        try:
            self.prices = cost_module.load_price_table(prices)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.free = False  # True for local servers: cost is 0
        self._cancel = threading.Event()
        self.stats = {"retries": 0, "reasks": 0, "cuts": 0}
        self._learned_cap: int | None = None  # a ceiling a service named when it refused one
        self._warned: set[str] = set()

    # -- to implement -------------------------------------------------------------------------
    def _send(self, request: dict) -> dict:
        """One call to the service. Returns a response without cost; raises ProviderError."""
        raise NotImplementedError

    # -- public -------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop waiting between retries (an HTTP call in flight is not interrupted)."""
        self._cancel.set()

    def complete(self, request: dict) -> dict:
        """Send the request; retry transient failures, re-ask when no tool is called, ask once
        more with a larger output limit when a reply was cut at it. With ``tool_protocol``
        "auto" the first request with tools is preceded by a preflight (``preflight.py``) where
        the provider needs one, and a server that refuses tools gets the text protocol."""
        self._cancel.clear()
        request = copy.deepcopy(request)
        request["max_tokens"] = self.first_limit(request.get("max_tokens"))
        wants_tool = bool(request.get("tools"))
        names = {t["name"] for t in request.get("tools") or []}
        total = empty_usage()
        if wants_tool and not self._preflight_done:
            from .preflight import preflight

            for usage in preflight(self)[1]:
                _add_usage(total, usage)
            self._preflight_done = True
        text = wants_tool and self.protocol == "text"
        if text:
            request = text_protocol.as_text_request(request)
        raised = [False]  # the limit was raised once already in this call
        for ask in range(self.reask + 1):
            try:
                try:
                    response = self._ask(request, total, raised, names if text else None)
                except ToolsUnsupported:
                    if text or self.tool_protocol != "auto":
                        raise
                    self.use_text_protocol()
                    text = True
                    request = text_protocol.as_text_request(request)
                    response = self._ask(request, total, raised, names)
            except MalformedToolCall as exc:
                _add_usage(total, exc.partial.get("usage"))
                if ask == self.reask:
                    raise BadResponse(
                        f"{exc} (still malformed after {self.reask} re-asks)"
                    ) from None
                nudge = text_protocol.NUDGE if text else NUDGE_NO_TOOL
                self._nudge(request, exc.partial.get("text", ""), f"{exc} {nudge}")
                continue
            _add_usage(total, response.get("usage"))
            if response["tool_calls"] or not wants_tool:
                response["usage"] = total
                response["cost_usd"] = self.cost(total)
                response["protocol"] = "text" if text else "native"
                return response
            if ask == self.reask:
                break
            self._nudge(request, response.get("text", ""), NUDGE_NO_TOOL)
        raise BadResponse(
            f"The model ({self.model}) answered without calling a tool, "
            f"{self.reask + 1} times in a row. Try again or choose a model with tool use."
        )

    def use_text_protocol(self) -> None:
        """From now on, tools go as text (the server refused native ones)."""
        if self.protocol != "text":
            self.protocol = "text"
            self.warn_once(
                "text_protocol",
                f"{self.party()} takes no tools: the model calls them in text from now on "
                "(one fenced json block per reply).",
            )

    def needs_preflight(self) -> bool:
        """True when this provider's server may lack tools or images (set by subclasses)."""
        return False

    def party(self) -> str:
        """Who answers, for messages: the service's name, or "the server at URL"."""
        return party(self.name, getattr(self, "base_url", None))

    def _ask(self, request: dict, total: dict, raised: list[bool], names: set[str] | None) -> dict:
        """One uncut reply; with ``names`` (the text protocol) its one tool call is read from
        its text (MalformedToolCall, with the reply's usage, when there is none)."""
        response = self._send_uncut(request, total, raised)
        if names is None:
            return response
        try:
            prose, call = text_protocol.split_reply(response.get("text", ""), names)
        except MalformedToolCall as exc:
            exc.partial = {"text": response.get("text", ""), "usage": response.get("usage")}
            raise
        response["text"] = prose  # the call is kept as a tool call, not twice
        response["tool_calls"] = [call]
        return response

    def first_limit(self, requested: int | None) -> int:
        """The output-token limit to send: the request's, at most the model's ceiling."""
        limit = int(requested or models.FALLBACK_MAX_TOKENS)
        for cap in (self.output_cap(), self._learned_cap):
            if cap:
                limit = min(limit, cap)
        return limit

    def output_cap(self) -> int | None:
        """The most output tokens one reply of this model may have (None: not known)."""
        return models.output_cap(self.model)

    def request_timeout(self, max_tokens: int) -> float:
        """Seconds to wait for a reply of up to ``max_tokens`` tokens: the ``timeout`` given, or
        the default (120 s for 4,096 tokens) grown with the limit — a long reply is not a dead
        connection."""
        if self._timeout_given:
            return self.timeout
        return self.timeout * max(1.0, int(max_tokens) / TIMEOUT_TOKENS)

    def choice_for(self, request: dict) -> str:
        """The tool choice of this request: the provider's option, else the request's, else
        "auto"; "auto" or "required"."""
        return self.tool_choice or normal_tool_choice(request.get("tool_choice")) or "auto"

    def cost(self, usage: dict) -> float:
        """USD for ``usage`` at this model's price (0 for a free, local server)."""
        if self.free:
            return 0.0
        return cost_module.estimate_cost(self.model, usage, self.prices)

    # -- helpers ------------------------------------------------------------------------------
    def _send_with_retries(self, request: dict) -> dict:
        attempt = 0
        while True:
            if self._cancel.is_set():
                raise Cancelled("Cancelled.")
            try:
                return self._send(request)
            except ProviderError as exc:
                if not exc.retryable or attempt >= self.max_retries:
                    if exc.retryable and self.max_retries:
                        raise type(exc)(f"{exc} Gave up after {attempt + 1} attempts.") from None
                    raise
                delay = self._backoff(attempt, getattr(exc, "retry_after", None))
                attempt += 1
                self.stats["retries"] += 1
                log.warning("%s Retry %d/%d in %.1f s.", exc, attempt, self.max_retries, delay)
                self._sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        delay = min(self.max_delay, self.base_delay * (2**attempt))
        return delay * (0.5 + random.random() / 2)  # jitter spreads retries of parallel clients

    def _sleep(self, seconds: float) -> None:
        if self._cancel.wait(seconds):
            raise Cancelled("Cancelled.")

    def _send_uncut(self, request: dict, total: dict, raised: list[bool]) -> dict:
        """One reply that was not cut: a cut one is asked again once with a larger limit (the
        cut reply's usage still counts); cut again, or no more room: TruncatedReply."""
        try:
            return self._send_within_cap(request)
        except TruncatedReply as exc:
            _add_usage(total, exc.partial.get("usage"))
            cut_at = int(request["max_tokens"])
            larger = None if raised[0] else models.larger_limit(cut_at, self._ceiling())
            if larger is None:
                raise self._cut_error(cut_at) from None
        log.warning("The reply was cut at %d output tokens; asking again with %d.", cut_at, larger)
        self.stats["cuts"] += 1
        raised[0] = True
        request["max_tokens"] = larger
        try:
            return self._send_within_cap(request)
        except TruncatedReply as again:
            _add_usage(total, again.partial.get("usage"))
            raise self._cut_error(int(request["max_tokens"])) from None

    def _send_within_cap(self, request: dict) -> dict:
        """``_send_with_retries``; a refusal that names the most output tokens allowed (the
        model's ceiling, or what its context has left) is sent again once within it."""
        try:
            return self._send_with_retries(request)
        except InvalidRequest as exc:
            cap = models.cap_from_error(str(exc))
            if cap is None or cap >= int(request["max_tokens"]) or cap < models.MIN_THINKING:
                raise
        log.warning(
            "%s refused %d output tokens for %s; asking with %d.",
            self.name,
            request["max_tokens"],
            self.model,
            cap,
        )
        self._learned_cap = cap
        request["max_tokens"] = cap
        return self._send_with_retries(request)

    def _ceiling(self) -> int | None:
        caps = [c for c in (self.output_cap(), self._learned_cap) if c]
        return min(caps) if caps else None

    def _cut_error(self, limit: int) -> TruncatedReply:
        if limit >= (self._ceiling() or models.UNKNOWN_CEILING):
            return TruncatedReply(
                f"The reply was cut at {limit} output tokens, the most {self.model} writes in "
                "one reply; lower --thinking or --reasoning-effort, or choose another model.",
                limit=limit,
            )
        return TruncatedReply(
            f"The reply was cut at {limit} output tokens, also when asked again with that "
            "larger limit; raise --max-tokens (in Blender: Preferences › Add-ons › VIGA › Max "
            "output tokens).",
            limit=limit,
        )

    def warn_once(self, key: str, message: str) -> None:
        """Log ``message`` (a notice the artist sees) the first time ``key`` comes up."""
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", message)

    def _nudge(self, request: dict, assistant_text: str, nudge: str) -> None:
        self.stats["reasks"] += 1
        messages = request["messages"]
        if assistant_text.strip():
            messages.append(
                {"role": "assistant", "content": [{"type": "text", "text": assistant_text}]}
            )
            messages.append({"role": "user", "content": [{"type": "text", "text": nudge}]})
        elif messages and messages[-1]["role"] == "user":
            messages[-1]["content"].append({"type": "text", "text": nudge})
        else:
            messages.append({"role": "user", "content": [{"type": "text", "text": nudge}]})


def normal_tool_choice(value: str | None) -> str | None:
    """ "auto" or "required" for the names both services use ("any" is Anthropic's
    "required"); None for None or a name that is neither."""
    name = (value or "").strip().lower()
    name = {"any": "required"}.get(name, name)
    return name if name in TOOL_CHOICES else None


def _add_usage(total: dict, usage: dict | None) -> None:
    for key in USAGE_KEYS:
        total[key] = int(total.get(key) or 0) + int((usage or {}).get(key) or 0)
    # Thinking / reasoning tokens are part of output_tokens (both services bill them so); this
    # is the breakdown, kept only when a service reports it.
    reasoning = int((usage or {}).get("reasoning_tokens") or 0)
    if reasoning:
        total["reasoning_tokens"] = int(total.get("reasoning_tokens") or 0) + reasoning
    # Images are those of the last attempt sent, not a sum over re-asks.
    if usage and "images" in usage:
        total["images"] = int(usage["images"])
