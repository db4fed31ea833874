"""3D Viewport › Sidebar › VIGA › Refine: numeric refinement of the open scene against the photo.

Choose the groups (lighting, material, placement, camera), optionally only the selected
objects, and a render budget; Refine runs ``viga.refine`` (operators/refine.py), whose job state
this panel reads for the progress bar (the render process's progress lines, or the renders done
here when it could not start). ``draw_refine(layout, context)`` does the drawing so tests can
draw into a recording layout.
"""

from __future__ import annotations

import time

import bpy

from ..operators import refine as refine_op
from .main_panel import VigaPanel
from .text_fit import info, wrap


def draw_refine(layout, context) -> None:
    props = context.scene.viga
    job = refine_op.job_for(context.scene)
    column = layout.column()
    column.enabled = job is None
    grid = column.grid_flow(columns=2, even_columns=True)
    for _group, prop in refine_op.GROUP_PROPS:
        grid.prop(props, prop)
    column.prop(props, "refine_selected_only")
    if props.refine_selected_only:
        count = len(refine_op.chosen_objects(context, props) or [])
        column.label(text=f"{count} selected", icon="RESTRICT_SELECT_OFF")
    column.prop(props, "refine_budget")
    if job is not None:
        text = f"{job.renders}/{job.budget} renders"
        if job.stop:
            text += " · stopping"
        elif job.best_psnr is not None:
            text += f" · {job.best_psnr:.1f} dB"
        layout.progress(factor=job.fraction, type="BAR", text=text)
        wrap(layout, context, str(job.phase), icon="TRIA_RIGHT")
        row = layout.row()
        if not job.stop:
            row.operator("viga.refine_stop", text="Stop", icon="CANCEL")
        elif time.monotonic() - job.stopped_at > refine_op.ABANDON_AFTER:
            row.operator("viga.refine_stop", text="Abandon", icon="CANCEL")
        info(
            row,
            "Stop keeps the best state found; pressed again later, Abandon leaves the scene "
            "unchanged. ESC stops too; Ctrl+Z undoes the whole refinement.",
        )
        if job.warning:
            wrap(layout, context, job.warning, icon="ERROR")
        return
    layout.operator("viga.refine", text="Refine", icon="SHADERFX")
    last = refine_op.LAST.get(context.scene.name)
    if last:
        wrap(layout, context, last, icon="INFO")


class VIGA_PT_refine(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_refine"
    bl_label = "Refine"
    bl_parent_id = "VIGA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_refine(self.layout, context)


CLASSES = (VIGA_PT_refine,)
