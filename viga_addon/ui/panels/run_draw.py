"""Drawing of a run for the panels: the controls (Reconstruct, Pause/Step/Cancel, Resume, the
review and paused boxes), the stage table, the progress and the verifier's checklist.

Short words in labels, their explanation in tooltips (text_fit.note / info); a message that
must be read whole (an error, a pause reason) wrapped to the panel's width.
"""

from __future__ import annotations

from pathlib import Path

import bpy

from .. import live as rt
from . import match_draw
from .text_fit import info, note, wrap

STATUS_ICONS = {
    "waiting": "TIME",
    "running": "PLAY",
    "approved": "CHECKMARK",
    "budget_spent": "SORTTIME",
    "failed": "ERROR",
    "skipped": "FORWARD",
}
ROUND_COLUMN = 0.37  # of the right half of a stage row: "Round" fits at every scale
PSNR_HELP = "PSNR (dB) of the stage's latest render against the photo; SSIM in the tooltip"


def fmt_time(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def view(context):
    """(live run or None, progress or None) the panels show for this scene: the live run's, else
    that of the run folder this scene remembers."""
    live = rt.live_run(context.scene)
    if live is not None:
        return live, live.session.progress()
    run_dir = context.scene.viga.run_dir
    return None, rt.saved_progress(bpy.path.abspath(run_dir)) if run_dir else None


# ----------------------------------------------------------------------------- controls
def _draw_step_through(layout, context) -> None:
    """The step-through options of the next run (kept in the add-on preferences)."""
    from ..preferences import prefs

    p = prefs(context)
    if p is None:
        return
    row = layout.row(align=True)
    row.prop(p, "review_code", text="Review", toggle=True, icon="TEXT")
    row.prop(p, "pause_after", text="")


def _draw_idle(col, context, props, progress) -> None:
    if progress and not progress.finished:
        box = col.box()
        row = box.row()
        row.label(text=f"Saved mid-run: {progress.stage}", icon="RECOVER_LAST")
        info(
            row,
            f"This file was saved during a run ({progress.status} at {progress.stage} round "
            f"{progress.round}). Resume continues from the last completed round.",
        )
        box.operator("viga.resume_run", text="Resume", icon="PLAY")
    elif progress:
        row = col.row()
        row.label(text="Last run done", icon="CHECKMARK")
        row.operator("viga.resume_run", text="Load", icon="LOOP_BACK")
    if props.run_dir:
        note(
            col.row(),
            Path(bpy.path.abspath(props.run_dir)).name,
            "This scene's run folder",
            icon="FILE_FOLDER",
        )
    _draw_step_through(col, context)
    row = col.row()
    row.scale_y = 1.5
    row.enabled = rt.choose(context).ok and not rt.run_is_going(rt.any_live_run())
    row.operator("viga.run", icon="PLAY")
    match_draw.draw_match(col, context, row.enabled)


def draw_controls(layout, context, props, live, progress) -> None:
    col = layout.column()
    if live is None:
        _draw_idle(col, context, props, progress)
        return
    status = live.status
    row = col.row(align=True)
    row.scale_y = 1.3
    message = live.session.state.message
    if status == "running":
        row.operator("viga.pause", text="Pause", icon="PAUSE")
        row.operator("viga.step_round", text="Step", icon="FRAME_NEXT")
        row.operator("viga.cancel", text="Cancel", icon="CANCEL")
    elif status == "paused":
        row.operator("viga.resume_run", text="Resume", icon="PLAY")
        row.operator("viga.step_round", text="Step", icon="FRAME_NEXT")
        row.operator("viga.cancel", text="Cancel", icon="CANCEL")
        box = col.box()
        head = box.row()
        head.label(text="Paused", icon="PAUSE")
        info(
            head,
            "Edit the scene if you like: your edits are kept and told to the next round when "
            "you resume.",
        )
        wrap(box, context, message or "paused", boxes=1)
        removed = rt.removed_while_paused(live, context.scene)
        if removed:
            box.alert = True
            wrap(box, context, f"Deleted by hand: {', '.join(removed[:6])}", "ERROR", boxes=1)
            info(
                box,
                "Resume keeps the deletion (the model is told); Revert a stage to get them back.",
            )
    elif status == "review":
        box = col.box()
        head = box.row()
        head.label(text="Review the code", icon="TEXT")
        info(
            head,
            f"The generator's code is in the Text datablock {rt.CODE_TEXT_NAME!r}: edit it, "
            "then Approve (runs your version) or Skip (not run).",
        )
        r = box.row(align=True)
        r.scale_y = 1.3
        r.operator("viga.approve_code", text="Approve", icon="CHECKMARK")
        r.operator("viga.skip_code", text="Skip", icon="X")
        box.operator("viga.open_code", text="Show Code", icon="TEXT")
        row.operator("viga.cancel", text="Cancel", icon="CANCEL")
    elif status == "done":
        head = col.row()
        head.label(text="Done: editable scene", icon="CHECKMARK")
        info(head, "Revert a stage below to continue from it, or reconstruct again.")
        row.enabled = rt.choose(context).ok
        row.operator("viga.run", text="Again", icon="PLAY")
    else:  # failed, cancelled
        box = col.box()
        box.alert = status == "failed"
        icon = "ERROR" if status == "failed" else "CANCEL"
        wrap(box, context, f"{status}: {message}", icon=icon, boxes=1)
        row.operator("viga.resume_run", text="Resume", icon="PLAY")
        sub = row.row()
        sub.enabled = rt.choose(context).ok
        sub.operator("viga.run", text="New Run", icon="FILE_REFRESH")
    match_draw.draw_put_back(col, live)
    if live.error:
        box = col.box()
        box.alert = True
        wrap(box, context, live.error, icon="ERROR", boxes=1)
    for warning in getattr(live.session, "warnings", ()):  # e.g. rendering in-process
        wrap(col.box(), context, warning, icon="ERROR", boxes=1)
    if live.hand_edits:
        wrap(col, context, "Hand edits kept: " + rt.summarize_changes(live.hand_edits), "INFO")


# ----------------------------------------------------------------------------- stages
def _stage_row(col, live, progress, row_info) -> None:
    name = row_info.name
    status = row_info.status
    row = col.row(align=True)
    left = row.split(factor=0.5, align=True)
    name_row = left.row(align=True)
    name_row.label(text="", icon=STATUS_ICONS.get(status, "QUESTION"))
    note(name_row, name.capitalize(), f"{name}: {row_info.word}")
    right = left.split(factor=ROUND_COLUMN, align=True)
    right.label(text=f"{row_info.round}/{row_info.budget}")
    rest = right.split(factor=0.5, align=True)
    if row_info.psnr is not None:
        ssim = f", SSIM {row_info.ssim:.2f}" if row_info.ssim is not None else ""
        note(rest, f"{row_info.psnr:.1f}", f"PSNR {row_info.psnr:.2f} dB{ssim}")
    else:
        rest.label(text="—")
    actions = rest.row(align=True)
    if live is None:
        return
    if row_info.finished:
        snap = live.session.store.stage_dir(name) / "snapshot.blend"
        actions.enabled = snap.is_file() and live.status != "review"
        actions.operator("viga.revert_stage", text="", icon="LOOP_BACK").stage = name
        actions.operator("viga.rerun_stage", text="", icon="FILE_REFRESH").stage = name
    elif name == progress.stage and status == "running" and not live.session.finished:
        actions.operator("viga.skip_stage", text="", icon="FORWARD").stage = name


def draw_stages(layout, context) -> None:
    live, progress = view(context)
    if not progress:
        match_draw.draw_planned_stages(layout, context)
        return
    col = layout.column(align=True)
    head = col.row(align=True)
    split = head.split(factor=0.5, align=True)
    split.label(text="Stage")
    right = split.split(factor=ROUND_COLUMN, align=True)
    right.label(text="Round")
    rest = right.split(factor=0.5, align=True)
    note(rest, "dB", PSNR_HELP)
    for row_info in progress.stages:
        _stage_row(col, live, progress, row_info)


# ----------------------------------------------------------------------------- progress
def draw_progress(layout, context) -> None:
    live, p = view(context)
    if not p:
        layout.label(text="Nothing running")
        return
    step = rt.describe_step(live) if live is not None else (p.message or str(p.status))
    text = f"{p.fraction * 100:.0f}%  {p.stage} {p.round}/{p.budget}"
    try:
        layout.progress(factor=p.fraction, type="BAR", text=text)
    except (AttributeError, TypeError):  # Blender before 4.0
        layout.label(text=text)
    wrap(layout, context, step, icon="TRIA_RIGHT")
    row = layout.row()
    row.label(text=fmt_time(p.elapsed), icon="TIME")
    note(row, p.cost_line(), "\n".join(p.token_lines()))
    if p.capped:
        box = layout.box()
        box.alert = True
        head = box.row()
        head.label(text="Stopped at the cost cap", icon="ERROR")
        info(head, "The run is resumable: raise the cap, then Resume.")
        prefs = rt.addon_prefs(context)
        if prefs is not None:
            box.prop(prefs, "max_cost", text="Cap $")
    if p.scripted:
        note(layout.row(), "Offline demo", rt.SCRIPTED_NOTE, icon="INFO")
    row = layout.row(align=True)
    row.operator("viga.open_run_folder", text="Folder", icon="FILE_FOLDER")
    sub = row.row(align=True)
    sub.enabled = live is not None
    sub.operator("viga.open_code", text="Code", icon="TEXT")
    sub.operator("viga.show_render", text="Render", icon="IMAGE_DATA")


# ----------------------------------------------------------------------------- checklist
def draw_checklist(layout, context) -> None:
    live, progress = view(context)
    verdict = progress.verdict if live is not None and progress is not None else None
    if verdict is None:
        layout.label(text="No verdict yet")
        return
    stage, round_no, v = verdict
    word = "approved" if v.approved else "to fix"
    layout.label(
        text=f"{stage.capitalize()} {round_no}: {word}",
        icon="CHECKMARK" if v.approved else "CANCEL",
    )
    for item in v.checklist:
        wrap(layout, context, f"• {item}")
    if v.note:
        wrap(layout, context, v.note, icon="INFO")
