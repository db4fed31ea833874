"""Translate ``anthropic`` / ``openai`` SDK exceptions (same class names) into errors.py's tree.

Never imports an SDK itself: the provider passes its SDK module in.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from types import ModuleType

from ..errors import (
    AuthError,
    ConfigError,
    ImagesUnsupported,
    InvalidRequest,
    ProviderError,
    RateLimited,
    RequestRefused,
    ServerError,
    Timeout,
    ToolsUnsupported,
)
from .catalog import PROVIDER_LABELS
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


#: the hosts of the vendors' own services: any other base URL is "the server at …"
OWN_HOSTS = {"anthropic": "api.anthropic.com", "openai": "api.openai.com"}

# What servers say when a model takes no tools / no images (Ollama, vLLM, LM Studio, llama.cpp)
_NO_TOOLS = re.compile(
    r"does not support tools|tools? (?:are|is) not supported|not support(?:ed)? (?:for )?tool"
    r"|tool[ _]?(?:use|calling|choice) (?:is )?not (?:supported|enabled)",
    re.I,
)
_NO_IMAGES = re.compile(
    r"does not support (?:image|vision|multimodal)|missing data required for image input"
    r"|image input is not supported|not a multimodal model|images? (?:are|is) not supported",
    re.I,
)


def party(provider_name: str, base_url: str | None = None) -> str:
    """Who answered: "Anthropic" / "OpenAI" for their own services, "the server at URL" for any
    other base URL (a local Ollama is not OpenAI)."""
    own = OWN_HOSTS.get(provider_name)
    if base_url and (own is None or own not in base_url):
        return f"the server at {base_url.rstrip('/')}"
    return PROVIDER_LABELS.get(provider_name, provider_name)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def map_sdk_error(
    exc: Exception,
    provider_name: str,
    sdk: ModuleType,
    api_key: str | None,
    base_url: str | None = None,
) -> ProviderError:
    """The error of our tree for an SDK exception; texts are scrubbed of ``api_key`` and name
    the real party (``party``)."""
    who = party(provider_name, base_url)
    label = _capital(who)
    if isinstance(exc, sdk.APITimeoutError):
        return Timeout(f"{label} did not answer in time (request timed out).")
    if isinstance(exc, sdk.APIConnectionError):
        where = getattr(getattr(exc, "request", None), "url", None)
        host = f" at {where.scheme}://{where.host}:{where.port or ''}" if where is not None else ""
        if who.startswith("the server at"):
            host = ""
        return ServerError(f"Could not reach {who}{host}: the connection failed or dropped.")
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
    if status in (400, 422):
        if _NO_TOOLS.search(detail):
            return ToolsUnsupported(
                f"{label} refused tools (HTTP {status}): {detail}. Use --tool-protocol text "
                "(or auto), or a model that takes tools."
            )
        if _NO_IMAGES.search(detail):
            return ImagesUnsupported(
                f"{label} refused an image (HTTP {status}): {detail}. A reconstruction needs a "
                "vision model (e.g. qwen2.5vl, llama3.2-vision, gemma3 on Ollama)."
            )
        return RequestRefused(f"{label} refused the request (HTTP {status}): {detail}")
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
