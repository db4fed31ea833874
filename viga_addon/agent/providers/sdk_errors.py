"""Translate ``anthropic`` / ``openai`` SDK exceptions (same class names) into errors.py's tree.

Never imports an SDK itself: the provider passes its SDK module in.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from types import ModuleType

from .catalog import PROVIDER_LABELS
from .errors import (
    AuthError,
    ConfigError,
    InvalidRequest,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
)
from .keys import key_help, scrub


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
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


def map_sdk_error(
    exc: Exception, provider_name: str, sdk: ModuleType, api_key: str | None
) -> ProviderError:
    """The error of our tree for an SDK exception; texts are scrubbed of ``api_key``."""
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
        return AuthError(f"{label} {what} (HTTP {status}). {key_help(provider_name)}")
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


def _api_detail(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    return str(getattr(exc, "message", "") or "")[:300]
