"""The offline demo in edit mode: a perturbed copy of the demo scene brought back to the photo.

This is NOT a model. ``write_start_scene(path)`` builds the demo scene (``tabletop.TRUTH``) and
spoils it (``PERTURB``: wrong materials, objects moved, a dim cold sun, another camera lens);
``SCRIPT`` holds the replies the scripted provider plays back so that a run with
``--scene START.blend`` puts each stage's factor back as in the photo:

    python -m viga_addon.demo.tabletop_edit START.blend
    python -m viga_addon reconstruct --provider scripted --scene START.blend
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from . import tabletop
from .tabletop import generator_round, tool_call, turn, verdict_turn

#: what the perturbed copy differs in, one stage's factor each
PERTURB = """
import math
red = bpy.data.materials["red_plastic"].node_tree.nodes["Principled BSDF"]
red.inputs["Base Color"].default_value = (0.1, 0.55, 0.12, 1.0)
blue = bpy.data.materials["blue_paint"].node_tree.nodes["Principled BSDF"]
blue.inputs["Base Color"].default_value = (0.6, 0.6, 0.6, 1.0)
bpy.data.objects["red_ball"].location = (-0.4, -0.6, 0.6)
box = bpy.data.objects["blue_box"]
box.location = (1.6, 1.6, 0.75); box.rotation_euler = (0, 0, 0)
sun = bpy.data.objects["sun"]
sun.data.energy = 0.8; sun.data.color = (0.7, 0.8, 1.0)
sun.rotation_euler = (math.radians(20), 0, 0)
bpy.context.scene.world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.3
cam = bpy.data.objects["camera"]
cam.location = (7.0, -6.5, 5.0); cam.data.lens = 30
"""

#: the objects of the demo scene (an edit run keeps every one under its name)
OBJECTS = ("blue_box", "camera", "ground", "red_ball", "sun", "yellow_can")


def _check_only(summary: str) -> list[dict]:
    return [turn(tool_call("render_view")), turn(tool_call("end_round", summary=summary))]


SCRIPT = {
    "geometry": {
        "generator": [_check_only("the shapes already match the photo; nothing to change")],
        "verifier": [[turn(verdict_turn(True, best=1, score=8))]],
    },
    "material": {
        "generator": [
            generator_round(tabletop._MATERIAL, "red ball red again, blue box blue again")
        ],
        "verifier": [[turn(verdict_turn(True, best=1, score=8))]],
    },
    "composition": {
        "generator": [
            generator_round(tabletop._COMPOSITION, "ball and box back where the photo has them")
        ],
        "verifier": [[turn(verdict_turn(True, best=1, score=8))]],
    },
    "lighting": {
        "generator": [
            generator_round(tabletop._LIGHTING, "warm, brighter sun from the front left; sky")
        ],
        "verifier": [[turn(verdict_turn(True, best=1, score=8))]],
    },
    "camera": {
        "generator": [generator_round(tabletop._CAMERA, "camera lower and closer, 38 mm")],
        "verifier": [[turn(verdict_turn(True, best=1, score=9))]],
    },
}


def build_scene(perturb: bool = True, reset: bool = True) -> None:
    """Build the demo scene (perturbed unless ``perturb`` is False) in a new empty file
    (``reset``; else in the current, empty, scene). Runs the add-on's own demo code (not
    model code), at the photo's aspect ratio."""
    import bpy
    from mathutils import Vector

    if reset:
        from ..tools.scene.blank import empty_file

        empty_file()
    code = tabletop.TRUTH + (PERTURB if perturb else "")
    with warnings.catch_warnings():  # the demo's use_nodes lines warn in 5.x, work in 4.2
        warnings.simplefilter("ignore", DeprecationWarning)
        exec(compile(code, "<tabletop_edit>", "exec"), {"bpy": bpy, "Vector": Vector})  # noqa: S102
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = 256, 192
    scene.render.engine = "CYCLES"


def write_start_scene(path: str | Path, perturb: bool = True) -> Path:
    """Write the perturbed demo scene to ``path`` (a .blend), the start of the edit demo."""
    import bpy

    build_scene(perturb)
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, check_existing=False)
    return path


if __name__ == "__main__":
    # --truth: the demo scene as the photo shows it (the start of the interaction demo)
    truth = "--truth" in sys.argv[1:]
    paths = [a for a in sys.argv[1:] if a != "--truth"]
    out = write_start_scene(paths[0] if paths else "tabletop_start.blend", perturb=not truth)
    print(out)
