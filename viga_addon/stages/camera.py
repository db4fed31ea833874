from .base import REFINE_GENERATOR_TOOLS, Stage

STAGE = Stage(
    generator_tools=REFINE_GENERATOR_TOOLS,
    refine_groups=("camera",),
    name="camera",
    title="Camera adjustment",
    budget=1,
    scope=("camera",),
    generator_focus="""\
Final camera adjustment: match the photo's viewpoint, focal length and framing exactly by
moving, rotating the scene camera and changing its lens. Nothing else may change.""",
    verifier_focus="""\
Judge the camera only: viewpoint height and angle, focal length (perspective) and framing
against the photo.""",
)
