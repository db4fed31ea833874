from .base import REFINE_GENERATOR_TOOLS, Stage

STAGE = Stage(
    generator_tools=REFINE_GENERATOR_TOOLS,
    refine_groups=("material",),
    name="material",
    title="Material",
    budget=3,
    scope=("materials",),
    generator_focus="""\
Match each object's surface appearance: replace placeholder colours with Principled BSDF
materials (base colour, roughness, metallic, specular, alpha, procedural textures, bump), create
material slots and UVs when needed. Material edits only: no geometry, transforms, lights or
camera changes.""",
    verifier_focus="""\
Judge materials only: hue, saturation, brightness of each object's surface, glossiness,
metalness, transparency and texture. Ignore shape, placement and lighting direction.""",
    generator_example="""\
import bpy

mat = bpy.data.materials.get("mug_ceramic") or bpy.data.materials.new("mug_ceramic")
if mat.node_tree is None:  # Blender 4.x: a new material has no nodes yet
    mat.use_nodes = True
bsdf = mat.node_tree.nodes["Principled BSDF"]
bsdf.inputs["Base Color"].default_value = (0.75, 0.08, 0.06, 1.0)  # linear RGBA
bsdf.inputs["Roughness"].default_value = 0.25
bsdf.inputs["Specular IOR Level"].default_value = 0.5  # "Specular" before 4.0
for name in ("mug", "mug_handle"):
    obj = bpy.data.objects[name]
    if obj.material_slots:
        obj.material_slots[0].material = mat
    else:
        obj.data.materials.append(mat)
""",
    verifier_example={
        "analysis": (
            "Previous checklist: 1. 'mug' should be red ceramic - fixed (red, glossy). 2. "
            "'ground' should be light wood - not fixed: it is still flat grey."
        ),
        "approved": False,
        "checklist": [
            (
                "Give 'ground' a light wood material: base colour ~(0.55, 0.38, 0.22) linear, "
                "roughness 0.6"
            ),
            "Make 'mug' slightly darker and glossier: base colour (0.6, 0.05, 0.04), roughness 0.2",
        ],
        "best_attempt": 2,
        "score": 6,
    },
    scope_note=(
        "E.g. a call that assigns a material and also nudges the object or edits its mesh is "
        "rolled back whole."
    ),
)
