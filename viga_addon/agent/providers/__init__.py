"""Model providers: one neutral request in, one neutral response out (see ../messages.py).

What the package holds, leaves first (each module imports only those above it):

    catalog.py      provider names, labels, default models, key environment variables
    keys.py         the one API-key resolver (CLI, batch, panel, worker), local-URL test, scrub
    sdk_errors.py   anthropic / openai SDK exceptions -> the error tree (../errors.py)
    images.py       load, downscale and encode an image part (Pillow)
    models.py       per-model facts: output-token ceilings, Claude's thinking form, which GPT
                    models take reasoning_effort; the limit a refusal names
    base.py         Provider: the interface, retries with backoff, re-asks (no tool call, a
                    reply cut at its output-token limit), cost
    anthropic_provider.py, openai_provider.py, scripted.py    the concrete providers
    text_protocol.py  tool calls in plain text, for servers whose models take no native tools
    preflight.py    one tiny request with a tool and an image before a run's first real one
    registry.py     make_provider: the only importer of the concrete providers (lazily)

Outside the package these modules may import only the standard library, Pillow, ``..cost``,
``..errors`` (the one error tree) and ``..messages``; never bpy, the session or the worker. The ``anthropic`` / ``openai`` SDKs are
imported only in their provider's constructor, so they load when that provider is built.
No import cycle: tests/agent/test_providers.py checks the graph, imports inside functions included.
"""

from .base import Provider
from .catalog import DEFAULT_MODELS, KEY_ENV_VARS, PROVIDER_LABELS, PROVIDER_NAMES
from .keys import (
    KeyChoice,
    is_local_url,
    missing_key_message,
    needs_key,
    needs_online,
    resolve_key,
)
from .registry import make_provider

__all__ = [
    "DEFAULT_MODELS",
    "KEY_ENV_VARS",
    "PROVIDER_LABELS",
    "PROVIDER_NAMES",
    "KeyChoice",
    "Provider",
    "is_local_url",
    "make_provider",
    "missing_key_message",
    "needs_key",
    "needs_online",
    "resolve_key",
]
