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
)
