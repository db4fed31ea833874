from .base import REFINE_GENERATOR_TOOLS, Stage

STAGE = Stage(
    generator_tools=REFINE_GENERATOR_TOOLS,
    refine_groups=("placement", "camera"),
    name="composition",
    title="Composition",
    budget=3,
    scope=("transforms", "camera"),
    generator_focus="""\
Arrange the finished objects to match the photo's layout: relative position, scale, rotation,
contact with supporting surfaces and overall spatial organisation; adjust the camera when needed.
Only object transforms and the camera may change: no geometry or material edits.""",
    verifier_focus="""\
Judge layout only: positions, relative scale, rotation, contact and framing against the photo.
Ignore materials and lighting.""",
)
