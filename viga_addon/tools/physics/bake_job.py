"""The host's bake_simulation as a render-process job: the job, its time limit and what the
reply becomes (the contact sheet of frames laid out here, in the artist's Blender)."""

from __future__ import annotations

import os
from collections.abc import Callable

OPTIONS = ("sheet", "sheet_frames", "save", "long_side", "samples", "device", "engine")
ADVICE = "fewer frames, fewer or simpler bodies (convex or primitive shapes)"
FRAMES_PER_LIMIT = 6  # frames rendered within one time limit
# seconds a bake and the renders of six of its frames may take in the render process (a job
# that renders more frames gets that much more per six)
BAKE_TIMEOUT = 300.0


def job(out_dir: str, frames: int, cap: int, view: dict, **options) -> dict | str:
    """The ``{"kind": "bake"}`` job (tools/physics/event.run_job), or why it cannot run."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        return f"bake_simulation: unknown option(s) {', '.join(unknown)}"
    if not 1 <= int(frames) <= int(cap):
        return f"bake_simulation: frames must be from 1 to the run's cap of {cap}"
    save = options.get("save")
    return {
        "kind": "bake",
        "frames": int(frames),
        "cap": int(cap),
        "out": os.path.abspath(out_dir),
        "render": {"preset": "preview", **view},
        "sheet_frames": options.get("sheet_frames") or FRAMES_PER_LIMIT,
        "save": os.path.abspath(save) if save else None,
        "what": "bake",
        "advice": ADVICE,
    }


def view(engine: str, device: str, options: dict) -> dict:
    """How the bake's frames are rendered: the host's engine and device unless ``options`` say."""
    keys = ("long_side", "samples", "engine", "device")
    given = {k: v for k, v in options.items() if k in keys and v is not None}
    return {"engine": engine, "device": device, **given}


def time_limit(seconds: float, bake: dict) -> float:
    """``seconds`` per six frames rendered (the bake itself within the first)."""
    shown = bake["cap"] if bake["sheet_frames"] == "all" else int(bake["sheet_frames"])
    return seconds * max(1.0, shown / FRAMES_PER_LIMIT)


def finisher(sheet: str | None) -> Callable[[dict], dict]:
    """What turns the render process's reply into the tool's result."""

    def finish(reply: dict) -> dict:
        if not reply.get("ok"):
            return {"ok": False, **{k: v for k, v in reply.items() if k != "ok"}}
        out = {
            "ok": True,
            "text": reply.get("text", ""),
            "trajectories": reply.get("trajectories") or {},
            "bake": reply.get("bake"),
            "frames": reply.get("frames") or [],
            "first": reply.get("first"),
            "last": reply.get("last"),
        }
        if sheet and out["frames"]:
            from ...common import sheets

            tiles = [sheets.Tile(p, f"frame {f}") for f, p in out["frames"]]
            out["path"] = str(sheets.labelled_sheet(tiles, sheet))
        if reply.get("saved"):
            out["saved"] = reply["saved"]
        return out

    return finish
