"""Match this scene to the photo: a run that edits the current scene (no init stage), after a
snapshot of it in the run folder, so *Put Back* returns it exactly as it was."""

from __future__ import annotations

import bpy

from ...agent.scene_edit import START_SCENE, SceneEdit
from .. import live as rt
from .pump import StartsRun, start_run
from .stages import push_undo


def edit_from_props(context) -> SceneEdit | str:
    """The SceneEdit the Match options ask for, or the problem in words."""
    props = context.scene.viga
    if not len(context.scene.objects):
        return "The scene has no objects to match: use Reconstruct to build one."
    edit = SceneEdit(allow_add_remove=props.match_allow_add_remove)
    if props.match_lock == "SELECTED":
        names = sorted(o.name for o in context.scene.objects if o.select_get())
        if not names:
            return "Select the objects the run may change (or edit the whole scene)."
        edit.lock_objects = names
    elif props.match_lock == "COLLECTION":
        if props.match_collection is None:
            return "Choose the collection the run may change."
        edit.lock_collection = props.match_collection.name
    return edit


class VIGA_OT_match_scene(StartsRun, bpy.types.Operator):
    """Edit this scene toward the reference photo, stage by stage (no init stage); the scene is
    snapshotted first, so Put Back returns it exactly as it was"""

    bl_idname = "viga.match_scene"
    bl_label = "Match This Scene to the Photo"

    def _start(self, context):
        edit = edit_from_props(context)
        if isinstance(edit, str):
            self.report({"ERROR"}, edit)
            return None
        return start_run(self, context, edit=edit)


class VIGA_OT_match_put_back(bpy.types.Operator):
    """Put the scene back exactly as it was before Match began (the run stops; its folder stays)"""

    bl_idname = "viga.match_put_back"
    bl_label = "Put the Scene Back"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        live = rt.live_run(context.scene)
        return live is not None and live.session.state.edit is not None

    def execute(self, context):
        live = rt.live_run(context.scene)
        session = live.session
        start = session.store.dir / START_SCENE
        if not start.exists():
            self.report({"ERROR"}, "The run has not snapshotted the scene yet: nothing to undo.")
            return {"CANCELLED"}
        if not session.finished:
            session.cancel()
        try:
            session.restore(start)
        except RuntimeError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        live.close_processes()
        live.last_message = "the scene is as it was before Match"
        push_undo("VIGA: put the scene back")
        self.report({"INFO"}, "VIGA: the scene is back as it was before Match began")
        rt.redraw(context)
        return {"FINISHED"}


CLASSES = (VIGA_OT_match_scene, VIGA_OT_match_put_back)
