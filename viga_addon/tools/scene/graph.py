"""The scene graph of an existing scene, and the edit limits of a run that edits it.

A run that matches an artist's scene to a photo has no init stage: its scene graph is read from
the scene's objects instead, in the format init's make_plan gives (``agent.selection``
validates both): one root, the scene, and one node per object with its ``parent``, ``type``,
``materials``, ``collection``, world-space bounding box and a ``strategy`` that says it is the
artist's object, edited in place.

``edit_limits`` says what stays locked when the artist opened only some objects (or one
collection) for editing: every other object, the materials, lights and cameras only they use,
and the world and render settings (``scope.EditLimits``).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import bpy
from mathutils import Vector

from .scope import SETTINGS, EditLimits

_DIGITS = 3


def _round(values) -> list[float]:
    return [round(float(v), _DIGITS) + 0.0 for v in values]


def _bounds(obj) -> dict | None:
    """World-space axis-aligned bounds of ``obj`` (None for objects without a box)."""
    box = getattr(obj, "bound_box", None)
    if box is None or obj.type in ("EMPTY", "LIGHT", "CAMERA"):
        return None
    corners = [obj.matrix_world @ Vector(c) for c in box]
    low = [min(c[i] for c in corners) for i in range(3)]
    high = [max(c[i] for c in corners) for i in range(3)]
    return {"min": _round(low), "max": _round(high)}


def _materials(obj) -> list[str]:
    return [s.material.name for s in obj.material_slots if s.material is not None]


def _root_name(scene, names: set[str]) -> str:
    name = scene.name
    while name in names:
        name += " (scene)"
    return name


def scene_graph(scene=None) -> dict:
    """The graph of ``scene``'s objects (the context's by default), root first, objects by
    name; hierarchy from object parenting."""
    scene = scene or bpy.context.scene
    scene.view_layers[0].update()
    objects = sorted(scene.objects, key=lambda o: o.name)
    root = _root_name(scene, {o.name for o in objects})
    nodes: list[dict] = [
        {
            "name": root,
            "parent": None,
            "description": f"the artist's scene {scene.name!r} ({len(objects)} objects)",
        }
    ]
    for obj in objects:
        parent = obj.parent.name if obj.parent is not None and obj.parent in objects else root
        node = {
            "name": obj.name,
            "parent": parent,
            "type": obj.type.lower(),
            "description": f"the artist's {obj.type.lower()} {obj.name!r}",
            "strategy": "an existing object of the artist's scene: edit it in place",
            "location": _round(obj.matrix_world.translation),
            "collection": [c.name for c in obj.users_collection],
        }
        if obj.type == "MESH" and obj.data is not None:
            node["geometry"] = f"mesh ({len(obj.data.vertices)} vertices)"
        materials = _materials(obj)
        if materials:
            node["materials"] = materials
        box = _bounds(obj)
        if box is not None:
            node["bbox"] = box
            node["dimensions"] = _round(obj.dimensions)
        if obj.type == "LIGHT":
            node["light"] = {"type": obj.data.type, "energy": round(obj.data.energy, _DIGITS)}
        nodes.append(node)
    return {"objects": nodes}


class LimitError(ValueError):
    """Edit limits that name what the scene does not have."""


def editable_objects(
    scene=None, objects: list[str] | None = None, collection: str | None = None
) -> list[str] | None:
    """The objects open for editing: ``objects`` by name, or those of ``collection`` (its
    children collections too); None (all) when neither is given. LimitError for names the
    scene lacks."""
    scene = scene or bpy.context.scene
    if objects is None and collection is None:
        return None
    names = {o.name for o in scene.objects}
    chosen: set[str] = set()
    if objects is not None:
        missing = sorted(set(objects) - names)
        if missing:
            raise LimitError(
                f"no object named {', '.join(missing)} in the scene; it has "
                f"{', '.join(sorted(names)) or 'no objects'}"
            )
        chosen.update(objects)
    if collection is not None:
        found = bpy.data.collections.get(collection)
        if found is None or found not in scene.collection.children_recursive:
            have = sorted(c.name for c in scene.collection.children_recursive)
            raise LimitError(
                f"no collection named {collection!r} in the scene; it has "
                f"{', '.join(have) or 'none'}"
            )
        chosen.update(o.name for o in found.all_objects if o.name in names)
    return sorted(chosen)


def edit_limits(
    scene=None,
    objects: list[str] | None = None,
    collection: str | None = None,
    allow_add_remove: bool = False,
) -> EditLimits:
    """What stays locked in ``scene`` when only ``objects`` / ``collection`` are editable."""
    scene = scene or bpy.context.scene
    editable = editable_objects(scene, objects, collection)
    if editable is None:
        return EditLimits(allow_add_remove=allow_add_remove)
    open_names = set(editable)
    locked: set[tuple[str, str]] = set()
    free: set[tuple[str, str]] = set()  # data an editable object uses stays editable
    for obj in scene.objects:
        refs = {("materials", m) for m in _materials(obj)}
        if obj.data is not None and obj.type == "MESH":
            refs |= {("materials", m.name) for m in obj.data.materials if m is not None}
        if obj.type == "LIGHT" and obj.data is not None:
            refs.add(("lights", obj.data.name))
        if obj.type == "CAMERA" and obj.data is not None:
            refs.add(("camera", obj.data.name))
        if obj.name in open_names:
            free |= refs
        else:
            locked.add(("objects", obj.name))
            locked |= refs
    locked -= free
    if scene.world is not None:
        locked.add(("world", scene.world.name))
    locked |= {("render", attr) for attr in SETTINGS if getattr(scene, attr, None) is not None}
    locked.add(("render", "scene"))
    return EditLimits(
        locked=frozenset(locked), allow_add_remove=allow_add_remove, editable=tuple(editable)
    )


def load_start_scene(path: str, host: Any = None) -> dict:
    """Open ``path`` (a .blend) as the current file; it is never written: every later save is a
    copy elsewhere. ``host``'s undo stack and viewer start afresh (they held the old file)."""
    p = Path(path)
    if p.suffix.lower() != ".blend" or not p.is_file():
        return {"ok": False, "error": f"{path} is not a .blend file"}
    with contextlib.redirect_stdout(io.StringIO()):
        bpy.ops.wm.open_mainfile(filepath=str(p), load_ui=False)
    if host is not None:
        host._forget_undo()
        host.viewer = host._new_viewer()
    return {"ok": True, "path": str(p), "objects": len(bpy.context.scene.objects)}


def describe(
    lock_objects: list[str] | None = None,
    lock_collection: str | None = None,
    allow_add_remove: bool = False,
) -> dict:
    """The host's describe_start_scene: graph, object names and limits of the current scene."""
    scene = bpy.context.scene
    if not len(scene.objects):
        return {"ok": False, "error": "the scene has no objects to match to the photo"}
    try:
        limits = edit_limits(scene, lock_objects, lock_collection, allow_add_remove)
    except LimitError as e:
        return {"ok": False, "error": str(e)}
    return {
        "ok": True,
        "scene_graph": scene_graph(scene),
        "originals": sorted(o.name for o in scene.objects),
        "limits": limits.to_json(),
    }


def limit_message(before: Any, limits: EditLimits) -> str | None:
    """What changed since the capture ``before`` that ``limits`` lock, in words (None: nothing;
    the check the refiner's values get)."""
    from ...stages.base import SCOPES
    from ..code import scope_check
    from . import fingerprint, scope

    allowed = scope.LimitedScope(SCOPES, limits)
    found = scope_check.changes(fingerprint.diff(before, fingerprint.capture()))
    hit = scope_check.out_of_scope(found, allowed)
    return scope_check.describe(hit, allowed, "refine_parameters") if hit else None
