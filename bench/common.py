"""Shared helpers for the benchmarks in bench/ (run from the repository root)."""

from __future__ import annotations

import copy
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def scripted_session(runs_root: Path, settings: dict, script=None, client=None):
    """A Session of the bundled demo script on a fresh empty scene (real bpy, real Cycles)."""
    import bpy

    from viga_addon.agent.session import Session
    from viga_addon.agent.worker import ModelWorker
    from viga_addon.demo import tabletop
    from viga_addon.tools.host import BlenderHost

    bpy.ops.wm.read_factory_settings(use_empty=True)
    settings = {"render_device": "cpu", **settings}
    worker = client or ModelWorker(
        "scripted", opts={"script": script or copy.deepcopy(tabletop.SCRIPT)}
    )
    host = BlenderHost(
        render_device="cpu",
        preview_size=settings.get("preview_size", 256),
        preview_samples=settings.get("preview_samples", 16),
    )
    return Session.create(tabletop.PHOTO, runs_root, host, worker, settings), worker


def demo_final_blend(tmp: Path) -> Path:
    """final.blend of the offline demo (tiny renders): the tabletop scene the benches use."""
    session, worker = scripted_session(
        tmp / "demo",
        {"preview_size": 32, "preview_samples": 1, "final_size": 32, "final_samples": 1},
    )
    try:
        status = session.run_to_end()
    finally:
        worker.close()
    if status != "done":
        raise RuntimeError(f"demo run ended {status}: {session.state.message}")
    return session.run_dir / "final.blend"


def median(values) -> float:
    return statistics.median(values)


def table(header: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
