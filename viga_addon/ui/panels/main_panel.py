"""3D Viewport › Sidebar › VIGA: inputs (photo beside the latest render, the artist's note,
model, key, cost), what is missing before a run, run controls; the Stages, Progress and
Checklist sub-panels are drawn by run_draw.py, the photo and render by look.py.

Each panel's ``draw`` calls a module function ``draw_*(layout, context)`` so tests can draw into a
recording layout. Every text fits the default sidebar width (tests/gui/fits.py checks it). The
panels only read state (the live Session in ``ui.live``, or the
``state.json`` of the run folder this scene remembers) and offer operators; no logic here.
"""

from __future__ import annotations

import bpy

from .. import live as rt
from . import look, run_draw
from .text_fit import note, wrap


def register_extra():
    look.register_extra()


def unregister_extra():
    look.unregister_extra()


# ----------------------------------------------------------------------------- main panel
def draw_main(layout, context) -> None:
    scene = context.scene
    props = getattr(scene, "viga", None)
    if props is None:
        layout.label(text="VIGA is not registered", icon="ERROR")
        return
    live, progress = run_draw.view(context)
    other = rt.any_live_run()
    if other is not None and other is not live and rt.run_is_going(other):
        box = layout.box()
        box.alert = True
        wrap(
            box,
            context,
            f"A run is going in scene {other.scene_name!r} ({other.status}). Switch to "
            "that scene to watch or control it; one run at a time.",
            icon="INFO",
            boxes=1,
        )
    _draw_inputs(layout, context, props, live, progress)
    run_draw.draw_controls(layout, context, props, live, progress)


def _draw_inputs(layout, context, props, live, progress) -> None:
    choice = rt.choose(context)
    locked = live is not None and not live.session.finished  # inputs of a run in progress
    box = layout.box()
    col = box.column()
    col.enabled = not locked
    col.row().prop(props, "photo_source", expand=True)
    if props.photo_source == "FILE":
        col.prop(props, "photo_path", text="")
    else:
        col.template_ID(props, "photo_image", open="image.open")
    look.draw_photo_and_render(box, context, props, live, progress, choice)
    row = box.row()
    row.enabled = not locked
    if _supports_placeholder():
        row.prop(props, "note", text="", icon="TEXT", placeholder="Note for the model")
    else:
        row.prop(props, "note", text="", icon="TEXT")
    box = layout.box()
    box.enabled = not locked
    row = box.row(align=True)
    row.prop(props, "provider", text="")
    if choice.provider != "scripted":
        if _supports_placeholder():
            box.prop(props, "model", text="", placeholder=choice.model)
        else:
            box.prop(props, "model", text="")
    _draw_access(box, choice)
    _draw_cost(box, context, choice)
    if live is None or live.session.finished:
        _draw_missing(layout, choice, demo=live is None)


def _draw_access(layout, choice) -> None:
    """Where the key comes from, in two words; the whole story in the tooltip."""
    row = layout.row()
    if choice.provider == "scripted":
        note(row, "Offline demo", rt.SCRIPTED_NOTE, icon="INFO")
    elif choice.key:
        note(
            row,
            "Key found",
            f"{choice.provider_label}: key from the {choice.key_source}",
            icon="LOCKED",
        )
    elif choice.provider == "openai" and not rt.needs_online("openai", choice.base_url):
        note(row, "Local server", f"{choice.base_url or ''}: no key needed", icon="LOCKED")


MISSING = {
    "no_image": ("Photo", "viga.pick_photo", "Pick"),
    "bad_image": ("Photo", "viga.pick_photo", "Pick"),
    "no_key": ("API key", "viga.open_addon_prefs", "Set Key"),
    "offline": ("Online access", "viga.open_system_prefs", "Allow"),
}


def _draw_missing(layout, choice, demo: bool) -> None:
    """Before a run: what is missing, a button each, and the offline demo (``demo``)."""
    col = layout.column(align=True)
    if choice.problems:
        row = col.row()
        row.label(text="To start:", icon="TRIA_RIGHT")
        for code, message in choice.problems:
            what, op, words = MISSING.get(code, ("Input", "viga.explain", "Why"))
            row = col.row(align=True)
            split = row.split(factor=0.6, align=True)
            left = split.row(align=True)
            left.alert = True
            note(left, what, message, icon="CHECKBOX_DEHLT")
            button = split.operator(op, text=words)
            if op == "viga.explain":
                button.text = message
    if demo:
        col.operator("viga.use_demo_photo", icon="PLAY")


def _draw_cost(layout, context, choice) -> None:
    """The run's cost cap (a preference) and what a run would cost, before it starts."""
    from ...agent.spending import estimate_run

    if choice.provider == "scripted":
        return
    prefs = rt.addon_prefs(context)
    settings = rt.settings_from_prefs(prefs).with_changes(
        provider=choice.provider, base_url=choice.base_url, model=choice.model or None
    )
    row = layout.row(align=True)
    if prefs is not None:
        row.prop(prefs, "max_cost", text="Cap $")
        if not prefs.max_cost:
            row.label(text="no cap")
    try:
        estimate = estimate_run(settings)
    except (KeyError, ValueError):
        return
    words = f"Est. ${estimate.low:.2f}–{estimate.high:.2f}" if estimate.known else "Est. ?"
    if estimate.free:
        words = "Free"
    note(layout.row(), words, f"Estimate: {estimate.text()}", icon="INFO")


_PLACEHOLDER = None


def _supports_placeholder() -> bool:
    """``layout.prop(placeholder=…)`` is newer than Blender 4.2."""
    global _PLACEHOLDER
    if _PLACEHOLDER is None:
        fn = bpy.types.UILayout.bl_rna.functions["prop"]
        _PLACEHOLDER = "placeholder" in {p.identifier for p in fn.parameters}
    return _PLACEHOLDER


# ----------------------------------------------------------------------------- panel classes
class VigaPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "VIGA"


class VIGA_PT_main(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_main"
    bl_label = "VIGA"

    def draw(self, context):
        draw_main(self.layout, context)


class VIGA_PT_stages(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_stages"
    bl_label = "Stages"
    bl_parent_id = "VIGA_PT_main"

    def draw(self, context):
        run_draw.draw_stages(self.layout, context)


class VIGA_PT_progress(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_progress"
    bl_label = "Progress"
    bl_parent_id = "VIGA_PT_main"

    def draw(self, context):
        run_draw.draw_progress(self.layout, context)


class VIGA_PT_checklist(VigaPanel, bpy.types.Panel):
    bl_idname = "VIGA_PT_checklist"
    bl_label = "Checklist"
    bl_parent_id = "VIGA_PT_main"

    def draw(self, context):
        run_draw.draw_checklist(self.layout, context)


CLASSES = (VIGA_PT_main, VIGA_PT_stages, VIGA_PT_progress, VIGA_PT_checklist)
