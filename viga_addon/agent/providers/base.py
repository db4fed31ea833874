"""The provider interface, its errors, and the retry / re-ask loop shared by all providers.

A provider turns one neutral request (see ``messages.py``) into one neutral response. Subclasses
implement ``_send(request) -> response`` (exactly one HTTP call, SDK errors mapped to the errors
below); ``Provider.complete`` adds retries with backoff, re-asks when no tool was called, usage
totals and cost.
"""

from __future__ import annotations

import copy
import email.utils
import ipaddress
import logging
import os
import random
import threading
import time
from urllib.parse import urlparse

from .. import cost as cost_module

log = logging.getLogger("viga.providers")

DEFAULT_MODELS = {
    "anthropic": "claude-sonnet-4-6",
    "openai": "gpt-4o",
    "scripted": "scripted-demo (no model was called)",
}

KEY_ENV_VARS = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
PROVIDER_LABELS = {"anthropic": "Anthropic", "openai": "OpenAI", "scripted": "Scripted demo"}
LOCAL_PLACEHOLDER_KEY = "local-server-ignores-this-key"

NUDGE_NO_TOOL = (
    "Call one of the tools to act; a reply without a tool call does nothing. "
    "Put any reasoning in the tool arguments."
)


class ProviderError(Exception):
    """Base of every error a provider raises; ``str(error)`` is meant for the artist."""

    retryable = False


class AuthError(ProviderError):
    """The API key is missing or was rejected."""


class RateLimited(ProviderError):
    retryable = True

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(ProviderError):
    """5xx, 529 overloaded, or the connection dropped."""

    retryable = True


class Timeout(ProviderError):
    retryable = True


class BadResponse(ProviderError):
    """The model answered, but not usefully (no tool call, malformed arguments)."""


class MalformedToolCall(BadResponse):
    """Tool-call arguments were not a JSON object; ``Provider.complete`` re-asks."""

    def __init__(self, message: str, partial: dict | None = None):
        super().__init__(message)
        self.partial = partial or {}


class Cancelled(ProviderError):
    pass


class ConfigError(ProviderError):
    """Unknown provider or model, bad options, missing script: fix the settings."""


class InvalidRequest(ProviderError):
    """The service refused the request itself (HTTP 400/413/422, unreadable image)."""


class WorkerError(ProviderError):
    """The model worker process died or could not start."""


ERROR_TYPES = {
    cls.__name__: cls
    for cls in (
        ProviderError,
        AuthError,
        RateLimited,
        ServerError,
        Timeout,
        BadResponse,
        MalformedToolCall,
        Cancelled,
        ConfigError,
        InvalidRequest,
        WorkerError,
    )
}


def is_local_url(url: str | None) -> bool:
    """True for a server on this machine or the LAN (Ollama, vLLM, LM Studio...)."""
    if not url:
        return False
    host = (urlparse(url).hostname or "").lower()
    if host in ("localhost", "host.docker.internal") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


def auth_help(provider_name: str) -> str:
    env = KEY_ENV_VARS.get(provider_name, "the provider's API key variable")
    return (
        f"Set the {env} environment variable or enter the key in the add-on preferences "
        f"(Edit > Preferences > Add-ons > VIGA)."
    )


def missing_key_message(provider_name: str) -> str:
    label = PROVIDER_LABELS.get(provider_name, provider_name)
    return (
        f"No {label} API key: {auth_help(provider_name)} "
        f"To try the pipeline offline without any model, use the scripted demo (--provider scripted)."
    )


def resolve_api_key(provider_name: str, api_key: str | None, base_url: str | None = None) -> str:
    """The key to use: the argument, else the environment variable; AuthError if there is none.

    A local OpenAI-compatible server gets a placeholder (such servers ignore the key).
    Raises before any network call, so a missing key fails fast.
    """
    if provider_name not in KEY_ENV_VARS:
        return api_key or ""
    key = (api_key or "").strip() or os.environ.get(KEY_ENV_VARS[provider_name], "").strip()
    if key:
        return key
    if provider_name == "openai" and is_local_url(base_url or os.environ.get("OPENAI_BASE_URL")):
        return LOCAL_PLACEHOLDER_KEY
    raise AuthError(missing_key_message(provider_name))


def scrub(text: str, secret: str | None) -> str:
    """Remove a secret (and its longer prefixes/suffixes) from text that may reach a log or UI."""
    if not secret or len(secret) < 6 or secret == LOCAL_PLACEHOLDER_KEY:
        return text
    text = text.replace(secret, "***")
    # Services echo keys partially ("sk-abc...wxyz"): drop every 8-char slice of the key.
    for start in range(len(secret) - 7):
        piece = secret[start : start + 8]
        if piece in text:
            text = text.replace(piece, "***")
    return text


def parse_retry_after(headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date)."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def map_sdk_error(exc: Exception, provider_name: str, sdk, api_key: str | None) -> ProviderError:
    """Translate an ``anthropic`` / ``openai`` SDK exception (same class names) to ours."""
    label = PROVIDER_LABELS.get(provider_name, provider_name)
    if isinstance(exc, sdk.APITimeoutError):
        return Timeout(f"{label} did not answer in time (request timed out).")
    if isinstance(exc, sdk.APIConnectionError):
        where = getattr(getattr(exc, "request", None), "url", None)
        host = f" at {where.scheme}://{where.host}:{where.port or ''}" if where is not None else ""
        return ServerError(f"Could not reach {label}{host}: the connection failed or dropped.")
    if not isinstance(exc, sdk.APIStatusError):
        return ProviderError(scrub(f"{label} client error: {exc}", api_key))
    status = exc.status_code
    detail = scrub(_api_detail(exc), api_key)
    if status in (401, 403):
        # Never echo the service's text here: it may quote part of the key.
        what = "rejected the API key" if status == 401 else "refused access for this API key"
        return AuthError(f"{label} {what} (HTTP {status}). {auth_help(provider_name)}")
    if status == 429:
        return RateLimited(
            f"{label} rate limit reached (HTTP 429). {detail}".strip(),
            retry_after=parse_retry_after(exc.response.headers),
        )
    if status == 408:
        return Timeout(f"{label} timed out (HTTP 408).")
    if status >= 500:
        name = "is overloaded" if status == 529 else "had a server error"
        return ServerError(f"{label} {name} (HTTP {status}). {detail}".strip())
    if status == 404:
        return ConfigError(
            f"{label} answered 404 (not found): check the model name and the server URL. {detail}"
        )
    return InvalidRequest(f"{label} refused the request (HTTP {status}): {detail}")


def _api_detail(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    return str(getattr(exc, "message", "") or "")[:300]


def empty_usage() -> dict:
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
        prices=None,
    ):
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


def make_provider(
    name: str,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    **opts,
) -> Provider:
    """Build a provider by name: "anthropic", "openai" (also any OpenAI-compatible server via
    base_url or OPENAI_BASE_URL) or "scripted" (offline playback; needs ``script=``).

    Raises AuthError (no key, before any network call) or ConfigError (unknown name/options).
    """
    name = (name or "").strip().lower()
    if name not in DEFAULT_MODELS:
        raise ConfigError(
            f"Unknown provider {name!r}: choose one of {', '.join(sorted(DEFAULT_MODELS))}."
        )
    model = (model or "").strip() or DEFAULT_MODELS[name]
    try:
        if name == "scripted":
            from .scripted import ScriptedProvider

            return ScriptedProvider(model=model, **opts)
        key = resolve_api_key(name, api_key, base_url)
        if name == "anthropic":
            from .anthropic_provider import AnthropicProvider

            return AnthropicProvider(model=model, api_key=key, base_url=base_url, **opts)
        from .openai_provider import OpenAIProvider

        return OpenAIProvider(model=model, api_key=key, base_url=base_url, **opts)
    except TypeError as exc:
        raise ConfigError(f"Bad option for the {name} provider: {exc}") from None
