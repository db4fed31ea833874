"""Several lights of any type, solved per light: contributions rendered once, intensities in
closed form, only direction and position searched.

Light adds up: in scene-linear values the image is the sum over sources (each light, the world)
of that source's contribution, scaled per channel by its energy times colour. So:

1. render each refined source alone (white, at its current energy) and, when some lights are
   not refined, the rest together (the fixed part): one render per source;
2. solve energy and colour of every source at once by non-negative least squares per channel
   against the photo in scene-linear values (the measured tone curve, refine_tone), weighted
   towards dark pixels as the display curve is; clipped pixels are left out;
3. search each light's direction (sun, spot, area) or position (point) with adaptive steps: a
   trial renders only that light, the composite is re-solved and scored without a full render.

The solution is then rendered once as a whole; the objective keeps it only if its loss is lower.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import bpy
import numpy as np

from .objective import Objective, Steps, Stop, image_loss
from .params import Param
from .tone import ToneCurve


@dataclass
class Source:
    """One light (or the world): its parameters' slices and its rendered contribution."""

    name: str
    energy: tuple[Param, slice]
    colour: tuple[Param, slice] | None = None
    placement: tuple[Param, slice] | None = None
    contribution: np.ndarray | None = None  # scene-linear (H, W, 3), white, current energy
    coef: np.ndarray = field(default_factory=lambda: np.ones(3))


def _slices(obj: Objective) -> dict[str, tuple[Param, slice]]:
    out, i = {}, 0
    for p in obj.params:
        out[p.name] = (p, slice(i, i + p.size))
        i += p.size
    return out


def sources(obj: Objective) -> list[Source]:
    """The refined lights and world whose energy is a parameter."""
    by_name = _slices(obj)
    found = []
    for light in bpy.context.scene.objects:
        if light.type != "LIGHT" or light.hide_render:
            continue
        energy = by_name.get(f"light:{light.name}.energy")
        if energy is None:
            continue
        placement = by_name.get(f"light:{light.name}.rotation") or by_name.get(
            f"light:{light.name}.location"
        )
        found.append(
            Source(light.name, energy, by_name.get(f"light:{light.name}.color"), placement)
        )
    if "world.strength" in by_name:
        found.append(Source("world", by_name["world.strength"], by_name.get("world.color")))
    return found


def _fixed_lights(srcs: list[Source]) -> bool:
    """True when something lights the scene besides the refined sources."""
    refined = {s.name for s in srcs}
    scene = bpy.context.scene
    other = any(
        o.type == "LIGHT" and not o.hide_render and o.name not in refined for o in scene.objects
    )
    return other or ("world" not in refined and scene.world is not None)


def _set_alone(obj: Objective, srcs: list[Source], u: np.ndarray, alone: Source | None) -> None:
    """The scene at ``u`` with every refined source dark except ``alone`` (white)."""
    obj.apply(u)
    for s in srcs:
        p, _ = s.energy
        if s is not alone:
            p.set([0.0])
        elif s.colour is not None:
            s.colour[0].set([1.0, 1.0, 1.0])


def _render_alone(obj, srcs, u, alone, curve, phase) -> Steps[np.ndarray]:
    _set_alone(obj, srcs, u, alone)
    try:
        return curve.to_linear((yield from obj.render_raw(phase)))
    finally:
        obj.apply(obj.best["u"])


class Solver:
    """Least squares of the photo (scene-linear) over the sources' contributions."""

    def __init__(self, obj: Objective, curve: ToneCurve) -> None:
        self.curve = curve
        self.photo_lin = curve.to_linear(obj.photo)
        usable = obj.photo.max(axis=2) < curve.saturation()
        if usable.sum() < 16:
            usable = np.ones(usable.shape, dtype=bool)
        self.usable = usable
        self.weight = 1.0 / np.sqrt(self.photo_lin + 0.02)
        self.photo = obj.photo

    def solve(self, srcs: list[Source], fixed: np.ndarray) -> None:
        """Set every source's per-channel coefficient (non-negative)."""
        for c in range(3):
            w = self.weight[..., c][self.usable]
            target = (self.photo_lin[..., c] - fixed[..., c])[self.usable] * w
            columns = np.stack([s.contribution[..., c][self.usable] * w for s in srcs], axis=1)
            coef = _nnls(columns, target)
            for s, a in zip(srcs, coef, strict=True):
                s.coef[c] = a
        for s in srcs:
            if s.colour is None:  # one scale for all channels: its colour is not refined
                s.coef[:] = float(np.median(s.coef)) if s.coef.max() > 0 else 0.0

    def composite(self, srcs: list[Source], fixed: np.ndarray) -> np.ndarray:
        linear = fixed + sum(s.coef * s.contribution for s in srcs)
        return np.clip(self.curve.to_display(linear), 0.0, 1.0)

    def loss(self, srcs, fixed) -> float:
        return image_loss(self.composite(srcs, fixed), self.photo)["loss"]


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares by dropping negative unknowns (few columns, numpy only)."""
    free = np.ones(a.shape[1], dtype=bool)
    out = np.zeros(a.shape[1])
    for _ in range(a.shape[1]):
        if not free.any():
            break
        x, *_ = np.linalg.lstsq(a[:, free], b, rcond=None)
        if (x >= 0).all():
            out[free] = x
            break
        idx = np.flatnonzero(free)
        free[idx[x < 0]] = False
    return out


def _values_u(obj: Objective, srcs: list[Source], u: np.ndarray) -> np.ndarray:
    """``u`` with every source's energy and colour set from its coefficients."""
    u = u.copy()
    for s in srcs:
        p, sl = s.energy
        energy = p.from_internal(u[sl])[0]
        peak = float(s.coef.max())
        u[sl] = p.to_internal([max(energy * peak, energy * 1e-3, 1e-6)])
        if s.colour is not None and peak > 0:
            cp, csl = s.colour
            u[csl] = np.clip(s.coef / peak, 0.003, 1.0)
    return obj.clip(u)


def solve_lights(obj: Objective, share: int) -> Steps[bool]:
    """Closed-form energies and colours, then direction/position search, within ``share``
    renders. Returns whether it ran (there were sources and renders enough)."""
    srcs = sources(obj)
    fixed_needed = _fixed_lights(srcs)
    if not srcs or share < len(srcs) + int(fixed_needed) + 1:
        return False
    obj.phase = "lights"
    stop_at = obj.renders + share - 1  # keep one render for the whole-scene check
    curve = ToneCurve.measure(bpy.context.scene)
    u = obj.best["u"].copy()
    for s in srcs:
        s.contribution = yield from _render_alone(obj, srcs, u, s, curve, f"light {s.name}")
    if fixed_needed:
        fixed = yield from _render_alone(obj, srcs, u, None, curve, "fixed lights")
    else:
        fixed = np.zeros_like(srcs[0].contribution)
    solver = Solver(obj, curve)
    solver.solve(srcs, fixed)
    loss = solver.loss(srcs, fixed)
    # the closed form alone, rendered whole: a good state early (kept if Stop comes next)
    start = u.copy()
    yield from obj.evaluate(_values_u(obj, srcs, u))
    try:
        u, loss = yield from _search_placements(obj, srcs, solver, fixed, u, loss, stop_at, curve)
    except Stop:
        pass
    obj.phase = "lights"
    if not np.array_equal(u, start):
        yield from obj.evaluate(_values_u(obj, srcs, u))
    obj.notes.append(
        f"lights: {len(srcs)} source(s) solved in closed form (composite loss {loss:.4f})"
    )
    return True


def _search_placements(obj, srcs, solver, fixed, u, loss, stop_at, curve):
    """Adaptive steps on each light's direction or position, scored on the composite."""
    movable = [s for s in srcs if s.placement is not None]
    plans = []
    for s in movable:
        p, sl = s.placement
        local = p.directions or [
            ([1.0 if i == j else 0.0 for j in range(p.size)], p.step, True) for i in range(p.size)
        ]
        for vector, step, _primary in local:
            plans.append([s, sl, np.asarray(vector, dtype=float), float(step), float(step)])
    while plans and obj.renders < stop_at:
        progressed = False
        for plan in plans:
            s, sl, vector, step, initial = plan
            if abs(step) < initial / 16 or obj.renders >= stop_at:
                continue
            trial = u.copy()
            trial[sl] = trial[sl] + step * vector
            trial = obj.clip(trial)
            kept = s.contribution, s.coef.copy(), [t.coef.copy() for t in srcs]
            s.contribution = yield from _render_alone(
                obj, srcs, trial, s, curve, f"light {s.name} move"
            )
            solver.solve(srcs, fixed)
            new = solver.loss(srcs, fixed)
            if new < loss:
                u, loss = trial, new
                plan[3] = math.copysign(min(abs(step) * 2.0, 4 * initial), step)
                progressed = True
            else:
                s.contribution = kept[0]
                for t, coef in zip(srcs, kept[2], strict=True):
                    t.coef = coef
                plan[3] = -0.5 * step
        if not progressed and all(abs(p[3]) < p[4] / 16 for p in plans):
            break
    return u, loss
