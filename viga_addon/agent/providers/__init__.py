"""Model providers: one neutral request in, one neutral response out (see ../messages.py).

``make_provider(name, model=None, api_key=None, base_url=None, **opts)`` builds one of
"anthropic", "openai" (also OpenAI-compatible local servers) or "scripted" (offline demo).
SDKs are imported only when their provider is built.
"""

from .base import (
    DEFAULT_MODELS,
    ERROR_TYPES,
    KEY_ENV_VARS,
    AuthError,
    BadResponse,
    Cancelled,
    ConfigError,
    InvalidRequest,
    MalformedToolCall,
    Provider,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    WorkerError,
    make_provider,
    resolve_api_key,
)

__all__ = [
    "DEFAULT_MODELS",
    "ERROR_TYPES",
    "KEY_ENV_VARS",
    "AuthError",
    "BadResponse",
    "Cancelled",
    "ConfigError",
    "InvalidRequest",
    "MalformedToolCall",
    "Provider",
    "ProviderError",
    "RateLimited",
    "ServerError",
    "Timeout",
    "WorkerError",
    "make_provider",
    "resolve_api_key",
]
