"""Which bodies hold still (passive: the ground, floors, tables, shelves, walls) and which rest
on them (active).

Geometry decides first: flat objects (one side under 2.5% of the longest, along the object's
own axes: a tilted plane is still flat), supports much larger than the rest of the scene, the
ground (nothing below it and something on it), the lowest object when it is far larger than any
other, and objects that carry something much smaller than themselves. A name is a hint: when
its main word (the last one that is not a position: ``table_top`` → table, ``table_lamp`` →
lamp) is ground, floor, table, desk, shelf, wall, counter or plane, the object is passive if it
is furniture-sized (1 m or more), carries something, or has nothing below it. The artist's custom
property ``viga_physics_role`` = "active" | "passive" | "none" wins over all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .contacts import Contact
from .materials import words
from .meshes import MeshData

OVERRIDE_PROPERTY = "viga_physics_role"
ROLES = ("active", "passive", "none")
SUPPORT_WORDS = {
    "ground",
    "floor",
    "table",
    "tabletop",
    "desk",
    "shelf",
    "shelves",
    "wall",
    "counter",
    "countertop",
    "worktop",
    "plane",
    "terrain",
    "platform",
}
_POSITIONS = {
    "top",
    "bottom",
    "left",
    "right",
    "front",
    "back",
    "upper",
    "lower",
    "middle",
    "main",
    "big",
    "small",
    "large",
    "base",
    "surface",
}
FLAT = 0.025  # shortest side / longest side at most this: flat
LARGE = 4.0  # longest side at least this many times the scene's median: much larger
CARRIES = 4.0  # footprint at least this many times that of the largest thing on it
FURNITURE = 1.0  # m: a named support this long or longer is passive whatever it carries


@dataclass
class Role:
    role: str  # "active" | "passive" | "none"
    reason: str


def override(obj) -> str | None:
    """The artist's ``viga_physics_role`` ("active", "passive", "none"), or None."""
    value = obj.get(OVERRIDE_PROPERTY) if hasattr(obj, "get") else None
    if isinstance(value, str) and value.strip().lower() in ROLES:
        return value.strip().lower()
    return None


def support_word(name: str) -> str | None:
    """The support noun ``name`` is about ("kitchen_table" → "table"), or None."""
    head = [w for w in words(name) if w not in _POSITIONS]
    if head and head[-1] in SUPPORT_WORDS:
        return head[-1]
    return None


def decide(
    meshes: dict[str, MeshData], contacts: dict[str, Contact], overrides: dict[str, str]
) -> dict[str, Role]:
    """The role of every object of ``meshes``; ``overrides`` are the artists' (by name)."""
    names = list(meshes)
    longest = {n: float(meshes[n].dims.max()) for n in names}
    footprint = {n: float(np.prod(meshes[n].hi[:2] - meshes[n].lo[:2])) for n in names}
    bottom = {n: float(meshes[n].lo[2]) for n in names}
    median = float(np.median(list(longest.values()))) if names else 0.0
    lowest = min(bottom.values(), default=0.0)
    carried: dict[str, list[str]] = {n: [] for n in names}
    for name, contact in contacts.items():
        if contact.below is not None:
            carried[contact.below].append(name)
    scene = {"longest": longest, "footprint": footprint, "median": median, "lowest": lowest}
    out = {}
    for name in names:
        if name in overrides:
            out[name] = Role(overrides[name], f"{OVERRIDE_PROPERTY} = {overrides[name]!r}")
            continue
        out[name] = _geometry_role(name, meshes[name], contacts[name], carried[name], scene)
        if out[name] is None:
            out[name] = _name_role(name, carried[name], contacts[name], longest[name])
    return out


def _geometry_role(name, md, contact, carries, scene) -> Role | None:
    dims, footprint = md.dims, scene["footprint"]
    if dims.max() > 0 and dims.min() <= FLAT * dims.max():
        return Role("passive", "flat")
    longest, median = scene["longest"], scene["median"]
    supports = bool(carries) or contact.below is None
    if supports and len(longest) >= 3 and median > 0 and longest[name] >= LARGE * median:
        return Role("passive", "much larger than the rest of the scene, and under it")
    if contact.below is None and carries:
        return Role("passive", "the ground: nothing below it, something on it")
    others = [f for n, f in footprint.items() if n != name]
    if (
        others
        and md.lo[2] <= scene["lowest"] + 0.01
        and footprint[name] > 0
        and footprint[name] >= 2 * max(others)
    ):
        return Role("passive", "the lowest and by far the largest object")
    if carries and footprint[name] >= CARRIES * max(footprint[n] for n in carries):
        return Role("passive", "carries something much smaller than itself")
    return None


def _name_role(name, carries, contact, longest) -> Role:
    word = support_word(name)
    if word is not None and (carries or contact.below is None or longest >= FURNITURE):
        return Role("passive", f"named a {word}")
    return Role("active", "rests on something")
