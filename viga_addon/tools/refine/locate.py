"""Several misplaced objects: find each in the photo first, then refine them jointly.

A local search only helps while render and photo overlap; an object off by more than its own
size has no gradient to follow. So, before the search:

1. one object-ID render and one render of the current state, both at twice the search's
   resolution, give every object's look (its material, the current light) and its pixels;
   objects hidden behind others get two more renders, isolated (the other objects hidden);
2. each object's look is located in the photo by masked normalised cross-correlation over every
   translation and a few scales (FFT, numpy only); an object whose best matches lie clearly
   away from where it is now (and within a few of its radii) counts as misplaced;
3. the 2D offset of its origin is back-projected through the camera onto the horizontal plane
   through its origin (it stays on its support); the best three matches are tried, one render
   each with every misplaced object at its k-th match;
4. turns about the up axis by a coarse sweep (±15°, ±30°, then ±7°) and small moves along the
   floor, all misplaced objects at once: every trial render moves each of them and each object
   keeps or drops its own step by the error inside its own image region (a separable search,
   one render per step for all objects together).

The result is rendered once as a whole and kept only if the objective's loss is lower; the
search that follows is limited to the objects found misplaced.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import bpy
import numpy as np
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector

from ...common import metrics
from ..render import engine as render
from . import masks as refine_masks
from .objective import Objective, Steps
from .params import RefineError

SCALES = (0.85, 1.0, 1.18)
MIN_PIXELS = 12
SWEEP = (math.radians(30), math.radians(-30), math.radians(15), math.radians(-15))
FINE_SWEEP = (math.radians(7), math.radians(-7))
CANDIDATES = 3  # matches tried per object (one render each, all objects at once)
MAX_MOVE_RADII = 4.0  # a match further than this many of the object's radii is not it


@dataclass
class Block:
    """One object's placement parameters (slices into the vector) and its search state."""

    name: str
    location: slice
    rotation: slice | None
    directions: list[tuple[np.ndarray, float]]  # whole-vector moves and their initial steps
    steps: list[float]
    reference: np.ndarray | None = None  # image where this object is at its current values


# ----------------------------------------------------------------------------- matching
def _correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid-mode 2D cross-correlation of image (H, W) with kernel (h, w), by FFT."""
    height, width = image.shape
    h, w = kernel.shape
    shape = (height + h - 1, width + w - 1)
    spectrum = np.fft.rfft2(image, shape) * np.fft.rfft2(kernel[::-1, ::-1], shape)
    full = np.fft.irfft2(spectrum, shape)
    return full[h - 1 : height, w - 1 : width]


def match(photo: np.ndarray, template: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Masked NCC of ``template`` (h, w, 3) with weight (h, w) at every valid offset of
    ``photo`` (H, W, 3); one mean over all channels, so colour counts, not just shading."""
    n = float(weight.sum()) * 3
    mean = float((template * weight[..., None]).sum()) / n
    centred = (template - mean) * weight[..., None]
    norm_t = float((centred**2).sum())
    numerator = sum(_correlate(photo[..., c], centred[..., c]) for c in range(3))
    first = sum(_correlate(photo[..., c], weight) for c in range(3))
    second = sum(_correlate(photo[..., c] ** 2, weight) for c in range(3))
    variance = np.maximum(second - first**2 / n, 1e-9)
    return numerator / np.sqrt(norm_t * variance + 1e-12)


def _dilate(mask: np.ndarray, times: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(times):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def locate(
    photo: np.ndarray,
    image: np.ndarray,
    mask: np.ndarray,
    others: np.ndarray | None = None,
    count: int = 1,
) -> dict | None:
    """Where the object under ``mask`` in ``image`` appears in ``photo``: {"corner": (x, y) of
    its template's best match, "scale", "score", "here" (the score where it is now),
    "origin_corner", "candidates": up to ``count`` distinct matches as (score, corner, scale),
    best first}. ``others``: pixels of other objects, left out of the template's ring."""
    if mask.sum() < MIN_PIXELS:
        return None
    ring = _dilate(mask, 2)
    if others is not None:
        ring &= mask | ~others
    ys, xs = np.nonzero(ring)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    template, weight = image[y0:y1, x0:x1], ring[y0:y1, x0:x1].astype(np.float32)
    found = []  # (score, corner, scale)
    here = -1.0
    for scale in SCALES:
        size = (max(3, round((x1 - x0) * scale)), max(3, round((y1 - y0) * scale)))
        if size[0] >= photo.shape[1] or size[1] >= photo.shape[0]:
            continue
        t = metrics._resize(template, size) if scale != 1.0 else template
        wt = (metrics._resize(weight, size) > 0.5).astype(np.float32) if scale != 1.0 else weight
        if wt.sum() < MIN_PIXELS:
            continue
        scores = match(photo, t, wt)
        if scale == 1.0 and y0 < scores.shape[0] and x0 < scores.shape[1]:
            here = float(scores[y0, x0])
        # a larger match is the same object nearer; prefer scale 1 on ties
        penalty = 0.0 if scale == 1.0 else 0.01
        work = scores.copy()
        for _ in range(count):
            iy, ix = np.unravel_index(int(np.argmax(work)), work.shape)
            if not np.isfinite(work[iy, ix]):
                break
            found.append((float(work[iy, ix]) - penalty, (int(ix), int(iy)), scale))
            ry, rx = max(2, size[1] // 2), max(2, size[0] // 2)
            work[max(0, iy - ry) : iy + ry + 1, max(0, ix - rx) : ix + rx + 1] = -np.inf
    if not found:
        return None
    found.sort(key=lambda f: -f[0])
    distinct = []
    for f in found:
        if all(math.dist(f[1], g[1]) > 3 for g in distinct):
            distinct.append(f)
    best = distinct[0]
    return {
        "corner": best[1],
        "scale": best[2],
        "score": best[0],
        "here": here,
        "origin_corner": (int(x0), int(y0)),
        "candidates": distinct[:count],
    }


# ----------------------------------------------------------------------------- camera geometry
class View:
    """Pixel <-> world for the framed image of a given size (the photo's frame)."""

    def __init__(self, obj: Objective, size: tuple[int, int]) -> None:
        self.scene = bpy.context.scene
        self.camera = self.scene.camera
        self.size = size
        self.fx, self.fy = obj.crop_fractions()

    def pixel(self, point) -> tuple[float, float]:
        ndc = world_to_camera_view(self.scene, self.camera, Vector(point))
        x = ((ndc.x - 0.5) / self.fx + 0.5) * self.size[0]
        y = ((0.5 - ndc.y) / self.fy + 0.5) * self.size[1]
        return x, y

    def ray(self, x: float, y: float) -> tuple[Vector, Vector] | None:
        if self.camera.data.type != "PERSP":
            return None
        u = 0.5 + (x / self.size[0] - 0.5) * self.fx
        v = 0.5 - (y / self.size[1] - 0.5) * self.fy
        frame = self.camera.data.view_frame(scene=self.scene)
        left, right = min(p.x for p in frame), max(p.x for p in frame)
        bottom, top = min(p.y for p in frame), max(p.y for p in frame)
        local = Vector((left + u * (right - left), bottom + v * (top - bottom), frame[0].z))
        m = self.camera.matrix_world
        return m.translation.copy(), (m.to_3x3() @ local).normalized()

    def on_plane(self, x: float, y: float, height: float) -> Vector | None:
        ray = self.ray(x, y)
        if ray is None or abs(ray[1].z) < 1e-6:
            return None
        t = (height - ray[0].z) / ray[1].z
        return ray[0] + t * ray[1] if t > 0 else None

    def region(self, obj_name: str, margin: int = 2) -> np.ndarray:
        """Bool mask of the object's projected bounding box (plus a margin), framed."""
        ob = bpy.data.objects[obj_name]
        points = [self.pixel(ob.matrix_world @ Vector(c)) for c in ob.bound_box]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        mask = np.zeros((self.size[1], self.size[0]), dtype=bool)
        x0, x1 = max(0, int(min(xs)) - margin), min(self.size[0], int(math.ceil(max(xs))) + margin)
        y0, y1 = max(0, int(min(ys)) - margin), min(self.size[1], int(math.ceil(max(ys))) + margin)
        if x1 > x0 and y1 > y0:
            mask[y0:y1, x0:x1] = True
        return mask


# ----------------------------------------------------------------------------- the step
def _blocks(obj: Objective) -> list[Block]:
    scene = bpy.context.scene
    cam = scene.camera.matrix_world.to_3x3()
    right = Vector((cam.col[0].x, cam.col[0].y, 0.0))
    ahead = Vector((-cam.col[2].x, -cam.col[2].y, 0.0))
    slices, i = {}, 0
    for p in obj.params:
        slices[p.name] = (p, slice(i, i + p.size))
        i += p.size
    n = i
    blocks = []
    for name, (p, sl) in slices.items():
        if not (name.startswith("object:") and name.endswith(".location")):
            continue
        target = name[len("object:") : -len(".location")]
        ob = scene.objects.get(target)
        if ob is None or ob.parent is not None:
            continue
        rotation = slices.get(f"object:{target}.rotation")
        directions = []
        for axis in (right, ahead):
            if axis.length > 1e-6:
                full = np.zeros(n)
                full[sl] = list(axis.normalized())
                directions.append((full, 1.5 * p.step))
        if rotation is not None:
            full = np.zeros(n)
            full[rotation[1].start + 2] = 1.0
            directions.append((full, math.radians(6)))
        blocks.append(
            Block(
                target,
                sl,
                None if rotation is None else rotation[1],
                directions,
                [s for _, s in directions],
            )
        )
    return blocks


def _blur(image: np.ndarray) -> np.ndarray:
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
    return (
        sum(
            padded[dy : dy + image.shape[0], dx : dx + image.shape[1]]
            for dy in range(3)
            for dx in range(3)
        )
        / 9.0
    )


class Locator:
    """Per-object regions and errors for the separable steps."""

    def __init__(self, obj: Objective) -> None:
        self.obj = obj
        self.view = View(obj, obj.size)
        self.photo = _blur(obj.photo)

    def regions(self, u: np.ndarray, blocks: list[Block]) -> dict[str, np.ndarray]:
        self.obj.apply(u)
        bpy.context.view_layer.update()
        return {b.name: self.view.region(b.name) for b in blocks}

    def error(self, image: np.ndarray, region: np.ndarray) -> float:
        return float(((_blur(image) - self.photo) ** 2)[region].sum())


def _looks(obj: Objective, tag: str, render_size, framed) -> Steps[tuple[np.ndarray, dict]]:
    """An object-ID render and a render of the scene as it stands, at ``render_size``."""
    obj.spend_extra(f"locate masks{tag}")
    masks = refine_masks.object_masks(
        os.path.join(obj.workdir, f"locate_ids{tag}.png"), *render_size
    )
    yield obj.renders
    obj.spend_extra(f"locate look{tag}")
    path = os.path.join(obj.workdir, f"locate_look{tag}.png")
    result = render.render(
        "preview", path=path, long_side=max(render_size), samples=obj.samples, device=obj.device
    )
    if not result.get("ok"):
        raise RefineError(f"render failed: {result.get('error')}")
    obj.render_seconds += result["seconds"]
    yield obj.renders
    framed_masks = {
        name: framed(m.astype(np.float32)[..., None])[..., 0] > 0.5 for name, m in masks.items()
    }
    return framed(metrics.load_rgb(path)), framed_masks


def _proposals(obj: Objective, blocks: list[Block]) -> Steps[dict[str, list[Vector]]]:
    """Where each object's origin may belong, best match first, from the photo (objects found
    misplaced only: a clearly better match away from where they are, within reach). Objects
    hidden behind others in the render are rendered isolated (the other objects hidden) for
    their look: two more renders, once for all of them."""
    scene = bpy.context.scene
    obj.phase = "locate"
    obj.apply(obj.best["u"])
    size = (obj.size[0] * 2, obj.size[1] * 2)
    render_size = (obj.render_size[0] * 2, obj.render_size[1] * 2)

    def framed(image):
        if obj.cropped:
            image = metrics._centre_crop(image, size[0] / size[1])
        return metrics._resize(image, size)

    look, all_masks = yield from _looks(obj, "", render_size, framed)
    names = {b.name for b in blocks}
    framed_masks = {n: m for n, m in all_masks.items() if n in names}
    looks = dict.fromkeys(framed_masks, look)
    hidden = [n for n in names if framed_masks.get(n, np.zeros(1)).sum() < MIN_PIXELS]
    if hidden and obj.render_count_left() > 12:
        shown = [scene.objects[n] for n in names - set(hidden)]
        kept = [(o, o.hide_render) for o in shown]
        try:
            for o in shown:
                o.hide_render = True
            alone, alone_masks = yield from _looks(obj, "_isolated", render_size, framed)
        finally:
            for o, flag in kept:
                o.hide_render = flag
        for n in hidden:
            if n in alone_masks:
                framed_masks[n], looks[n] = alone_masks[n], alone
    photo = metrics._resize(obj.photo_full, size)
    view = View(obj, size)
    bpy.context.view_layer.update()
    out = {}
    for block in blocks:
        mask = framed_masks.get(block.name)
        if mask is None:
            continue
        others = np.logical_or.reduce(
            [m for n, m in framed_masks.items() if n != block.name] or [np.zeros_like(mask)]
        )
        found = locate(photo, looks[block.name], mask, others, count=CANDIDATES)
        if found is None:
            continue
        ox, oy = found["origin_corner"]
        origin = scene.objects[block.name].matrix_world.translation
        px, py = view.pixel(origin)
        reach = MAX_MOVE_RADII * obj_radius(block.name)
        targets = []
        for score, (cx, cy), s in found["candidates"]:
            if math.hypot(cx - ox, cy - oy) < 2.0 or score - found["here"] < 0.03:
                continue
            target = view.on_plane(cx + s * (px - ox), cy + s * (py - oy), origin.z)
            if target is not None and (target - origin).length <= reach:
                targets.append(target)
        if targets:
            out[block.name] = targets
    return out


def obj_radius(name: str) -> float:
    return max(bpy.data.objects[name].dimensions.length / 2, 0.05)


def _try(obj, locator, blocks, base_u, trials):
    """Render each trial vector (base + every block's own offset); each block keeps the one
    with the lowest error in its own region (or its reference). Returns the combined vector."""
    combined = base_u.copy()
    regions_base = locator.regions(base_u, blocks)
    options = {b.name: [] for b in blocks}
    for offsets in trials:
        u = base_u.copy()
        for b in blocks:
            if b.name in offsets:
                u = u + offsets[b.name]
        u = obj.clip(u)
        record = yield from obj.evaluate(u)
        regions = locator.regions(u, blocks)
        for b in blocks:
            if b.name in offsets:
                options[b.name].append((u, record["image"], regions[b.name]))
    for b in blocks:
        if not options[b.name]:
            continue
        union = regions_base[b.name].copy()
        for _, _, region in options[b.name]:
            union |= region
        best_err = locator.error(b.reference, union)
        choice = None
        for u, image, _ in options[b.name]:
            err = locator.error(image, union)
            if err < best_err:
                best_err, choice = err, (u, image)
        if choice is not None:
            for sl in (b.location, b.rotation):
                if sl is not None:
                    combined[sl] = choice[0][sl]
            b.reference = choice[1]
    obj.apply(obj.best["u"])
    return combined


def locate_objects(obj: Objective, share: int) -> Steps[list[str]]:
    """Find misplaced objects in the photo and move them, within ``share`` renders; narrows the
    search that follows to them. Returns their names."""
    blocks = _blocks(obj)
    if not blocks or share < 6 or bpy.context.scene.camera.data.type != "PERSP":
        return []
    stop_at = obj.renders + share - 1
    try:
        targets = yield from _proposals(obj, blocks)
    finally:
        obj.apply(obj.best["u"])
    moved = [b for b in blocks if b.name in targets]
    if not moved:
        obj.notes.append("locate: no object found away from its place in the photo")
        return []
    locator = Locator(obj)
    base = obj.best["u"].copy()
    for b in moved:
        b.reference = obj.best["image"]
    trials = []
    for k in range(CANDIDATES):
        offsets = {}
        for b in moved:
            if k < len(targets[b.name]):
                delta = np.zeros_like(base)
                delta[b.location] = np.array(targets[b.name][k]) - base[b.location]
                offsets[b.name] = delta
        if offsets:
            trials.append(offsets)
    try:
        u = yield from _try(obj, locator, moved, base, trials)
        turnable = [b for b in moved if b.rotation is not None]
        for sweep in (SWEEP, FINE_SWEEP):
            if obj.renders + len(sweep) > stop_at or not turnable:
                break
            trials = []
            for angle in sweep:
                trial = {}
                for b in turnable:
                    delta = np.zeros_like(base)
                    delta[b.rotation.start + 2] = angle
                    trial[b.name] = delta
                trials.append(trial)
            u = yield from _try(obj, locator, turnable, u, trials)
        u = yield from _separable(obj, locator, moved, u, stop_at)
    finally:
        obj.located = True
        _narrow(obj, moved)
        obj.notes.append(f"locate: moved {', '.join(b.name for b in moved)}")
    obj.phase = "locate"
    yield from obj.evaluate(u)
    return [b.name for b in moved]


def _separable(obj, locator, blocks, u, stop_at):
    """Adaptive steps along each block's own directions, all blocks in one render per step."""
    while obj.renders < stop_at:
        active = False
        for d in range(max(len(b.directions) for b in blocks)):
            if obj.renders >= stop_at:
                break
            trial = {}
            for b in blocks:
                if d < len(b.directions) and abs(b.steps[d]) >= b.directions[d][1] / 16:
                    trial[b.name] = b.steps[d] * b.directions[d][0]
            if not trial:
                continue
            active = True
            before = {b.name: u[b.location].copy() for b in blocks}
            before_rot = {
                b.name: None if b.rotation is None else u[b.rotation].copy() for b in blocks
            }
            u = yield from _try(obj, locator, [b for b in blocks if b.name in trial], u, [trial])
            for b in blocks:
                if b.name not in trial:
                    continue
                same = np.array_equal(before[b.name], u[b.location]) and (
                    b.rotation is None or np.array_equal(before_rot[b.name], u[b.rotation])
                )
                initial = b.directions[d][1]
                b.steps[d] = (
                    -0.5 * b.steps[d]
                    if same
                    else math.copysign(min(abs(b.steps[d]) * 2, 4 * initial), b.steps[d])
                )
        if not active:
            break
    return u


def _narrow(obj: Objective, moved: list[Block]) -> None:
    """Placement directions of objects not found misplaced drop out of the search."""
    keep = {b.name for b in moved}
    k = 0
    for p in obj.params:
        count = len(p.directions) if p.directions else p.size
        if p.group == "placement":
            owner = p.name[len("object:") :].rpartition(".")[0]
            if owner not in keep:
                obj.active[k : k + count] = False
        k += count
