"""Materials, shader node groups and node trees as scene.py code.

Nodes are written by ``bl_idname``/name and sockets by *identifier* with the socket name as a
fallback (``add_node``/``link`` in ``runtime``), so a file written by Blender 5.2 rebuilds in 4.2
where the nodes and sockets exist. Node-group interface sockets are created in identifier order;
scene.py maps the identifiers Blender hands out to the ones written here.
"""

from __future__ import annotations

import functools
from typing import Any

import bpy

from .literals import list_lit, lit, lit_dict, q
from .output import Output
from .props import ALWAYS_SKIP, SIMPLE_TYPES, changed_props, prop_value, simple_props

VALUE_OUTPUT_NODES = {"ShaderNodeValue", "ShaderNodeRGB", "ShaderNodeNormal"}
# Node pointers whose defaults are fine; rarely edited by the agent.
IGNORED_POINTERS = {"texture_mapping", "color_mapping", "image_user", "interface", "panel_states"}


@functools.cache
def _node_base() -> frozenset[str]:
    """Properties every node has (location, name, ...): written separately or not at all."""
    return frozenset(p.identifier for p in bpy.types.Node.bl_rna.properties)


def uses_nodes(block: Any) -> bool:
    """Whether a material or world renders with its node tree."""
    if block is None or block.node_tree is None:
        return False
    if bpy.app.version >= (5, 0, 0):
        return True  # use_nodes is always on (and deprecated) from 5.0
    return bool(block.use_nodes)


def used_materials(objects: list[bpy.types.Object]) -> list[bpy.types.Material]:
    """Materials in the objects' slots and data, in first-use order."""
    seen, result = set(), []
    for obj in objects:
        for slot in getattr(obj, "material_slots", ()):
            if slot.material is not None and slot.material.name not in seen:
                seen.add(slot.material.name)
                result.append(slot.material)
        data = obj.data
        for material in getattr(data, "materials", ()) or ():
            if material is not None and material.name not in seen:
                seen.add(material.name)
                result.append(material)
    return result


def used_node_groups(trees: list[bpy.types.NodeTree]) -> list[bpy.types.NodeTree]:
    """Node groups used by the trees (recursively), dependencies first."""
    ordered: list[bpy.types.NodeTree] = []

    def visit(tree: bpy.types.NodeTree) -> None:
        for node in tree.nodes:
            group = getattr(node, "node_tree", None)
            if isinstance(group, bpy.types.NodeTree) and group not in ordered:
                visit(group)
                ordered.append(group)

    for tree in trees:
        visit(tree)
    return ordered


def owner_expr(node: bpy.types.Node) -> str:
    """scene.py expression for ``node`` in its material, world or node group."""
    tree = node.id_data
    if isinstance(tree, bpy.types.NodeTree) and tree.is_embedded_data:
        for material in bpy.data.materials:
            if material.node_tree == tree:
                return f"bpy.data.materials[{material.name!r}].node_tree.nodes[{node.name!r}]"
        for world in bpy.data.worlds:
            if world.node_tree == tree:
                return f"bpy.data.worlds[{world.name!r}].node_tree.nodes[{node.name!r}]"
    return f"bpy.data.node_groups[{tree.name!r}].nodes[{node.name!r}]"


def _identifier_number(identifier: str) -> tuple[int, str]:
    tail = identifier.rsplit("_", 1)[-1]
    return (int(tail), identifier) if tail.isdigit() else (1 << 30, identifier)


def _socket_values(out: Output, sockets: Any, unlinked_only: bool) -> list[str]:
    """(identifier, name, value) literals of the sockets' default values."""
    values = []
    for socket in sockets:
        if unlinked_only and socket.is_linked:
            continue
        if not hasattr(socket, "default_value"):
            continue
        try:
            value = socket.default_value
        except Exception:  # noqa: BLE001
            continue
        if isinstance(value, bpy.types.ID) or value is None:
            if value is not None:
                out.skipped.append(
                    f"socket {socket.identifier!r} of node {socket.node.name!r} points at "
                    f"{value.name!r} (data-block sockets are not written)"
                )
            continue
        if not isinstance(value, (bool, int, float, str)):
            try:
                value = tuple(value)
            except TypeError:
                continue
        values.append(f"({socket.identifier!r}, {socket.name!r}, {lit(value)})")
    return values


def _image_var(out: Output, image: bpy.types.Image | None, where: str) -> str | None:
    """Emit the image once (loaded from its file, or generated); the variable holding it."""
    if image is None:
        return None
    if image.name in out.images:
        return out.images[image.name]
    var = f"image_{len(out.images)}"
    props = simple_props(image, only={"alpha_mode", "use_half_precision"})
    try:
        colorspace = image.colorspace_settings.name
    except Exception:  # noqa: BLE001
        colorspace = None
    what = q(f"image {image.name}")
    if image.packed_file is not None or image.source not in {"FILE", "SEQUENCE", "MOVIE"}:
        if image.source != "GENERATED":
            out.skipped.append(
                f"image {image.name!r} used by {where} is packed/in memory; "
                "its node is kept without an image"
            )
            return None
        out.emit(f"{var} = bpy.data.images.new({image.name!r}, {image.size[0]}, {image.size[1]})")
        generated = (
            f"{{'generated_type': {image.generated_type!r}, "
            f"'generated_color': {lit(tuple(image.generated_color))}}}"
        )
        out.emit(f"set_props({var}, {generated}, {what})")
    else:
        path = bpy.path.abspath(image.filepath, library=image.library)
        out.emit(f"{var} = load_image({path!r}, {image.name!r}, {lit_dict(props)})")
        if colorspace:
            out.emit(
                f"if {var}: set_props({var}.colorspace_settings, {{'name': {colorspace!r}}}, {what})"
            )
    out.images[image.name] = var
    return var


def write_tree(out: Output, tree: bpy.types.NodeTree, var: str, owner: str) -> None:
    """Emit code that rebuilds ``tree`` (already created and bound to ``var``)."""
    base = _node_base()
    out.emit(f"clear_tree({var})")
    for node in tree.nodes:
        props, pointers = {}, []
        for prop in node.bl_rna.properties:
            key = prop.identifier
            if key in base:
                continue
            if prop.type == "POINTER":
                pointers.append(key)
                continue
            if prop.is_readonly or prop.type not in SIMPLE_TYPES or key in ALWAYS_SKIP:
                continue
            try:
                props[key] = prop_value(node, prop)
            except Exception:  # noqa: BLE001
                continue
        for key in ("label", "hide", "mute", "width"):
            value = getattr(node, key)
            if key == "width" or value:
                props[key] = value
        inputs = _socket_values(out, node.inputs, True)
        outputs = (
            _socket_values(out, node.outputs, False) if node.bl_idname in VALUE_OUTPUT_NODES else []
        )
        args = [var, repr(node.bl_idname), repr(node.name), lit(tuple(node.location))]
        text = f"node = add_node({', '.join(args)},\n    props={lit_dict(props)}"
        group = getattr(node, "node_tree", None)
        if isinstance(group, bpy.types.NodeTree):
            text += f", group={group.name!r}"
            pointers.remove("node_tree")
        if inputs:
            text += ",\n    inputs=" + list_lit(inputs, "    ")
        if outputs:
            text += ",\n    outputs=" + list_lit(outputs, "    ")
        out.emit(text + ")")
        _write_node_pointers(out, node, pointers, owner)
    for node in tree.nodes:
        if node.parent is not None:
            out.emit(f"{var}.nodes[{node.name!r}].parent = {var}.nodes[{node.parent.name!r}]")
    for link in tree.links:
        if not link.is_valid:
            continue
        a, b = link.from_socket, link.to_socket
        out.emit(
            f"link({var}, {link.from_node.name!r}, ({a.identifier!r}, {a.name!r}), "
            f"{link.to_node.name!r}, ({b.identifier!r}, {b.name!r}))"
        )


def _write_node_pointers(
    out: Output, node: bpy.types.Node, pointers: list[str], owner: str
) -> None:
    """Colour ramps, curve mappings, images and objects a node points at."""
    where = f"node {node.name!r} of {owner}"
    for key in pointers:
        value = getattr(node, key, None)
        if value is None:
            continue
        if key == "color_ramp":
            elements = ", ".join(
                f"({lit(e.position)}, {lit(tuple(e.color))})" for e in value.elements
            )
            props = simple_props(value, only={"interpolation", "color_mode", "hue_interpolation"})
            out.emit(f"if node: color_ramp(node, {lit_dict(props)}, [{elements}])")
        elif key == "mapping" and hasattr(value, "curves"):
            curves = [
                "["
                + ", ".join(
                    f"({lit(p.location[0])}, {lit(p.location[1])}, {p.handle_type!r})"
                    for p in c.points
                )
                + "]"
                for c in value.curves
            ]
            out.emit(f"if node: curve_mapping(node.mapping, [{', '.join(curves)}])")
        elif key == "image" and isinstance(value, bpy.types.Image):
            image_var = _image_var(out, value, where)
            if image_var:
                out.emit(f"if node: node.image = {image_var}")
        elif key == "object" and isinstance(value, bpy.types.Object):
            out.deferred.append(
                f"reference({owner_expr(node)}, 'object', 'objects', {value.name!r}, {where!r})"
            )
        elif key in IGNORED_POINTERS:
            continue
        elif isinstance(value, bpy.types.ID):
            out.skipped.append(f"{where}: pointer {key!r} -> {value.name!r} not written")


def write_node_groups(out: Output, groups: list[bpy.types.NodeTree]) -> None:
    """Each group: its interface sockets, then its nodes and links."""
    if not groups:
        return
    out.section("Shader node groups")
    for group in groups:
        out.emit(f"# Node group {group.name!r}")
        out.emit(f"with block({q(f'node group {group.name}')}):")
        out.emit(f"    group = bpy.data.node_groups.new({group.name!r}, {group.bl_idname!r})")
        # creation order = identifier order, so identifiers usually come out the same
        sockets = [item for item in group.interface.items_tree if item.item_type == "SOCKET"]
        sockets.sort(key=lambda item: _identifier_number(item.identifier))
        if len(sockets) != len(group.interface.items_tree):
            out.skipped.append(
                f"node group {group.name!r}: interface panels not written (sockets are)"
            )
        for item in sockets:
            props = simple_props(
                item, only={"default_value", "min_value", "max_value", "hide_value", "subtype"}
            )
            out.emit(
                f"    group_socket(group, {item.identifier!r}, {item.name!r}, {item.in_out!r}, "
                f"{item.socket_type!r}, {lit_dict(props)})"
            )
        body_start = len(out.lines)
        write_tree(out, group, "group", f"node group {group.name!r}")
        out.indent_from(body_start)


def write_materials(out: Output, materials: list[bpy.types.Material]) -> None:
    """Each material: its changed settings and its node tree."""
    if not materials:
        return
    out.section("Materials")
    for mat in materials:
        fresh = out.fresh.get("materials")
        props = changed_props(mat, fresh, keep={"diffuse_color", "roughness", "metallic"})
        what = q(f"material {mat.name}")
        out.emit("")
        out.emit(f"# Material {mat.name!r}")
        out.emit(f"with block({what}):")
        out.emit(f"    mat = bpy.data.materials.new({mat.name!r})")
        out.emit(f"    set_props(mat, {lit_dict(props)}, {what})")
        if uses_nodes(mat):
            out.emit(
                "    if mat.node_tree is None:  # Blender < 5.0 creates materials without nodes"
            )
            out.emit("        mat.use_nodes = True")
            out.emit("    tree = mat.node_tree")
            start = len(out.lines)
            write_tree(out, mat.node_tree, "tree", f"material {mat.name!r}")
            out.indent_from(start)
