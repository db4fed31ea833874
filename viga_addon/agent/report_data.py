"""What report.html shows, read from a run folder (pure Python, no bpy): ``collect_run``.

Any file of the folder may be missing or torn (a run may be writing it right now, or was
killed): what can be read is shown, nothing raises.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .runstore import read_json
from .state import RunState, StageState

NOVEL_VIEWS_DIR = "novel_views"


def _round_number(path: Path) -> int:
    match = re.fullmatch(r"round_(\d+)", path.name)
    return int(match.group(1)) if match else -1


def _read_json_safe(path: Path):
    """A JSON file's content, or None when missing or torn (a run may be writing it right now)."""
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def _read_text_safe(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _events(run_dir: Path) -> list[dict]:
    path = run_dir / "events.jsonl"
    out = []
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            break  # a torn last line after a kill
    return out


def _typed_state(run_dir: Path, state: RunState | dict | None) -> RunState | None:
    """The run's state: the caller's live one, else state.json (any version); None when it is
    missing or torn (the report then comes from the folder alone)."""
    if isinstance(state, RunState):
        return state
    if state is None:
        state = _read_json_safe(run_dir / "state.json")
    if not isinstance(state, dict):
        return None
    try:
        return RunState.from_json(state)
    except (KeyError, TypeError, ValueError):
        return None


def collect_run(run_dir: str | Path, state: RunState | dict | None = None) -> dict:
    """Everything the report shows, read from a run folder (any of its files may be missing).

    ``state`` is the session's live state when the caller has it (newer than state.json)."""
    run_dir = Path(run_dir)
    state = _typed_state(run_dir, state)
    info = _read_json_safe(run_dir / "run.json") or {}
    metrics = _read_json_safe(run_dir / "metrics.json") or {}
    events = _events(run_dir)
    last_event = max((e["t"] for e in events if isinstance(e.get("t"), int | float)), default=None)
    stage_order = list(
        state.stage_order if state else [s.get("name") for s in info.get("stages", [])]
    )
    stages_root = run_dir / "stages"
    if stages_root.is_dir():
        for d in sorted(p for p in stages_root.iterdir() if p.is_dir()):
            if d.name not in stage_order:
                stage_order.append(d.name)
    stages = []
    for name in stage_order:
        ss = state.stages.get(name) if state else None
        ss = ss or StageState(budget=0)
        attempts = {a.round: a for a in ss.attempts}
        sdir = stages_root / name
        round_dirs = (
            sorted((p for p in sdir.glob("round_*") if _round_number(p) > 0), key=_round_number)
            if sdir.is_dir()
            else []
        )
        rounds = []
        for rdir in round_dirs:
            n = _round_number(rdir)
            attempt = attempts.get(n)
            verdict = _read_json_safe(rdir / "verdict.json") or (
                attempt.verdict.to_json() if attempt and attempt.verdict else {}
            )
            views = sorted((rdir / "views").glob("*.png")) if (rdir / "views").is_dir() else []
            frames = sorted(rdir.glob("physics_*/frames.png"), key=lambda p: p.stat().st_mtime)
            render = rdir / "render.png"
            before = rdir / "before.png"
            rounds.append(
                {
                    "round": n,
                    "dir": rdir,
                    "render": render if render.is_file() else None,
                    "before": before if before.is_file() else None,
                    "views": views,
                    "physics_frames": frames[-1] if frames else None,
                    "code": _read_text_safe(rdir / "code.py"),
                    "verdict": verdict,
                    "metrics": verdict.get("metrics") or (attempt and attempt.metrics) or {},
                    "summary": attempt.summary if attempt else None,
                    "coverage": attempt.coverage if attempt else verdict.get("coverage"),
                    "failed": (attempt and attempt.failed) or verdict.get("failed"),
                    "finished": (rdir / "verdict.json").is_file(),
                }
            )
        started, finished = ss.started, ss.finished
        if started and not finished and ss.status == "running":
            finished = last_event  # still going (or interrupted): time up to its last step
        stages.append(
            {
                "name": name,
                "status": str(ss.status),
                "budget": ss.budget or None,
                "best": ss.best,
                "tokens": ss.tokens.to_json(),
                "cost_usd": ss.cost_usd,
                "seconds": max(0.0, finished - started) if started and finished else None,
                "rounds": rounds,
                "selection": _read_json_safe(sdir / "selection.json"),
            }
        )
    final_png = run_dir / "final.png"
    rendered = run_dir / NOVEL_VIEWS_DIR
    return {
        "novel_views": sorted(rendered.glob("*.png")) if rendered.is_dir() else [],
        "dir": run_dir,
        "name": run_dir.name,
        "state": state,
        "info": info,
        "metrics": metrics,
        "events": events,
        "stages": stages,
        "reference": run_dir / "reference.png" if (run_dir / "reference.png").is_file() else None,
        "final": final_png if final_png.is_file() else None,
    }


# ------------------------------------------------------------------------------------ helpers
