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
)
