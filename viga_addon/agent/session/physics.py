"""The settle check in a run: the ``check_physics`` tool's results and the final scene's check.

A check's result, kept compact (``ready``, the ``summary`` line "stable 5/6 · red_ball floats
3.0 cm", ``stable``/``active`` counts and per object its role, verdict, moved cm and turned
degrees), goes into the round's attempt metrics under ``"physics"`` (the latest check of the
round: the generator's before the attempt exists, the verifier's of the attempt itself), and so
into metrics.json, the report and the panel. At the end of every run the final scene is checked
(``final_check``, in the render process when there is one, no pictures): ``physics.json`` in the
run folder, and the compact result in metrics.json, run.json and the run's final message.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from ..runstore import read_json, write_json
from .base import SessionBase
from .events import Wait

Checking = Generator[Wait, None, dict]  # waits on the render process, returns the result

KEEP = ("ready", "summary", "stable", "active", "objects", "check_seconds")
CHECK_FILE = "check.json"  # the compact result, beside the job's physics.json and frames


def compact(result: dict) -> dict:
    return {k: result[k] for k in KEEP if k in result}


def tool_dir(s: SessionBase) -> Path:
    """Where the next check of this round writes: ``round_<n>/physics_<k>/``."""
    rdir = s.round_dir()
    k = len(list(rdir.glob("physics_*"))) if rdir.exists() else 0
    return rdir / f"physics_{k + 1}"


def run_tool(s: SessionBase) -> Checking:
    """The check_physics tool call, in the render process (waited for); its result recorded."""
    result = yield from s.host_wait("render", "check_physics", {"out_dir": str(tool_dir(s))})
    if result.get("ok") and result.get("out_dir"):
        record(s, Path(result["out_dir"]), compact(result))
    return result


def record(s: SessionBase, out: Path, result: dict) -> None:
    write_json(out / CHECK_FILE, result)
    ss = s.stage_state
    if ss.attempts and ss.attempts[-1].round == ss.round and not ss.attempts[-1].failed:
        attempt = ss.attempts[-1]  # the verifier's check: of the attempt itself
        attempt.metrics = {**(attempt.metrics or {}), "physics": result}


def latest(rdir: Path) -> dict | None:
    """The latest check of round folder ``rdir`` (None when it had none)."""
    found = [p for p in rdir.glob(f"physics_*/{CHECK_FILE}") if p.parent.name[8:].isdigit()]
    if not found:
        return None
    return read_json(max(found, key=lambda p: int(p.parent.name[8:])))


def final_check(s: SessionBase, run_dir: Path) -> Checking:
    """The final scene's check (physics.json in ``run_dir``), waited for: its compact result,
    or ``{"error"}``."""
    result = yield from s.host_wait(
        "other_tools", "check_physics", {"out_dir": str(run_dir), "pictures": False}
    )
    if not result.get("ok"):
        return {"error": result.get("error") or "the settle check failed"}
    return compact(result)


def record_final(s: SessionBase, result: dict) -> None:
    """The final check into run.json (``physics``: ready, summary, counts) and the message."""
    info = s.store.run_info()
    info["physics"] = {k: v for k, v in result.items() if k != "objects"}
    s.store.write_run_info(info)


def line(result: dict | None) -> str:
    """The final check in the run's message: "physics: stable 3/3 · physics-ready"."""
    if not result:
        return ""
    if result.get("error"):
        return f"physics check failed: {result['error']}"
    return f"physics: {result.get('summary', '')}"
