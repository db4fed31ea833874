"""Closed-form steps of the refiner: a joint intensity scale and per-region colour ratios.

Intensity (light energies, world strength, exposure) is scaled jointly from the mean-brightness
ratio (secant steps); colours come from per-region colour ratios using one flat object-ID render
for the masks (material base colours per object, world colour from the background, light colour
overall). Each takes a few renders and keeps a step only when the loss falls.
"""

from __future__ import annotations

import math
import os

import bpy
import numpy as np

from . import masks as refine_masks
from .objective import Objective, Steps, linear
from .params import Param


def _indices(obj: Objective, predicate) -> list[tuple[Param, slice]]:
    out, i = [], 0
    for p in obj.params:
        if predicate(p):
            out.append((p, slice(i, i + p.size)))
        i += p.size
    return out


def intensity_steps(obj: Objective, max_steps: int = 3) -> Steps[None]:
    """Scale every intensity parameter jointly until the mean brightness matches the photo."""
    targets = _indices(obj, lambda p: p.role == "intensity")
    if not targets:
        return
    obj.phase = "intensity"
    want = float(np.mean(linear(obj.photo)))
    gain, last = 1.0, None
    for _ in range(max_steps):
        best = obj.best
        have = float(np.mean(linear(best["image"])))
        if want <= 1e-6 or have <= 1e-6:
            return
        log_ratio = math.log(want / have)
        if abs(log_ratio) < 0.02:
            return
        if last is not None:  # secant: how much the log brightness moved per log scale
            moved = math.log(max(have, 1e-6)) - last[1]
            if abs(moved) > 1e-3 and abs(last[0]) > 1e-3:
                gain = min(4.0, max(0.5, last[0] / moved))
        delta = max(-3.0, min(3.0, gain * log_ratio))
        u = best["u"].copy()
        for p, s in targets:
            u[s] += delta / math.log(2.0) if p.name == "exposure" else delta
        before = best["loss"]
        record = yield from obj.evaluate(u)
        last = (delta, math.log(max(have, 1e-6)))
        if record["loss"] >= before:
            return


def colour_steps(obj: Objective, max_steps: int = 3) -> Steps[None]:
    """Per-region colour ratios: base colours per object, world colour from the background,
    light colours overall (only when no base colour is refined, else they are ambiguous)."""
    base = _indices(obj, lambda p: p.role == "base_color")
    world = _indices(obj, lambda p: p.name == "world.color")
    light = [] if base else _indices(obj, lambda p: p.role == "light_color")
    if not (base or world or light) or obj.render_count_left() < 3:
        return
    obj.phase = "colour"
    obj.spend_extra("object-id masks")
    obj.apply(obj.best["u"])  # masks of the best state's geometry, not the last one tried
    w, h = obj.render_size
    masks = refine_masks.object_masks(os.path.join(obj.workdir, "ids.png"), w, h)
    yield obj.renders
    masks = {
        name: obj.frame(m.astype(np.float32)[..., None])[..., 0] > 0.5 for name, m in masks.items()
    }
    regions = []  # (slice, bool mask, light-style normalisation)
    for p, s in base:
        users = [
            o.name
            for o in bpy.context.scene.objects
            if any(
                slot.material and slot.material.name == p.material
                for slot in getattr(o, "material_slots", [])
            )
        ]
        sole = [
            n for n in users if n in masks and len(bpy.context.scene.objects[n].material_slots) == 1
        ]
        chosen = sole or [n for n in users if n in masks]
        if chosen:
            union = np.logical_or.reduce([masks[n] for n in chosen])
            regions.append((s, refine_masks.erode(union), False))
    any_object = np.logical_or.reduce(list(masks.values())) if masks else None
    if world and any_object is not None and (~any_object).sum() >= 4:
        regions.append((world[0][1], refine_masks.erode(~any_object), False))
    if light and any_object is not None and any_object.sum() >= 4:
        for _p, s in light:
            regions.append((s, refine_masks.erode(any_object), True))
    regions = [r for r in regions if r[1].sum() >= 2]
    if not regions:
        return
    photo_lin = linear(obj.photo)
    for _ in range(max_steps):
        best = obj.best
        render_lin = linear(best["image"])
        u = best["u"].copy()
        worst = 0.0
        for s, mask, normalise in regions:
            want = photo_lin[mask].mean(axis=0)
            have = np.maximum(render_lin[mask].mean(axis=0), 1e-4)
            ratio = np.clip(want / have, 0.05, 20.0)
            worst = max(worst, float(np.abs(np.log(ratio)).max()))
            colour = np.clip(u[s], 0.0, 1.0) * ratio
            if colour.max() > 1.0 and normalise:
                colour = colour / colour.max()
            u[s] = np.clip(np.maximum(colour, 0.003), 0.0, 1.0)
        if worst < 0.02:
            return
        before = best["loss"]
        record = yield from obj.evaluate(u)
        if record["loss"] >= before:
            return
