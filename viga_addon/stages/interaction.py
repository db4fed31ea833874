"""The interaction stage: a prompt's event ("throw a ball to knock over the cans", "simulate an
earthquake") played by rigid-body physics on a finished scene. Not one of the reconstruction
stages: it runs when a run is given an interaction (``interact``, ``reconstruct
--interaction``, the panel's *Make it Move*)."""

from .base import INTERACTION_GENERATOR_TOOLS, Stage

NAME = "interaction"

STAGE = Stage(
    name=NAME,
    title="Interaction",
    budget=3,
    generator_tools=INTERACTION_GENERATOR_TOOLS,
    scope=("physics", "animation", "transforms", "new_objects"),
    generator_focus="""\
Make the interaction the artist asked for happen, with Blender's rigid-body physics. Every mesh
object already has a rigid body (passive for what supports, active for what rests on it); adjust
them (type, collision_shape, mass, friction, restitution) as the event needs. Set up the event:
an initial velocity as an animated-then-dynamic handoff (rigid_body.kinematic = True keyframed
with the object's location along its path, then kinematic = False keyframed on the next frame),
keyframes, a force field (bpy.ops.object.effector_add), an earthquake as a passive ground that is
animated (kinematic, shaken by keyframes). New objects (a thrown ball) are allowed: create each
complete in one call and give it a rigid body with bpy.ops.rigidbody.object_add. Existing
objects keep their geometry and materials. Never bake or change the point cache yourself: call
bake_simulation to simulate (in a separate process, within the run's frame cap) and see the
frames and every object's trajectory, then fix and bake again.""",
    verifier_focus="""\
Judge the motion against the interaction the artist asked for: the contact sheet of frames and
each object's trajectory (start, end, peak speed, final rotation, tilt from upright). Approve
only when the event happens as asked (e.g. the named object is knocked over: tilted well past
45 degrees at the last frame) and nothing flies off or sinks through the ground.""",
    generator_example="""\
import bpy
from mathutils import Vector

scene = bpy.context.scene
if scene.rigidbody_world is None:
    bpy.ops.rigidbody.world_add()
ball = bpy.data.objects.get("red_ball")
if ball is None:
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.2, location=(-2.0, 0.0, 0.2))
    ball = bpy.context.object
    ball.name = "red_ball"
if ball.rigid_body is None:
    with bpy.context.temp_override(object=ball, active_object=ball, selected_objects=[ball]):
        bpy.ops.rigidbody.object_add(type="ACTIVE")
body = ball.rigid_body
body.collision_shape = "SPHERE"
body.mass = 2.0
start = ball.location.copy()
body.kinematic = True  # animated: follows its keyframes
ball.keyframe_insert("location", frame=1)
body.keyframe_insert("kinematic", frame=1)
ball.location = start + Vector((1.0, 0.0, 0.0))  # 1 m in 9 frames: about 2.7 m/s
ball.keyframe_insert("location", frame=10)
body.keyframe_insert("kinematic", frame=10)
body.kinematic = False  # dynamic from frame 11, keeping its speed
body.keyframe_insert("kinematic", frame=11)
""",
    verifier_example={
        "analysis": (
            "Previous checklist: 1. 'red_ball' stops short of 'yellow_can' - fixed (it reaches "
            "it at frame 20). The can is tilted 90 degrees at the last frame: knocked over."
        ),
        "approved": True,
        "checklist": [],
        "best_attempt": 2,
        "score": 9,
    },
    scope_note=(
        "E.g. a call that keyframes the ball and also edits a mesh or a material of an object "
        "that was already there is rolled back whole."
    ),
)
