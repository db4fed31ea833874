"""The heavy-geometry check: refuse a scene whose modifiers would build too many faces.

Run after model code and before anything evaluates the scene: a subdivision level of 12 is one
cheap assignment, but evaluating it would freeze Blender or exhaust memory outside the time
limit. The estimate multiplies each mesh's faces through its modifier stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .rules import refusal
from .sizes import MAX_ESTIMATED_FACES

if TYPE_CHECKING:
    import bpy


def _estimated_faces(obj) -> int:
    import bpy

    data = obj.data
    faces = len(data.polygons) if isinstance(data, bpy.types.Mesh) else 1_000
    estimate = max(faces, 1)
    for mod in obj.modifiers:
        kind = mod.type
        if kind in ("SUBSURF", "MULTIRES"):
            levels = max(
                getattr(mod, name, 0) or 0
                for name in ("levels", "render_levels", "total_levels", "sculpt_levels")
            )
            estimate *= 4 ** min(int(levels), 20)
        elif kind == "ARRAY":
            estimate *= max(1, int(mod.count)) if mod.fit_type == "FIXED_COUNT" else 1
        elif kind == "SCREW":
            estimate *= max(1, int(mod.steps), int(mod.render_steps))
        elif kind == "REMESH":
            if mod.mode == "VOXEL":
                size = max(float(mod.voxel_size), 1e-6)
                extent = max(max(obj.dimensions), 1e-3)
                estimate = max(estimate, int(6 * (extent / size) ** 2))
            else:
                estimate = max(estimate, 6 * 4 ** min(int(mod.octree_depth), 20))
        elif kind == "PARTICLE_SYSTEM":
            settings = mod.particle_system.settings
            children = (
                max(1, int(getattr(settings, "rendered_child_count", 0) or 0))
                if settings.child_type != "NONE"
                else 1
            )
            estimate += int(settings.count) * children * 8
        elif kind == "DECIMATE" and mod.decimate_type == "COLLAPSE":
            estimate = int(estimate * max(min(float(mod.ratio), 1.0), 0.0)) or 1
    return estimate


def heavy_geometry(scene: bpy.types.Scene) -> str | None:
    """A refusal when the scene's modifiers would build more than ``MAX_ESTIMATED_FACES`` faces
    (checked after model code ran and BEFORE anything evaluates the scene: a subdivision level
    of 12 is one cheap assignment, its evaluation would freeze Blender or exhaust memory
    outside the time limit)."""
    worst = None
    for obj in scene.objects:
        try:
            estimate = _estimated_faces(obj)
        except (AttributeError, TypeError, ValueError, ReferenceError):
            continue
        if estimate > MAX_ESTIMATED_FACES and (worst is None or estimate > worst[1]):
            worst = (obj.name, estimate)
    if worst is None:
        return None
    return refusal(
        f"geometry this heavy ({worst[0]!r} would have about {worst[1]:,} faces)",
        f"evaluating more than {MAX_ESTIMATED_FACES:,} faces would freeze Blender",
        "Use fewer subdivision levels, array copies or particles.",
    )
