"""What the providers need to know about a model: its output-token ceiling, which thinking form
Claude takes, whether a GPT model takes ``reasoning_effort``; and the output-token limit a
service names when it refuses one. Pure data and string checks (standard library only).

Model ids are matched by their longest known prefix, after dropping a router's or a cloud's
prefix ("openai/gpt-4o", "us.anthropic.claude-sonnet-4-5-…" → "gpt-4o", "claude-sonnet-4-5-…").
A model this module does not know gets no cap and the usual request: the service decides.
"""

from __future__ import annotations

import re

#: the output-token limit of a request that names none (``Settings.max_tokens`` is the default
#: every run sends; this is for a request built without settings)
FALLBACK_MAX_TOKENS = 16_384
#: the most a re-ask after a cut reply asks for when the model's own ceiling is not known
UNKNOWN_CEILING = 128_000
#: Anthropic's smallest thinking budget, and the least room we leave for the answer after it
MIN_THINKING = 1024

# model id prefix -> the most output tokens one reply may have (list limits, as documented by
# each service; a longer prefix wins). Only where a default of 16k would be refused.
OUTPUT_CAPS: dict[str, int] = {
    # Anthropic
    "claude-instant": 4096,
    "claude-2": 4096,
    "claude-3-haiku": 4096,
    "claude-3-opus": 4096,
    "claude-3-sonnet": 4096,
    "claude-3-5-": 8192,
    "claude-3-7-sonnet": 64_000,
    "claude-sonnet-4": 64_000,
    "claude-haiku-4": 64_000,
    "claude-opus-4-0": 32_000,
    "claude-opus-4-1": 32_000,
    "claude-opus-4-2025": 32_000,
    "claude-opus-4-5": 64_000,
    # OpenAI
    "gpt-3.5-turbo": 4096,
    "gpt-4": 8192,
    "gpt-4-turbo": 4096,
    "gpt-4-vision": 4096,
    "gpt-4-1106": 4096,
    "gpt-4-0125": 4096,
    "gpt-4o": 16_384,
    "gpt-4o-2024-05-13": 4096,
    "gpt-4o-mini": 16_384,
    "chatgpt-4o": 16_384,
    "gpt-4.1": 32_768,
    "gpt-4.5": 16_384,
    "gpt-5": 128_000,
    "gpt-5-chat": 16_384,
    "o1": 100_000,
    "o1-mini": 65_536,
    "o1-preview": 32_768,
    "o3": 100_000,
    "o4-mini": 100_000,
}


def base_id(model: str | None) -> str:
    """``model`` lower-cased, without a router's "vendor/" or a cloud's "anthropic." prefix."""
    name = (model or "").strip().lower().rsplit("/", 1)[-1]
    return re.sub(r"^(?:[a-z]{2,4}\.)?anthropic\.", "", name)


def _longest_prefix(table: dict[str, int], model: str) -> int | None:
    name = base_id(model)
    best = max((p for p in table if name.startswith(p)), key=len, default=None)
    return table[best] if best is not None else None


def output_cap(model: str | None) -> int | None:
    """The most output tokens one reply of ``model`` may have; None when not known."""
    return _longest_prefix(OUTPUT_CAPS, model or "")


def larger_limit(limit: int, cap: int | None) -> int | None:
    """The limit to ask again with after a reply was cut at ``limit``: twice as much, at most
    ``cap`` (or UNKNOWN_CEILING); None when there is no more room to give."""
    ceiling = cap or UNKNOWN_CEILING
    larger = min(int(limit) * 2, ceiling)
    return larger if larger > limit else None


# -------------------------------------------------------------------------- Claude thinking
def claude_version(model: str | None) -> tuple[int, int] | None:
    """(major, minor) of a Claude model id ("claude-3-7-sonnet" → (3, 7), "claude-opus-4-7" →
    (4, 7), "claude-sonnet-4-20250514" → (4, 0)); None for ids without one."""
    found = re.match(r"claude-(?:[a-z]+-)?(\d+)(?:-(\d{1,2})(?!\d))?", base_id(model))
    if not found:
        return None
    return int(found.group(1)), int(found.group(2) or 0)


def claude_thinking(model: str | None, budget: int, limit: int) -> dict | None:
    """The ``thinking`` parameter for ``model`` with a budget of ``budget`` tokens inside an
    output limit of ``limit``; None when thinking is off, the model has none (Claude before
    3.7), or the limit leaves no room for a budget and an answer.

    ``{"type": "enabled", "budget_tokens": N}`` where the model takes it; Claude 4.7 and later
    refuse that form (HTTP 400) and get ``{"type": "adaptive"}``: they size their thinking
    themselves, within ``limit``.
    """
    if budget <= 0:
        return None
    version = claude_version(model)
    if version is not None and version < (3, 7):
        return None
    if version is not None and version >= (4, 7):
        return {"type": "adaptive"}
    budget = min(int(budget), int(limit) - MIN_THINKING)
    if budget < MIN_THINKING:
        return None
    return {"type": "enabled", "budget_tokens": budget}


# -------------------------------------------------------------------------- GPT reasoning
def openai_reasoning_model(model: str | None) -> bool:
    """GPT-5 and the o-series: reasoning models of OpenAI's own, which take only
    ``max_completion_tokens`` (reasoning tokens count in it), on any base URL."""
    name = base_id(model)
    if re.match(r"gpt-5[\w.]*-chat", name):
        return False
    return bool(re.match(r"(?:o[1-9](?![\d])|gpt-5)", name))


def takes_reasoning_effort(model: str | None) -> bool:
    """True for the models that take ``reasoning_effort`` (GPT-5, o1, o3, o3-mini, o4-mini …,
    and the open gpt-oss); not o1-mini, o1-preview, the GPT-5 chat models, nor GPT-4."""
    name = base_id(model)
    if name.startswith(("o1-mini", "o1-preview")):
        return False
    return openai_reasoning_model(name) or name.startswith("gpt-oss")


# -------------------------------------------------------------------------- refused limits
_CAP_PATTERNS = (
    # OpenAI: "max_tokens is too large: 32000. This model supports at most 16384 completion
    # tokens, whereas you provided 32000."
    (re.compile(r"supports at most (\d+) completion tokens"), lambda m: int(m.group(1))),
    # Anthropic: "max_tokens: 70000 > 64000, which is the maximum allowed number of output
    # tokens for claude-…"
    (re.compile(r"> (\d+), which is the maximum allowed"), lambda m: int(m.group(1))),
    # vLLM: "… is too large: 16384. This model's maximum context length is 8192 tokens and your
    # request has 500 input tokens (16384 > 8192 - 500)."
    (re.compile(r"\((\d+) > (\d+) - (\d+)\)"), lambda m: int(m.group(2)) - int(m.group(3))),
    # older vLLM / llama.cpp: "maximum context length is 4096 tokens. However, you requested
    # 16884 tokens (500 in the messages, 16384 in the completion)."
    (
        re.compile(r"maximum context length is (\d+) tokens.*?\((\d+) in the messages", re.S),
        lambda m: int(m.group(1)) - int(m.group(2)),
    ),
)


def cap_from_error(message: str) -> int | None:
    """The output-token limit a service's refusal names (the model's ceiling, or what is left
    of its context), when the refusal is about the limit; None otherwise."""
    for pattern, value in _CAP_PATTERNS:
        found = pattern.search(message or "")
        if found:
            cap = value(found)
            return cap if cap > 0 else None
    return None
