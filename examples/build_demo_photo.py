"""Render the offline demo's photo from its ground-truth scene.

.venv/bin/python examples/build_demo_photo.py   (writes viga_addon/demo/tabletop.png)
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpy  # noqa: E402
from mathutils import Vector  # noqa: E402

from viga_addon.demo import tabletop  # noqa: E402

bpy.ops.wm.read_factory_settings(use_empty=True)
exec(tabletop.TRUTH, {"bpy": bpy, "Vector": Vector, "math": math})
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = 128
scene.cycles.seed = 7
scene.render.resolution_x, scene.render.resolution_y = 320, 240
scene.render.resolution_percentage = 100
scene.render.image_settings.file_format = "PNG"
scene.render.filepath = str(tabletop.PHOTO)
bpy.ops.render.render(write_still=True)
print("wrote", tabletop.PHOTO)
