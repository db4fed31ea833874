"""Stage scopes: classify what a piece of model code changed and compare it with what the stage
may change (``stages.base.SCOPES``).

``capture()`` fingerprints the scene as a flat dict ``{label: (scopes, value)}``: ``label`` names
one thing ("transform of 'red_ball'", "material 'wood'", "render settings"), ``scopes`` the stage
scopes any one of which allows changing it. ``changes(before, after)`` lists what differs and
``out_of_scope(changes, allowed)`` what the stage may not change.

Which scope covers what:
  objects     objects created/removed/renamed, parenting, collections, visibility (not lights
              or cameras: those belong to their own scopes)
  meshes      mesh (and curve/metaball/font ...) data: vertices, faces, points
  modifiers   an object's modifier stack and its settings; geometry node groups
  materials   materials and their node trees, shader node groups, images/textures, material
              slots and per-face material indices
  transforms  location / rotation / scale / delta transforms of objects other than lights and
              cameras (animation actions too)
  camera      the scene camera, camera objects (creation, transform) and camera data
  lights      light objects (creation, transform, visibility) and light data
  world       the scene's world and world datablocks
  render      render, Cycles/EEVEE, colour management (exposure, view transform), frame range
"""

from __future__ import annotations

import hashlib
import warnings

import bpy
import numpy as np

from . import snapshot

_DIGITS = 4

# Datablock types with no finer fingerprint below: creating/removing one needs these scopes.
_DATABLOCK_SCOPES = {
    "collections": ("objects",),
    "images": ("materials",),
    "textures": ("materials",),
    "curves": ("meshes",),
    "metaballs": ("meshes",),
    "lattices": ("meshes", "modifiers"),
    "armatures": ("objects",),
    "fonts": ("meshes",),
    "actions": ("transforms",),
    "grease_pencils": ("objects",),
    "volumes": ("meshes",),
    "pointclouds": ("meshes",),
    "hair_curves": ("meshes",),
    "particles": ("modifiers",),
    "speakers": ("objects",),
    "lightprobes": ("lights",),
    "texts": ("objects",),
    "scenes": ("objects",),
}
_SETTINGS = ("render", "cycles", "eevee", "view_settings", "display_settings", "unit_settings")


def _r(values) -> tuple:
    return tuple(round(float(v), _DIGITS) + 0.0 for v in values)


def _digest(array: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(array).tobytes(), digest_size=12).hexdigest()


def _bulk(collection, attr, count, width, dtype=np.float32) -> np.ndarray:
    out = np.empty(count * width, dtype=dtype)
    if count:
        collection.foreach_get(attr, out)
    return out


def _mesh_fp(mesh) -> tuple:
    nv, np_, nl = len(mesh.vertices), len(mesh.polygons), len(mesh.loops)
    co = np.round(_bulk(mesh.vertices, "co", nv, 3).astype(np.float64), _DIGITS) + 0.0
    loops = _bulk(mesh.loops, "vertex_index", nl, 1, np.int32)
    return (nv, len(mesh.edges), np_, _digest(co), _digest(loops))


def _material_indices(mesh) -> str:
    n = len(mesh.polygons)
    return _digest(_bulk(mesh.polygons, "material_index", n, 1, np.int32))


def _value(value):
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return round(value, _DIGITS) + 0.0
    if isinstance(value, bpy.types.ID):
        return ("ID", value.name)
    try:
        return tuple(_value(v) for v in value)
    except TypeError:
        return repr(value)


def _node_tree_fp(tree) -> tuple:
    if tree is None:
        return ()
    nodes = []
    for node in tree.nodes:
        inputs = tuple(
            (s.identifier, _value(s.default_value))
            for s in node.inputs
            if not s.is_linked and hasattr(s, "default_value")
        )
        props = tuple(sorted((k, _value(v)) for k, v in _simple_props(node).items()))
        nodes.append((node.name, node.bl_idname, inputs, props))
    links = tuple(
        sorted(
            (lk.from_node.name, lk.from_socket.identifier, lk.to_node.name, lk.to_socket.identifier)
            for lk in tree.links
        )
    )
    return (tuple(sorted(nodes, key=repr)), links)


_NODE_SKIP = {
    "location",
    "width",
    "height",
    "dimensions",
    "select",
    "show_options",
    "show_preview",
    "show_texture",
    "hide",
    "location_absolute",
    "warning_propagation",
}


def _simple_props(struct) -> dict:
    out = {}
    for prop in struct.bl_rna.properties:
        pid = prop.identifier
        if prop.is_readonly or pid in _NODE_SKIP or prop.type in ("COLLECTION", "POINTER"):
            if prop.type == "POINTER" and not prop.is_readonly:
                try:
                    value = getattr(struct, pid)
                except Exception:  # noqa: BLE001
                    continue
                if isinstance(value, bpy.types.ID) or value is None:
                    out[pid] = _value(value)
            continue
        try:
            out[pid] = getattr(struct, pid)
        except Exception:  # noqa: BLE001 - some properties need a context
            continue
    return out


def _struct_fp(struct) -> tuple:
    return tuple(sorted((k, _value(v)) for k, v in _simple_props(struct).items()))


def _object_owner_scope(obj) -> tuple:
    if obj.type == "LIGHT":
        return ("lights",)
    if obj.type == "CAMERA":
        return ("camera",)
    return ("objects",)


def _transform_scope(obj) -> tuple:
    if obj.type == "LIGHT":
        return ("lights",)
    if obj.type == "CAMERA":
        return ("camera",)
    return ("transforms",)


def capture(scene=None) -> dict:
    """``{label: (scopes, value)}`` for everything a stage scope covers."""
    with warnings.catch_warnings():  # reading deprecated properties (use_nodes) warns in 5.x
        warnings.simplefilter("ignore", DeprecationWarning)
        return _capture(scene or bpy.context.scene)


def _capture(scene) -> dict:
    out = {}
    view_layer = bpy.context.view_layer
    for obj in scene.objects:
        q = repr(obj.name)
        owner = _object_owner_scope(obj)
        kind = {"LIGHT": "light object", "CAMERA": "camera object"}.get(obj.type, "object")
        try:
            hidden = obj.hide_get(view_layer=view_layer)
        except RuntimeError:
            hidden = None
        out[f"{kind} {q}"] = (
            owner,
            (
                obj.type,
                obj.data.name if obj.data else None,
                obj.parent.name if obj.parent else None,
                tuple(sorted(c.name for c in obj.users_collection)),
                obj.hide_render,
                obj.hide_viewport,
                hidden,
                obj.display_type,
            ),
        )
        out[f"transform of {q}"] = (
            _transform_scope(obj),
            (
                _r(obj.location),
                _r(obj.rotation_euler),
                _r(obj.rotation_quaternion),
                obj.rotation_mode,
                _r(obj.scale),
                _r(obj.delta_location),
                _r(obj.delta_rotation_euler),
                _r(obj.delta_scale),
                tuple(_r(row) for row in obj.matrix_parent_inverse),
            ),
        )
        out[f"modifiers of {q}"] = (
            ("modifiers",),
            tuple((m.name, m.type, _struct_fp(m)) for m in obj.modifiers),
        )
        out[f"material slots of {q}"] = (
            ("materials",),
            tuple((s.link, s.material.name if s.material else None) for s in obj.material_slots),
        )
        if obj.animation_data is not None and obj.animation_data.action is not None:
            out[f"animation of {q}"] = (_transform_scope(obj), obj.animation_data.action.name)
    for coll in scene.collection.children_recursive:
        out[f"collection {coll.name!r}"] = (
            ("objects",),
            tuple(sorted(c.name for c in coll.children)),
        )
    for mesh in bpy.data.meshes:
        out[f"mesh {mesh.name!r}"] = (("meshes",), _mesh_fp(mesh))
        out[f"material indices of mesh {mesh.name!r}"] = (
            ("materials",),
            (_material_indices(mesh), tuple(m.name if m else None for m in mesh.materials)),
        )
    for mat in bpy.data.materials:
        out[f"material {mat.name!r}"] = (
            ("materials",),
            (
                _r(mat.diffuse_color),
                round(mat.roughness, _DIGITS),
                round(mat.metallic, _DIGITS),
                mat.blend_method if hasattr(mat, "blend_method") else None,
                _node_tree_fp(mat.node_tree),
            ),
        )
    for group in bpy.data.node_groups:
        scopes = ("modifiers",) if group.bl_idname == "GeometryNodeTree" else ("materials",)
        out[f"node group {group.name!r}"] = (scopes, _node_tree_fp(group))
    for light in bpy.data.lights:
        out[f"light {light.name!r}"] = (
            ("lights",),
            (_struct_fp(light), _node_tree_fp(light.node_tree)),
        )
    for cam in bpy.data.cameras:
        out[f"camera {cam.name!r}"] = (("camera",), (_struct_fp(cam), _struct_fp(cam.dof)))
    out["scene camera"] = (("camera",), scene.camera.name if scene.camera else None)
    for world in bpy.data.worlds:
        out[f"world {world.name!r}"] = (
            ("world",),
            (_r(world.color), _node_tree_fp(world.node_tree)),
        )
    out["scene world"] = (("world",), scene.world.name if scene.world else None)
    for attr in _SETTINGS:
        struct = getattr(scene, attr, None)
        if struct is not None:
            out[f"{attr} settings"] = (("render",), _value_tree(snapshot.rna_to_dict(struct)))
    out["frame range"] = (("render",), (scene.frame_start, scene.frame_end, scene.frame_current))
    for attr, scopes in _DATABLOCK_SCOPES.items():
        collection = getattr(bpy.data, attr, None)
        if collection is not None:
            for item in collection:
                if item.library is None:
                    out[f"{attr[:-1]} {item.name!r}"] = (scopes, "exists")
    return out


def _value_tree(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _value_tree(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_value_tree(v) for v in value)
    return _value(value)


# Aspects of an object or mesh: created or removed together with it, so they only count when
# the thing itself stays (or, for slots and modifiers, when a new object comes with some).
_ASPECTS = (
    "transform of ",
    "modifiers of ",
    "material slots of ",
    "material indices of ",
    "animation of ",
)
_CREATED_WITH_OWNER = ("transform of ", "material indices of ")


def changes(before: dict, after: dict) -> list[dict]:
    """What differs: ``[{"what": "created|removed|changed <label>", "scopes": [...]}]``."""
    out = []
    for label in sorted(set(before) | set(after)):
        if label not in before:
            value = after[label][1]
            if label.startswith(_CREATED_WITH_OWNER) or (
                label.startswith(_ASPECTS) and value in ((), None)
            ):
                continue
            out.append({"what": f"created {label}", "scopes": list(after[label][0])})
        elif label not in after:
            if label.startswith(_ASPECTS):
                continue
            out.append({"what": f"removed {label}", "scopes": list(before[label][0])})
        elif before[label][1] != after[label][1]:
            out.append({"what": f"changed {label}", "scopes": list(after[label][0])})
    return out


def out_of_scope(found: list[dict], allowed) -> list[dict]:
    """The changes none of whose scopes is in ``allowed``."""
    allowed = set(allowed)
    return [c for c in found if not allowed.intersection(c["scopes"])]


def describe(violations: list[dict], allowed, stage: str | None = None, limit: int = 8) -> str:
    """The message for the model: what was out of scope, what the stage may change."""
    shown = [f"{v['what']} (needs scope {' or '.join(v['scopes'])})" for v in violations[:limit]]
    more = len(violations) - len(shown)
    if more > 0:
        shown.append(f"... and {more} more")
    who = f"the {stage} stage" if stage else "this stage"
    return (
        f"this code changed things outside what {who} may change "
        f"(allowed: {', '.join(sorted(allowed)) or 'nothing'}): "
        + "; ".join(shown)
        + ". The whole call was rolled back; change only what this stage allows."
    )
