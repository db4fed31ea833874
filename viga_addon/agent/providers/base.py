"""The provider interface, and the retry / re-ask loop and cost shared by all providers.

A provider turns one neutral request (see ``messages.py``) into one neutral response. Subclasses
implement ``_send(request) -> response`` (exactly one HTTP call, SDK errors mapped by
``sdk_errors.map_sdk_error``); ``Provider.complete`` adds retries with backoff, re-asks when no
tool was called, usage totals and cost. Errors are errors.py's; building a provider by name is
registry.py's. This module imports no concrete provider.
"""

from __future__ import annotations

import copy
import logging
import os
import random
import threading

from .. import cost as cost_module
from .catalog import DEFAULT_MODELS, KEY_ENV_VARS, PROVIDER_LABELS
from .errors import BadResponse, Cancelled, ConfigError, MalformedToolCall, ProviderError
from .keys import is_local_url

# Re-exported for modules outside agent/ that still import them from here (ui_runtime,
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
]

log = logging.getLogger("viga.providers")

NUDGE_NO_TOOL = (
    "Call one of the tools to act; a reply without a tool call does nothing. "
    "Put any reasoning in the tool arguments."
)


def empty_usage() -> dict:
    """Token and image counts of no request."""
    return {"input_tokens": 0, "output_tokens": 0, "images": 0}


class Provider:
    """One model behind one API. ``complete(request) -> response`` (formats in messages.py).

    Options (keyword arguments, all optional):
      max_retries  retries after a rate limit, 5xx/529, timeout or dropped connection (4)
      base_delay   first backoff in seconds, doubled each retry, with jitter (1.0)
      max_delay    cap of one backoff and of an honoured retry-after (60.0)
      reask        times a reply without a (valid) tool call is re-asked when tools exist (2)
      timeout      seconds for one HTTP request (120.0)
      prices       price table dict or JSON path (defaults: cost.load_price_table())
    """

    name = "base"

    def __init__(
        self,
        model: str,
        *,
        max_retries: int = 4,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        reask: int = 2,
        timeout: float = 120.0,
        prices: dict | str | os.PathLike | None = None,
    ) -> None:
        self.model = model
        self.max_retries = int(max_retries)
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.reask = int(reask)
        self.timeout = float(timeout)
        try:
            self.prices = cost_module.load_price_table(prices)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.free = False  # True for local servers: cost is 0
        self._cancel = threading.Event()
        self.stats = {"retries": 0, "reasks": 0}

    # -- to implement -------------------------------------------------------------------------
    def _send(self, request: dict) -> dict:
        """One call to the service. Returns a response without cost; raises ProviderError."""
        raise NotImplementedError

    # -- public -------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop waiting between retries (an HTTP call in flight is not interrupted)."""
        self._cancel.set()

    def complete(self, request: dict) -> dict:
        """Send the request; retry transient failures, re-ask when no tool is called."""
        self._cancel.clear()
        request = copy.deepcopy(request)
        wants_tool = bool(request.get("tools"))
        total = empty_usage()
        for ask in range(self.reask + 1):
            try:
                response = self._send_with_retries(request)
            except MalformedToolCall as exc:
                _add_usage(total, exc.partial.get("usage"))
                if ask == self.reask:
                    raise BadResponse(
                        f"{exc} (still malformed after {self.reask} re-asks)"
                    ) from None
                self._nudge(request, exc.partial.get("text", ""), f"{exc} {NUDGE_NO_TOOL}")
                continue
            _add_usage(total, response.get("usage"))
            if response["tool_calls"] or not wants_tool:
                response["usage"] = total
                response["cost_usd"] = self.cost(total)
                return response
            if ask == self.reask:
                break
            self._nudge(request, response.get("text", ""), NUDGE_NO_TOOL)
        raise BadResponse(
            f"The model ({self.model}) answered without calling a tool, "
            f"{self.reask + 1} times in a row. Try again or choose a model with tool use."
        )

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


def _add_usage(total: dict, usage: dict | None) -> None:
    for key in ("input_tokens", "output_tokens"):
        total[key] += int((usage or {}).get(key) or 0)
    # Images are those of the last attempt sent, not a sum over re-asks.
    if usage and "images" in usage:
        total["images"] = int(usage["images"])
