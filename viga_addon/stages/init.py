from .base import RECONSTRUCTION_SCOPES, Stage

STAGE = Stage(
    name="init",
    title="Initialization",
    budget=4,  # rollouts, as the staged paper samples
    rollouts=True,
    scope=RECONSTRUCTION_SCOPES,
    generator_focus="""\
First decompose the photo: call make_plan with a scene_graph whose root is the environment
(ground, walls, backdrop) and whose leaves are atomic parts buildable from primitives (cube,
sphere, cylinder, cone, torus, plane), each with a unique snake_case name, a short description,
approximate geometry, material and spatial relations. Then build a coarse scaffold from an empty
scene: one Blender object per leaf, named exactly as in the graph, with rough size, position and a
flat colour; add a camera matching the photo's viewpoint and simple lighting so that every part
is visible without cropping or over-exposure.""",
    verifier_focus="""\
Judge coverage and structure only: is every visible object or part of the photo present as a
named object, roughly in the right place and size? Ignore material detail, exact shapes and
lighting. List missing or spurious parts by name.""",
    generator_example="""\
import bpy
import math
from mathutils import Vector

bpy.ops.mesh.primitive_plane_add(size=4, location=(0, 0, 0))
bpy.context.active_object.name = "ground"
bpy.ops.mesh.primitive_cylinder_add(radius=0.04, depth=0.1, location=(0, 0, 0.05))
mug = bpy.context.active_object
mug.name = "mug"
flat = bpy.data.materials.new("mug_flat")
if flat.node_tree is None:  # Blender 4.x: a new material has no nodes yet
    flat.use_nodes = True
flat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.6, 0.1, 0.1, 1)
mug.data.materials.append(flat)

cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
bpy.context.scene.collection.objects.link(cam)
cam.location = (0.5, -0.6, 0.35)
cam.rotation_euler = (Vector((0, 0, 0.05)) - cam.location).to_track_quat("-Z", "Y").to_euler()
bpy.context.scene.camera = cam
sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", type="SUN"))
bpy.context.scene.collection.objects.link(sun)
sun.data.energy = 3.0
sun.rotation_euler = (math.radians(40), 0, math.radians(30))
print(sorted(o.name for o in bpy.context.scene.objects))
""",
    verifier_example={
        "analysis": (
            "First attempt, no previous checklist. Present: ground, mug, camera, sun. The photo "
            "also shows a saucer under the mug and a spoon on its right; both are missing. The "
            "mug is about the right size and place."
        ),
        "approved": False,
        "checklist": [
            "Add 'saucer': a flat cylinder (radius ~0.07 m, height ~0.01 m) under 'mug' at z = 0",
            "Add 'spoon' on the saucer to the right of the mug (+X), about 0.12 m long",
        ],
        "best_attempt": 1,
        "score": 5,
    },
)
