"""The settle check as a tool: the job the host sends (``job``), and what the model, the run and
the panel get from its reply (``finish``): whether the scene is physics-ready, the summary line
("stable 5/6 · red_ball floats 3.0 cm"), per object its motion and verdict in a few numbers, and
a strip of the scene at the first and the last frame (frames 0 and 48 of a 2 s check at 24 fps).
"""

from __future__ import annotations

from pathlib import Path

from ...common import sheets
from . import verdicts

FPS = 24
SECONDS = 2.0
FRAMES = (0, 48)


def job(out_dir: str | None, pictures: bool, render: dict, seconds: float = SECONDS) -> dict:
    """The render job of one settle check of the current scene; ``pictures``: render frames 0
    and the last into ``out_dir`` with ``render`` (engine, device, long_side, samples)."""
    spec = {"kind": "physics", "seconds": seconds, "fps": FPS, "write_blend": False}
    if out_dir:
        spec["out"] = out_dir
    if pictures and out_dir:
        last = round(seconds * FPS)
        spec["pictures"] = {"frames": [0, last], "render": {"preset": "preview", **render}}
    return spec


def brief(objects: dict) -> dict:
    """Per object what the model and the panel need: role, verdict, moved cm, turned degrees."""
    out = {}
    for name, o in objects.items():
        row = {"role": o.get("role"), "verdict": o.get("verdict")}
        if o.get("role") == "active":
            row.update(
                moved_cm=round(100 * float(o.get("moved_m") or 0.0), 1),
                turned_deg=round(float(o.get("turned_deg") or 0.0), 1),
                detail=o.get("detail") or "",
            )
        out[name] = row
    return out


def counts(objects: dict) -> tuple[int, int]:
    """(active bodies at rest, active bodies)."""
    active = [o for o in objects.values() if o.get("role") == "active"]
    return sum(o.get("verdict") == "rests" for o in active), len(active)


def summary_of(report: dict) -> dict:
    """What a run keeps of a check (metrics.json, run.json, the report, the panel)."""
    objects = report.get("objects") or {}
    stable, active = counts(objects)
    return {
        "ready": bool(report.get("ready")),
        "summary": report.get("summary") or verdicts.summary(objects),
        "stable": stable,
        "active": active,
        "objects": brief(objects),
        "seconds": report.get("seconds"),
        "check_seconds": (report.get("timing") or {}).get("total_s"),
    }


def _lines(result: dict) -> list[str]:
    lines = [("Physics-ready: " if result["ready"] else "Not physics-ready: ") + result["summary"]]
    for name, o in result["objects"].items():
        if o["role"] == "active":
            lines.append(
                f"- {name}: {o['verdict']} (moved {o['moved_cm']} cm, turned "
                f"{o['turned_deg']}°): {o['detail']}"
            )
        else:
            lines.append(f"- {name}: {o['role']} ({o['verdict']})")
    return lines


def finish(reply: dict, out_dir: str | None = None) -> dict:
    """The tool's result from the job's reply: ``{"ok", "ready", "summary", "stable",
    "active", "objects", "out_dir", "text", "path": the frames strip (when rendered)}``."""
    report = reply.get("physics")
    if not reply.get("ok") or not isinstance(report, dict):
        return {"ok": False, "error": reply.get("error") or "the settle check failed"}
    result = {"ok": True, **summary_of(report), "out_dir": out_dir}
    text = _lines(result)
    pictures = [p for p in report.get("pictures") or () if p.get("ok")]
    if out_dir and pictures:
        tiles = [sheets.Tile(p["path"], f"frame {p['frame']}") for p in pictures]
        result["path"] = str(sheets.strip(tiles, Path(out_dir) / "frames.png"))
        text.append("The image: the scene at " + " and ".join(t.label for t in tiles) + ".")
    elif report.get("pictures"):
        errors = {p.get("error") for p in report["pictures"] if not p.get("ok")}
        text.append("The frames could not be rendered: " + "; ".join(map(str, errors)))
    result["text"] = "\n".join(text)
    return result
