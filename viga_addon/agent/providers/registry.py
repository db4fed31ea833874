"""Build a provider by name: the one place that imports the concrete providers.

    provider = make_provider("openai", model=None, api_key=None, base_url=url, **opts)

"anthropic" (Claude), "openai" (GPT, or any OpenAI-compatible server through ``base_url`` or
$OPENAI_BASE_URL) or "scripted" (offline playback of a script; needs ``script=``). Each concrete
module, and with it its SDK, is imported only when that provider is built.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .base import Provider
from .catalog import DEFAULT_MODELS, PROVIDER_LABELS, PROVIDER_NAMES, known_provider
from .keys import resolve_key

__all__ = [
    "DEFAULT_MODELS",
    "PROVIDER_LABELS",
    "PROVIDER_NAMES",
    "known_provider",
    "make_provider",
    "provider_class",
]


def provider_class(name: str) -> type[Provider]:
    """The Provider subclass of ``name`` (its module is imported now); ConfigError if unknown."""
    name = known_provider(name)
    if name == "anthropic":
        from .anthropic_provider import AnthropicProvider

        return AnthropicProvider
    if name == "openai":
        from .openai_provider import OpenAIProvider

        return OpenAIProvider
    from .scripted import ScriptedProvider

    return ScriptedProvider


def make_provider(
    name: str,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    **opts: Any,
) -> Provider:
    """Build the provider called ``name`` with ``model`` (default per provider) and ``opts``.

    The key is ``keys.resolve_key(name, explicit=api_key, base_url=base_url)``. Raises AuthError
    (no key: before any network call) or ConfigError (unknown name, bad options).
    """
    name = known_provider(name)
    model = (model or "").strip() or DEFAULT_MODELS[name]
    cls = provider_class(name)
    try:
        if name == "scripted":
            return cls(model=model, **opts)
        key = resolve_key(name, explicit=api_key, base_url=base_url).key
        return cls(model=model, api_key=key, base_url=base_url, **opts)
    except TypeError as exc:
        raise ConfigError(f"Bad option for the {name} provider: {exc}") from None
