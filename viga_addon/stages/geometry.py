from .base import Stage

STAGE = Stage(
    name="geometry",
    title="Geometry",
    budget=5,
    scope=("objects", "meshes", "modifiers", "transforms"),
    generator_focus="""\
Refine the shape of each object: local shape edits (mesh, bevels, modifiers, curves), geometric
transforms (scale, rotate, align parts) and structural edits (add missing parts, parent parts to
their object). Keep names stable; do not change materials, lights or the camera.""",
    verifier_focus="""\
Judge geometry only: silhouettes, proportions, part structure and counts. Ignore colours,
materials, exact placement in the scene and lighting.""",
    generator_example="""\
import bpy
import math

mug = bpy.data.objects["mug"]
bevel = mug.modifiers.new("rim_bevel", "BEVEL")
bevel.width = 0.004
bevel.segments = 2
bpy.ops.mesh.primitive_torus_add(
    major_radius=0.028, minor_radius=0.006, location=(0.045, 0, 0.05),
    rotation=(math.radians(90), 0, 0),
)
handle = bpy.context.active_object
handle.name = "mug_handle"
handle.parent = mug
handle.matrix_parent_inverse = mug.matrix_world.inverted()
# no material here: a call that also assigned one would be rolled back whole
""",
    verifier_example={
        "analysis": (
            "Previous checklist: 1. 'mug' too tall - fixed (height now ~0.10 m, as in the photo). "
            "2. 'mug_handle' missing - fixed. 3. rim too sharp - not fixed: the rim still has no "
            "bevel."
        ),
        "approved": False,
        "checklist": [
            "Bevel the rim of 'mug' (a bevel modifier, width ~0.004 m, 2 segments)",
            "Make 'mug_handle' thinner: minor radius 0.006 m instead of 0.01 m",
        ],
        "best_attempt": 2,
        "score": 7,
    },
    scope_note=(
        "E.g. a call that adds a part and also gives it a material is rolled back whole: leave "
        "materials to the material stage (the init scaffold's flat colours stay)."
    ),
)
