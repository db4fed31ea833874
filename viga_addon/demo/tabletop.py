"""The offline demo: a script of model replies that rebuilds ``tabletop.png`` stage by stage.

This is NOT a model. The scripted provider plays these replies back so the pipeline, the panel and
the run folder can be tried and tested without a key or network; every place it runs says so.
``TRUTH`` is the scene the photo was rendered from (``examples/build_demo_photo.py``).
"""

from pathlib import Path

PHOTO = Path(__file__).with_name("tabletop.png")

_HELPERS = """
def material(name, rgb, roughness=0.5, metallic=0.0):
    m = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    m.use_nodes = True
    bsdf = m.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    return m

def assign(obj, mat):
    obj.data.materials.clear()
    obj.data.materials.append(mat)

def look_at(obj, target):
    direction = Vector(target) - obj.location
    obj.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
"""

_SCAFFOLD = (
    _HELPERS
    + """
grey = material("placeholder_grey", (0.5, 0.5, 0.5))
bpy.ops.mesh.primitive_plane_add(size=10, location=(0, 0, 0))
ground = bpy.context.object; ground.name = "ground"; assign(ground, grey)
bpy.ops.mesh.primitive_uv_sphere_add(radius=0.5, location=(-1.0, 0.5, 0.5))
ball = bpy.context.object; ball.name = "red_ball"; assign(ball, grey)
bpy.ops.mesh.primitive_cube_add(size=1.0, location=(1.0, 1.0, 0.5))
box = bpy.context.object; box.name = "blue_box"; assign(box, grey)
{can}
cam_data = bpy.data.cameras.new("camera"); cam_data.lens = 35
cam = bpy.data.objects.new("camera", cam_data); bpy.context.scene.collection.objects.link(cam)
cam.location = (7.0, -6.5, 5.0); look_at(cam, (0, 0, 0.5)); bpy.context.scene.camera = cam
sun_data = bpy.data.lights.new("sun", "SUN"); sun_data.energy = 2.0
sun = bpy.data.objects.new("sun", sun_data); bpy.context.scene.collection.objects.link(sun)
sun.rotation_euler = (0.6, 0.0, 0.0)
print("scaffold:", [o.name for o in bpy.context.scene.objects])
"""
)
_CAN = """bpy.ops.mesh.primitive_cylinder_add(radius=0.3, depth=0.8, location=(0.0, -1.0, 0.4))
can = bpy.context.object; can.name = "yellow_can"; assign(can, grey)"""

_GEOMETRY_1 = """
box = bpy.data.objects["blue_box"]
box.scale = (1.0, 1.0, 1.2)
ball = bpy.data.objects["red_ball"]
ball.scale = (1.2, 1.2, 1.2)
"""
_GEOMETRY_2 = """
box = bpy.data.objects["blue_box"]
box.scale = (1.0, 1.0, 1.5)
can = bpy.data.objects["yellow_can"]
can.scale = (0.35 / 0.3, 0.35 / 0.3, 1.0 / 0.8)
bevel = box.modifiers.new("bevel", "BEVEL"); bevel.width = 0.04; bevel.segments = 2
"""
_MATERIAL = (
    _HELPERS
    + """
assign(bpy.data.objects["ground"], material("ground_wood", (0.55, 0.5, 0.42), roughness=0.8))
assign(bpy.data.objects["red_ball"], material("red_plastic", (0.8, 0.08, 0.05), roughness=0.3))
assign(bpy.data.objects["blue_box"], material("blue_paint", (0.05, 0.15, 0.7), roughness=0.5))
assign(bpy.data.objects["yellow_can"],
       material("yellow_metal", (0.9, 0.7, 0.05), roughness=0.35, metallic=0.6))
"""
)
_COMPOSITION = """
import math
bpy.data.objects["red_ball"].location = (-1.2, 0.4, 0.6)
box = bpy.data.objects["blue_box"]
box.location = (0.9, 0.8, 0.75); box.rotation_euler = (0, 0, math.radians(25))
bpy.data.objects["yellow_can"].location = (0.3, -1.1, 0.5)
"""
_LIGHTING = """
import math
sun = bpy.data.objects["sun"]
sun.data.energy = 3.0
sun.data.color = (1.0, 0.95, 0.88)
sun.rotation_euler = (math.radians(50), math.radians(10), math.radians(30))
world = bpy.context.scene.world or bpy.data.worlds.new("world")
bpy.context.scene.world = world
world.use_nodes = True
bg = world.node_tree.nodes["Background"]
bg.inputs["Color"].default_value = (0.35, 0.4, 0.5, 1.0)
bg.inputs["Strength"].default_value = 0.8
"""
_CAMERA = """
cam = bpy.data.objects["camera"]
cam.location = (6.0, -5.5, 4.0)
direction = Vector((0, 0, 0.4)) - cam.location
cam.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
cam.data.lens = 38
"""

# The ground truth, used only to render the demo photo.
TRUTH = _SCAFFOLD.format(can=_CAN) + _GEOMETRY_2 + _MATERIAL + _COMPOSITION + _LIGHTING + _CAMERA

_GRAPH_FULL = {
    "objects": [
        {"name": "tabletop", "parent": None, "description": "the whole scene"},
        {
            "name": "ground",
            "parent": "tabletop",
            "description": "wooden floor",
            "geometry": "plane",
        },
        {
            "name": "red_ball",
            "parent": "tabletop",
            "description": "glossy red ball",
            "geometry": "sphere",
        },
        {
            "name": "blue_box",
            "parent": "tabletop",
            "description": "tall blue box, rotated",
            "geometry": "cube",
        },
        {
            "name": "yellow_can",
            "parent": "tabletop",
            "description": "metallic yellow can",
            "geometry": "cylinder",
        },
    ]
}
_GRAPH_PARTIAL = {"objects": [n for n in _GRAPH_FULL["objects"] if n["name"] != "yellow_can"]}


def tool_call(name, **arguments):
    return {"name": name, "arguments": arguments}


def turn(*calls, text=""):
    return {"text": text, "tool_calls": list(calls)}


def verdict_turn(approved, checklist=(), best=1, score=None, analysis=None):
    if analysis is None:
        analysis = (
            "No open items from a previous checklist. The attempt matches the photo in this "
            "stage's factor."
            if approved
            else "Differs from the photo: " + "; ".join(checklist) + "."
        )
    return tool_call(
        "submit_verdict",
        analysis=analysis,
        approved=approved,
        checklist=list(checklist),
        best_attempt=best,
        score=score,
    )


def generator_round(code, summary):
    return [
        turn(tool_call("execute_code", code=code), text="Applying this round's edits."),
        turn(tool_call("render_view")),
        turn(tool_call("end_round", summary=summary)),
    ]


SCRIPT = {
    "init": {
        "generator": [
            [  # rollout 1: the full scene graph
                turn(
                    tool_call(
                        "make_plan",
                        plan="1. ground 2. three objects 3. camera and sun",
                        scene_graph=_GRAPH_FULL,
                    )
                ),
                turn(tool_call("execute_code", code=_SCAFFOLD.format(can=_CAN))),
                turn(tool_call("end_round", summary="coarse scaffold with all four parts")),
            ],
            [  # rollout 2 misses the can: the selector must keep rollout 1
                turn(
                    tool_call("make_plan", plan="ground, ball and box", scene_graph=_GRAPH_PARTIAL)
                ),
                turn(tool_call("execute_code", code=_SCAFFOLD.format(can=""))),
                turn(tool_call("end_round", summary="scaffold without the can")),
            ],
        ],
        "verifier": [
            [
                turn(tool_call("initialize_viewpoint", object_names=["red_ball", "blue_box"])),
                turn(verdict_turn(True, best=1, score=7)),
            ],
            [
                turn(
                    verdict_turn(
                        False, ["yellow_can (metallic cylinder, front) is missing"], best=1, score=4
                    )
                )
            ],
        ],
        # the rollouts compared at once (rollouts past the second replay the second)
        "selector": [
            [
                turn(
                    tool_call(
                        "select_rollout",
                        analysis="Rollout 1 has all four parts; the others miss the yellow can.",
                        best=1,
                        scores={"1": 8, "2": 4, "3": 4, "4": 4},
                        reason="the only scaffold with every part of the photo",
                    ),
                    text="Comparing the rollouts side by side.",
                )
            ]
        ],
    },
    "geometry": {
        "generator": [
            generator_round(_GEOMETRY_1, "box taller, ball larger"),
            generator_round(_GEOMETRY_2, "box 1.5 tall with a bevel, can wider and taller"),
        ],
        "verifier": [
            [
                turn(tool_call("investigate", operation="focus", object_name="blue_box")),
                turn(
                    verdict_turn(
                        False,
                        [
                            "blue_box must be 1.5 units tall (now 1.2)",
                            "yellow_can is too thin: radius 0.35, height 1.0",
                        ],
                        best=1,
                        score=5,
                    )
                ),
            ],
            [
                turn(
                    verdict_turn(
                        True,
                        best=2,
                        score=8,
                        analysis="Previous checklist: blue_box 1.5 units tall - fixed; "
                        "yellow_can radius 0.35, height 1.0 - fixed. The shapes and "
                        "proportions now match the photo.",
                    )
                )
            ],
        ],
    },
    "material": {
        "generator": [
            generator_round(
                _MATERIAL, "red plastic ball, blue paint box, metallic yellow can, wooden ground"
            )
        ],
        "verifier": [[turn(verdict_turn(True, best=1, score=8))]],
    },
    "composition": {
        "generator": [generator_round(_COMPOSITION, "moved objects to the photo's layout")],
        "verifier": [[turn(verdict_turn(True, best=1, score=8))]],
    },
    "lighting": {
        "generator": [generator_round(_LIGHTING, "warm sun from the front left, bluish sky")],
        "verifier": [[turn(verdict_turn(True, best=1, score=8))]],
    },
    "camera": {
        "generator": [generator_round(_CAMERA, "camera lower and closer, 38 mm")],
        "verifier": [[turn(verdict_turn(True, best=1, score=9))]],
    },
}
