"""How long one Session.step() keeps Blender's main thread, with renders in the render process
and in-process, side by side in one run (issue 13).

A full scripted run of the offline demo at the default settings (Settings(): 256 px / 16
sample previews, 512 px / 64 sample final, 4 init rollouts; Cycles on the CPU), pumped as the
modal operator does: step(), and on a waiting step sleep one timer tick
(ui.live.TICK_SECONDS). For each way of rendering: the longest and the 99th-percentile step
(execute_code steps reported apart: they run the model's own code, bounded by its time limit),
the full run's wall time, and, with the render process, each
render's overhead (scene file written here + opened there) against the render itself.

    .venv/bin/python bench/step_bench.py [--preview-size 256 --preview-samples 16]
        [--final-size 512 --final-samples 64] [--order inprocess,process]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402, F401  (puts the repository on sys.path)


def one_run(runs_root: Path, settings: dict, render_process: bool) -> dict:
    import bpy

    from viga_addon.agent.session import Session
    from viga_addon.agent.session.events import StepKind
    from viga_addon.agent.worker import ModelWorker
    from viga_addon.demo import tabletop
    from viga_addon.tools.host import BlenderHost
    from viga_addon.ui.live import TICK_SECONDS

    bpy.ops.wm.read_factory_settings(use_empty=True)
    worker = ModelWorker("scripted", opts={"script": copy.deepcopy(tabletop.SCRIPT)})
    host = BlenderHost(
        render_device="cpu",
        preview_size=settings["preview_size"],
        preview_samples=settings["preview_samples"],
        render_process=render_process,
    )
    jobs = []
    if host.process is not None:
        real_poll = host.poll

        def poll(token):
            result = real_poll(token)
            if result is not None:
                renders = [r.get("seconds", 0.0) for r in _render_results(result)]
                jobs.append({**host.last_job, "render_seconds": sum(renders)})
            return result

        host.poll = poll
    steps: list[tuple[float, str, str, str]] = []  # (seconds, kind, tool, phase)
    try:
        session = Session.create(tabletop.PHOTO, runs_root, host, worker, settings)
        t0 = time.perf_counter()
        while True:
            phase = str(session.state.phase)
            if session.state.awaiting is not None:
                phase += " (model reply)"
            s0 = time.perf_counter()
            r = session.step()
            took = time.perf_counter() - s0
            steps.append((took, str(r.kind), r.tool or "", _phase_label(phase, r)))
            if r.stops and not r.waiting:
                break
            if r.waiting:
                time.sleep(TICK_SECONDS)
        wall = time.perf_counter() - t0
    finally:
        worker.close()
        host.close()
    if session.status.value != "done":
        raise RuntimeError(f"run ended {session.status}: {session.state.message}")
    own = [s for s in steps if not (s[1] == StepKind.TOOL and s[2] == "execute_code")]
    code = [s for s in steps if s[1] == StepKind.TOOL and s[2] == "execute_code"]
    longest = max(own)
    return {
        "wall": wall,
        "steps": len(steps),
        "max": longest[0],
        "max_at": longest[3],
        "p99": _percentile([s[0] for s in own], 99),
        "code_max": max((s[0] for s in code), default=0.0),
        "render_timing": session.state.timing.render,
        "by_phase": _by_phase(own),
        "jobs": jobs,
    }


def _phase_label(phase: str, r) -> str:
    """The phase the step ran in, and what it did there: a tool, a render awaited, a short part
    of a phase split into steps."""
    what = r.extra.get("working") or r.extra.get("host_call") or r.tool or str(r.kind)
    return f"{phase}: {what}"


def _by_phase(steps) -> list[tuple[str, int, float, float]]:
    """(phase: what, steps, longest, p99), longest first."""
    groups: dict[str, list[float]] = {}
    for seconds, _, _, label in steps:
        groups.setdefault(label, []).append(seconds)
    rows = [(k, len(v), max(v), _percentile(v, 99)) for k, v in groups.items()]
    return sorted(rows, key=lambda row: -row[2])


def _render_results(result: dict) -> list[dict]:
    if "seconds" in result and "path" in result:
        return [result]
    return [i for i in result.get("images") or [] if isinstance(i, dict) and "seconds" in i]


def _percentile(values, q):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def main(argv=None) -> int:
    from viga_addon.agent.settings import Settings

    default = Settings()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preview-size", type=int, default=default.preview_size)
    ap.add_argument("--preview-samples", type=int, default=default.preview_samples)
    ap.add_argument("--final-size", type=int, default=default.final_size)
    ap.add_argument("--final-samples", type=int, default=default.final_samples)
    ap.add_argument("--order", default="inprocess,process")
    args = ap.parse_args(argv)
    settings = {
        "preview_size": args.preview_size,
        "preview_samples": args.preview_samples,
        "final_size": args.final_size,
        "final_samples": args.final_samples,
        "render_device": "cpu",
    }
    results = {}
    with tempfile.TemporaryDirectory(prefix="viga_step_bench_") as tmp:
        for mode in args.order.split(","):
            results[mode] = one_run(Path(tmp) / mode, settings, mode == "process")
            print(f"{mode}: done in {results[mode]['wall']:.1f} s", file=sys.stderr)
    print(
        f"### Main thread during a full run ({args.preview_size} px / {args.preview_samples} "
        f"spp previews, final {args.final_size} px / {args.final_samples} spp, Cycles CPU)\n"
    )
    print("| rendering | steps | longest step | at | p99 step | execute_code max | full run |")
    print("|---|---|---|---|---|---|---|")
    for mode, r in results.items():
        print(
            f"| {mode} | {r['steps']} | {r['max'] * 1000:.0f} ms | {r['max_at']} | "
            f"{r['p99'] * 1000:.1f} ms | {r['code_max'] * 1000:.0f} ms | {r['wall']:.1f} s |"
        )
    for mode, r in results.items():
        print(f"\n| {mode}: steps by phase (longest first) | steps | longest | p99 |")
        print("|---|---|---|---|")
        for label, count, longest, p99 in r["by_phase"][:12]:
            print(f"| {label} | {count} | {longest * 1000:.1f} ms | {p99 * 1000:.1f} ms |")
    if "process" in results and "inprocess" in results:
        ratio = results["process"]["wall"] / results["inprocess"]["wall"]
        print(f"\nfull run, render process / in-process: **{ratio:.3f}×**")
    jobs = results.get("process", {}).get("jobs") or []
    if jobs:
        write = [j["write_seconds"] for j in jobs if j.get("write_seconds") is not None]
        load = [j["load_seconds"] for j in jobs if j.get("load_seconds") is not None]
        render = [j["render_seconds"] for j in jobs]
        total = [j["total_seconds"] for j in jobs if j.get("total_seconds") is not None]
        print(f"\n| per render job ({len(jobs)} jobs) | median | max |")
        print("|---|---|---|")
        for name, values in (
            ("scene file written (main thread)", write),
            ("scene file opened (render process)", load),
            ("render(s) of the job", render),
            ("job, start to result", total),
        ):
            print(
                f"| {name} | {statistics.median(values) * 1000:.0f} ms | {max(values) * 1000:.0f} ms |"
            )
        overhead = statistics.median(write) + statistics.median(load)
        print(
            f"\noverhead per job (write + load, medians) / render: "
            f"**{overhead / statistics.median(render) * 100:.1f}%**"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
