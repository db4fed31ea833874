"""One capture of the scene and one diff of two captures: what execute_code's change report, the
stage scope check and the hand-edit detection while a run is paused are all derived from.

``capture(scene)`` -> ``Capture``: ``entries``, a flat ``{label: Entry}``, one entry per thing
that can change ("object 'red_ball'", "transform of 'red_ball'", "mesh 'Cube'", "material
'wood'", "view_settings settings", ...). An ``Entry`` holds
  - ``scopes``: the stage scopes any one of which allows changing it (tools/scene/scope.py says which
    scope covers what); None for an entry only the change report reads (an object's world
    placement, which also moves when its parent does);
  - ``value``: a comparable fingerprint of it (floats rounded to ``rna.DIGITS``; geometry as
    digests);
  - ``refs``: the change-report items it belongs to, ``(kind, name)`` pairs: the transform,
    modifiers, slots and mesh of an object belong to ("objects", its name).
and ``present``: per report kind, the names that exist (scene objects, all materials, the light
and camera data of the scene's objects, all worlds, the scene's settings structs).

``diff(before, after)`` -> ``Diff``: ``changes``, every entry created, changed or removed (the
scope check classifies these: ``scope.changes``), and ``report``, execute_code's change report

    {"created"|"changed"|"removed": {kind: [names]}}   kind in REPORT_KEYS

objects, materials and lights as before; camera (camera data names), world (world names) and
render (the changed settings as paths under the scene: "view_settings.exposure",
"render.resolution_x", "frame_end"). Created and removed compare ``present``; a name present in
both is changed when any entry that refers to it differs.

Reading the scene changes nothing: properties are only read (deprecated ones' warnings are
silenced), except that the view layers are updated first so world matrices and dimensions are
current, as a render would.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

import bpy
import numpy as np

from . import keyframes, rna, scope

REPORT_KEYS = ("objects", "materials", "lights", "camera", "world", "render")
_VERBS = ("created", "changed", "removed")
DIGITS = rna.DIGITS

# Writable properties that are panel state or bookkeeping, not scene content: clicking a
# modifier's panel must not count as an edit.
UI_STATE = frozenset(
    {"show_expanded", "is_active", "tag", "use_extra_user", "use_fake_user", "is_runtime_data"}
)
# ... and for nodes also where they sit in the editor and how they are drawn (only for nodes:
# a Bevel modifier's width is content).
NODE_UI_STATE = UI_STATE | {
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
# Bulk-read float columns of every object: its local transform and its world placement.
_TRANSFORM = (
    ("location", 3),
    ("rotation_euler", 3),
    ("rotation_quaternion", 4),
    ("rotation_axis_angle", 4),
    ("scale", 3),
    ("delta_location", 3),
    ("delta_rotation_euler", 3),
    ("delta_rotation_quaternion", 4),
    ("delta_scale", 3),
    ("matrix_parent_inverse", 16),
)
_PLACEMENT = (("matrix_world", 16), ("dimensions", 3))


class Entry(NamedTuple):
    """One labelled thing in a capture (see the module docstring)."""

    scopes: tuple[str, ...] | None
    value: object
    refs: tuple[tuple[str, str], ...] = ()


class Change(NamedTuple):
    """An entry created, changed or removed; ``value``/``scopes`` are the entry's after the
    change (before it for "removed"), ``refs`` those of both sides."""

    verb: str
    label: str
    scopes: tuple[str, ...] | None
    value: object
    refs: tuple[tuple[str, str], ...]


@dataclass
class Capture:
    """The scene at one moment: ``entries`` by label and the report names ``present``."""

    entries: dict[str, Entry] = field(default_factory=dict)
    present: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class Diff:
    """What differs between two captures: every ``changes`` entry and the change ``report``."""

    changes: list[Change]
    report: dict


def empty_report() -> dict:
    """A change report with nothing in it."""
    return {verb: {key: [] for key in REPORT_KEYS} for verb in _VERBS}


def has_changes(report: dict) -> bool:
    """Whether a change report names anything."""
    return any(names for by_key in report.values() for names in by_key.values())


# ----------------------------------------------------------------------------- values
def _r(values) -> tuple:
    return tuple(round(float(v), DIGITS) + 0.0 for v in values)


def _bulk(collection, attr: str, count: int, width: int, dtype=np.float32) -> np.ndarray:
    out = np.empty(count * width, dtype=dtype)
    if count:
        collection.foreach_get(attr, out)
    return out


def _rows(objects, columns) -> tuple[bytes, int]:
    """The float ``columns`` ((attribute, width) pairs) of every object, rounded, as one row of
    bytes per object: the bytes of all rows and the width of one in bytes."""
    count = len(objects)
    parts = [_bulk(objects, a, count, w).reshape(count, w) for a, w in columns]
    rows = np.round(np.hstack(parts).astype(np.float64), DIGITS) + 0.0  # + 0.0: no -0.0
    return rows.tobytes(), rows.itemsize * rows.shape[1]


def _mesh_fps(mesh) -> tuple[tuple, str]:
    """(counts and a digest of the vertex positions and face corners, a digest of the faces'
    material indices) of a mesh. Positions are compared on the ``DIGITS`` grid."""
    vertices, loops, polygons = mesh.vertices, mesh.loops, mesh.polygons
    nv, nl, nf = len(vertices), len(loops), len(polygons)
    co = np.empty(nv * 3, dtype=np.float32)
    corners = np.empty(nl, dtype=np.int32)
    if nv:
        vertices.foreach_get("co", co)
    if nl:
        loops.foreach_get("vertex_index", corners)
    np.multiply(co, 10.0**DIGITS, out=co)  # np.round costs more than the rest on small meshes
    np.rint(co, out=co)
    co += 0.0  # no -0.0
    geometry = hashlib.blake2b(co.data, digest_size=12)
    geometry.update(corners.data)
    indices = np.zeros(nf, dtype=np.int32)
    if nf and mesh.attributes.get("material_index") is not None:  # absent: all 0
        polygons.foreach_get("material_index", indices)
    material = hashlib.blake2b(indices.data, digest_size=12).hexdigest()
    return (nv, len(mesh.edges), nf, nl, geometry.hexdigest()), material


def _struct_fp(struct, skip: frozenset[str] = UI_STATE) -> tuple:
    return rna.sorted_items(rna.props(struct, skip=skip, ids=True, leaf=rna.freeze))


def _node_tree_fp(tree) -> tuple:
    if tree is None:
        return ()
    nodes = []
    for node in tree.nodes:
        inputs = tuple(
            (s.identifier, rna.freeze(s.default_value))
            for s in node.inputs
            if not s.is_linked and hasattr(s, "default_value")
        )
        nodes.append((node.name, node.bl_idname, inputs, _struct_fp(node, NODE_UI_STATE)))
    nodes.sort(key=lambda n: n[0])
    links = tuple(
        sorted(
            (lk.from_node.name, lk.from_socket.identifier, lk.to_node.name, lk.to_socket.identifier)
            for lk in tree.links
        )
    )
    return (tuple(nodes), links)


def _capture_physics(obj, q: str, ref: tuple, entries: dict) -> None:
    """An object's rigid body, rigid-body constraint and force field (the physics scope)."""
    body = obj.rigid_body
    if body is not None:
        entries[f"rigid body of {q}"] = Entry(scope.PHYSICS_SCOPES, _struct_fp(body), ref)
    constraint = obj.rigid_body_constraint
    if constraint is not None:
        entries[f"rigid body constraint of {q}"] = Entry(
            scope.PHYSICS_SCOPES, _struct_fp(constraint), ref
        )
    field = obj.field
    if field is not None and field.type != "NONE":
        entries[f"force field of {q}"] = Entry(scope.PHYSICS_SCOPES, _struct_fp(field), ref)


def _physics_collections() -> set[int]:
    """The collections Blender keeps a scene's rigid bodies and constraints in (adding a body
    links its object there: a physics change, not a change of the object's collections)."""
    out = set()
    for other in bpy.data.scenes:
        world = other.rigidbody_world
        if world is not None:
            for coll in (world.collection, world.constraints):
                if coll is not None:
                    out.add(coll.as_pointer())
    return out


def _collections_by_object() -> dict[int, tuple[str, ...]]:
    """Names of the collections holding each object (``Object.users_collection`` for all objects
    at once: that property scans every collection for every object)."""
    found = defaultdict(list)
    physics = _physics_collections()
    for coll in bpy.data.collections:
        if coll.as_pointer() in physics:
            continue
        name = coll.name
        for obj in coll.objects:
            found[obj.as_pointer()].append(name)
    for other in bpy.data.scenes:
        master = other.collection
        for obj in master.objects:
            found[obj.as_pointer()].append(master.name)
    return {key: tuple(sorted(names)) for key, names in found.items()}


# ----------------------------------------------------------------------------- capture
def capture(scene=None) -> Capture:
    """Everything a stage scope covers and the change report names, of ``scene`` (the
    context's by default); see the module docstring."""
    scene = scene or bpy.context.scene
    # matrix_world and dimensions are only current after a depsgraph update.
    for view_layer in scene.view_layers:
        view_layer.update()
    with warnings.catch_warnings():  # reading deprecated properties (use_nodes) warns in 5.x
        warnings.simplefilter("ignore", DeprecationWarning)
        out = Capture()
        users = _capture_objects(scene, out)
        _capture_data(scene, out, users)
        _capture_settings(scene, out)
    return out


def _capture_objects(scene, out: Capture) -> dict[int, list[tuple[str, str]]]:
    """Objects, their transforms, placements, modifiers, slots; returns the report refs of the
    scene objects using each datablock (by pointer)."""
    entries = out.entries
    objects = scene.objects
    transforms, t_width = _rows(objects, _TRANSFORM)
    placements, p_width = _rows(objects, _PLACEMENT)
    count = len(objects)
    hide_render = _bulk(objects, "hide_render", count, 1, bool).tolist()
    hide_viewport = _bulk(objects, "hide_viewport", count, 1, bool).tolist()
    in_collections = _collections_by_object()
    view_layer = bpy.context.view_layer
    users: dict[int, list[tuple[str, str]]] = defaultdict(list)
    names, lights, cameras = [], set(), set()
    for i, obj in enumerate(objects):
        name = obj.name
        names.append(name)
        q = repr(name)
        ref = (("objects", name),)
        kind = obj.type
        data = obj.data
        data_name = None
        if data is not None:
            data_name = data.name
            users[data.as_pointer()].append(ref[0])
            if kind == "LIGHT":
                lights.add(data_name)
            elif kind == "CAMERA":
                cameras.add(data_name)
        try:
            hidden = obj.hide_get(view_layer=view_layer)
        except RuntimeError:
            hidden = None
        parent = obj.parent
        entries[f"{_OBJECT_LABEL.get(kind, 'object')} {q}"] = Entry(
            scope.owner_scopes(kind),
            (
                kind,
                data_name,
                parent.name if parent is not None else None,
                in_collections.get(obj.as_pointer(), ()),
                hide_render[i],
                hide_viewport[i],
                hidden,
                obj.display_type,
            ),
            ref,
        )
        entries[f"transform of {q}"] = Entry(
            scope.transform_scopes(kind),
            (obj.rotation_mode, transforms[i * t_width : (i + 1) * t_width]),
            ref,
        )
        entries[f"placement of {q}"] = Entry(None, placements[i * p_width : (i + 1) * p_width], ref)
        modifiers = obj.modifiers
        entries[f"modifiers of {q}"] = Entry(
            ("modifiers",),
            tuple((m.name, m.type, _struct_fp(m)) for m in modifiers) if len(modifiers) else (),
            ref,
        )
        entries[f"material slots of {q}"] = Entry(
            ("materials",),
            tuple((s.link, _name(s.material)) for s in obj.material_slots),
            ref,
        )
        animation = obj.animation_data
        if animation is not None and animation.action is not None:
            entries[f"animation of {q}"] = Entry(
                scope.ANIMATION_SCOPES,
                (animation.action.name, keyframes.fingerprint(obj)),
                ref,
            )
        _capture_physics(obj, q, ref, entries)
    out.present["objects"] = frozenset(names)
    out.present["lights"] = frozenset(lights)
    out.present["camera"] = frozenset(cameras)
    return users


_OBJECT_LABEL = {"LIGHT": "light object", "CAMERA": "camera object"}


def _name(datablock) -> str | None:
    return None if datablock is None else datablock.name


def _capture_data(scene, out: Capture, users: dict[int, list[tuple[str, str]]]) -> None:
    entries, present = out.entries, out.present
    for coll in scene.collection.children_recursive:
        entries[f"collection {coll.name!r}"] = Entry(
            ("objects",), tuple(sorted(c.name for c in coll.children))
        )
    for mesh in bpy.data.meshes:
        refs = tuple(users.get(mesh.as_pointer(), ()))
        name = repr(mesh.name)
        geometry, material_indices = _mesh_fps(mesh)
        entries[f"mesh {name}"] = Entry(("meshes",), geometry, refs)
        entries[f"material indices of mesh {name}"] = Entry(
            ("materials",),
            (material_indices, tuple(m.name if m else None for m in mesh.materials)),
            refs,
        )
    names = []
    for mat in bpy.data.materials:
        names.append(mat.name)
        entries[f"material {mat.name!r}"] = Entry(
            ("materials",),
            (
                _r(mat.diffuse_color),
                round(mat.roughness, DIGITS),
                round(mat.metallic, DIGITS),
                getattr(mat, "blend_method", None),
                _node_tree_fp(mat.node_tree),
            ),
            (("materials", mat.name),),
        )
    present["materials"] = frozenset(names)
    for group in bpy.data.node_groups:
        scopes = ("modifiers",) if group.bl_idname == "GeometryNodeTree" else ("materials",)
        entries[f"node group {group.name!r}"] = Entry(scopes, _node_tree_fp(group))
    for light in bpy.data.lights:
        refs = (("lights", light.name),) if light.name in present["lights"] else ()
        entries[f"light {light.name!r}"] = Entry(
            ("lights",), (_struct_fp(light), _node_tree_fp(light.node_tree)), refs
        )
    for cam in bpy.data.cameras:
        refs = (("camera", cam.name),) if cam.name in present["camera"] else ()
        entries[f"camera {cam.name!r}"] = Entry(
            ("camera",), (_struct_fp(cam), _struct_fp(cam.dof)), refs
        )
    camera = scene.camera
    refs = ()
    if camera is not None and camera.type == "CAMERA" and camera.data is not None:
        refs = (("camera", camera.data.name),)
    entries["scene camera"] = Entry(("camera",), camera.name if camera else None, refs)
    names = []
    for world in bpy.data.worlds:
        names.append(world.name)
        entries[f"world {world.name!r}"] = Entry(
            ("world",),
            (_r(world.color), _node_tree_fp(world.node_tree)),
            (("world", world.name),),
        )
    present["world"] = frozenset(names)
    world = scene.world
    entries["scene world"] = Entry(
        ("world",), world.name if world else None, (("world", world.name),) if world else ()
    )
    physics = _physics_collections()
    for attr, scopes in scope.DATABLOCK_SCOPES.items():
        collection = getattr(bpy.data, attr, None)
        if collection is not None:
            for item in collection:
                if item.library is None:
                    rigid = attr == "collections" and item.as_pointer() in physics
                    own = scope.PHYSICS_SCOPES if rigid else scopes
                    entries[f"{attr[:-1]} {item.name!r}"] = Entry(own, "exists")


def _capture_settings(scene, out: Capture) -> None:
    structs = []
    for attr in scope.SETTINGS:
        struct = getattr(scene, attr, None)
        if struct is not None:
            structs.append(attr)
            value = rna.props(struct, skip=rna.SKIP_SETTINGS, depth=rna.MAX_DEPTH, leaf=rna.freeze)
            out.entries[f"{attr} settings"] = Entry(("render",), value, (("render", attr),))
    world = scene.rigidbody_world
    if world is not None:
        cache = world.point_cache
        out.entries["rigid body world"] = Entry(
            scope.PHYSICS_SCOPES,
            (
                _struct_fp(world),
                tuple(getattr(cache, a) for a in ("frame_start", "frame_end", "use_disk_cache")),
            ),
        )
    out.entries["frame range"] = Entry(
        ("render", "animation"),
        {a: getattr(scene, a) for a in ("frame_start", "frame_end", "frame_current")},
        (("render", "scene"),),
    )
    out.present["render"] = frozenset(structs + ["scene"])


# ----------------------------------------------------------------------------- diff
def diff(before: Capture, after: Capture) -> Diff:
    """Every entry created, changed or removed from ``before`` to ``after``, and the change
    report derived from them (see the module docstring)."""
    old, new = before.entries, after.entries
    changes = []
    for label, b in new.items():
        a = old.get(label)
        if a is None:
            changes.append(Change("created", label, b.scopes, b.value, b.refs))
        elif a.value != b.value:
            refs = a.refs if a.refs == b.refs else tuple(dict.fromkeys(a.refs + b.refs))
            changes.append(Change("changed", label, b.scopes, b.value, refs))
    for label in old.keys() - new.keys():
        a = old[label]
        changes.append(Change("removed", label, a.scopes, a.value, a.refs))
    changes.sort(key=lambda c: c.label)
    return Diff(changes, _report(before, after, changes))


def _report(before: Capture, after: Capture, changes: list[Change]) -> dict:
    report = empty_report()
    changed = {key: set() for key in REPORT_KEYS}
    for change in changes:
        for kind, name in change.refs:
            if name not in before.present.get(kind, ()) or name not in after.present.get(kind, ()):
                continue  # created or removed: said so below
            if kind == "render" and change.verb == "changed":
                a, b = before.entries[change.label].value, after.entries[change.label].value
                changed[kind].update(_paths(a, b, "" if name == "scene" else name) or [name])
            else:
                changed[kind].add(name)
    for key in REPORT_KEYS:
        was, now = before.present.get(key, frozenset()), after.present.get(key, frozenset())
        report["created"][key] = sorted(now - was)
        report["removed"][key] = sorted(was - now)
        report["changed"][key] = sorted(changed[key])
    return report


def _paths(a, b, prefix: str) -> list[str]:
    """The dotted paths at which two nested dicts of settings differ ("view_settings.exposure";
    "frame_end" for the scene's own, whose prefix is empty)."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [prefix] if a != b else []
    out = []
    for key in sorted(a.keys() | b.keys()):
        if a.get(key) != b.get(key):
            out += _paths(a.get(key), b.get(key), f"{prefix}.{key}" if prefix else key)
    return out
