"""Benchmarks of whole scripted runs (offline demo: recorded replies, real bpy, real Cycles).

1. share of a run that is neither model wait nor rendering, from state.json's timing split
   (model / execute / render / other_tools; what no category holds is the session's own
   book-keeping — state.json and events.jsonl writes, message building — and the host calls
   the session does not time: saving final.blend, writing scene.py, scene info);
2. input tokens and images per full staged run, memory="compact" against memory="full"
   (keep everything), same script, same rounds: every request is recorded as sent;
3. the longest main-thread block while a request is pending: Session.step() durations while
   the scripted provider delays each reply ({"delay": s} on every turn).

    .venv/bin/python bench/pipeline_bench.py [--preview-size 128] [--delay 0.5]

Prints Markdown tables and, last, a line ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# Image token estimate (Anthropic's published rule: width * height / 750 per image), taken at
# our default preview size (256 px long side) for renders and the real size for the photo.
DEFAULT_PREVIEW_LONG_SIDE = 256
CHARS_PER_TOKEN = 4


class RecordingClient:
    """Wraps the model worker and keeps every request the session sends."""

    def __init__(self, inner):
        self.inner = inner
        self.requests: list[dict] = []

    def submit(self, request):
        self.requests.append(copy.deepcopy(request))
        return self.inner.submit(request)

    def poll(self):
        return self.inner.poll()

    def cancel(self):
        return self.inner.cancel()

    def close(self):
        return self.inner.close()


def _image_tokens(path: str, reference: str) -> float:
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
    if path != reference:
        scale = DEFAULT_PREVIEW_LONG_SIDE / max(w, h)
        w, h = w * scale, h * scale
    return w * h / 750


def request_cost(request: dict, reference: str) -> dict:
    """Images and estimated input tokens of one request as sent."""
    images = 0
    image_tokens = 0.0
    text = [request.get("system") or "", json.dumps(request.get("tools") or [])]
    for message in request["messages"]:
        for part in message["content"]:
            inner = part["content"] if part["type"] == "tool_result" else [part]
            for p in inner:
                if p["type"] == "image":
                    images += 1
                    image_tokens += _image_tokens(p["path"], reference)
                elif p["type"] == "text":
                    text.append(p["text"])
                else:
                    text.append(json.dumps(p))
    text_tokens = sum(len(t) for t in text) / CHARS_PER_TOKEN
    return {"images": images, "tokens": text_tokens + image_tokens}


def run_recorded(tmp: Path, settings: dict, script=None):
    from viga_addon.agent.worker import ModelWorker
    from viga_addon.demo import tabletop

    client = RecordingClient(
        ModelWorker("scripted", opts={"script": script or copy.deepcopy(tabletop.SCRIPT)})
    )
    session, _ = common.scripted_session(tmp, settings, client=client)
    try:
        status = session.run_to_end()
    finally:
        client.close()
    if status != "done":
        raise RuntimeError(f"run ended {status}: {session.state.message}")
    return session, client


def always_rejecting_script():
    """The demo script with every verifier rejecting: each stage spends its whole default budget
    (the long runs where memory policy matters)."""
    from viga_addon.demo import tabletop

    script = copy.deepcopy(tabletop.SCRIPT)
    for name, entry in script.items():
        if name == "init":
            continue
        for i, turns in enumerate(entry.get("verifier", [])):
            call = turns[-1]["tool_calls"][0]
            if call["name"] == "submit_verdict":
                call["arguments"].update(
                    approved=False, best_attempt=1, checklist=[f"{name}: still not right ({i + 1})"]
                )
    return script


def run_share(tmp: Path, size: int, samples: int) -> dict:
    settings = {
        "preview_size": size,
        "preview_samples": samples,
        "final_size": size,
        "final_samples": samples,
    }
    session, _client = run_recorded(tmp / "share", settings)
    timing = session.state.timing.to_json()
    elapsed = session.state.elapsed
    return {
        "timing": timing,
        "elapsed": elapsed,
        "unaccounted": elapsed - sum(timing.values()),
        "rounds": sum(len(s.attempts) for s in session.state.stages.values()),
        "neither_share": (elapsed - timing["model"] - timing["render"]) / elapsed,
    }


def run_memory(tmp: Path, scenario: str, script) -> dict:
    settings = {"preview_size": 32, "preview_samples": 1, "final_size": 32, "final_samples": 1}
    out = {}
    for policy in ("compact", "full"):
        session, client = run_recorded(
            tmp / f"{scenario}-{policy}", {**settings, "memory": policy}, script=script
        )
        ref = str(session.store.reference)
        costs = [request_cost(r, ref) for r in client.requests]
        out[policy] = {
            "requests": len(client.requests),
            "rounds": sum(len(s.attempts) for s in session.state.stages.values()),
            "images": sum(c["images"] for c in costs),
            "tokens": sum(c["tokens"] for c in costs),
        }
    out["image_ratio"] = out["compact"]["images"] / out["full"]["images"]
    out["token_ratio"] = out["compact"]["tokens"] / out["full"]["tokens"]
    return out


def main_thread_block(tmp: Path, delay: float) -> dict:
    """Session.step() durations while the scripted model takes ``delay`` s per reply."""
    from viga_addon.demo import tabletop

    script = copy.deepcopy(tabletop.SCRIPT)
    for entry in script.values():
        for rounds in entry.values():
            for turns in rounds:
                for turn in turns:
                    turn["delay"] = delay
    settings = {
        "preview_size": 32,
        "preview_samples": 1,
        "final_size": 32,
        "final_samples": 1,
        "stages": ["init", "geometry"],
    }
    session, worker = common.scripted_session(tmp, settings, script=script)
    pending, other = [], []
    try:
        while True:
            was_pending = session.state.awaiting is not None
            t0 = time.perf_counter()
            r = session.step()
            dt = time.perf_counter() - t0
            (pending if was_pending else other).append(dt)
            if r.kind in ("done", "failed", "cancelled", "paused", "review"):
                break
            if r.waiting:
                time.sleep(0.01)  # the modal operator's timer interval
    finally:
        worker.close()
    if session.status != "done":
        raise RuntimeError(session.state.message)
    return {
        "delay": delay,
        "requests": session.state.totals.requests,
        "pending_steps": len(pending),
        "pending_max": max(pending),
        "pending_median": common.median(pending),
        "other_max": max(other),
    }


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preview-size", type=int, default=128)
    ap.add_argument("--preview-samples", type=int, default=8)
    ap.add_argument("--delay", type=float, default=0.5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="viga-bench-"))
    result = {
        "share": run_share(tmp, args.preview_size, args.preview_samples),
        "settings": {"preview_size": args.preview_size, "preview_samples": args.preview_samples},
        "memory": {
            "demo": run_memory(tmp, "demo", None),
            "budget_spent": run_memory(tmp, "long", always_rejecting_script()),
        },
    }
    result["main_thread"] = main_thread_block(tmp / "block", args.delay)
    print(markdown(result))
    print("RESULT " + json.dumps(result))
    return result


def markdown(r: dict) -> str:
    c = r["share"]
    t = c["timing"]
    e = c["elapsed"]
    pct = lambda v: f"{100 * v / e:.1f}%"  # noqa: E731
    size = r["settings"]
    share = common.table(
        [
            f"full staged run, {c['rounds']} rounds ({size['preview_size']} px, "
            f"{size['preview_samples']} spp)",
            "seconds",
            "share",
        ],
        [
            ["model wait (scripted: replies are instant)", f"{t['model']:.2f}", pct(t["model"])],
            ["rendering (previews, verifier views, final)", f"{t['render']:.2f}", pct(t["render"])],
            ["execute_code (incl. its undo checkpoint)", f"{t['execute']:.2f}", pct(t["execute"])],
            [
                "other tools (snapshots, restores, compare, scene info)",
                f"{t['other_tools']:.2f}",
                pct(t["other_tools"]),
            ],
            [
                "untimed: state.json + events.jsonl writes (fsynced every step), message "
                "building, host calls outside the split (final.blend save, scene.py, scene info)",
                f"{c['unaccounted']:.2f}",
                pct(c["unaccounted"]),
            ],
            [
                "**neither model wait nor rendering**",
                f"{e - t['model'] - t['render']:.2f}",
                f"**{100 * c['neither_share']:.1f}%**",
            ],
            ["elapsed", f"{e:.2f}", "100%"],
        ],
    )
    rows = []
    for label, key in (
        ("demo script (stages approve early)", "demo"),
        ("every verifier rejects: default budgets spent", "budget_spent"),
    ):
        mm = r["memory"][key]
        f, cc = mm["full"], mm["compact"]
        rows.append(
            [
                label,
                cc["rounds"],
                cc["requests"],
                f"{f['images']} → {cc['images']}",
                f"**{100 * mm['image_ratio']:.0f}%**",
                f"{f['tokens']:,.0f} → {cc['tokens']:,.0f}",
                f"**{100 * mm['token_ratio']:.0f}%**",
            ]
        )
    memory = common.table(
        [
            "run",
            "rounds",
            "requests",
            "images full → compact",
            "images %",
            "input tokens (est.) full → compact",
            "tokens %",
        ],
        rows,
    )
    m = r["main_thread"]
    block = common.table(
        ["main thread while a request is pending", "value"],
        [
            ["model delay per reply (scripted)", f"{m['delay']:.2f} s"],
            ["requests", m["requests"]],
            ["step() calls while pending", m["pending_steps"]],
            ["**longest step() while pending**", f"**{1000 * m['pending_max']:.1f} ms**"],
            ["median step() while pending", f"{1000 * m['pending_median']:.2f} ms"],
            [
                "longest step() otherwise (a render or snapshot, no request pending)",
                f"{1000 * m['other_max']:.0f} ms",
            ],
        ],
    )
    return "\n\n".join([share, memory, block])


if __name__ == "__main__":
    main()
