"""Render-and-compare refinement of continuous scene parameters.

``refine_parameters(targets, budget, photo)`` searches for the values of the named parameters
(see ``refine_params``: lights, world, exposure, Principled materials, object transforms, the
camera) whose small render best matches the photo, within ``budget`` renders
(``refine_steps`` is the same as a generator, one render per step, for the panel):

1. closed forms and locating first, where they beat search (strategy "auto"): every light and
   the world solved per channel by least squares over their contributions, each rendered once,
   with only light directions/positions searched (refine_lights); misplaced objects found in
   the photo by masked NCC and moved there, turned by a coarse sweep, refined jointly
   (refine_locate); material colours from per-region ratios (refine_closed);
2. then an adaptive coordinate search (Rosenbrock-style steps: grow on success, reverse and
   shrink on failure, plus a pattern move after each sweep) for every component still active.

Strategy "search" is the algorithm before issue 14 (joint intensity scale and colour ratios,
then the search), kept for comparison (bench/refine_hard_bench.py). The objective
(refine_objective) renders tiny previews (64 px, 8 samples) and keeps the best state seen; one
check render of the start and one of the result at the photo's own size (refine_check) decide
whether the result is kept, so it is never worse where the user looks; on any error the scene
is put back as it was.
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

from . import check as refine_check
from . import lights as refine_lights
from . import locate as refine_locate
from .check import DEFAULT_CHECK_SAMPLES
from .closed import colour_steps, intensity_steps
from .objective import DEFAULT_LONG_SIDE, DEFAULT_SAMPLES, MAX_BUDGET, Objective, Steps, Stop
from .params import GROUPS, RefineError, resolve_targets

STRATEGIES = ("auto", "search")


# ----------------------------------------------------------------------------- search
def coordinate_search(obj: Objective) -> Steps[str]:
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
    geometric = any(p.group in ("placement", "camera") for p in obj.params) and not obj.located
    first_half = obj.renders + obj.render_count_left() // 2 if geometric else 0
    obj.set_coarse(geometric)
    while True:
        if obj.coarse and (
            obj.renders >= first_half
            or np.all((np.abs(steps) < initial / 64)[primary & obj.active])
        ):
            obj.set_coarse(False)
            steps = np.copysign(np.maximum(np.abs(steps), initial / 4), steps)
        sweep_start = obj.best["u"].copy()
        only_primary = obj.coarse
        for k, vector in enumerate(vectors):
            if (
                not obj.active[k]
                or abs(steps[k]) < initial[k] / 64
                or (only_primary and not primary[k])
            ):
                continue
            best = obj.best
            u = obj.clip(best["u"] + steps[k] * vector)
            if np.array_equal(u, best["u"]):  # against a bound
                steps[k] *= -0.5
                continue
            record = yield from obj.evaluate(u)
            if record is obj.best and obj.score(record) < obj.score(best):
                steps[k] = math.copysign(min(abs(steps[k]) * 2.0, 4 * initial[k]), steps[k])
            else:
                steps[k] *= -0.5
        if np.all((np.abs(steps) < initial / 64) | ~obj.active):
            return "converged"
        moved = obj.best["u"] - sweep_start
        if np.any(moved != 0):  # pattern move along this sweep's net direction
            before = obj.score(obj.best)
            yield from obj.evaluate(obj.best["u"] + moved)
            if obj.score(obj.best) < before:
                yield from obj.evaluate(obj.best["u"] + moved)


# ----------------------------------------------------------------------------- entry points
def _located_strategy(obj: Objective) -> Steps[None]:
    """Before the search: lights per source in closed form, misplaced objects located in the
    photo, then the closed-form colour steps (material base colours)."""
    groups = {p.group for p in obj.params}
    shares = {"lighting": 0.5, "placement": 0.6}
    if "placement" in groups and "lighting" in groups:
        shares = {"lighting": 0.3, "placement": 0.45}
    if "material" in groups:  # the lights' fit needs roughly right colours under it
        yield from intensity_steps(obj)
        yield from colour_steps(obj)
    if "lighting" in groups:
        share = int(obj.render_count_left() * shares["lighting"])
        if not (yield from refine_lights.solve_lights(obj, share)):
            yield from intensity_steps(obj)
    if "placement" in groups:
        share = int(obj.render_count_left() * shares["placement"])
        yield from refine_locate.locate_objects(obj, share)
    yield from colour_steps(obj)
    yield from intensity_steps(obj, max_steps=2)


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
    strategy: str = "auto",
    check_long_side: int | None = None,
    check_samples: int = DEFAULT_CHECK_SAMPLES,
) -> dict:
    """Tune the ``targets`` so a small render matches ``photo``, within ``budget`` renders.

    targets: parameter names and/or groups (list or comma-separated string), e.g.
    ``["light:Sun.energy", "material:Red.base_color"]`` or ``["lighting"]``; ``objects`` limits
    the groups to those objects. allowed_groups: groups the caller may change (a stage's scope),
    None for all. progress: called after each render with {"renders", "budget", "phase", "loss",
    "best_loss", "psnr", "ssim"}; returning False stops early (the best state is kept).
    workdir: where the small renders go (a temporary folder, removed, when None).
    strategy: "auto" (locate misplaced objects in the photo, per-light closed form, then the
    search) or "search" (closed forms and coordinate search only, the algorithm before both).
    check_long_side / check_samples: the one check render at the end that decides whether the
    result is kept (default: the photo's own long side, at most 1024 px; 32 samples), with
    check_long_side 0 for no check.

    Returns {"ok": True, "renders", "budget", "seconds", "render_seconds", "start": {"loss",
    "psnr", "ssim"}, "end": {...}, "improved", "stopped", "params": {name: {"before", "after"}},
    "size", "note", "values": {name: after}, "check": {"start", "end", "long_side", "samples"}
    or None, "kept_start"} or {"ok": False, "error"} with the scene unchanged. ``kept_start``
    is True when the check render found the result worse than the start at the photo's
    settings: the scene is then left as it started and the note says so.
    """
    steps = refine_steps(
        targets,
        budget,
        photo,
        objects=objects,
        allowed_groups=allowed_groups,
        long_side=long_side,
        samples=samples,
        device=device,
        progress=progress,
        workdir=workdir,
        strategy=strategy,
        check_long_side=check_long_side,
        check_samples=check_samples,
    )
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def refine_steps(
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
    strategy: str = "auto",
    check_long_side: int | None = None,
    check_samples: int = DEFAULT_CHECK_SAMPLES,
) -> Steps[dict]:
    """``refine_parameters`` one render at a time: a generator that yields the render count
    after each render and returns the same result dict (``StopIteration.value``). Between two
    steps the scene may be in a trial state; closing the generator puts it back as it was.
    Drive it from a modal timer so Blender stays responsive (operators/refine.py)."""
    started = time.perf_counter()
    scene = bpy.context.scene
    try:
        _check_budget(budget)
        if not photo or not os.path.isfile(photo):
            raise RefineError(f"no photo file at {photo!r}; give the reference photo's path.")
        if allowed_groups is not None and not set(allowed_groups) <= set(GROUPS):
            raise RefineError(f"unknown groups in allowed_groups {allowed_groups!r}")
        if strategy not in STRATEGIES:
            raise RefineError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
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
        check = refine_check.Check(obj, photo, check_long_side, check_samples)
        yield from check.measure_start()
        stopped = "budget"
        try:
            yield from obj.evaluate(obj.start_u)
            if strategy == "auto":
                yield from _located_strategy(obj)
            else:
                yield from intensity_steps(obj)
                yield from colour_steps(obj)
                yield from intensity_steps(obj, max_steps=2)
            stopped = yield from coordinate_search(obj)
        except Stop:
            stopped = "cancelled" if obj.cancelled else "budget"
        obj.set_coarse(False)
        start = obj.cache[tuple(np.round(obj.clip(obj.start_u), 6))]
        best = obj.best
        obj.apply(best["u"])
        kept_start = best is not start and not (yield from check.keeps_end())
        if kept_start:
            best = start
            obj.apply(start["u"])
        result = {
            "ok": True,
            "renders": obj.renders,
            "budget": budget,
            "seconds": round(time.perf_counter() - started, 3),
            "render_seconds": round(obj.render_seconds, 3),
            "start": {k: start[k] for k in ("loss", "psnr", "ssim")},
            "end": {k: best[k] for k in ("loss", "psnr", "ssim")},
            "improved": best["loss"] < start["loss"] and not kept_start,
            "stopped": stopped,
            "params": {
                name: {"before": before, "after": obj.values(best["u"])[name]}
                for name, before in zip(
                    obj.values(obj.start_u), _rounded(obj.original), strict=True
                )
            },
            "values": obj.values(best["u"]),
            "size": list(obj.size),
            "note": " ".join(filter(None, [obj.note, check.note])),
            "check": check.figures(),
            "kept_start": kept_start,
            "steps": obj.notes,
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
