"""Bring back only what changed since a snapshot: the linear-time half of store.py.

Blender's append (``libraries.load(link=False)``) costs more than linearly in the number of
datablocks appended, so a restore appends only the datablocks of the snapshot that changed or
are gone since. What changed comes from per-datablock digests of the bytes Blender writes
(tools/snapshot_blocks.py): the snapshot file's, kept in its payload, against a write of the
scene as it is now. A datablock counts as changed when its digest differs or is unknown now
(no longer reachable from the scene); anything else unexpected raises ``Fallback`` and the
caller restores everything instead.

``bring_back`` appends them in one ``libraries.load``. A changed one arrives as "name.001" (the
old version still holds the name): the old one's users are pointed at it, the old one is
removed and the new one takes the exact name. Datablocks the append drags in with them (an
unchanged mesh or material of a changed object) arrive as copies carrying a weak reference to
their name in the file; their users are pointed at the local original, which is unchanged,
and the copies are removed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from . import blocks as snapshot_blocks

# Two-letter ID codes of the content types (GD is the annotation code once grease pencil v3
# took GP; on 4.2 GD is the only grease pencil).
_CODES = {
    "OB": "objects",
    "GR": "collections",
    "ME": "meshes",
    "MA": "materials",
    "NT": "node_groups",
    "TE": "textures",
    "IM": "images",
    "LA": "lights",
    "CA": "cameras",
    "WO": "worlds",
    "CU": "curves",
    "MB": "metaballs",
    "LT": "lattices",
    "AR": "armatures",
    "PA": "particles",
    "VO": "volumes",
    "PT": "pointclouds",
    "CV": "hair_curves",
    "SK": "speakers",
    "LP": "lightprobes",
    "VF": "fonts",
    "AC": "actions",
    "GP": "grease_pencils",
    "GD": "annotations" if hasattr(bpy.data, "annotations") else "grease_pencils",
}
OTHER = "other"  # digests of datablocks of other types (shape keys, texts ...): code + name

# Standalone datablocks outside the scene content that an appended one may drag in (a driver's
# target scene, a Text in a custom property, a sound ...). Shape keys are not here: they belong to
# their mesh and are legitimately new with it.
DRAGGED_IN_TYPES = tuple(
    t
    for t in (
        "scenes",
        "texts",
        "brushes",
        "sounds",
        "palettes",
        "movieclips",
        "masks",
        "linestyles",
        "cache_files",
        "paint_curves",
    )
    if hasattr(bpy.data, t)
)
_SUFFIX = re.compile(r"\.\d{3,}$")


class Fallback(Exception):
    """The changed-only restore cannot be sure to be exact: restore everything instead."""


@dataclass
class Delta:
    """Per content type, the names in the snapshot that changed since and that are gone."""

    changed: dict[str, set[str]] = field(default_factory=dict)
    removed: dict[str, set[str]] = field(default_factory=dict)

    def wanted(self) -> dict[str, list[str]]:
        """The names to append, per type."""
        out = {}
        for attr in set(self.changed) | set(self.removed):
            names = self.changed.get(attr, set()) | self.removed.get(attr, set())
            if names:
                out[attr] = sorted(names)
        return out


def file_digests(path: str | Path | bytes, types: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``{content type: {name: digest}}`` of a .blend file (its path or bytes), other types under
    ``OTHER``."""
    out: dict[str, dict[str, str]] = {attr: {} for attr in types}
    out[OTHER] = {}
    for code, named in snapshot_blocks.digests(path).items():
        attr = _CODES.get(code)
        if attr in out and attr != OTHER:
            out[attr].update(named)
        else:
            out[OTHER].update({code + name: digest for name, digest in named.items()})
    return out


def plan(saved: dict, now: dict, types: tuple[str, ...]) -> Delta:
    """What to bring back: the datablocks of the snapshot (``saved`` digests) whose digest
    ``now`` differs or is unknown (changed) or that no longer exist locally (removed)."""
    if saved.get(OTHER, {}) != {k: v for k, v in now.get(OTHER, {}).items() if k in saved[OTHER]}:
        raise Fallback("a datablock of a type restored only as a whole changed (shape keys ...)")
    delta = Delta()
    for attr in types:
        in_file = saved.get(attr, {})
        if not in_file:
            continue
        local = {i.name for i in getattr(bpy.data, attr) if i.library is None}
        current = now.get(attr, {})
        delta.changed[attr] = {n for n, d in in_file.items() if n in local and current.get(n) != d}
        delta.removed[attr] = {n for n in in_file if n not in local}
    return delta


def drop_library(path: Path) -> None:
    """``libraries.load(link=False)`` leaves a Library entry pointing at the file: remove it."""
    target = os.path.normcase(os.path.abspath(path))
    for lib in list(bpy.data.libraries):
        if os.path.normcase(os.path.abspath(bpy.path.abspath(lib.filepath))) == target:
            bpy.data.libraries.remove(lib)


def merge_dragged_in(scene, before: dict, saved_scene_name: str) -> None:
    """Datablocks outside the scene content that came along with the append are copies of ones
    we already have ("Scene.001", "notes.py.001"): point their users at the original, drop them."""
    dupes = []
    for attr, known in before.items():
        collection = getattr(bpy.data, attr)
        for new in [i for i in collection if i.library is None and i.as_pointer() not in known]:
            base = _SUFFIX.sub("", new.name)
            if attr == "scenes" and base == saved_scene_name:
                original = scene
            else:
                original = collection.get(base)
            if original is not None and original != new and original.library is None:
                new.user_remap(original)
                dupes.append(new)
    if dupes:
        bpy.data.batch_remove(dupes)


def dragged_in_before() -> dict[str, set[int]]:
    """The datablocks of ``DRAGGED_IN_TYPES`` that exist now (for ``merge_dragged_in``)."""
    return {attr: {i.as_pointer() for i in getattr(bpy.data, attr)} for attr in DRAGGED_IN_TYPES}


def bring_back(scene, path: Path, delta: Delta, saved_scene_name: str, types: tuple) -> int:
    """Append the changed and removed datablocks from ``path`` under their exact names, point
    every user of an old version at the new one; the number appended."""
    wanted = delta.wanted()
    if not wanted:
        return 0
    before = {attr: {i.as_pointer() for i in getattr(bpy.data, attr)} for attr in types}
    dragged = dragged_in_before()
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        for attr, names in wanted.items():
            missing = set(names) - set(getattr(src, attr, ()))
            if missing:
                raise Fallback(f"{attr} {sorted(missing)} are not in {path.name}")
            setattr(dst, attr, list(names))
    requested = {}
    for attr, names in wanted.items():
        for name, new in zip(names, getattr(dst, attr), strict=True):
            if new is None:
                raise Fallback(f"{attr} {name!r} was not appended")
            requested[new.as_pointer()] = name
    drop_library(path)
    merge_dragged_in(scene, dragged, saved_scene_name)
    doomed, renames = [], []
    for attr in types:
        collection = getattr(bpy.data, attr)
        known = before[attr]
        olds = {i.name: i for i in collection if i.library is None and i.as_pointer() in known}
        for new in [i for i in collection if i.library is None and i.as_pointer() not in known]:
            name = requested.get(new.as_pointer())
            if name is not None:
                old = olds.get(name)
                if old is not None:
                    old.user_remap(new)
                    doomed.append(old)
                renames.append((new, name))
                continue
            ref = new.library_weak_reference
            original_name = ref.id_name[2:] if ref is not None else _SUFFIX.sub("", new.name)
            original = olds.get(original_name)
            if original is None or original_name in delta.changed.get(attr, ()):
                raise Fallback(f"{attr} {new.name!r} came along with no unchanged original")
            new.user_remap(original)
            doomed.append(new)
    bpy.data.batch_remove(doomed)
    for new, name in renames:
        if new.name != name:
            new.name = name
        if new.name != name:
            raise Fallback(f"{name!r} came back as {new.name!r}")
    return len(renames)


def link_master(scene, payload: dict) -> None:
    """Make the master collection's children and objects, the world and the camera the
    snapshot's (by name: the datablocks are local now)."""
    master = scene.collection
    for attr, members in (("collections", master.children), ("objects", master.objects)):
        wanted = payload["master_" + attr]
        keep = set(wanted)
        for item in [i for i in members if i.name not in keep]:
            members.unlink(item)
        present = {i.name for i in members}
        local = {i.name: i for i in getattr(bpy.data, attr) if i.library is None}
        for name in wanted:
            if name not in present:
                if name not in local:
                    raise Fallback(f"{attr} {name!r} is missing")
                members.link(local[name])
    world = payload["world"]
    scene.world = _local(bpy.data.worlds, world) if world else None
    camera = payload["camera"]
    scene.camera = _local(bpy.data.objects, camera) if camera else None


def _local(collection, name: str):
    found = collection.get(name)
    return found if found is not None and found.library is None else None
