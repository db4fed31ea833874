"""What a run may spend: the cost cap checked before each request, and the estimate shown
before a run starts ("about $X–$Y with MODEL").

A request's cost is estimated from its size before it is sent: its text and JSON at about 4
characters a token, each image at IMAGE_TOKENS, all of it at the uncached input price (an
upper bound: caching only makes it cheaper), plus the run's mean output per request so far (or
OUTPUT_GUESS). Local servers are free and never capped. Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import cost
from .providers.catalog import DEFAULT_MODELS
from .providers.keys import is_local_url
from .settings import Settings
from .state import RunState

IMAGE_TOKENS = 1600  # a photo-sized image as Claude counts it (1568 px long side); GPT: fewer
OUTPUT_GUESS = 500  # output tokens of a turn before any has been seen (a tool call with code)

# The per-request shape of a default run, measured with bench/cost_bench.py from a recorded
# full run (1,600 px photo; Claude's token counts): the fixed text (system prompt, tools), the
# pinned first message, what each later turn adds (requests ran 4.3-6.1k tokens, 5.4k mean).
FIXED_TOKENS = 2_300
PINNED_TOKENS = 2_000
TURN_TOKENS = 500
TURNS = {"generator": (3, 6), "verifier": (1, 3)}  # (few, many) requests of a round
CACHED_SHARE = 0.65  # of a request's input read from the cache (measured: 151k of 231k)


@dataclass(frozen=True)
class Estimate:
    """USD of a whole run, ``low`` (every stage approved in its first round, few turns) to
    ``high`` (every round budget spent, many turns); ``known``: the model has a price."""

    low: float
    high: float
    model: str
    known: bool
    free: bool
    demo: bool = False  # the scripted provider: nothing is called at all

    def text(self) -> str:
        """One line for the panel and the CLI."""
        if self.demo:
            return "the offline demo calls no model: free"
        if self.free:
            return f"a local server ({self.model}): free"
        if not self.known:
            return f"unknown price for {self.model} (add it to a VIGA_PRICES file)"
        return f"about ${self.low:.2f}–${self.high:.2f} with {self.model}"


def model_of(settings: Settings) -> str:
    return settings.model or DEFAULT_MODELS.get(settings.provider, "")


def is_free(settings: Settings) -> bool:
    """No money changes hands: the scripted demo, or a local server."""
    return settings.provider == "scripted" or (
        settings.provider == "openai" and is_local_url(settings.base_url)
    )


def request_tokens(request: dict) -> int:
    """Input tokens of a neutral request, estimated from its size."""
    chars = len(request.get("system") or "") + len(json.dumps(request.get("tools") or []))
    images = 0
    for message in request.get("messages") or []:
        for part in message.get("content") or []:
            inner = part.get("content") if part.get("type") == "tool_result" else [part]
            for p in inner or []:
                if p.get("type") == "image":
                    images += 1
                elif p.get("type") == "text":
                    chars += len(p.get("text") or "")
                else:
                    chars += len(json.dumps(p))
    return chars // 4 + images * IMAGE_TOKENS


def request_cost(settings: Settings, state: RunState, request: dict) -> float:
    """USD the request may cost at most: its input uncached, the mean output so far."""
    if is_free(settings):
        return 0.0
    totals = state.totals
    output = totals.output_tokens / totals.requests if totals.requests else OUTPUT_GUESS
    usage = {"input_tokens": request_tokens(request), "output_tokens": int(output)}
    return cost.estimate_cost(model_of(settings), usage, cost.load_price_table())


def cap_reached(state: RunState, stage: str, request: dict) -> str | None:
    """The reason to stop before ``request`` (the run's or the stage's cap would be passed),
    else None."""
    settings = state.settings
    caps = [("the run", settings.max_cost, state.totals.cost_usd)]
    if settings.stage_max_cost.get(stage):
        spent = state.stages[stage].cost_usd if stage in state.stages else 0.0
        caps.append((f"the {stage} stage", settings.stage_max_cost[stage], spent))
    if not any(cap for _who, cap, _spent in caps):
        return None
    next_cost = request_cost(settings, state, request)
    for who, cap, spent in caps:
        if cap and spent + next_cost > cap:
            return (
                f"stopped at the cost cap: {who} has spent ${spent:.2f} of ${cap:.2f}, and the "
                f"next request would cost up to ${next_cost:.3f}; resumable: resume with a "
                "higher --max-cost (or stage cap) and no completed round is redone"
            )
    return None


def estimate_run(settings: Settings, stages: list | None = None) -> Estimate:
    """The cost of a whole run with ``settings`` (``stages``: the Stage objects to run,
    default every stage with the settings' budgets), from the per-request shape above."""
    from ..stages import build_stages

    model = model_of(settings)
    if is_free(settings):
        return Estimate(0.0, 0.0, model, True, True, demo=settings.provider == "scripted")
    table = cost.load_price_table()
    if not cost.price_known(model, table):
        return Estimate(0.0, 0.0, model, False, False)
    stages = stages or build_stages(settings.stages, settings.budgets)
    low = high = 0.0
    for stage in stages:
        budget = settings.budget(stage.name) if stage.rollouts else stage.budget
        rounds = (budget, budget) if stage.rollouts else (1, budget)
        for end, rounds_run in ((0, rounds[0]), (1, rounds[1])):
            usd = rounds_run * sum(_conversation_cost(model, table, TURNS[r][end]) for r in TURNS)
            if stage.rollouts and budget > 1:
                usd += _conversation_cost(model, table, 1)  # the selector
            if end:
                high += usd
            else:
                low += usd
    return Estimate(low, high, model, True, False)


def _conversation_cost(model: str, table: dict, requests: int) -> float:
    """USD of one conversation of ``requests`` requests, each re-sending the ones before."""
    total = 0.0
    for n in range(requests):
        prompt = FIXED_TOKENS + PINNED_TOKENS + n * TURN_TOKENS
        cached = int(prompt * CACHED_SHARE) if n else 0
        written = prompt - cached if not n else TURN_TOKENS
        usage = {
            "input_tokens": max(0, prompt - cached - written),
            "cache_write_tokens": written,
            "cache_read_tokens": cached,
            "output_tokens": OUTPUT_GUESS,
        }
        total += cost.estimate_cost(model, usage, table)
    return total
