"""3D Viewport › Sidebar › VIGA › Physics: is the open scene physics-ready?

Shows the settle check of the scene's last run ("Last run: stable 3/3 · physics-ready", from
its run.json), the Check Physics button (``viga.check_physics``, operators/physics.py: the check
runs in the render process; a Stop while it runs), then the check's summary line ("stable 5/6 ·
red_ball floats 3.0 cm"), one row per object with its verdict and motion, and Apply Rigid
Bodies. ``draw_physics(layout, context)`` does the drawing so tests can draw into a recording
layout; ``run_line(context)`` is the last run's line, for any panel that wants it.
"""

from __future__ import annotations

import json
from pathlib import Path

import bpy

from .. import live as rt
from ..operators import physics as physics_op
from .main_panel import VigaPanel
from .text_fit import info, note, wrap

VERDICT_ICONS = {
    "rests": "CHECKMARK",
    "support": "MESH_PLANE",
    "ignored": "HIDE_ON",
}
_RUN_INFO: dict[str, tuple[float, dict]] = {}  # run.json path -> (mtime, its "physics")


def _run_physics(run_dir: str) -> dict:
    """The ``physics`` of a run folder's run.json (cached by modification time)."""
    path = Path(run_dir) / "run.json"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    cached = _RUN_INFO.get(str(path))
    if cached is None or cached[0] != mtime:
        try:
            physics = json.loads(path.read_text()).get("physics") or {}
        except (OSError, ValueError):
            physics = {}
        cached = _RUN_INFO[str(path)] = (mtime, physics if isinstance(physics, dict) else {})
    return cached[1]


def run_line(context) -> str:
    """ "stable 3/3 · physics-ready" for the final scene of this scene's run ("" before one
    has finished)."""
    live = rt.live_run(context.scene)
    run_dir = str(live.session.run_dir) if live is not None else context.scene.viga.run_dir
    if not run_dir:
        return ""
    physics = _run_physics(bpy.path.abspath(run_dir))
    if physics.get("error"):
        return f"settle check failed: {physics['error']}"
    return physics.get("summary") or ""


def _object_row(layout, name: str, o: dict) -> None:
    """One object: its name, then a short verdict; the numbers and the why in the tooltip."""
    icon = VERDICT_ICONS.get(o.get("verdict"), "ERROR")
    split = layout.split(factor=0.55, align=True)
    split.label(text=name, icon=icon)
    if o.get("role") == "active":
        why = f"{name}: {o['verdict']}; moved {o['moved_cm']:.1f} cm, turned {o['turned_deg']:.1f}°"
        if o.get("verdict") != "rests" and o.get("detail"):
            why += f". {o['detail']}"
        note(split, f"{o['verdict']} {o['moved_cm']:.1f} cm", why)
    else:
        split.label(text=str(o.get("role") or o.get("verdict") or ""))


def draw_physics(layout, context) -> None:
    line = run_line(context)
    if line:
        row = layout.row()
        row.label(text="Last run", icon="PHYSICS")
        info(row, f"The settle check of the last run's final scene: {line}")
        wrap(layout, context, line)
    job = physics_op.job_for(context.scene)
    if job is not None:
        row = layout.row()
        row.label(text="Checking", icon="TIME")
        info(row, "2 s of gravity, simulated in the render process; Blender stays free.")
        layout.operator("viga.physics_stop", text="Stop", icon="CANCEL")
        return
    row = layout.row(align=True)
    row.operator("viga.check_physics", text="Check Physics", icon="PHYSICS")
    info(
        row,
        "Gives every object a rigid body, lets the scene fall for 2 s under gravity and says "
        "what moves. Ready: no object moves over 1 cm or turns over 2°. The scene is not changed.",
    )
    result = physics_op.result_for(context.scene)
    if not result:
        return
    box = layout.box()
    wrap(box, context, result["summary"], icon="CHECKMARK" if result["ready"] else "ERROR", boxes=1)
    for name, o in (result.get("objects") or {}).items():
        _object_row(box, name, o)
    if result.get("warning"):
        wrap(box, context, result["warning"], icon="ERROR", boxes=1)
    layout.operator("viga.apply_rigid_bodies", text="Apply Rigid Bodies", icon="RIGID_BODY")


class VIGA_PT_physics(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_physics"
    bl_label = "Physics"
    bl_parent_id = "VIGA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_physics(self.layout, context)


CLASSES = (VIGA_PT_physics,)
