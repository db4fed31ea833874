"""Make it Move: after a run, the interaction the prompt field asks for, on the current scene.

A run of one stage, ``interaction``, started the way the panel's Reconstruct starts a run (the
same inputs and preferences, pumped by the same modal timer) and editing the current scene as
Match does (new objects such as a thrown ball allowed). Every bake, the final one included,
runs in the render process: Blender's main thread only polls it. The baked simulation is in the
run folder's final.blend; the scene here keeps the set-up (rigid bodies, keyframes) and plays it.
"""

from __future__ import annotations

import bpy

from ...agent.scene_edit import SceneEdit
from ...stages import INTERACTION
from .. import live as rt
from .pump import StartsRun, start_run


def interaction_changes(props) -> dict | str:
    """The settings of the interaction run the panel asks for, or the problem in words."""
    prompt = (props.interaction_prompt or "").strip()
    if not prompt:
        return 'Type what should happen, e.g. "roll the red ball into the yellow can".'
    return {
        "stages": (INTERACTION,),
        "interaction": prompt,
        "interaction_frames": int(props.interaction_frames),
    }


class VIGA_OT_make_it_move(StartsRun, bpy.types.Operator):
    """Make the scene move as the prompt asks: rigid bodies, the event set up by the model, the
    simulation baked in a background process and judged frame by frame"""

    bl_idname = "viga.make_it_move"
    bl_label = "Make it Move"

    @classmethod
    def poll(cls, context):
        scene = context.scene
        return (
            scene is not None and len(scene.objects) > 0 and not rt.run_is_going(rt.any_live_run())
        )

    def _start(self, context):
        changes = interaction_changes(context.scene.viga)
        if isinstance(changes, str):
            self.report({"ERROR"}, changes)
            return None
        from ...demo import tabletop_interact

        return start_run(
            self,
            context,
            edit=SceneEdit(allow_add_remove=True),
            changes=changes,
            script=tabletop_interact.SCRIPT,
        )


CLASSES = (VIGA_OT_make_it_move,)
