"""Drawing of the Match section and the planned stages (before any run), for main_panel."""

from __future__ import annotations

from ...agent.settings import Settings
from ...stages import STAGE_NAMES
from .. import live as rt
from .text_fit import info


def _budgets(context) -> Settings:
    return rt.settings_from_prefs(rt.addon_prefs(context))


def draw_planned_stages(layout, context) -> None:
    """Before any run: every stage with its round budget and a checkbox (the stages to run)."""
    props = context.scene.viga
    settings = _budgets(context)
    col = layout.column(align=True)
    col.label(text="Planned stages:")
    for name in STAGE_NAMES:
        row = col.row(align=True)
        row.prop(props, f"stage_{name}", text=name.capitalize())
        what = "rollouts" if name == "init" else "rounds"
        row.label(text=f"{settings.budget(name)} {what}")


def draw_match(layout, context, enabled: bool) -> None:
    """Match this scene to the photo: what may change, and the button."""
    props = context.scene.viga
    box = layout.box()
    head = box.row()
    head.label(text="Or edit this scene", icon="SCENE_DATA")
    info(
        head,
        "Match edits the open scene toward the photo (no init stage; Match skips it) instead "
        "of building a new one. The scene is snapshotted first: Put the Scene Back returns it.",
    )
    box.prop(props, "match_lock", text="Edit")
    if props.match_lock == "COLLECTION":
        box.prop(props, "match_collection", text="")
    box.prop(props, "match_allow_add_remove", text="Add/remove objects")
    row = box.row()
    row.enabled = enabled and len(context.scene.objects) > 0
    row.operator("viga.match_scene", text="Match This Scene", icon="SHADERFX")


def draw_put_back(layout, live) -> None:
    """For a Match run: put the scene back as it was before it began."""
    if live is not None and live.session.state.edit is not None:
        layout.operator("viga.match_put_back", icon="LOOP_BACK")
