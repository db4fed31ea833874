"""Rigid bodies on a scene: the rigid-body world and one body per mesh object, set up through
Blender's own operators (``bpy.ops.rigidbody.world_add`` / ``objects_add`` under
``context.temp_override``: ``scene.rigidbody_world`` and ``obj.rigid_body`` cannot be created
through the API alone), then configured through the API. Also the working copy the check runs
on when the scene it is given must stay as it is.

Margins (measured in Blender 4.3 and 5.2): a MESH shape with Blender's default 4 cm margin holds
everything 4 cm above it, and an active MESH with that margin jumps; passive MESH shapes get no
margin and active MESH shapes 1 mm. SPHERE, BOX, CYLINDER and CONVEX_HULL keep Blender's
default, which it embeds inside the shape (objects rest on their real surface).
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy

COPY_SCENE = "viga_physics_check"
GRAVITY = (0.0, 0.0, -9.81)
ACTIVE_MESH_MARGIN = 0.001


@dataclass
class BodySpec:
    obj: object  # bpy.types.Object
    role: str  # "active" | "passive"
    shape: str
    mass: float  # kg (Blender ignores it for a passive body)


def view_layer_of(scene):
    context = bpy.context
    if getattr(context, "scene", None) == scene and getattr(context, "view_layer", None):
        return context.view_layer
    return scene.view_layers[0]


def evaluate(scene):
    """``scene``'s evaluated depsgraph, up to date: objects moved through the API since the last
    update (``obj.location = …``) have a stale ``matrix_world`` until then."""
    with bpy.context.temp_override(scene=scene, view_layer=view_layer_of(scene)):
        return bpy.context.evaluated_depsgraph_get()


def mesh_objects(scene) -> list:
    """The mesh objects of ``scene`` that are in its view layer and render."""
    layer = view_layer_of(scene)
    return [o for o in layer.objects if o.type == "MESH" and not o.hide_render]


def working_copy(scene, objects: list) -> tuple[object, dict]:
    """A new scene holding a copy of each of ``objects`` where it is now (parents, constraints
    and animation left behind: nothing moves it but the simulation). Returns the scene and
    ``{copy: original name}``. The originals and their data are not changed; the copies
    share their meshes and materials."""
    copy_scene = bpy.data.scenes.new(COPY_SCENE)
    copy_scene.render.fps, copy_scene.render.fps_base = scene.render.fps, scene.render.fps_base
    copy_scene.use_gravity = scene.use_gravity
    copy_scene.gravity = scene.gravity
    names = {}
    for obj in objects:
        world = obj.matrix_world.copy()
        dup = obj.copy()
        dup.animation_data_clear()
        dup.constraints.clear()
        dup.parent = None
        dup.matrix_world = world
        dup.hide_viewport = False  # it renders, so it is in the photo: simulate it
        copy_scene.collection.objects.link(dup)
        names[dup] = obj.name
    return copy_scene, names


def remove_copy(copy_scene) -> None:
    """Remove the working copy, its objects and its rigid-body collection."""
    world = copy_scene.rigidbody_world
    collection = world.collection if world is not None else None
    doomed = list(copy_scene.collection.objects)
    bpy.data.scenes.remove(copy_scene)
    if doomed:
        bpy.data.batch_remove(doomed)
    if collection is not None and _unlinked(collection):
        bpy.data.collections.remove(collection)


def _unlinked(collection) -> bool:
    """No scene shows ``collection`` (Blender's world_remove leaves its old rigid-body
    collection behind with a user)."""
    return not any(collection in scene.collection.children_recursive for scene in bpy.data.scenes)


def detach(objects: list) -> None:
    """Unparent ``objects`` where they are (in place: a parented rigid body is not simulated
    where it appears)."""
    for obj in objects:
        if obj.parent is not None:
            world = obj.matrix_world.copy()
            obj.parent = None
            obj.matrix_world = world


def add_rigid_bodies(scene, specs: list[BodySpec], start: int, frames: int) -> None:
    """A fresh rigid-body world on ``scene`` simulating ``specs`` from frame ``start`` for
    ``frames`` frames. A world the scene had is replaced (its bake too)."""
    layer = view_layer_of(scene)
    with bpy.context.temp_override(scene=scene, view_layer=layer):
        old = scene.rigidbody_world
        if old is not None:
            collection = old.collection
            bpy.ops.rigidbody.world_remove()
            if collection is not None and _unlinked(collection):
                bpy.data.collections.remove(collection)
        bpy.ops.rigidbody.world_add()
        for kind in ("ACTIVE", "PASSIVE"):
            objs = [s.obj for s in specs if s.role == kind.lower()]
            for obj in objs:
                obj.hide_viewport = False  # the operator refuses objects disabled in viewports
            if objs:  # the operator's poll asks the active object to be visible
                active = next((o for o in objs if o.visible_get(view_layer=layer)), objs[0])
                with bpy.context.temp_override(
                    selected_objects=objs, object=active, active_object=active
                ):
                    bpy.ops.rigidbody.objects_add(type=kind)
    world = scene.rigidbody_world
    if world is None:
        raise RuntimeError(f"Blender did not add a rigid-body world to scene {scene.name!r}")
    world.enabled = True
    world.time_scale = 1.0
    world.point_cache.frame_start = start
    world.point_cache.frame_end = start + frames
    if not scene.use_gravity or sum(g * g for g in scene.gravity) < 1e-6:
        scene.use_gravity, scene.gravity = True, GRAVITY
    for spec in specs:
        _configure(spec)


def _configure(spec: BodySpec) -> None:
    body = spec.obj.rigid_body
    if body is None:
        raise RuntimeError(f"Blender did not give {spec.obj.name!r} a rigid body")
    body.type = spec.role.upper()
    body.enabled = True
    body.kinematic = False
    body.collision_shape = spec.shape
    body.mesh_source = "FINAL"  # the shape the artist sees, modifiers included
    body.mass = max(spec.mass, 0.001)
    body.friction = 0.5
    body.restitution = 0.0
    body.use_deactivation = False
    if spec.shape == "MESH":
        body.use_margin = True
        body.collision_margin = 0.0 if spec.role == "passive" else ACTIVE_MESH_MARGIN
    else:
        body.use_margin = False
