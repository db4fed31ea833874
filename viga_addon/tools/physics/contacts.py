"""The scene at the start frame, from geometry alone: what is below each object and how far it
can drop onto it, and which objects overlap and by how much.

Below: rays straight down from an object's vertices onto the objects under it, and straight up
from their vertices into it (a cone's tip under a flat bottom), the shortest drop wins; the
surface it lands on gives the slope. Overlap: a vertex of A is inside B when a ray up from it
meets a closed B from behind (closed meshes are turned normals-out first), or an open B (a
plane, whichever way its normal points) where B cuts through A. The depth is the shortest of
the six axis moves that take every such vertex of A out of B and every vertex of B out of A.
Vertices are first pulled 1 mm towards their object's centre, so surfaces that only
touch (a box standing on the ground) are neither overlapping nor apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .meshes import MeshData, ray

EPS = 0.001  # m: vertices pulled in by this much; contact closer than this is touching
MIN_OVERLAP = 0.002  # m: shallower overlaps are contact, not an error
AXES = {
    "+x": (1.0, 0.0, 0.0),
    "-x": (-1.0, 0.0, 0.0),
    "+y": (0.0, 1.0, 0.0),
    "-y": (0.0, -1.0, 0.0),
    "+z": (0.0, 0.0, 1.0),
    "-z": (0.0, 0.0, -1.0),
}
_OPPOSITE = {"+x": "-x", "-x": "+x", "+y": "-y", "-y": "+y", "+z": "-z", "-z": "+z"}
_DOWN, _UP = (0.0, 0.0, -1.0), (0.0, 0.0, 1.0)


@dataclass
class Overlap:
    other: str
    depth: float  # m: the shortest axis move that separates the two
    axis: str  # the way this object would have to move ("+z": up)


@dataclass
class Contact:
    below: str | None = None  # the first object under this one (None: nothing)
    gap: float | None = None  # m: how far it can drop straight down onto ``below``
    slope_deg: float = 0.0  # tilt of ``below``'s surface where it lands
    overlaps: list[Overlap] = field(default_factory=list)

    def sunk_into(self) -> Overlap | None:
        """The deepest overlap, or None."""
        return max(self.overlaps, key=lambda o: o.depth, default=None)


def analyse(meshes: dict[str, MeshData]) -> dict[str, Contact]:
    """A ``Contact`` for every object of ``meshes`` (world space, the start frame)."""
    names = list(meshes)
    lo = np.array([meshes[n].lo for n in names]).reshape(-1, 3)
    hi = np.array([meshes[n].hi for n in names]).reshape(-1, 3)
    pulled = {n: meshes[n].pulled_in(EPS) for n in names}
    out = {n: Contact() for n in names}
    xy = _overlapping(lo[:, :2], hi[:, :2])
    for i, name in enumerate(names):
        best = (math.inf, None, 0.0)
        for j in np.flatnonzero(xy[i]):
            if j == i or lo[j, 2] >= hi[i, 2]:
                continue
            drop, slope = _drop(meshes[name], pulled[name], meshes[names[j]], pulled[names[j]])
            if drop < best[0]:
                best = (drop, names[j], slope)
        if best[1] is not None:
            out[name].below, out[name].gap, out[name].slope_deg = (
                best[1],
                max(best[0], 0.0),
                best[2],
            )
    near = xy & _overlapping(lo[:, 2:], hi[:, 2:])
    for i, j in zip(*np.nonzero(np.triu(near, 1)), strict=True):
        a, b = names[i], names[j]
        found = _overlap(meshes[a], pulled[a], meshes[b], pulled[b])
        if found is not None:
            depth, axis = found
            out[a].overlaps.append(Overlap(b, depth, axis))
            out[b].overlaps.append(Overlap(a, depth, _OPPOSITE[axis]))
    for contact in out.values():  # sunk into what is under it: that is its support
        deepest = contact.sunk_into()
        if deepest is not None and deepest.axis == "+z":
            contact.below, contact.gap = deepest.other, -deepest.depth
    return out


def _overlapping(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(n, n) booleans: the boxes [lo, hi] overlap or touch (within EPS) on every axis."""
    return np.all(
        (lo[:, None, :] <= hi[None, :, :] + EPS) & (lo[None, :, :] <= hi[:, None, :] + EPS), axis=2
    )


def _within_xy(points: np.ndarray, other: MeshData) -> np.ndarray:
    return np.all(
        (points[:, :2] >= other.lo[:2] - EPS) & (points[:, :2] <= other.hi[:2] + EPS), axis=1
    )


def _slope(normal) -> float:
    return math.degrees(math.acos(min(1.0, abs(normal[2]))))


def _drop(a: MeshData, a_in: np.ndarray, b: MeshData, b_in: np.ndarray) -> tuple[float, float]:
    """How far ``a`` can move straight down before it meets ``b``, and the slope there."""
    best, slope = math.inf, 0.0
    pick = _within_xy(a_in, b)
    points, z_true = a_in[pick], a.world[pick, 2]
    top = float(b.hi[2])
    for k in np.argsort(z_true):
        if z_true[k] - top >= best:  # no vertex higher up can land sooner
            break
        hit = ray(b.bvh, points[k], _DOWN, front_only=b.closed)
        if hit is not None and z_true[k] - (points[k][2] - hit[0]) < best:
            best, slope = z_true[k] - (points[k][2] - hit[0]), _slope(hit[1])
    pick = _within_xy(b_in, a) & (b_in[:, 2] < a.hi[2])
    points, z_true = b_in[pick], b.world[pick, 2]
    bottom = float(a.lo[2])
    for k in np.argsort(-z_true):
        if bottom - z_true[k] >= best:  # no vertex lower down can be met sooner
            break
        hit = ray(a.bvh, points[k], _UP, front_only=a.closed)
        if hit is not None and points[k][2] + hit[0] - z_true[k] < best:
            best, slope = points[k][2] + hit[0] - z_true[k], _slope(hit[1])
    return best, slope


def _inside(points: np.ndarray, owner: MeshData, target: MeshData) -> np.ndarray:
    """Indices of the points (of ``owner``) inside ``target``: a ray up from one meets a closed
    target from behind, or an open one (a plane, either side up) where it cuts through
    ``owner`` (not a roof high above it)."""
    pick = np.flatnonzero(_within_xy(points, target) & (points[:, 2] < target.hi[2]))
    inside = []
    for k in pick:
        hit = ray(target.bvh, points[k], _UP)
        if hit is None:
            continue
        cuts_owner = points[k][2] + hit[0] <= owner.hi[2] + EPS
        if (hit[2] and target.closed) or (cuts_owner and not target.closed):
            inside.append(k)
    return np.array(inside, dtype=np.int64)


def _exits(pulled: np.ndarray, true: np.ndarray, target: MeshData) -> dict[str, float]:
    """Per axis, how far every vertex (``true``; rays start from ``pulled``) must move along it
    to leave ``target`` (inf: it would not leave that way)."""
    out = {}
    for axis, direction in AXES.items():
        worst = 0.0
        for p, t in zip(pulled, true, strict=True):
            hit = ray(target.bvh, p, direction)
            if hit is None or (target.closed and not hit[2]):
                worst = math.inf
                break
            worst = max(worst, hit[0] + float(np.dot(p - t, direction)))
        out[axis] = worst
    return out


def _overlap(a, a_in, b, b_in) -> tuple[float, str] | None:
    """``(depth, axis)`` when ``a`` and ``b`` overlap by at least MIN_OVERLAP: the shortest move
    of ``a`` along an axis that separates them; else None."""
    a_idx, b_idx = _inside(a_in, a, b), _inside(b_in, b, a)
    if not len(a_idx) and not len(b_idx):
        return None
    zero = dict.fromkeys(AXES, 0.0)
    a_exit = _exits(a_in[a_idx], a.world[a_idx], b) if len(a_idx) else zero
    b_exit = _exits(b_in[b_idx], b.world[b_idx], a) if len(b_idx) else zero
    moves = {axis: max(a_exit[axis], b_exit[_OPPOSITE[axis]]) for axis in AXES}
    axis = min(moves, key=moves.get)
    depth = moves[axis]
    if math.isinf(depth):  # no single axis frees them: the upward move of a's own vertices
        axis, depth = "+z", max((v for v in a_exit.values() if not math.isinf(v)), default=0.0)
    return (depth, axis) if depth >= MIN_OVERLAP else None
