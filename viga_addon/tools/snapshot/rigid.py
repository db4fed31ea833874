"""The scene's rigid-body world in a snapshot: it is part of the Scene datablock, which a
restore keeps, so its presence, settings, cache range and which objects and constraints it
simulates are saved in the payload and set back (an out-of-scope call that added a world is
rolled back with it; the interaction stage's rounds start from their own)."""

from __future__ import annotations

import bpy

from ..scene import rna

_CACHE = ("frame_start", "frame_end")


def state(scene) -> dict | None:
    """The world as JSON values, or None when the scene has none."""
    world = scene.rigidbody_world
    if world is None:
        return None
    members = world.collection
    constraints = world.constraints
    return {
        "settings": rna.to_dict(world),
        "cache": {a: getattr(world.point_cache, a) for a in _CACHE},
        "collection": members.name if members else None,
        "objects": sorted(o.name for o in members.objects) if members else [],
        "constraints": sorted(o.name for o in constraints.objects) if constraints else None,
    }


def apply(scene, saved: dict | None) -> None:
    """Make the scene's world what ``saved`` (``state``'s value) says: removed, added, its
    settings, cache range and members set back."""
    world = scene.rigidbody_world
    if saved is None:
        if world is not None:
            _remove(scene)
        return
    if world is None:
        with bpy.context.temp_override(scene=scene):
            bpy.ops.rigidbody.world_add()
        world = scene.rigidbody_world
    rna.from_dict(world, saved["settings"], [], "rigidbody_world.")
    for attr, value in saved["cache"].items():
        setattr(world.point_cache, attr, value)
    world.collection = _members(world.collection, saved["collection"], saved["objects"])
    if saved["constraints"] is not None:
        world.constraints = _members(
            world.constraints, "RigidBodyConstraints", saved["constraints"]
        )


def _members(collection, name: str | None, names: list[str]):
    """``collection`` (or one named ``name``) holding exactly the objects ``names``."""
    if collection is None:
        if name is None:
            return None
        collection = bpy.data.collections.get(name) or bpy.data.collections.new(name)
    wanted = {n for n in names if n in bpy.data.objects}
    for obj in list(collection.objects):
        if obj.name not in wanted:
            collection.objects.unlink(obj)
    for n in wanted - {o.name for o in collection.objects}:
        collection.objects.link(bpy.data.objects[n])
    return collection


def _remove(scene) -> None:
    world = scene.rigidbody_world
    collections = [c for c in (world.collection, world.constraints) if c is not None]
    with bpy.context.temp_override(scene=scene):
        bpy.ops.rigidbody.world_remove()
    for coll in collections:
        shown = any(coll in s.collection.children_recursive for s in bpy.data.scenes)
        if not shown and coll.users <= 1:
            bpy.data.collections.remove(coll)
