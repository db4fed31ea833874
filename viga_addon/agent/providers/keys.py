"""The one API-key resolver, for the CLI, batch runs, the panel and the worker.

    choice = resolve_key("openai", explicit=None, stored=prefs_key, base_url=url)
    choice.key       the key to send ("" when the provider needs none)
    choice.source    where it came from, in words (never the key itself)

Order: the key given by the caller (``explicit``), the add-on preferences (``stored``), the
provider's environment variable (ANTHROPIC_API_KEY / OPENAI_API_KEY). With none of those, an
OpenAI-compatible server on this machine or the LAN (localhost, 127.x, 10.x, 192.168.x, *.local)
gets a placeholder key (such servers ignore it), and anything else raises AuthError with a
message that says how and where to set a key, and about the offline demo. It all happens before
any process starts or any request is sent, so a missing key fails fast.

For OpenAI the base URL is ``base_url`` or else $OPENAI_BASE_URL, as the provider itself reads it.
Keys never go into logs, run folders or reprs (``scrub`` removes one from a text).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from ..errors import AuthError
from .catalog import BASE_URL_ENV, KEY_ENV_VARS, PROVIDER_LABELS, known_provider

LOCAL_PLACEHOLDER_KEY = "local-server-ignores-this-key"

SOURCE_EXPLICIT = "given by the caller"
SOURCE_PREFERENCES = "add-on preferences"
SOURCE_LOCAL = "local server: no key needed"
SOURCE_NONE = "no key needed"
PREFERENCES_PATH = "Edit › Preferences › Add-ons › VIGA"


def env_source(variable: str) -> str:
    """The ``source`` of a key read from the environment variable ``variable``."""
    return f"environment variable {variable}"


@dataclass(frozen=True)
class KeyChoice:
    """The key to use and where it came from. The key is left out of ``repr``."""

    key: str = field(repr=False)
    source: str


def is_local_url(url: str | None) -> bool:
    """True for a server on this machine or the LAN (Ollama, vLLM, LM Studio...)."""
    if not url:
        return False
    url = url.strip()
    try:
        host = (urlparse(url if "//" in url else "//" + url).hostname or "").lower().rstrip(".")
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    if host in ("localhost", "host.docker.internal") or host.endswith((".local", ".localhost")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


def base_url_for(
    provider: str, base_url: str | None = None, environ: Mapping[str, str] = os.environ
) -> str | None:
    """The server ``provider`` will talk to when it is not its public API (None: the public one).

    OpenAI falls back to $OPENAI_BASE_URL, as its provider does.
    """
    url = (base_url or "").strip()
    if not url and provider == "openai":
        url = (environ.get(BASE_URL_ENV) or "").strip()
    return url or None


def needs_key(
    provider: str, base_url: str | None = None, environ: Mapping[str, str] = os.environ
) -> bool:
    """True when a run with ``provider`` needs a real API key (not for scripted, nor for an
    OpenAI-compatible server on this machine or the LAN)."""
    provider = known_provider(provider)
    if provider not in KEY_ENV_VARS:
        return False
    return not (provider == "openai" and is_local_url(base_url_for(provider, base_url, environ)))


def needs_online(
    provider: str, base_url: str | None = None, environ: Mapping[str, str] = os.environ
) -> bool:
    """True when a request leaves this machine and its LAN (Blender's *Allow Online Access*).

    The scripted demo never sends anything; a local OpenAI-compatible server stays local.
    Anthropic always counts as online (a local base URL for it is a proxy that forwards).
    """
    provider = known_provider(provider)
    if provider == "scripted":
        return False
    return not (provider == "openai" and is_local_url(base_url_for(provider, base_url, environ)))


def key_help(provider: str) -> str:
    """How and where to set the key of ``provider`` (one sentence)."""
    env = KEY_ENV_VARS.get(provider, "the provider's API key variable")
    return (
        f"Set the {env} environment variable or enter the key in the add-on preferences "
        f"({PREFERENCES_PATH}; kept in Blender's user preferences, never in .blend files)."
    )


def missing_key_message(provider: str, base_url: str | None = None) -> str:
    """What to tell the artist when ``provider`` has no key: how and where to set one, the
    local-server alternative (OpenAI), and the offline scripted demo."""
    label = PROVIDER_LABELS.get(provider, provider)
    parts = [f"No {label} API key."]
    if base_url and not is_local_url(base_url):
        parts.append(f"{_server(base_url)} is not a local server, so it needs a key.")
    parts.append(key_help(provider))
    if provider == "openai":
        parts.append(
            "An OpenAI-compatible server on this machine or the LAN (Ollama, vLLM, LM Studio; "
            "e.g. --base-url http://localhost:11434/v1) needs no key."
        )
    parts.append(
        "To try the pipeline offline without any model, run the scripted demo "
        "(--provider scripted, or Try the Offline Demo in the panel)."
    )
    return " ".join(parts)


def resolve_key(
    provider: str,
    *,
    explicit: str | None = None,
    stored: str | None = None,
    base_url: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> KeyChoice:
    """The key for ``provider`` and its source (see the module docstring for the order).

    Raises AuthError (with ``missing_key_message``) when a key is needed and there is none,
    ConfigError for an unknown provider.
    """
    provider = known_provider(provider)
    if provider not in KEY_ENV_VARS:
        return KeyChoice("", SOURCE_NONE)
    for key, source in ((explicit, SOURCE_EXPLICIT), (stored, SOURCE_PREFERENCES)):
        if key and key.strip():
            return KeyChoice(key.strip(), source)
    env = KEY_ENV_VARS[provider]
    value = (environ.get(env) or "").strip()
    if value:
        return KeyChoice(value, env_source(env))
    url = base_url_for(provider, base_url, environ)
    if not needs_key(provider, url, environ):
        return KeyChoice(LOCAL_PLACEHOLDER_KEY, SOURCE_LOCAL)
    raise AuthError(missing_key_message(provider, url))


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


def _server(url: str) -> str:
    """scheme://host[:port] of ``url``: never a path, query or user:password part."""
    try:
        parsed = urlparse(url if "//" in url else "//" + url)
        host, port = parsed.hostname or "?", f":{parsed.port}" if parsed.port else ""
    except ValueError:
        return "The server URL"
    return f"{parsed.scheme or 'http'}://{host}{port}"
