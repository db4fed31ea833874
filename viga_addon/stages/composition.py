from .base import PHYSICS_TOOL, REFINE_GENERATOR_TOOLS, VERIFIER_TOOLS, Stage

STAGE = Stage(
    generator_tools=(*REFINE_GENERATOR_TOOLS[:-1], PHYSICS_TOOL, REFINE_GENERATOR_TOOLS[-1]),
    verifier_tools=(*VERIFIER_TOOLS[:-1], PHYSICS_TOOL, VERIFIER_TOOLS[-1]),
    refine_groups=("placement", "camera"),
    name="composition",
    title="Composition",
    budget=3,
    scope=("transforms", "camera"),
    generator_focus="""\
Arrange the finished objects to match the photo's layout: relative position, scale, rotation,
contact with supporting surfaces and overall spatial organisation; adjust the camera when needed.
Only object transforms and the camera may change: no geometry or material edits.
Objects must rest where they stand: call check_physics once the layout is close; it drops the
scene under gravity for 2 s and names each object that floats (lower it by the cm it fell), is
sunk into another (raise it or move it apart by the overlap) or slides or tips. Fix those with
execute_code and check again: the scene should be physics-ready before end_round.""",
    verifier_focus="""\
Judge layout only: positions, relative scale, rotation, contact and framing against the photo.
Ignore materials and lighting. check_physics says which objects float above or are sunk into
their support (the photo shows them resting): put each one it names on the checklist with the
distance it gives.""",
    generator_example="""\
import bpy
import math

mug = bpy.data.objects["mug"]  # its handle is parented to it and follows
mug.location = (0.08, 0.02, 0.05)  # z = half its height: resting on the ground
mug.rotation_euler[2] = math.radians(-20)
mug.scale = (1.1, 1.1, 1.1)
bpy.context.scene.camera.data.lens = 40
""",
    verifier_example={
        "analysis": (
            "Previous checklist: 1. 'mug' should sit left of centre - fixed. 2. 'mug' floats "
            "above the ground - fixed (resting on it). The handle points right as in the photo. "
            "Layout matches."
        ),
        "approved": True,
        "checklist": [],
        "best_attempt": 3,
        "score": 9,
    },
    scope_note=(
        "E.g. a call that moves objects and also edits a mesh, a modifier or a material is rolled "
        "back whole."
    ),
)
