"""Render-and-compare refinement of continuous scene parameters.

``refine_parameters(targets, budget, photo)`` searches for the values of the named parameters
(see ``refine_params``: lights, world, exposure, Principled materials, object transforms, the
camera) whose small render best matches the photo, within ``budget`` renders:

1. closed forms first, where they are faster than search: a joint intensity scale (light
   energies, world strength, exposure) from the mean-brightness ratio (secant steps), then
   colours from per-region colour ratios, using one flat object-ID render for the masks
   (material base colours per object, world colour from the background, light colour overall);
2. then an adaptive coordinate search (Rosenbrock-style steps: grow on success, reverse and
   shrink on failure, plus a pattern move after each sweep) for every component.

Renders are tiny (64 px, 8 samples, fixed seed, denoised) so the objective is deterministic and
smooth enough; they are cached by parameter vector. The loss is (1 - SSIM) + 10 (MSE + MSE of a
4x coarser image), on the photo's frame (when the aspect ratios differ the render's centre crop is
compared and the result says so). The best state seen is what the scene is left in, so the match
never ends worse than at the start; on any error the scene is put back as it was.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence

import bpy
import numpy as np

from ..agent import metrics
from . import refine_masks, render
from .refine_params import GROUPS, Param, RefineError, resolve_targets

DEFAULT_LONG_SIDE = 64
DEFAULT_SAMPLES = 8
MAX_BUDGET = 1000
MIN_SIDE = 16  # SSIM needs 11 px; keep a margin


class _Stop(Exception):
    """Internal: the render budget is spent or the caller cancelled."""


def _linear(display: np.ndarray) -> np.ndarray:
    """Approximate scene-linear values from display values (inverse sRGB curve)."""
    return np.where(display <= 0.04045, display / 12.92, ((display + 0.055) / 1.055) ** 2.4)


def _coarse(image: np.ndarray, factor: int = 4) -> np.ndarray:
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    cut = image[:h, :w]
    return cut.reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))


def image_loss(render_rgb: np.ndarray, photo_rgb: np.ndarray) -> dict:
    """{"loss", "psnr", "ssim"} of a render against the photo (same shape, display values)."""
    mse = float(np.mean((render_rgb - photo_rgb) ** 2))
    coarse = float(np.mean((_coarse(render_rgb) - _coarse(photo_rgb)) ** 2))
    coarser = float(np.mean((_coarse(render_rgb, 8) - _coarse(photo_rgb, 8)) ** 2))
    s = metrics.ssim(render_rgb, photo_rgb)
    return {
        "loss": (1.0 - s) + 10.0 * (mse + coarse),
        "coarse_loss": coarse + coarser,
        "psnr": metrics.psnr(render_rgb, photo_rgb),
        "ssim": s,
    }


class Objective:
    """Renders parameter vectors (internal coordinates), scores them, caches, tracks the best."""

    def __init__(
        self,
        params: list[Param],
        photo_path: str | os.PathLike,
        budget: int,
        workdir: str,
        long_side: int,
        samples: int,
        device: str,
        progress: Callable[[dict], bool | None] | None = None,
    ) -> None:
        self.params = params
        self.budget = budget
        self.workdir = workdir
        self.samples = samples
        self.device = device
        self.progress = progress
        self.cache: dict[tuple, dict] = {}
        self.renders = 0
        self.render_seconds = 0.0
        self.phase = "start"
        self.history: list[dict] = []
        self.best: dict | None = None
        self.coarse = False  # rank by the blurred-image loss (wider basins for geometry)
        self.cancelled = False
        self.original = [p.get() for p in params]
        self.start_u = self.flatten_values(self.original)
        self.low = np.array([p.low for p in params for _ in range(p.size)])
        self.high = np.array([p.high for p in params for _ in range(p.size)])
        self.directions = self._directions()
        self._prepare_frame(photo_path, long_side)

    def _directions(self) -> list[tuple[np.ndarray, float, bool]]:
        """Search directions over the whole vector: each parameter's own, or its axes."""
        out, offset, n = [], 0, sum(p.size for p in self.params)
        for p in self.params:
            local = p.directions or [
                ([1.0 if i == j else 0.0 for j in range(p.size)], p.step, True)
                for i in range(p.size)
            ]
            for vector, step, primary in local:
                full = np.zeros(n)
                full[offset : offset + p.size] = vector
                out.append((full, step, primary))
            offset += p.size
        return out

    # -- frame and photo
    def _prepare_frame(self, photo_path, long_side):
        try:
            photo = metrics.load_rgb(photo_path)
        except (OSError, ValueError) as exc:
            raise RefineError(
                f"cannot read the photo {photo_path}: {exc}. Give a PNG or JPEG file."
            ) from exc
        scene = bpy.context.scene
        photo_aspect = photo.shape[1] / photo.shape[0]
        self.note = ""
        while True:
            width, height = render._resolution(scene, long_side)
            self.cropped = abs((width / height) / photo_aspect - 1.0) > metrics.ASPECT_TOLERANCE
            crop = (
                metrics._centre_crop(np.zeros((height, width, 1)), photo_aspect)
                if self.cropped
                else np.zeros((height, width, 1))
            )
            if min(crop.shape[:2]) >= MIN_SIDE or long_side >= 512:
                break
            long_side *= 2
        self.long_side = long_side
        self.render_size = (width, height)
        self.size = (crop.shape[1], crop.shape[0])
        if self.cropped:
            self.note = (
                f"The photo ({photo.shape[1]}x{photo.shape[0]}) and the camera frame "
                f"({scene.render.resolution_x}x{scene.render.resolution_y}) differ in "
                f"aspect ratio: compared the render's centre crop with the whole photo. "
                "Set the render resolution to the photo's aspect ratio to compare the "
                "full frame."
            )
        self.photo = metrics._resize(photo, self.size)

    def frame(self, image: np.ndarray) -> np.ndarray:
        """A render cut to the photo's frame (its centre crop when the aspects differ)."""
        if self.cropped:
            image = metrics._centre_crop(image, self.size[0] / self.size[1])
        if image.shape[1] != self.size[0] or image.shape[0] != self.size[1]:
            image = metrics._resize(image, self.size)
        return image

    # -- vectors
    def flatten_values(self, values: Sequence[Sequence[float]]) -> np.ndarray:
        return np.array(
            [c for p, v in zip(self.params, values, strict=True) for c in p.to_internal(v)]
        )

    def split(self, u: np.ndarray) -> list[list[float]]:
        out, i = [], 0
        for p in self.params:
            out.append(list(u[i : i + p.size]))
            i += p.size
        return out

    def clip(self, u: np.ndarray) -> np.ndarray:
        return np.minimum(np.maximum(u, self.low), self.high)

    def apply(self, u: np.ndarray) -> None:
        if np.array_equal(u, self.start_u):
            self.apply_original()
            return
        for p, coords in zip(self.params, self.split(u), strict=True):
            p.set(p.from_internal(coords))

    def apply_original(self) -> None:
        for p, values in zip(self.params, self.original, strict=True):
            p.set(values)

    def values(self, u: np.ndarray) -> dict[str, list[float]]:
        return {
            p.name: [round(float(v), 4) for v in p.from_internal(c)]
            for p, c in zip(self.params, self.split(u), strict=True)
        }

    # -- evaluation
    def render_count_left(self) -> int:
        return self.budget - self.renders

    def spend(self) -> None:
        if self.cancelled or self.renders >= self.budget:
            raise _Stop()
        self.renders += 1

    def evaluate(self, u: np.ndarray | Sequence[float]) -> dict:
        """Render the scene at ``u`` (cached) and return its record with loss and image."""
        u = self.clip(np.asarray(u, dtype=float))
        key = tuple(np.round(u, 6))
        if key in self.cache:
            return self.cache[key]
        self.spend()
        self.apply(u)
        path = os.path.join(self.workdir, f"render_{self.renders:04d}.png")
        result = render.render(
            "preview", path=path, long_side=self.long_side, samples=self.samples, device=self.device
        )
        if not result.get("ok"):
            raise RefineError(f"render failed: {result.get('error')}")
        self.render_seconds += result["seconds"]
        image = self.frame(metrics.load_rgb(path))
        record = {
            "u": u,
            "image": image,
            "path": path,
            "render": self.renders,
            "phase": self.phase,
            **image_loss(image, self.photo),
        }
        self.cache[key] = record
        if self.best is None or self.score(record) < self.score(self.best):
            self.best = record
        self.history.append({k: record[k] for k in ("render", "phase", "loss", "psnr", "ssim")})
        self._report(record)
        return record

    def score(self, record: dict) -> float:
        """The loss the search currently ranks by."""
        return record["coarse_loss"] if self.coarse else record["loss"]

    def set_coarse(self, coarse: bool) -> None:
        """Switch the ranking loss; the best is re-chosen among every render so far."""
        self.coarse = coarse
        if self.cache:
            self.best = min(self.cache.values(), key=self.score)

    def spend_extra(self, phase: str) -> None:
        """Count a render that is not an evaluation (the object-ID pass)."""
        self.spend()
        self.history.append({"render": self.renders, "phase": phase})

    def _report(self, record):
        if self.progress is None:
            return
        info = {
            "renders": self.renders,
            "budget": self.budget,
            "phase": self.phase,
            "loss": self.score(record),
            "best_loss": self.score(self.best),
            "psnr": record["psnr"],
            "ssim": record["ssim"],
        }
        if self.progress(info) is False:
            self.cancelled = True


# ----------------------------------------------------------------------------- closed forms
def _indices(obj: Objective, predicate) -> list[tuple[Param, slice]]:
    out, i = [], 0
    for p in obj.params:
        if predicate(p):
            out.append((p, slice(i, i + p.size)))
        i += p.size
    return out


def intensity_steps(obj: Objective, max_steps: int = 3) -> None:
    """Scale every intensity parameter jointly until the mean brightness matches the photo."""
    targets = _indices(obj, lambda p: p.role == "intensity")
    if not targets:
        return
    obj.phase = "intensity"
    want = float(np.mean(_linear(obj.photo)))
    gain, last = 1.0, None
    for _ in range(max_steps):
        best = obj.best
        have = float(np.mean(_linear(best["image"])))
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
        record = obj.evaluate(u)
        last = (delta, math.log(max(have, 1e-6)))
        if record["loss"] >= before:
            return


def colour_steps(obj: Objective, max_steps: int = 3) -> None:
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
    photo_lin = _linear(obj.photo)
    for _ in range(max_steps):
        best = obj.best
        render_lin = _linear(best["image"])
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
        record = obj.evaluate(u)
        if record["loss"] >= before:
            return


# ----------------------------------------------------------------------------- search
def coordinate_search(obj: Objective) -> str:
    """Adaptive search along each direction from the best state; returns why it stopped.

    A success doubles that direction's step (same sign), a failure reverses and halves it
    (Rosenbrock's rule, one render per trial); after each sweep a pattern move repeats the
    sweep's net displacement."""
    obj.phase = "search"
    vectors = [v for v, _, _ in obj.directions]
    initial = np.array([s for _, s, _ in obj.directions])
    primary = np.array([p for _, _, p in obj.directions])
    steps = initial.copy()
    # Geometry (placement, camera): first half of the search on the blurred loss and along the
    # primary directions only, then everything on the full loss.
    geometric = any(p.group in ("placement", "camera") for p in obj.params)
    first_half = obj.renders + obj.render_count_left() // 2 if geometric else 0
    obj.set_coarse(geometric)
    while True:
        if obj.coarse and (
            obj.renders >= first_half or np.all(np.abs(steps[primary]) < initial[primary] / 64)
        ):
            obj.set_coarse(False)
            steps = np.copysign(np.maximum(np.abs(steps), initial / 4), steps)
        sweep_start = obj.best["u"].copy()
        only_primary = obj.coarse
        for k, vector in enumerate(vectors):
            if abs(steps[k]) < initial[k] / 64 or (only_primary and not primary[k]):
                continue
            best = obj.best
            u = obj.clip(best["u"] + steps[k] * vector)
            if np.array_equal(u, best["u"]):  # against a bound
                steps[k] *= -0.5
                continue
            record = obj.evaluate(u)
            if record is obj.best and obj.score(record) < obj.score(best):
                steps[k] = math.copysign(min(abs(steps[k]) * 2.0, 4 * initial[k]), steps[k])
            else:
                steps[k] *= -0.5
        if np.all(np.abs(steps) < initial / 64):
            return "converged"
        moved = obj.best["u"] - sweep_start
        if np.any(moved != 0):  # pattern move along this sweep's net direction
            before = obj.score(obj.best)
            obj.evaluate(obj.best["u"] + moved)
            if obj.score(obj.best) < before:
                obj.evaluate(obj.best["u"] + moved)


# ----------------------------------------------------------------------------- entry points
def _check_budget(budget):
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise RefineError(f"budget must be a whole number of renders, got {budget!r}.")
    if budget < 1:
        raise RefineError(
            f"budget must be at least 1 render (got {budget}); 30-60 renders is a good range."
        )
    if budget > MAX_BUDGET:
        raise RefineError(f"budget {budget} is more than {MAX_BUDGET} renders; use fewer.")


def _check_scope(params, allowed_groups):
    if allowed_groups is None:
        return
    outside = [p for p in params if p.group not in allowed_groups]
    if outside:
        names = ", ".join(p.name for p in outside[:3])
        if len(outside) > 3:
            names += f" and {len(outside) - 3} more"
        groups = ", ".join(sorted({p.group for p in outside}))
        raise RefineError(
            f"{names} ({groups}) may not be refined here: this stage may only "
            f"refine {' and '.join(allowed_groups) or 'no'} parameters."
        )


def refine_parameters(
    targets: str | list[str] | tuple[str, ...],
    budget: int,
    photo: str | os.PathLike,
    *,
    objects: Sequence[str] | None = None,
    allowed_groups: Sequence[str] | None = None,
    long_side: int = DEFAULT_LONG_SIDE,
    samples: int = DEFAULT_SAMPLES,
    device: str = "auto",
    progress: Callable[[dict], bool | None] | None = None,
    workdir: str | None = None,
) -> dict:
    """Tune the ``targets`` so a small render matches ``photo``, within ``budget`` renders.

    targets: parameter names and/or groups (list or comma-separated string), e.g.
    ``["light:Sun.energy", "material:Red.base_color"]`` or ``["lighting"]``; ``objects`` limits
    the groups to those objects. allowed_groups: groups the caller may change (a stage's scope),
    None for all. progress: called after each render with {"renders", "budget", "phase", "loss",
    "best_loss", "psnr", "ssim"}; returning False stops early (the best state is kept).
    workdir: where the small renders go (a temporary folder, removed, when None).

    Returns {"ok": True, "renders", "budget", "seconds", "render_seconds", "start": {"loss",
    "psnr", "ssim"}, "end": {...}, "improved", "stopped", "params": {name: {"before", "after"}},
    "size", "note"} or {"ok": False, "error"} with the scene unchanged.
    """
    started = time.perf_counter()
    scene = bpy.context.scene
    try:
        _check_budget(budget)
        if not photo or not os.path.isfile(photo):
            raise RefineError(f"no photo file at {photo!r}; give the reference photo's path.")
        if allowed_groups is not None and not set(allowed_groups) <= set(GROUPS):
            raise RefineError(f"unknown groups in allowed_groups {allowed_groups!r}")
        params = resolve_targets(targets, scene, objects)
        _check_scope(params, allowed_groups)
    except RefineError as exc:
        return {"ok": False, "error": str(exc)}
    own_dir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="viga_refine_")
    os.makedirs(workdir, exist_ok=True)
    obj = None
    try:
        obj = Objective(params, photo, budget, workdir, long_side, samples, device, progress)
        stopped = "budget"
        try:
            obj.evaluate(obj.start_u)
            intensity_steps(obj)
            colour_steps(obj)
            intensity_steps(obj, max_steps=2)
            stopped = coordinate_search(obj)
        except _Stop:
            stopped = "cancelled" if obj.cancelled else "budget"
        obj.set_coarse(False)
        start = obj.cache[tuple(np.round(obj.clip(obj.start_u), 6))]
        best = obj.best
        obj.apply(best["u"])
        result = {
            "ok": True,
            "renders": obj.renders,
            "budget": budget,
            "seconds": round(time.perf_counter() - started, 3),
            "render_seconds": round(obj.render_seconds, 3),
            "start": {k: start[k] for k in ("loss", "psnr", "ssim")},
            "end": {k: best[k] for k in ("loss", "psnr", "ssim")},
            "improved": best["loss"] < start["loss"],
            "stopped": stopped,
            "params": {
                name: {"before": before, "after": obj.values(best["u"])[name]}
                for name, before in zip(
                    obj.values(obj.start_u), _rounded(obj.original), strict=True
                )
            },
            "size": list(obj.size),
            "note": obj.note,
            "history": obj.history,
        }
        if not own_dir:
            shutil.copyfile(start["path"], os.path.join(workdir, "start.png"))
            shutil.copyfile(best["path"], os.path.join(workdir, "best.png"))
        return result
    except RefineError as exc:
        if obj is not None:
            obj.apply_original()
        return {"ok": False, "error": str(exc)}
    except BaseException:
        if obj is not None:
            obj.apply_original()
        raise
    finally:
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)


def _rounded(values):
    return [[round(float(v), 4) for v in vs] for vs in values]


def summary(result: dict) -> str:
    """One readable line about a refinement result (for the model and the CLI)."""
    if not result.get("ok"):
        return f"Refinement failed: {result.get('error')}"
    s, e = result["start"], result["end"]
    text = (
        f"Refined {len(result['params'])} parameter(s) in {result['renders']} renders "
        f"({result['seconds']:.1f} s, stopped: {result['stopped']}): PSNR {s['psnr']:.2f} -> "
        f"{e['psnr']:.2f} dB, SSIM {s['ssim']:.3f} -> {e['ssim']:.3f}"
        f"{'' if result['improved'] else ' (no improvement found; scene left as it was)'}."
    )
    if result.get("note"):
        text += " " + result["note"]
    return text
