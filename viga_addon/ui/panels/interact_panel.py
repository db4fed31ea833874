"""3D Viewport › Sidebar › VIGA › Make it Move: a prompt and *Make it Move* (operators/interact.py),
then what the last interaction did (the can tipped, the ball rolled 2 m) and its files.
``draw_interact(layout, context)`` does the drawing so tests can draw into a recording layout."""

from __future__ import annotations

import json
from pathlib import Path

import bpy

from .. import live as rt
from .main_panel import VigaPanel
from .text_fit import info, wrap

_METRICS: dict[str, tuple[float, dict | None]] = {}  # metrics.json -> (mtime, interaction)


def last_interaction(scene) -> dict | None:
    """metrics.json's interaction of the scene's last run, when it had one (read again only
    when the file changes: the panel asks on every redraw)."""
    run_dir = getattr(scene.viga, "run_dir", "") if scene is not None else ""
    if not run_dir:
        return None
    path = Path(bpy.path.abspath(run_dir)) / "metrics.json"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    cached = _METRICS.get(str(path))
    if cached is None or cached[0] != mtime:
        try:
            found = json.loads(path.read_text()).get("interaction")
        except (OSError, ValueError, AttributeError):
            found = None
        cached = _METRICS[str(path)] = (mtime, found if isinstance(found, dict) else None)
    return cached[1]


def summary(found: dict) -> str:
    """One line of what moved most, e.g. "yellow_can tilted 90° · red_ball moved 1.9 m"."""
    if not found.get("ok"):
        return f"the bake failed: {found.get('error')}"
    paths = found.get("trajectories") or {}
    tilted = [(t.get("tilt_deg") or 0, n) for n, t in paths.items()]
    moved = [(t.get("moved_m") or 0, n) for n, t in paths.items()]
    parts = []
    if tilted and max(tilted)[0] > 20:
        parts.append(f"{max(tilted)[1]} tilted {max(tilted)[0]:.0f}°")
    if moved:
        parts.append(f"{max(moved)[1]} moved {max(moved)[0]:.1f} m")
    return " · ".join(parts) or "nothing moved"


def draw_interact(layout, context) -> None:
    props = context.scene.viga
    live = rt.live_run(context.scene)
    going = rt.run_is_going(live)
    column = layout.column()
    column.enabled = not going
    column.prop(props, "interaction_prompt", text="")
    column.prop(props, "interaction_frames")
    column.operator("viga.make_it_move", icon="PHYSICS")
    found = last_interaction(context.scene)
    if found and not going:
        wrap(layout, context, summary(found), icon="INFO")
        row = layout.row()
        row.label(text="Baked in final.blend", icon="FILE_MOVIE")
        info(
            row,
            "The run's final.blend holds the baked simulation: open it and press Play. The run "
            "folder has frames/ and preview.gif.",
        )


class VIGA_PT_interact(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_interact"
    bl_label = "Make it Move"
    bl_parent_id = "VIGA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_interact(self.layout, context)


CLASSES = (VIGA_PT_interact,)
