"""An object's evaluated mesh as numpy arrays, and what the physics code asks of it: the
object-space box, closedness, volume, convexity, world-space vertices and a BVH tree."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from mathutils import Vector
from mathutils.bvhtree import BVHTree

# the most vertex x face pairs the convexity test looks at (a sample beyond that)
_CONVEX_PAIRS = 4_000_000


@dataclass
class MeshData:
    """One object's evaluated mesh (modifiers applied) at the start frame."""

    name: str
    local: np.ndarray  # (n, 3) object-space vertices
    tris: np.ndarray  # (m, 3) vertex indices
    matrix: np.ndarray  # (4, 4) world matrix
    closed: bool

    @cached_property
    def scale(self) -> np.ndarray:
        return np.linalg.norm(self.matrix[:3, :3], axis=0)

    @cached_property
    def scaled(self) -> np.ndarray:
        """Object-space vertices with the object's scale applied: what Blender fits its
        primitive collision shapes to (they follow the object's own axes, centred on its
        origin)."""
        return self.local * self.scale

    @cached_property
    def world(self) -> np.ndarray:
        return self.local @ self.matrix[:3, :3].T + self.matrix[:3, 3]

    @cached_property
    def lo(self) -> np.ndarray:
        return self.world.min(axis=0)

    @cached_property
    def hi(self) -> np.ndarray:
        return self.world.max(axis=0)

    @cached_property
    def dims(self) -> np.ndarray:
        """Extents along the object's own (scaled) axes: a tilted plane is still flat."""
        s = self.scaled
        return s.max(axis=0) - s.min(axis=0)

    @cached_property
    def local_center(self) -> np.ndarray:
        """The centre of the object-space bounding box (where a trajectory is tracked)."""
        return (self.local.min(axis=0) + self.local.max(axis=0)) / 2

    @cached_property
    def center(self) -> np.ndarray:
        return self.local_center @ self.matrix[:3, :3].T + self.matrix[:3, 3]

    @cached_property
    def bvh(self) -> BVHTree:
        return BVHTree.FromPolygons(self.world.tolist(), self.tris.tolist())

    def volume(self) -> float | None:
        """The enclosed volume in m³ (world scale) of a closed mesh, else None."""
        if not self.closed:
            return None
        return abs(signed_volume(self.world, self.tris))

    def pulled_in(self, eps: float) -> np.ndarray:
        """World vertices moved ``eps`` towards the centre: a vertex lying exactly on another
        surface (an object resting on the ground) is then clearly outside it."""
        w = self.world
        to_center = self.center - w
        length = np.linalg.norm(to_center, axis=1, keepdims=True)
        step = np.where(length > eps, eps / np.maximum(length, 1e-12), 0.0)
        return w + to_center * step


def mesh_data(obj, depsgraph) -> MeshData | None:
    """``obj``'s evaluated mesh, or None when it has no faces."""
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        if mesh is None or not len(mesh.polygons):
            return None
        mesh.calc_loop_triangles()
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
        mesh.vertices.foreach_get("co", co)
        tris = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int64)
        mesh.loop_triangles.foreach_get("vertices", tris)
    finally:
        evaluated.to_mesh_clear()
    tris = tris.reshape(-1, 3)
    md = MeshData(
        name=obj.name,
        local=co.reshape(-1, 3),
        tris=tris,
        matrix=np.array(obj.matrix_world, dtype=np.float64),
        closed=is_closed(tris),
    )
    if md.closed and signed_volume(md.world, tris) < 0:
        # normals inward (flipped faces, or a mirroring scale): turn them out, so that a ray
        # from inside meets the surface from behind
        md.tris = tris[:, [0, 2, 1]]
    return md


def is_closed(tris: np.ndarray) -> bool:
    """Every edge of the triangulation borders exactly two triangles (a polygon's own
    diagonals do too, so this holds for any closed polygon mesh)."""
    if not len(tris):
        return False
    edges = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
    keys = edges[:, 0] * (int(tris.max()) + 1) + edges[:, 1]
    _, counts = np.unique(keys, return_counts=True)
    return bool(np.all(counts == 2))


def signed_volume(verts: np.ndarray, tris: np.ndarray) -> float:
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def is_convex(verts: np.ndarray, tris: np.ndarray, rel_tol: float = 0.005) -> bool:
    """Every vertex lies on one side of every face's plane (either side: flipped normals do not
    matter), within ``rel_tol`` of the mesh's size. Big meshes are judged on a sample."""
    size = float(np.ptp(verts, axis=0).max()) if len(verts) else 0.0
    if size <= 0:
        return True
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    normals = np.cross(b - a, c - a)
    length = np.linalg.norm(normals, axis=1)
    keep = length > 1e-12 * size * size
    normals, a = normals[keep] / length[keep, None], a[keep]
    if len(normals) * len(verts) > _CONVEX_PAIRS:
        rng = np.random.default_rng(0)
        per = int(np.sqrt(_CONVEX_PAIRS))
        if len(normals) > per:
            pick = rng.choice(len(normals), per, replace=False)
            normals, a = normals[pick], a[pick]
        if len(verts) > per:
            verts = verts[rng.choice(len(verts), per, replace=False)]
    tol = rel_tol * size
    for start in range(0, len(normals), 2048):
        n, p = normals[start : start + 2048], a[start : start + 2048]
        dist = verts @ n.T - np.einsum("ij,ij->i", n, p)  # (verts, faces)
        if np.any((dist.max(axis=0) > tol) & (dist.min(axis=0) < -tol)):
            return False
    return True


def ray(bvh: BVHTree, origin, direction, front_only: bool = False, max_skips: int = 8):
    """The first hit of a ray as ``(distance, normal, back_face)``, or None. ``front_only``:
    hits on a face seen from behind are passed through (up to ``max_skips`` of them)."""
    origin, direction = Vector(origin), Vector(direction)
    travelled = 0.0
    for _ in range(max_skips + 1):
        loc, normal, _index, dist = bvh.ray_cast(origin, direction)
        if loc is None:
            return None
        back = normal.dot(direction) > 0
        if not (front_only and back):
            return travelled + dist, tuple(normal), back
        step = dist + 1e-6
        travelled += step
        origin = origin + direction * step
    return None
