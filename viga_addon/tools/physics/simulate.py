"""Run the rigid-body simulation and record where every body goes.

Frames are evaluated one after another from the world's start frame with ``scene.frame_set``
(Blender simulates only consecutive frames: a jump resets the cache), under a context override
so a scene that is not the window's (the working copy) is the one evaluated. The same works
headless in Blender 4.2+ and 5.x; nothing is baked or written to disk. Afterwards the scene is
back on the start frame, where every body is where it started.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Vector

from .setup import view_layer_of


@dataclass
class Track:
    """One body's path: ``positions`` (frames, 3) of its bounding-box centre in metres,
    ``rotations`` (frames, 4) quaternions w, x, y, z."""

    positions: np.ndarray
    rotations: np.ndarray


def run(scene, bodies: dict[str, tuple], start: int, frames: int) -> dict[str, Track]:
    """Simulate ``frames`` frames after ``start``; ``bodies`` maps a name to ``(object, centre
    in object space)``. Returns a Track of ``frames + 1`` samples per body."""
    layer = view_layer_of(scene)
    count = frames + 1
    pos = {name: np.empty((count, 3)) for name in bodies}
    rot = {name: np.empty((count, 4)) for name in bodies}
    centres = {name: Vector(centre) for name, (_obj, centre) in bodies.items()}
    with bpy.context.temp_override(scene=scene, view_layer=layer):
        try:
            for k in range(count):
                scene.frame_set(start + k)
                for name, (obj, _centre) in bodies.items():
                    matrix = obj.matrix_world
                    pos[name][k] = matrix @ centres[name]
                    rot[name][k] = matrix.to_quaternion()
        finally:
            scene.frame_set(start)
    return {name: Track(pos[name], rot[name]) for name in bodies}
