"""The offline demo's interaction: "roll the red ball into the yellow can" on the demo scene.

This is NOT a model. ``SCRIPT`` holds the replies the scripted provider plays back for the
interaction stage: the generator sets the event up (an animated-then-dynamic handoff of the red
ball toward the can, a light can with grip on the ground), bakes it once to look, and ends the
round; the verifier approves. Played after the demo reconstruction or on a saved demo scene:

    python -m viga_addon reconstruct viga_addon/demo/tabletop.png --provider scripted \\
        --interaction "roll the red ball into the yellow can"
    python -m viga_addon.demo.tabletop_edit --truth SCENE.blend
    python -m viga_addon interact SCENE.blend --provider scripted \\
        --prompt "roll the red ball into the yellow can" --out runs
"""

from __future__ import annotations

from .tabletop import tool_call, turn, verdict_turn

PROMPT = "roll the red ball into the yellow can"

#: the event: the ball is keyframed while kinematic (animated) from where it rests to the can's
#: side over 15 frames (about 3 m/s), then dynamic from frame 17 on, keeping its speed
EVENT = """
import bpy
from mathutils import Vector

ball = bpy.data.objects["red_ball"]
can = bpy.data.objects["yellow_can"]
ground = bpy.data.objects["ground"]
radius = max(ball.dimensions) / 2
can.rigid_body.mass = 1.0  # an empty metal can is light
can.rigid_body.friction = 1.0  # it grips the ground and tips instead of sliding
ground.rigid_body.collision_shape = "BOX"
ground.rigid_body.friction = 1.0
body = ball.rigid_body
body.collision_shape = "SPHERE"
body.mass = 5.0
body.friction = 0.8
start = Vector((ball.location.x, ball.location.y, radius))  # resting on the ground
aim = Vector((can.location.x, can.location.y, radius))
push = (aim - start).normalized()
ball.location = start
body.kinematic = True
ball.keyframe_insert("location", frame=1)
body.keyframe_insert("kinematic", frame=1)
ball.location = aim - push * (radius * 0.8)  # rolled into the can's side
ball.keyframe_insert("location", frame=16)
body.keyframe_insert("kinematic", frame=16)
body.kinematic = False
body.keyframe_insert("kinematic", frame=17)
bpy.context.scene.frame_set(1)
print("ball rolls", round((aim - start).length, 2), "m toward the can")
"""

SCRIPT = {
    "interaction": {
        "generator": [
            [
                turn(
                    tool_call(
                        "make_plan",
                        plan="1. light can with grip 2. ball keyframed toward the can while "
                        "kinematic, then dynamic 3. bake and look",
                    ),
                    text="The ball has to reach the can fast enough to tip it.",
                ),
                turn(tool_call("execute_code", code=EVENT, intent="the push toward the can")),
                turn(tool_call("bake_simulation")),
                turn(
                    tool_call(
                        "end_round",
                        summary="red_ball rolls from rest into yellow_can at about 3 m/s "
                        "(kinematic handoff at frame 17); the can tips over",
                    )
                ),
            ]
        ],
        "verifier": [
            [
                turn(
                    verdict_turn(
                        True,
                        best=1,
                        score=8,
                        analysis="No previous checklist. The sheet shows red_ball rolling into "
                        "yellow_can, which tips over and lies on its side at the last frame; "
                        "nothing flies off or sinks.",
                    )
                )
            ]
        ],
    }
}
