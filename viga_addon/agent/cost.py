"""Money: a per-model price table (USD per million tokens) and cost estimates from usage.

The built-in table holds list prices of common models (checked November 2026; the Opus 4.6/4.7
entries come from reseller listings, not Anthropic's page); prices change,
so the artist can override or extend it with a JSON file ``{"model-id": [input, output], ...}``
(or ``{"model-id": {"input": x, "output": y}}``) passed as ``path`` or named by the VIGA_PRICES
environment variable. Dated ids ("gpt-4o-2024-08-06") use the entry of their longest known prefix.
Unknown models cost 0.0 and ``price_known`` says so; local servers cost 0.

Cached input is priced as each service prices it: Claude bills a cache write at 1.25x and a
cache read at 0.1x its input price; OpenAI bills cached input at the model's own cached-input
price (``CACHED_INPUT``; input at full price where a model has none listed) and cache writes
not at all. ``input_tokens`` in a usage dict is always the uncached rest.
"""

from __future__ import annotations

import json
import os

# model id (or id prefix) -> (USD per 1M input tokens, USD per 1M output tokens)
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    # Anthropic
    "claude-opus-4-7": (5.0, 25.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-sonnet-4-6": (3.0, 15.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    # OpenAI
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.4),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "o3": (2.0, 8.0),
    "o4-mini": (1.1, 4.4),
}

# OpenAI model id (or prefix) -> USD per 1M cached input tokens (list prices, November 2026)
CACHED_INPUT: dict[str, float] = {
    "gpt-5": 0.125,
    "gpt-5-mini": 0.025,
    "gpt-5-nano": 0.005,
    "gpt-4.1": 0.5,
    "gpt-4.1-mini": 0.1,
    "gpt-4.1-nano": 0.025,
    "gpt-4o": 1.25,
    "gpt-4o-mini": 0.075,
    "o3": 0.5,
    "o4-mini": 0.275,
}
CLAUDE_CACHE_WRITE = 1.25  # x the input price (5-minute cache)
CLAUDE_CACHE_READ = 0.1  # x the input price


def load_price_table(
    path: str | os.PathLike | dict | None = None,
) -> dict[str, tuple[float, float]]:
    """The built-in prices updated with the user's: ``path`` (a JSON file, or a dict), else the
    file named by VIGA_PRICES, else none.

    Raises ValueError with the offending entry when the file is not a valid price table.
    """
    table = dict(DEFAULT_PRICES)
    source = path if path is not None else os.environ.get("VIGA_PRICES") or None
    if source is None:
        return table
    if isinstance(source, dict):
        user = source
    else:
        try:
            with open(source, encoding="utf-8") as handle:
                user = json.load(handle)
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"Cannot read the price table {source}: {exc}") from None
    if not isinstance(user, dict):
        raise ValueError(f"The price table {source} must be a JSON object of model -> price")
    for model, price in user.items():
        table[model] = _parse_price(model, price)
    return table


def _parse_price(model: str, price) -> tuple[float, float]:
    try:
        if isinstance(price, dict):
            return float(price["input"]), float(price["output"])
        input_price, output_price = price
        return float(input_price), float(output_price)
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"Price for {model!r} must be [input, output] or {{'input': x, 'output': y}} "
            f"in USD per million tokens, got {price!r}"
        ) from None


def price_for(model: str, table: dict | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when the model is not in the table."""
    table = table if table is not None else load_price_table()
    if model in table:
        return table[model]
    best = None
    for known in table:
        if model.startswith(known + "-") and (best is None or len(known) > len(best)):
            best = known
    return table[best] if best else None


def price_known(model: str, table: dict | None = None) -> bool:
    return price_for(model, table) is not None


def cache_prices(model: str, input_price: float) -> tuple[float, float]:
    """(cache write, cache read) USD per million tokens for ``model`` with ``input_price``."""
    if model.lower().rsplit("/", 1)[-1].split("anthropic.")[-1].startswith("claude"):
        return input_price * CLAUDE_CACHE_WRITE, input_price * CLAUDE_CACHE_READ
    cached = price_for(model, CACHED_INPUT)
    return input_price, input_price if cached is None else cached


def estimate_cost(model: str, usage: dict, table: dict | None = None) -> float:
    """USD for ``usage`` ({"input_tokens", "output_tokens", "cache_write_tokens",
    "cache_read_tokens"}; input_tokens uncached); 0.0 for an unknown price."""
    price = price_for(model, table)
    if price is None:
        return 0.0
    tokens_in = int(usage.get("input_tokens") or 0)
    tokens_out = int(usage.get("output_tokens") or 0)
    write, read = cache_prices(model, price[0])
    cached = (
        int(usage.get("cache_write_tokens") or 0) * write
        + int(usage.get("cache_read_tokens") or 0) * read
    )
    return (tokens_in * price[0] + tokens_out * price[1] + cached) / 1_000_000


def describe_cost(model: str, usage: dict, table: dict | None = None, local: bool = False) -> dict:
    """{"cost_usd": float, "price_known": bool, "note": str} for reports and the panel."""
    if local:
        return {"cost_usd": 0.0, "price_known": True, "note": "local server: free"}
    if not price_known(model, table):
        return {
            "cost_usd": 0.0,
            "price_known": False,
            "note": f"unknown price for {model} (add it to a VIGA_PRICES file)",
        }
    return {"cost_usd": estimate_cost(model, usage, table), "price_known": True, "note": ""}
