"""The collision shape that fits an object's mesh, and the volume its mass is computed from.

Blender fits SPHERE, BOX and CYLINDER to the object's bounding box along its own axes, centred
on its origin (CYLINDER stands on the local Z axis), so those are chosen only when the mesh
really is that primitive and its origin sits at the box's centre; any other convex mesh gets
CONVEX_HULL, a concave one MESH. A passive support gets BOX when it is a box, else MESH (exact,
and a concave table or a single-sided plane is fine for a body that never moves).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .meshes import MeshData, is_convex, signed_volume

PRIMITIVES = ("SPHERE", "BOX", "CYLINDER")
SHAPES = (*PRIMITIVES, "CONVEX_HULL", "MESH")

_CENTER_TOL = 0.02  # origin off the box centre by more than this share of the size: no primitive
_ROUND_TOL = 0.03  # vertices' distance from the axis / centre may vary by this share
_FILL = 0.95  # a cylinder's mesh fills at least this share of the primitive's volume
_SPHERE_FILL = 0.85  # a UV sphere of 16 x 8 fills 0.90 of its sphere, an octahedron 0.32
_BOX_FILL = 0.97


@dataclass
class ShapeFit:
    shape: str
    reason: str
    half: tuple[float, float, float]  # half extents of the object-space box, scaled
    closed: bool
    convex: bool | None  # None: not tested (a primitive or a support settled the shape)
    mesh_volume: float | None  # m³, closed meshes only

    def volume(self) -> tuple[float, str]:
        """The volume (m³) mass is computed from and where it came from: the closed mesh's own,
        else the collision shape's."""
        if self.mesh_volume is not None and self.mesh_volume > 0:
            return self.mesh_volume, "mesh"
        return shape_volume(self.shape, self.half), "shape"


def shape_volume(shape: str, half) -> float:
    hx, hy, hz = (float(v) for v in half)
    if shape == "SPHERE":
        return 4.0 / 3.0 * math.pi * max(hx, hy, hz) ** 3
    if shape == "CYLINDER":
        return math.pi * max(hx, hy) ** 2 * 2 * hz
    box = 8 * hx * hy * hz
    return box if shape == "BOX" else 0.5 * box  # an open hull or mesh: a rough half of its box


def fit_shape(md: MeshData, role: str) -> ShapeFit:
    """The collision shape for ``md`` as a body of ``role`` ("active" or "passive")."""
    v = md.scaled
    lo, hi = v.min(axis=0), v.max(axis=0)
    center, half = (lo + hi) / 2, (hi - lo) / 2
    volume = abs(signed_volume(v, md.tris)) if md.closed else None
    shape, reason, convex = _fit(v, md.tris, center, half, md.closed, volume, role)
    return ShapeFit(shape, reason, tuple(float(x) for x in half), md.closed, convex, volume)


def _fit(v, tris, center, half, closed, volume, role) -> tuple[str, str, bool | None]:
    """``(shape, why, convex)``; convexity, the costly test, only where the primitives do not
    already settle it (None: not tested)."""
    size = float(2 * half.max())
    if size <= 0:
        return "MESH", "no extent", None
    centered = bool(np.all(np.abs(center) <= _CENTER_TOL * size))
    flat = float(2 * half.min()) <= 0.025 * size
    if role == "passive":
        if centered and not flat and _is_box(v, tris, half, size, closed, volume):
            return "BOX", "a box", True
        return "MESH", "a support: its exact surface", None
    if flat:
        return "CONVEX_HULL", "flat", None
    if centered:
        if _is_sphere(v, half, closed, volume):
            return "SPHERE", "a sphere", True
        if _is_box(v, tris, half, size, closed, volume):
            return "BOX", "a box", True
        if _is_cylinder(v, half, size, closed, volume):
            return "CYLINDER", "a cylinder on its local Z axis", True
    if not is_convex(v, tris):
        return "MESH", "concave", False
    if not centered:
        return "CONVEX_HULL", "convex; origin off its centre, so no primitive fits", True
    return "CONVEX_HULL", "convex", True


def _is_box(v, tris, half, size, closed, volume) -> bool:
    if closed:  # filling 97% of its box leaves no room for a real dent
        box = 8 * float(np.prod(half))
        return box > 0 and volume >= _BOX_FILL * box
    # open: convex, every vertex on a face of its bounding box (e.g. a cube missing a face)
    lo, hi = v.min(axis=0), v.max(axis=0)
    tol = 0.005 * size
    on_face = (np.abs(v - lo) <= tol) | (np.abs(v - hi) <= tol)
    return bool(np.all(on_face.any(axis=1))) and is_convex(v, tris)


def _is_sphere(v, half, closed, volume) -> bool:
    r = float(half.max())
    if not closed or half.min() < (1 - _ROUND_TOL) * r:
        return False
    dist = np.linalg.norm(v, axis=1)  # a cube's corners are as far out as each other, too far
    if dist.min() < (1 - _ROUND_TOL) * r or dist.max() > (1 + _ROUND_TOL) * r:
        return False
    return volume >= _SPHERE_FILL * 4.0 / 3.0 * math.pi * r**3


def _is_cylinder(v, half, size, closed, volume) -> bool:
    r = float(max(half[0], half[1]))
    if not closed or half[2] <= 0 or min(half[0], half[1]) < (1 - _ROUND_TOL) * r:
        return False
    rho = np.hypot(v[:, 0], v[:, 1])
    ring = rho > 0.01 * r  # cap centres (a triangle-fan cap) sit on the axis
    if rho[ring].min() < (1 - _ROUND_TOL) * r or rho.max() > (1 + _ROUND_TOL) * r:
        return False
    if np.any(np.abs(np.abs(v[:, 2]) - half[2]) > 0.005 * size):  # only the two cap rings
        return False
    return volume >= _FILL * math.pi * r * r * 2 * half[2]
