from .base import REFINE_GENERATOR_TOOLS, Stage

STAGE = Stage(
    generator_tools=REFINE_GENERATOR_TOOLS,
    refine_groups=("lighting",),
    name="lighting",
    title="Lighting",
    budget=2,
    scope=("lights", "world", "render"),
    generator_focus="""\
Match the photo's lighting: light direction and height, shadow direction and softness, colour
temperature, exposure and contrast. You may change lights (type, position, direction, energy,
colour, size), the world (ambient colour/strength) and exposure / colour management. Objects,
materials and the camera stay fixed. Make conservative edits and revert changes that make the
render too dark or over-exposed.""",
    verifier_focus="""\
Judge lighting only: brightness, contrast, shadow direction and softness, colour temperature,
highlights. Ignore geometry, materials and layout.""",
    generator_example="""\
import bpy
import math

sun = bpy.data.objects["Sun"]
sun.rotation_euler = (math.radians(50), 0, math.radians(-30))  # shines down its local -Z
sun.data.energy = 2.5  # sun: W/m² (1-5 is daylight); point/spot/area lights are in watts
sun.data.angle = math.radians(8)  # bigger angle: softer shadows
sun.data.color = (1.0, 0.95, 0.88)
world = bpy.context.scene.world or bpy.data.worlds.new("World")
bpy.context.scene.world = world
if world.node_tree is None:  # Blender 4.x: a new world has no nodes yet
    world.use_nodes = True
background = world.node_tree.nodes["Background"]
background.inputs["Color"].default_value = (0.55, 0.62, 0.75, 1.0)
background.inputs["Strength"].default_value = 0.4
bpy.context.scene.view_settings.exposure = 0.3
""",
    verifier_example={
        "analysis": (
            "Previous checklist: 1. shadows too hard - fixed (sun angle larger). 2. scene too "
            "dark - not fixed: the ground is still darker than in the photo. 3. shadow should "
            "fall to the back-right - fixed."
        ),
        "approved": False,
        "checklist": [
            "Raise the exposure by about 0.5 or the sun 'Sun' energy from 2.5 to 3.5",
            "Warm the light slightly: 'Sun' colour (1.0, 0.92, 0.82)",
        ],
        "best_attempt": 2,
        "score": 7,
    },
    scope_note=(
        "E.g. a call that aims a light and also moves an object or the camera is rolled back whole."
    ),
)
