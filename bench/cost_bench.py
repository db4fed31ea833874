"""What one full default run costs, with and without prompt caching, for Claude Sonnet 4.6,
Claude Opus 4.7 and GPT-5, side by side in one run.

The requests are recorded, not modelled: the offline demo's replies drive a full default run
(every stage at its default budget, 4 init rollouts, default image and render sizes; 1 render
sample, which changes no request) of the demo photo enlarged to PHOTO_SIDE px on its long side
(a camera photo, where the bundled 320 px one would understate every request's image) through the real anthropic and openai SDKs against the fake
server (tests/fake_model_server.py); every request body is kept as the SDK sent it. Usage is
then computed per request by tests/cache_model.py, the model the fake server itself reports:

* with caching: Anthropic reads only an identical prefix ending at one of the request's
  cache_control breakpoints (written by an earlier request; at least the model's minimum
  cacheable length) and writes the rest up to its last breakpoint; OpenAI reads the longest
  prefix shared with an earlier request, in 128-token steps, from 1,024 tokens on;
* without: the same bodies with no breakpoints / no cached prefix: all input at full price.

Output per request: the recorded reply's own tokens plus OUTPUT_TEXT tokens of reasoning text
(tool choice "auto" lets the model write before its call; the demo's replies carry little).
Prices: agent/cost.py (Claude: writes 1.25x, reads 0.1x input; GPT-5: cached input $0.125/M).
All requests are taken to fall inside the 5-minute cache lifetime.

    .venv/bin/python bench/cost_bench.py [--rollouts 4]

Prints a Markdown table and, last, a line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

sys.path.insert(0, str(common.ROOT / "tests"))

PHOTO_SIDE = 1600  # px, long side of the reference: what a phone or camera photo is sent as
OUTPUT_TEXT = 400  # tokens of text a model writes before its tool call (an assumption)
# the shortest prefix each model caches (Anthropic's documented minimums: Sonnet 1,024;
# Opus 4.5 and later 4,096 — taken for Opus 4.7)
MODELS = (
    ("Claude Sonnet 4.6", "anthropic", "claude-sonnet-4-6", 1024),
    ("Claude Opus 4.7", "anthropic", "claude-opus-4-7", 4096),
    ("GPT-5", "openai", "gpt-5", 1024),
)


def photo(tmp: Path, side: int) -> Path:
    """The demo photo enlarged to ``side`` px on its long side."""
    from PIL import Image

    from viga_addon.demo import tabletop

    with Image.open(tabletop.PHOTO) as img:
        scale = side / max(img.size)
        big = img.convert("RGB").resize((round(img.width * scale), round(img.height * scale)))
    path = tmp / "photo.png"
    big.save(path)
    return path


def record(
    wire: str, runs: Path, rollouts: int, reference: Path
) -> tuple[list[dict], list[dict], dict]:
    """The request bodies of one full default run on ``wire``, the replies, and run facts."""
    import bpy
    from fake_model_server import fake_server
    from pipeline_helpers import demo_script, flatten_script

    from viga_addon.agent.session import Session
    from viga_addon.agent.worker import ModelWorker
    from viga_addon.stages import STAGE_NAMES
    from viga_addon.tools.host import BlenderHost

    replies = flatten_script(demo_script(), STAGE_NAMES, budgets={"init": rollouts})
    with fake_server() as server:
        server.queue(*copy.deepcopy(replies))
        url = server.url if wire == "anthropic" else server.url + "/v1"
        worker = ModelWorker(
            wire,
            model="claude-sonnet-4-6" if wire == "anthropic" else "gpt-5",
            api_key="sk-bench",
            base_url=url,
            opts={"tool_protocol": "native", "base_delay": 0.01},
        )
        settings = {
            "provider": wire,
            "render_device": "cpu",
            "rollouts": rollouts,
            "preview_samples": 1,
            "final_samples": 1,
        }
        bpy.ops.wm.read_factory_settings(use_empty=True)
        host = BlenderHost(render_device="cpu", preview_size=256, preview_samples=1)
        session = Session.create(reference, runs / wire, host, worker, settings)
        try:
            status = session.run_to_end()
        finally:
            worker.close()
        bodies = [r["body"] for r in server.requests]
    facts = {
        "status": str(status),
        "requests": len(bodies),
        "rounds": {n: len(ss.attempts) for n, ss in session.state.stages.items()},
    }
    return bodies, replies[: len(bodies)], facts


def _strip_breakpoints(value):
    if isinstance(value, dict):
        return {k: _strip_breakpoints(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_breakpoints(v) for v in value]
    return value


def price(model: str, wire: str, minimum: int, bodies: list[dict], replies: list[dict]) -> dict:
    from cache_model import CacheModel, blocks_of

    from viga_addon.agent import cost

    cache = CacheModel(wire, min_tokens=minimum)
    out = {"with": 0.0, "without": 0.0, "input": 0, "read": 0, "write": 0, "output": 0}
    sizes = []
    for body, reply in zip(bodies, replies, strict=True):
        answer = {k: reply.get(k) for k in ("text", "tool_calls") if reply.get(k)}
        output = len(json.dumps(answer)) // 4 + OUTPUT_TEXT
        cached = cache.usage(body)
        usage = {k: cached[k] for k in ("input_tokens", "cache_write_tokens", "cache_read_tokens")}
        usage["output_tokens"] = output
        plain = sum(b[1] for b in blocks_of(wire, _strip_breakpoints(body)))
        out["with"] += cost.estimate_cost(model, usage)
        out["without"] += cost.estimate_cost(
            model, {"input_tokens": plain, "output_tokens": output}
        )
        out["input"] += plain
        sizes.append(plain)
        out["read"] += usage["cache_read_tokens"]
        out["write"] += usage["cache_write_tokens"]
        out["output"] += output
    out["ratio"] = out["with"] / out["without"] if out["without"] else 0.0
    out["request_tokens"] = {"min": min(sizes), "mean": sum(sizes) // len(sizes), "max": max(sizes)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=4)
    parser.add_argument("--photo-side", type=int, default=PHOTO_SIDE)
    args = parser.parse_args()
    recorded = {}
    with tempfile.TemporaryDirectory() as tmp:
        reference = photo(Path(tmp), args.photo_side)
        for wire in ("anthropic", "openai"):
            recorded[wire] = record(wire, Path(tmp), args.rollouts, reference)
    rows, result = [], {}
    for label, wire, model, minimum in MODELS:
        bodies, replies, facts = recorded[wire]
        p = price(model, wire, minimum, bodies, replies)
        result[model] = {**p, **facts}
        rows.append(
            f"| {label} | {facts['requests']} | {p['input'] / 1000:.0f}k | "
            f"{p['read'] / 1000:.0f}k / {p['write'] / 1000:.0f}k | {p['output'] / 1000:.1f}k | "
            f"${p['without']:.3f} | ${p['with']:.3f} | {p['ratio'] * 100:.0f} % |"
        )
    print(
        "| model | requests | input tokens | cache reads / writes | output | without caching "
        "| with caching | with / without |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    from viga_addon.agent.settings import Settings
    from viga_addon.agent.spending import estimate_run

    for label, wire, model, _minimum in MODELS:
        estimate = estimate_run(Settings(provider=wire, model=model)).text()
        sizes = result[model]["request_tokens"]
        print(
            f"\n{label}: input per request {sizes['min']:,}–{sizes['max']:,} tokens "
            f"(mean {sizes['mean']:,}); the pre-run estimate says {estimate}"
        )
    facts = recorded["anthropic"][2]
    print(f"\nrun: {facts['status']}, rounds per stage {facts['rounds']}")
    sonnet = result["claude-sonnet-4-6"]
    print(
        f"targets: with caching <= 50 % of without (Sonnet {sonnet['ratio'] * 100:.0f} %); "
        f"a default run under $1 at Sonnet 4.6 prices (${sonnet['with']:.3f})"
    )
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
