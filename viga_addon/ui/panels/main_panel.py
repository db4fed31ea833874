"""3D Viewport › Sidebar › VIGA: inputs, run controls, stages, progress, the verifier's checklist.

Each panel's ``draw`` calls a module function ``draw_*(layout, context)`` so tests can draw into a
recording layout. The panels only read state (the live Session in ``ui.live``, or the
``state.json`` of the run folder this scene remembers) and offer operators; no logic here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import bpy

from .. import live as rt
from . import match_draw

STATUS_ICONS = {
    "waiting": "TIME",
    "running": "PLAY",
    "approved": "CHECKMARK",
    "budget_spent": "SORTTIME",
    "failed": "ERROR",
    "skipped": "FORWARD",
}
WRAP = 46


def wrap(layout, text: str, icon: str = "NONE", width: int = WRAP) -> None:
    """Labels for a long message, wrapped (the sidebar does not wrap labels)."""
    lines = textwrap.wrap(text, width) or [""]
    for i, line in enumerate(lines):
        layout.label(text=line, icon=icon if i == 0 else "BLANK1" if icon != "NONE" else "NONE")


def _fmt_time(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _view(context):
    """(live run or None, progress or None) the panels show for this scene: the live run's, else
    that of the run folder this scene remembers."""
    live = rt.live_run(context.scene)
    if live is not None:
        return live, live.session.progress()
    run_dir = context.scene.viga.run_dir
    return None, rt.saved_progress(bpy.path.abspath(run_dir)) if run_dir else None


# ----------------------------------------------------------------------------- thumbnail
_previews = None


def _thumbnail(layout, props) -> None:
    """A small preview of the reference (guarded: previews may not exist without a window)."""
    try:
        if props.photo_source == "IMAGE":
            image = props.photo_image
            if image is None:
                return
            image.preview_ensure()
            icon = image.preview.icon_id
        else:
            path = bpy.path.abspath(props.photo_path) if props.photo_path else ""
            if not path or not Path(path).is_file() or _previews is None:
                return
            key = f"{path}:{Path(path).stat().st_mtime}"
            preview = _previews.get(key) or _previews.load(key, path, "IMAGE")
            icon = preview.icon_id
        if icon:
            layout.template_icon(icon_value=icon, scale=6.0)
    except Exception:  # no GPU/preview system (headless): the file name is shown instead
        pass


def register_extra():
    global _previews
    try:
        import bpy.utils.previews

        _previews = bpy.utils.previews.new()
    except Exception:
        _previews = None


def unregister_extra():
    global _previews
    if _previews is not None:
        import bpy.utils.previews

        bpy.utils.previews.remove(_previews)
    _previews = None


# ----------------------------------------------------------------------------- main panel
def draw_main(layout, context) -> None:
    scene = context.scene
    props = getattr(scene, "viga", None)
    if props is None:
        layout.label(text="VIGA is not registered properly (scene.viga missing)", icon="ERROR")
        return
    live, progress = _view(context)
    other = rt.any_live_run()
    if other is not None and other is not live and rt.run_is_going(other):
        box = layout.box()
        box.alert = True
        wrap(
            box,
            f"A run is going in scene {other.scene_name!r} ({other.status}). Switch to "
            "that scene to watch or control it; one run at a time.",
            icon="INFO",
        )
    _draw_inputs(layout, context, props, live)
    _draw_controls(layout, context, props, live, progress)


def _draw_inputs(layout, context, props, live) -> None:
    choice = rt.choose(context)
    locked = live is not None and not live.session.finished  # inputs of a run in progress
    box = layout.box()
    box.enabled = not locked
    box.label(text="Reference", icon="IMAGE_DATA")
    box.row().prop(props, "photo_source", expand=True)
    if props.photo_source == "FILE":
        box.prop(props, "photo_path", text="")
    else:
        box.template_ID(props, "photo_image", open="image.open")
    _thumbnail(box, props)
    if choice.photo_label:
        box.label(text=choice.photo_label)
    box = layout.box()
    box.enabled = not locked
    box.label(text="Model", icon="URL")
    box.prop(props, "provider", text="")
    if choice.provider != "scripted":
        box.prop(
            props, "model", text="", placeholder=choice.model
        ) if _supports_placeholder() else box.prop(props, "model", text="")
    box.label(text=f"{choice.provider_label} · {choice.model}")
    _draw_cost(box, context, choice)
    if choice.provider == "scripted":
        box.label(text=rt.SCRIPTED_NOTE, icon="INFO")
    elif choice.key:
        box.label(text=f"Key from the {choice.key_source}", icon="LOCKED")
    elif choice.provider == "openai" and not rt.needs_online("openai", choice.base_url):
        box.label(text=f"Local server {choice.base_url or ''} (no key needed)", icon="LOCKED")
    if choice.problems and (live is None or live.session.finished):
        problems = layout.box()
        problems.alert = True
        for code, message in choice.problems:
            wrap(problems, message, icon="ERROR")
            if code == "no_image":
                problems.operator("viga.use_demo_photo", icon="PLAY")


def _draw_cost(layout, context, choice) -> None:
    """The run's cost cap (a preference) and what a run would cost, before it starts."""
    from ...agent.spending import estimate_run

    prefs = rt.addon_prefs(context)
    if prefs is not None and choice.provider != "scripted":
        layout.prop(prefs, "max_cost")
    settings = rt.settings_from_prefs(prefs).with_changes(
        provider=choice.provider, base_url=choice.base_url, model=choice.model or None
    )
    try:
        text = estimate_run(settings).text()
    except (KeyError, ValueError):
        return
    if choice.provider != "scripted":
        layout.label(text=f"Estimate: {text}", icon="INFO")


_PLACEHOLDER = None


def _supports_placeholder() -> bool:
    """``layout.prop(placeholder=…)`` is newer than Blender 4.2."""
    global _PLACEHOLDER
    if _PLACEHOLDER is None:
        fn = bpy.types.UILayout.bl_rna.functions["prop"]
        _PLACEHOLDER = "placeholder" in {p.identifier for p in fn.parameters}
    return _PLACEHOLDER


def _draw_step_through(layout, context) -> None:
    """The step-through options of the next run (kept in the add-on preferences)."""
    from ..preferences import prefs

    p = prefs(context)
    if p is None:
        return
    row = layout.row(align=True)
    row.prop(p, "review_code", text="Review code", toggle=True, icon="TEXT")
    row.prop(p, "pause_after", text="")


def _draw_controls(layout, context, props, live, progress) -> None:
    col = layout.column()
    if live is None:
        if progress and not progress.finished:
            box = col.box()
            wrap(
                box,
                f"This file was saved during a run ({progress.status} at {progress.stage} round "
                f"{progress.round}). Resume continues from the last completed round.",
                icon="RECOVER_LAST",
            )
            box.operator("viga.resume_run", icon="PLAY")
        elif progress:
            row = col.row()
            row.label(text="Last run finished", icon="CHECKMARK")
            row.operator("viga.resume_run", text="Load to Revert", icon="LOOP_BACK")
        if props.run_dir:
            col.label(text=f"Run folder: {Path(bpy.path.abspath(props.run_dir)).name}")
        _draw_step_through(col, context)
        row = col.row()
        row.scale_y = 1.5
        other = rt.any_live_run()
        row.enabled = rt.choose(context).ok and not rt.run_is_going(other)
        row.operator("viga.run", icon="PLAY")
        match_draw.draw_match(col, context, row.enabled)
        return
    status = live.status
    row = col.row(align=True)
    row.scale_y = 1.3
    if status == "running":
        row.operator("viga.pause", text="Pause", icon="PAUSE")
        row.operator("viga.step_round", text="Step", icon="FRAME_NEXT")
        row.operator("viga.cancel", text="Cancel", icon="CANCEL")
        col.label(text="ESC also cancels (with the mouse over Blender)")
    elif status == "paused":
        row.operator("viga.resume_run", text="Resume", icon="PLAY")
        row.operator("viga.step_round", text="Step", icon="FRAME_NEXT")
        row.operator("viga.cancel", text="Cancel", icon="CANCEL")
        box = col.box()
        wrap(box, live.session.state.message or "paused", icon="PAUSE")
        wrap(
            box,
            "Edit the scene if you like: your edits are kept and told to the next "
            "round when you resume.",
        )
        removed = rt.removed_while_paused(live, context.scene)
        if removed:
            box.alert = True
            wrap(
                box,
                f"Deleted by hand since the pause: {', '.join(removed[:6])}. Resume "
                "keeps the deletion (the model is told); Revert a stage to get them back.",
                icon="ERROR",
            )
    elif status == "review":
        box = col.box()
        box.label(text="Review the generator's code", icon="TEXT")
        wrap(
            box,
            f"It is in the Text datablock {rt.CODE_TEXT_NAME!r}: edit it, then Approve "
            "(runs your version) or Skip (not run).",
        )
        r = box.row(align=True)
        r.scale_y = 1.3
        r.operator("viga.approve_code", text="Approve", icon="CHECKMARK")
        r.operator("viga.skip_code", text="Skip", icon="X")
        box.operator("viga.open_code", text="Show Code", icon="TEXT")
        row.operator("viga.cancel", text="Cancel", icon="CANCEL")
    elif status == "done":
        col.label(text="Done: the scene is editable", icon="CHECKMARK")
        wrap(col, "Revert a stage below to continue from it, or reconstruct again.")
        row.enabled = rt.choose(context).ok
        row.operator("viga.run", text="Reconstruct Again", icon="PLAY")
    else:  # failed, cancelled
        box = col.box()
        box.alert = status == "failed"
        wrap(
            box,
            f"{status}: {live.session.state.message}",
            icon="ERROR" if status == "failed" else "CANCEL",
        )
        row.operator("viga.resume_run", text="Resume", icon="PLAY")
        sub = row.row()
        sub.enabled = rt.choose(context).ok
        sub.operator("viga.run", text="New Run", icon="FILE_REFRESH")
    match_draw.draw_put_back(col, live)
    if live.error:
        box = col.box()
        box.alert = True
        wrap(box, live.error, icon="ERROR")
    for warning in getattr(live.session, "warnings", ()):  # e.g. rendering in-process
        wrap(col.box(), warning, icon="ERROR")
    if live.hand_edits:
        wrap(col, "Hand edits kept: " + rt.summarize_changes(live.hand_edits), icon="INFO")


# ----------------------------------------------------------------------------- stages
def draw_stages(layout, context) -> None:
    live, progress = _view(context)
    if not progress:
        match_draw.draw_planned_stages(layout, context)
        return
    col = layout.column(align=True)
    for row_info in progress.stages:
        name = row_info.name
        row = col.row(align=True)
        split = row.split(factor=0.42, align=True)
        split.label(text=name.capitalize(), icon=STATUS_ICONS.get(row_info.status, "QUESTION"))
        right = split.row(align=True)
        right.label(text=row_info.word)
        right.label(text=f"{row_info.round}/{row_info.budget}")
        if row_info.psnr is not None:
            ssim = row_info.ssim
            right.label(
                text=f"{row_info.psnr:.1f} dB" + (f" {ssim:.2f}" if ssim is not None else "")
            )
        else:
            right.label(text="—")
        if live is None:
            continue
        if row_info.finished:
            snap = live.session.store.stage_dir(name) / "snapshot.blend"
            sub = right.row(align=True)
            sub.enabled = snap.is_file() and live.status != "review"
            op = sub.operator("viga.revert_stage", text="Revert", icon="LOOP_BACK")
            op.stage = name
            op = sub.operator("viga.rerun_stage", text="", icon="FILE_REFRESH")
            op.stage = name
        elif name == progress.stage and row_info.status == "running" and not live.session.finished:
            op = right.operator("viga.skip_stage", text="Skip", icon="FORWARD")
            op.stage = name
    layout.label(text="PSNR (dB) and SSIM of the latest render against the photo")


# ----------------------------------------------------------------------------- progress
def draw_progress(layout, context) -> None:
    live, p = _view(context)
    if not p:
        layout.label(text="Nothing running")
        return
    step = rt.describe_step(live) if live is not None else (p.message or str(p.status))
    text = f"{p.fraction * 100:.0f}%  {p.stage} round {p.round}/{p.budget}"
    try:
        layout.progress(factor=p.fraction, type="BAR", text=text)
    except (AttributeError, TypeError):  # Blender before 4.0
        layout.label(text=text)
    wrap(layout, step, icon="TRIA_RIGHT")
    row = layout.row()
    row.label(text=f"Elapsed {_fmt_time(p.elapsed)}", icon="TIME")
    row.label(text=f"{p.tokens:,} tokens")
    row.label(text=f"${p.cost_usd:.3f}")
    col = layout.column(align=True)
    for line in p.token_lines():  # uncached input, cache writes and reads, output, cost
        col.label(text=line)
    if p.capped:
        box = layout.box()
        box.alert = True
        wrap(box, "Stopped at the cost cap (resumable): raise Max cost, then Resume.", icon="ERROR")
        prefs = rt.addon_prefs(context)
        if prefs is not None:
            box.prop(prefs, "max_cost")
    if p.scripted:
        layout.label(text=rt.SCRIPTED_NOTE, icon="INFO")
    row = layout.row(align=True)
    row.operator("viga.open_run_folder", text="Folder", icon="FILE_FOLDER")
    sub = row.row(align=True)
    sub.enabled = live is not None
    sub.operator("viga.open_code", text="Code", icon="TEXT")
    sub.operator("viga.show_render", text="Render", icon="IMAGE_DATA")


# ----------------------------------------------------------------------------- checklist
def draw_checklist(layout, context) -> None:
    live, progress = _view(context)
    verdict = progress.verdict if live is not None and progress is not None else None
    if verdict is None:
        layout.label(text="No verdict yet")
        return
    stage, round_no, v = verdict
    word = "approved" if v.approved else "not approved"
    layout.label(
        text=f"{stage} round {round_no}: {word}",
        icon="CHECKMARK" if v.approved else "CANCEL",
    )
    for item in v.checklist:
        wrap(layout, f"• {item}")
    if v.note:
        wrap(layout, v.note, icon="INFO")


# ----------------------------------------------------------------------------- panel classes
class VigaPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "VIGA"


class VIGA_PT_main(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_main"
    bl_label = "VIGA — photo to scene"

    def draw(self, context):
        draw_main(self.layout, context)


class VIGA_PT_stages(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_stages"
    bl_label = "Stages"
    bl_parent_id = "VIGA_PT_main"

    def draw(self, context):
        draw_stages(self.layout, context)


class VIGA_PT_progress(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_progress"
    bl_label = "Progress"
    bl_parent_id = "VIGA_PT_main"

    def draw(self, context):
        draw_progress(self.layout, context)


class VIGA_PT_checklist(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_checklist"
    bl_label = "Verifier's checklist"
    bl_parent_id = "VIGA_PT_main"

    def draw(self, context):
        draw_checklist(self.layout, context)


CLASSES = (VIGA_PT_main, VIGA_PT_stages, VIGA_PT_progress, VIGA_PT_checklist)
