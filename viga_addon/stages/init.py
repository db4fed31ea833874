from .base import SCOPES, Stage

STAGE = Stage(
    name="init",
    title="Initialization",
    budget=2,  # rollouts
    rollouts=True,
    scope=SCOPES,
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
)
