"""Revert to / rerun / skip a stage of the live run."""

from __future__ import annotations

import bpy

from .. import live as rt


def push_undo(message: str) -> bool:
    """One undo step in the UI; False where undo is unavailable (headless: its poll fails)."""
    if bpy.app.background:
        return False
    try:
        bpy.ops.ed.undo_push(message=message)
        return True
    except RuntimeError:
        return False


def _live_or_report(op, context):
    live = rt.live_run(context.scene)
    if live is None:
        op.report({"ERROR"}, "No run in this scene (resume its run folder first).")
    return live


def _pause_for_edit(live) -> None:
    if live.status == "running":
        live.session.pause("paused for a stage change")


def _after_scene_change(live, context, message: str) -> None:
    """The scene now matches a snapshot: that is the base for hand-edit detection, not an edit."""
    live.step_once = False
    live.error = ""
    if live.session.status == "paused":
        rt.remember_scene(live, context.scene)
    live.last_message = message


class _StageOperator:
    def _run(self, context, action, verb):
        live = _live_or_report(self, context)
        if live is None:
            return {"CANCELLED"}
        _pause_for_edit(live)
        try:
            action(live.session, self.stage)
        except (ValueError, RuntimeError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        message = f"{verb} {self.stage}; Resume to continue from there"
        _after_scene_change(live, context, message)
        push_undo(f"VIGA: {verb} {self.stage}")
        self.report({"INFO"}, f"VIGA: {message}")
        rt.redraw(context)
        return {"FINISHED"}


class VIGA_OT_revert_stage(_StageOperator, bpy.types.Operator):
    """Put the scene back exactly as it was at the end of this stage; the run continues from there"""

    bl_idname = "viga.revert_stage"
    bl_label = "Revert to Stage"
    stage: bpy.props.StringProperty(name="Stage")
    bl_options = {"REGISTER"}

    def execute(self, context):
        return self._run(context, lambda s, name: s.revert_to_stage(name), "reverted to the end of")


class VIGA_OT_rerun_stage(_StageOperator, bpy.types.Operator):
    """Run this stage again from its start (later stages are reset)"""

    bl_idname = "viga.rerun_stage"
    bl_label = "Rerun Stage"
    stage: bpy.props.StringProperty(name="Stage")

    def execute(self, context):
        return self._run(context, lambda s, name: s.rerun_stage(name), "set to rerun")


class VIGA_OT_skip_stage(_StageOperator, bpy.types.Operator):
    """Skip the current stage: the scene stays as it began, the next stage follows"""

    bl_idname = "viga.skip_stage"
    bl_label = "Skip Stage"
    stage: bpy.props.StringProperty(name="Stage")

    def execute(self, context):
        live = rt.live_run(context.scene)
        if live is not None and not self.stage:
            self.stage = live.session.stage.name
        return self._run(context, lambda s, name: s.skip_stage(name), "skipped")


CLASSES = (VIGA_OT_revert_stage, VIGA_OT_rerun_stage, VIGA_OT_skip_stage)
