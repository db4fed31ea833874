"""The providers this package knows: names, labels, default models, key variables.

Pure data and one name check; it imports only errors.py (a leaf), so that keys.py,
sdk_errors.py and registry.py can all read these tables without importing one another.
Others import them from ``registry`` or from the package.
"""

from __future__ import annotations

from ..errors import ConfigError

PROVIDER_NAMES: tuple[str, ...] = ("anthropic", "openai", "scripted")

DEFAULT_MODELS: dict[str, str] = {
    "anthropic": "claude-sonnet-4-6",
    "openai": "gpt-4o",
    "scripted": "scripted-demo (no model was called)",
}

PROVIDER_LABELS: dict[str, str] = {
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "scripted": "Scripted demo",
}

# Providers that need an API key, and the environment variable that may hold it.
KEY_ENV_VARS: dict[str, str] = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}

# The OpenAI-compatible server used when no base URL is given (Ollama, vLLM, LM Studio...).
BASE_URL_ENV = "OPENAI_BASE_URL"


def known_provider(name: str | None) -> str:
    """``name`` normalised ("Anthropic " -> "anthropic"); ConfigError when it is not known."""
    normal = (name or "").strip().lower()
    if normal not in PROVIDER_NAMES:
        raise ConfigError(
            f"Unknown provider {name!r}: choose one of {', '.join(sorted(PROVIDER_NAMES))}."
        )
    return normal
