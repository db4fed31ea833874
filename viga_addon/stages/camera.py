from .base import REFINE_GENERATOR_TOOLS, Stage

STAGE = Stage(
    generator_tools=REFINE_GENERATOR_TOOLS,
    refine_groups=("camera",),
    name="camera",
    title="Camera adjustment",
    budget=1,
    scope=("camera",),
    generator_focus="""\
Final camera adjustment: match the photo's viewpoint, focal length and framing exactly by
moving, rotating the scene camera and changing its lens. Nothing else may change.""",
    verifier_focus="""\
Judge the camera only: viewpoint height and angle, focal length (perspective) and framing
against the photo.""",
    generator_example="""\
import bpy
from mathutils import Vector

cam = bpy.context.scene.camera
cam.location = (0.42, -0.55, 0.28)
target = Vector((0.05, 0.0, 0.05))  # the point the photo is centred on
cam.rotation_euler = (target - cam.location).to_track_quat("-Z", "Y").to_euler()
cam.data.lens = 38  # mm on a 36 mm sensor: longer is narrower, flatter perspective
""",
    verifier_example={
        "analysis": (
            "Previous checklist: 1. camera too high - fixed (the table edge is now where the "
            "photo has it). 2. perspective too wide - fixed (lens 38 mm). Framing matches the "
            "photo."
        ),
        "approved": True,
        "checklist": [],
        "best_attempt": 1,
        "score": 9,
    },
    scope_note=(
        "E.g. a call that moves the camera and also moves an object or a light is rolled back "
        "whole."
    ),
)
