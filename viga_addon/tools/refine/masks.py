"""Per-object masks from one flat ID render (no compositor, same code on Blender 4.2 and 5.x).

Every renderable object temporarily gets a unique viewport colour; a view-layer material
override turns that colour into emission; world, lights and the view transform are switched off
so the PNG holds the exact ID colours. One sample, no denoising, a 0.01 px pixel filter: edges
stay crisp. Everything touched is put back afterwards, also on failure.
"""

from __future__ import annotations

import os

import bpy
import numpy as np

from ...common import metrics
from ..render.engine import SavedSettings

_LEVELS = 6  # per channel: 6**3 - 1 = 215 distinguishable objects


def _code(index: int) -> tuple[float, float, float]:
    r, g, b = index % _LEVELS, (index // _LEVELS) % _LEVELS, (index // _LEVELS**2) % _LEVELS
    return r / (_LEVELS - 1), g / (_LEVELS - 1), b / (_LEVELS - 1)


def _srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _id_material():
    mat = bpy.data.materials.new("viga_refine_id")
    if mat.node_tree is None:
        mat.use_nodes = True
    tree = mat.node_tree
    tree.nodes.clear()
    info = tree.nodes.new("ShaderNodeObjectInfo")
    emit = tree.nodes.new("ShaderNodeEmission")
    out = tree.nodes.new("ShaderNodeOutputMaterial")
    tree.links.new(info.outputs["Color"], emit.inputs["Color"])
    tree.links.new(emit.outputs["Emission"], out.inputs["Surface"])
    return mat


def object_masks(path: str, width: int, height: int) -> dict[str, np.ndarray]:
    """Render an ID image at width x height to ``path``; {object name: bool (H, W) mask}."""
    scene = bpy.context.scene
    objects = [
        o for o in scene.objects if o.type not in {"LIGHT", "CAMERA", "EMPTY"} and not o.hide_render
    ]
    if len(objects) >= _LEVELS**3:
        objects = objects[: _LEVELS**3 - 1]
    saved = SavedSettings()
    colours = []
    mat = _id_material()
    try:
        r = scene.render
        saved.set(r, "resolution_x", width)
        saved.set(r, "resolution_y", height)
        saved.set(r, "resolution_percentage", 100)
        saved.set(r, "engine", "CYCLES")
        saved.set(r, "film_transparent", False)
        saved.set(r, "use_file_extension", True)
        saved.set(r.image_settings, "file_format", "PNG")
        saved.set(r.image_settings, "color_mode", "RGB")
        saved.set(r.image_settings, "color_depth", "8")
        saved.set(r, "filepath", path)
        c = scene.cycles
        saved.set(c, "device", "CPU")
        saved.set(c, "samples", 1)
        saved.set(c, "use_adaptive_sampling", False)
        saved.set(c, "use_denoising", False)
        saved.set(c, "filter_width", 0.01)
        v = scene.view_settings
        saved.set(v, "view_transform", "Standard")
        saved.set(v, "look", "None")
        saved.set(v, "exposure", 0.0)
        saved.set(v, "gamma", 1.0)
        saved.set(v, "use_curve_mapping", False)
        saved.set(scene, "world", None)
        saved.set(bpy.context.view_layer, "material_override", mat)
        for obj in scene.objects:
            if obj.type == "LIGHT" and not obj.hide_render:
                saved.set(obj, "hide_render", True)
        for i, obj in enumerate(objects, start=1):
            # a tuple copy: SavedSettings would keep the live (then overwritten) colour array
            colours.append((obj, tuple(obj.color)))
            obj.color = (*(_srgb_to_linear(x) for x in _code(i)), 1.0)
        bpy.ops.render.render(write_still=True)
    finally:
        for obj, colour in colours:
            obj.color = colour
        saved.restore()
        bpy.data.materials.remove(mat)
    image = metrics.load_rgb(path)
    os.remove(path)
    levels = np.rint(image * (_LEVELS - 1)).astype(np.int64)
    ids = levels[..., 0] + _LEVELS * levels[..., 1] + _LEVELS**2 * levels[..., 2]
    return {obj.name: ids == i for i, obj in enumerate(objects, start=1)}


def erode(mask: np.ndarray) -> np.ndarray:
    """Drop the one-pixel border of a mask (edge pixels mix object and background)."""
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner if inner.sum() >= 4 else mask
