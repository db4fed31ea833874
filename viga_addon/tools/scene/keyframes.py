"""An ID's keyframes, the same way in Blender 4.2 (``action.fcurves``) and 5.x (layered
actions: ``layers → strips → channelbag(slot) → fcurves``): what the fingerprint compares and
scene.py writes back."""

from __future__ import annotations

import numpy as np


def fcurves(animated) -> list:
    """The F-curves animating ``animated`` (an object, or its rigid body's owner) through its
    action, or [] when it has none."""
    data = getattr(animated, "animation_data", None)
    action = data.action if data is not None else None
    if action is None:
        return []
    legacy = getattr(action, "fcurves", None)
    if legacy is not None and not getattr(action, "layers", None):
        return list(legacy)
    slot = getattr(data, "action_slot", None)
    out = []
    for layer in action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(slot) if slot is not None else None
            if bag is not None:
                out.extend(bag.fcurves)
    return out


def keys(curve) -> list[tuple[float, float, str]]:
    """``(frame, value, interpolation)`` of each keyframe of an F-curve."""
    points = curve.keyframe_points
    co = np.empty(len(points) * 2, dtype=np.float32)
    if len(points):
        points.foreach_get("co", co)
    return [(float(co[2 * i]), float(co[2 * i + 1]), p.interpolation) for i, p in enumerate(points)]


def fingerprint(animated, digits: int = 5) -> tuple:
    """A comparable value of every keyframe of ``animated``."""
    out = []
    for curve in fcurves(animated):
        rows = tuple((round(f, digits), round(v, digits), i) for f, v, i in keys(curve))
        out.append((curve.data_path, curve.array_index, rows))
    return tuple(sorted(out))
