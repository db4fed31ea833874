"""Physics-ready scenes and the settle check (Blender side; no model involved): every mesh
object gets a rigid body (passive supports, active things resting on them) with a collision
shape and a mass that fit it, the scene runs for two seconds with nothing pushing, and each body
gets a verdict: rests, floats, sunk, slides, tips, rolls or moves.

check      check_scene(): the whole check on a copy (or in place), physics.json and
           physics.blend, and the render process's "physics" job
meshes     an object's evaluated mesh as numpy arrays: box, closedness, volume, convexity, BVH
contacts   the start frame from geometry: what is below each object and how far, overlaps
roles      active or passive (geometry, names as a hint, the viga_physics_role override)
shapes     the collision shape that fits a mesh (SPHERE, BOX, CYLINDER, CONVEX_HULL, MESH)
materials  the density table and an object's material class (material name, Principled BSDF)
setup      the rigid-body world and bodies through Blender's operators; the working copy
simulate   frames stepped in order from the start frame; each body's track
verdicts   motion figures, the verdict of each body, readiness and the summary line
frames     the scene rendered at chosen frames of the check (the check_physics tool's pictures)
tool       the check as the agent's check_physics tool: its job, its compact result, the strip
event      an interaction: bodies prepared, the bake, trajectories, frames (the "bake" job)
bake_job   the host's bake_simulation as that job: its options, time limit and result

May import bpy, mathutils, numpy, the standard library, tools.scene.file, tools.render.engine
and common/; nothing of the UI.
"""

from .check import check_scene, run_job, write_results
from .roles import OVERRIDE_PROPERTY

__all__ = ["OVERRIDE_PROPERTY", "check_scene", "run_job", "write_results"]
