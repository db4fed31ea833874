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
)
