"""The helper library of every generated scene.py (plain Python: bpy, mathutils, stdlib only).

scene.py must run from an empty Blender file without the add-on, so the writer embeds this
module's source, minus this docstring, into each program it writes (see ``program.py``); the
program's own statements then call these helpers. Importing the module has no side effect on
the scene: nothing here runs until a helper is called.

Every helper is forgiving: what cannot be set in the running Blender version is recorded with
``skip()`` and reported once by ``finish()``, and the program carries on with the next item.
Keep this file free of references to the add-on's package name (a test checks that scene.py
never mentions it) and within Python 3.11 (Blender 4.2 LTS).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import bpy
from mathutils import Matrix  # noqa: F401 - scene.py writes parent-inverse matrices with it

SKIPPED: list[str] = []
# (node group, socket identifier in the original file) -> identifier in this Blender
SOCKET_IDS: dict[tuple[str, str], str] = {}


def skip(what: str, reason: object) -> None:
    SKIPPED.append(f"{what}: {reason}")


@contextlib.contextmanager
def block(what: str) -> Iterator[None]:
    """Run one section; on error note it and carry on with the next section."""
    try:
        yield
    except Exception as exc:
        skip(what, f"{type(exc).__name__}: {exc}")


def set_props(owner: Any, props: dict[str, Any], what: str) -> None:
    for key, value in props.items():
        try:
            setattr(owner, key, value)
        except Exception as exc:
            skip(f"{what}.{key}", exc)


def find_socket(node: Any, sockets: Iterable[Any], identifier: str, name: str) -> Any:
    """The socket with this identifier (as renumbered for rebuilt node groups), else by name."""
    group = getattr(node, "node_tree", None) if node.bl_idname.endswith("Group") else None
    if node.bl_idname in ("NodeGroupInput", "NodeGroupOutput"):
        group = node.id_data
    if group is not None:
        identifier = SOCKET_IDS.get((group.name, identifier), identifier)
    sockets = list(sockets)
    for socket in sockets:
        if socket.identifier == identifier:
            return socket
    for socket in sockets:
        if socket.name == name:
            return socket
    return None


def set_sockets(
    node: Any, sockets: Iterable[Any], values: Iterable[tuple[str, str, Any]], what: str
) -> None:
    for identifier, name, value in values:
        socket = find_socket(node, sockets, identifier, name)
        if socket is None:
            skip(f"{what} socket {identifier!r}", "not in this Blender version")
            continue
        try:
            socket.default_value = value
        except Exception as exc:
            skip(f"{what} socket {identifier!r}", exc)


def group_socket(
    group: Any, identifier: str, name: str, in_out: str, socket_type: str, props: dict[str, Any]
) -> None:
    """Add a node-group interface socket; remember its new identifier for links and values."""
    item = group.interface.new_socket(name, in_out=in_out, socket_type=socket_type)
    SOCKET_IDS[(group.name, identifier)] = item.identifier
    set_props(item, props, f"socket {name!r} of group {group.name!r}")


def clear_tree(tree: Any) -> None:
    for node in list(tree.nodes):
        tree.nodes.remove(node)


def add_node(
    tree: Any,
    bl_idname: str,
    name: str,
    location: Sequence[float],
    props: dict[str, Any] | None = None,
    inputs: Iterable[tuple[str, str, Any]] = (),
    outputs: Iterable[tuple[str, str, Any]] = (),
    group: str | None = None,
) -> Any:
    """group: name of the node group a group node uses (set before its sockets exist)."""
    what = f"node {name!r} in {tree.name!r}"
    try:
        node = tree.nodes.new(bl_idname)
    except Exception as exc:
        skip(what, exc)
        return None
    node.name = name
    node.location = location
    set_props(node, props or {}, what)
    if group is not None:
        reference(node, "node_tree", "node_groups", group, what)
    set_sockets(node, node.inputs, inputs, what)
    set_sockets(node, node.outputs, outputs, what)
    return node


def link(
    tree: Any,
    from_node: str,
    from_socket: tuple[str, str],
    to_node: str,
    to_socket: tuple[str, str],
) -> None:
    what = f"link {from_node}.{from_socket[0]} -> {to_node}.{to_socket[0]} in {tree.name!r}"
    a, b = tree.nodes.get(from_node), tree.nodes.get(to_node)
    out = a and find_socket(a, a.outputs, *from_socket)
    inp = b and find_socket(b, b.inputs, *to_socket)
    if out is None or inp is None:
        skip(what, "node or socket missing")
        return
    tree.links.new(out, inp)


def color_ramp(
    node: Any, props: dict[str, Any], elements: Sequence[tuple[float, Sequence[float]]]
) -> None:
    """elements: [(position, (r, g, b, a)), ...]"""
    ramp = node.color_ramp
    set_props(ramp, props, f"colour ramp of {node.name!r}")
    while len(ramp.elements) > 1:
        ramp.elements.remove(ramp.elements[-1])
    ramp.elements[0].position, ramp.elements[0].color = elements[0]
    for position, color in elements[1:]:
        ramp.elements.new(position).color = color


def curve_mapping(mapping: Any, curves: Sequence[Sequence[tuple[float, float, str]]]) -> None:
    """curves: one list of (x, y, handle_type) points per curve of a CurveMapping."""
    for curve, points in zip(mapping.curves, curves, strict=False):
        while len(curve.points) > 2:
            curve.points.remove(curve.points[-1])
        while len(curve.points) < len(points):
            curve.points.new(0.0, 0.0)
        for point, (x, y, handle) in zip(curve.points, points, strict=False):
            point.location = (x, y)
            point.handle_type = handle
    mapping.update()


def load_image(filepath: str, name: str, props: dict[str, Any]) -> Any:
    try:
        image = bpy.data.images.load(filepath, check_existing=True)
    except Exception as exc:
        skip(f"image {name!r}", f"cannot load {filepath!r}: {exc}")
        return None
    image.name = name
    set_props(image, props, f"image {name!r}")
    return image


def groups(flat: Sequence[Any], n: int) -> list[tuple[Any, ...]]:
    return [tuple(flat[i : i + n]) for i in range(0, len(flat), n)]


def new_mesh(
    name: str,
    vertices: Sequence[float],
    faces: Sequence[Sequence[int]],
    edges: Iterable[Sequence[int]] = (),
    smooth: bool | Iterable[int] = False,
    material_indices: Sequence[int] | None = None,
) -> Any:
    """vertices: flat x, y, z list; smooth: bool for all faces or a list of smooth face indices."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(groups(vertices, 3), list(edges), faces)
    if smooth is True:
        mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
    elif smooth:
        for index in smooth:
            mesh.polygons[index].use_smooth = True
    if material_indices:
        mesh.polygons.foreach_set("material_index", material_indices)
    mesh.update()
    return mesh


def add_uv_map(mesh: Any, name: str, uvs: Sequence[float], active: bool = False) -> None:
    """uvs: flat u, v list, one pair per face corner."""
    layer = mesh.uv_layers.new(name=name)
    layer.data.foreach_set("uv", uvs)
    if active:
        mesh.uv_layers.active = layer


def add_attribute(
    mesh: Any, name: str, data_type: str, domain: str, field: str, values: Sequence[Any]
) -> None:
    attribute = mesh.attributes.new(name, data_type, domain)
    attribute.data.foreach_set(field, values)


def new_object(name: str, data: Any, collection: str | None) -> Any:
    obj = bpy.data.objects.new(name, data)
    target = bpy.data.collections.get(collection) if collection else None
    (target or bpy.context.scene.collection).objects.link(obj)
    return obj


def set_engine(render: Any, engine: str) -> None:
    """Engine ids differ by version (EEVEE: BLENDER_EEVEE_NEXT in 4.2, BLENDER_EEVEE in 5.x)."""
    candidates = [engine]
    if engine.startswith("BLENDER_EEVEE"):
        candidates += ["BLENDER_EEVEE_NEXT", "BLENDER_EEVEE"]
    for candidate in candidates:
        try:
            render.engine = candidate
            return
        except Exception:
            continue
    skip("render engine", f"{engine!r} is not available")


def reference(owner: Any, attribute: str, collection: str, name: str, what: str) -> None:
    """Point owner.attribute at bpy.data.<collection>[name] (used once everything exists)."""
    target = getattr(bpy.data, collection).get(name)
    if target is None:
        skip(what, f"{collection} {name!r} missing")
        return
    try:
        setattr(owner, attribute, target)
    except Exception as exc:
        skip(what, exc)


def clear_scene() -> None:
    """Remove the startup file's content so only what follows exists."""
    for collection in (
        bpy.data.objects,
        bpy.data.meshes,
        bpy.data.curves,
        bpy.data.lights,
        bpy.data.cameras,
        bpy.data.materials,
        bpy.data.worlds,
        bpy.data.node_groups,
        bpy.data.images,
        bpy.data.collections,
    ):
        for item in list(collection):
            collection.remove(item)


def finish() -> None:
    """Update world matrices (parents are valid from here on) and print what was skipped."""
    bpy.context.view_layer.update()
    if SKIPPED:
        print(
            f"WARNING: scene.py could not rebuild {len(SKIPPED)} item(s) in Blender "
            f"{bpy.app.version_string}:"
        )
        for item in SKIPPED:
            print("  -", item)
    else:
        print("scene.py: scene rebuilt completely.")


def _override(obj: Any) -> Any:
    return bpy.context.temp_override(object=obj, active_object=obj, selected_objects=[obj])


def add_rigid_world(scene: Any, props: dict[str, Any], cache: dict[str, Any]) -> None:
    """The scene's rigid-body world with these settings and cache frame range."""
    if scene.rigidbody_world is None:
        with bpy.context.temp_override(scene=scene):
            bpy.ops.rigidbody.world_add()
    set_props(scene.rigidbody_world, props, "rigid-body world")
    set_props(scene.rigidbody_world.point_cache, cache, "rigid-body cache")


def add_rigid_body(name: str, props: dict[str, Any]) -> None:
    """A rigid body on object ``name`` (Blender gives one only through its operator)."""
    obj = bpy.data.objects[name]
    if obj.rigid_body is None:
        with _override(obj):
            bpy.ops.rigidbody.object_add(type=props.get("type", "ACTIVE"))
    set_props(obj.rigid_body, props, f"rigid body of {name}")


def add_rigid_constraint(name: str, props: dict[str, Any], ends: Sequence[Any]) -> None:
    obj = bpy.data.objects[name]
    if obj.rigid_body_constraint is None:
        with _override(obj):
            bpy.ops.rigidbody.constraint_add(type=props.get("type", "FIXED"))
    set_props(obj.rigid_body_constraint, props, f"rigid body constraint of {name}")
    for attribute, end in zip(("object1", "object2"), ends, strict=False):
        if end is not None:
            reference(obj.rigid_body_constraint, attribute, "objects", end, f"{name}.{attribute}")


def add_field(name: str, props: dict[str, Any]) -> None:
    obj = bpy.data.objects[name]
    if obj.field is None or obj.field.type == "NONE":
        with _override(obj):
            bpy.ops.object.forcefield_toggle()
    set_props(obj.field, {"type": props.pop("type", "FORCE"), **props}, f"force field of {name}")


def _fcurves(obj: Any) -> list:
    data = obj.animation_data
    action = data.action if data is not None else None
    if action is None:
        return []
    if getattr(action, "fcurves", None) is not None and not getattr(action, "layers", None):
        return list(action.fcurves)
    out = []
    for layer in action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(data.action_slot) if data.action_slot is not None else None
            if bag is not None:
                out.extend(bag.fcurves)
    return out


def add_keys(name: str, path: str, index: int, rows: Sequence[Sequence[Any]]) -> None:
    """Keyframes ``(frame, value, interpolation)`` of ``path`` (``index`` of an array) on
    object ``name``, inserted as Blender's keyframe_insert would."""
    obj = bpy.data.objects[name]
    head, _, attribute = path.rpartition(".")
    owner = obj.path_resolve(head) if head else obj
    for frame, value, _interpolation in rows:
        current = getattr(owner, attribute)
        if hasattr(current, "__len__") and not isinstance(current, str):
            current[index] = value
        else:
            kind = type(current)
            setattr(owner, attribute, kind(value) if kind in (bool, int) else value)
        obj.keyframe_insert(path, index=index if hasattr(current, "__len__") else -1, frame=frame)
    for curve in _fcurves(obj):
        if curve.data_path == path and curve.array_index == max(index, 0):
            for point, row in zip(curve.keyframe_points, rows, strict=False):
                point.interpolation = row[2]
