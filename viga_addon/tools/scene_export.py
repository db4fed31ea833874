"""Write scene.py: a standalone program that rebuilds the current Blender scene from nothing.

``write_scene_py(path)`` inspects ``bpy.context.scene`` and writes Python source that, run in a
fresh Blender (``blender -b --factory-startup --python scene.py`` or ``python scene.py`` with the
``bpy`` module), removes the startup data and recreates: collections; every object with its name,
type, parent, transform and visibility; mesh data as literal vertices/edges/faces with smooth
flags, per-face material indices, UV maps and other simple attributes; modifiers (type and simple
RNA properties; object/collection pointers resolved by name at the end); curves and text objects
(best effort: spline points, bezier handles and the simple properties of the curve/text data,
fonts by file path); empties; lights; cameras and ``scene.camera``; material slots; materials,
shader node groups and the world with their node trees serialized generically; render settings
and colour management.

Node trees are written by node ``bl_idname``/name and by socket *identifier* (with the socket
name as a fallback), so a file written by Blender 5.2 rebuilds in 4.2 where the nodes and sockets
exist. Everything that cannot be set is caught and listed in one printed warning at the end of
the run; the program never stops half way. Things that are not reproduced (animation,
constraints, shape keys, vertex groups, geometry-node modifiers, packed images, object types
other than mesh/curve/text/empty/light/camera which become empties) are listed in the
``skipped`` field of the result and in a comment at the top of scene.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy

TRIPLE_DOUBLE, TRIPLE_SINGLE = '"' * 3, "'" * 3
SIMPLE_TYPES = {"BOOLEAN", "INT", "FLOAT", "STRING", "ENUM"}
# Properties never written: identity/bookkeeping of IDs, UI state, values derived from others.
ALWAYS_SKIP = {
    "rna_type",
    "name",
    "type",
    "use_fake_user",
    "use_extra_user",
    "is_runtime_data",
    "tag",
    "is_active",
    "show_expanded",
    "use_nodes",
    "select",
    "is_evaluated",
    "is_missing",
    "session_uid",
    "name_full",
    "id_type",
    "is_library_indirect",
    "is_embedded_data",
}
CAMERA_SKIP = {"angle", "angle_x", "angle_y", "custom_bytecode", "custom_bytecode_hash"}
LIGHT_KEYS = ("energy", "color", "shadow_soft_size", "use_shadow")
LIGHT_KEYS_BY_TYPE = {
    "SUN": ("angle",),
    "SPOT": ("spot_size", "spot_blend", "show_cone"),
    "AREA": ("shape", "size", "size_y"),
    "POINT": (),
}
CAMERA_KEYS = (
    "type",
    "lens",
    "lens_unit",
    "sensor_fit",
    "sensor_width",
    "sensor_height",
    "clip_start",
    "clip_end",
    "ortho_scale",
    "shift_x",
    "shift_y",
)
RENDER_KEYS = (
    "engine",
    "resolution_x",
    "resolution_y",
    "resolution_percentage",
    "film_transparent",
    "pixel_aspect_x",
    "pixel_aspect_y",
    "fps",
    "use_persistent_data",
)
CYCLES_KEYS = (
    "device",
    "samples",
    "preview_samples",
    "seed",
    "use_animated_seed",
    "use_denoising",
    "use_adaptive_sampling",
    "adaptive_threshold",
    "adaptive_min_samples",
    "time_limit",
    "max_bounces",
    "diffuse_bounces",
    "glossy_bounces",
    "transmission_bounces",
    "volume_bounces",
    "transparent_max_bounces",
    "sample_clamp_direct",
    "sample_clamp_indirect",
    "blur_glossy",
    "caustics_reflective",
    "caustics_refractive",
    "pixel_filter_type",
    "filter_width",
    "film_exposure",
    "use_light_tree",
)
VIEW_KEYS = ("view_transform", "look", "exposure", "gamma", "use_curve_mapping")
# Object flags written when they differ from a new object with the same data.
OBJECT_FLAGS = (
    "hide_render",
    "hide_viewport",
    "hide_select",
    "visible_camera",
    "visible_diffuse",
    "visible_glossy",
    "visible_transmission",
    "visible_volume_scatter",
    "visible_shadow",
    "is_shadow_catcher",
    "is_holdout",
    "display_type",
    "pass_index",
    "show_in_front",
)
VALUE_OUTPUT_NODES = {"ShaderNodeValue", "ShaderNodeRGB", "ShaderNodeNormal"}
INTERNAL_ATTRIBUTES = {"position", "sharp_face", "material_index"}
ATTRIBUTE_FIELDS = {
    "FLOAT": "value",
    "INT": "value",
    "BOOLEAN": "value",
    "INT8": "value",
    "FLOAT_VECTOR": "vector",
    "FLOAT2": "vector",
    "FLOAT_COLOR": "color",
    "BYTE_COLOR": "color",
}


# ---------------------------------------------------------------------------------------------
# Literals


def _f32(value: float) -> str:
    """Shortest decimal that reads back as the same float32 (Blender stores float32)."""
    if math.isinf(value) or math.isnan(value):
        return f"float('{value}')"
    import struct

    target = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(6, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == target:
            break
    if "e" not in text and "." not in text and "inf" not in text:
        text += ".0"
    return text


def _g6(value: float) -> str:
    """Compact bulk-data float: 6 significant digits, no trailing '.0'."""
    text = f"{value:.6g}"
    return "0" if text == "-0" else text


def lit(value) -> str:
    """Python source for a property value (numbers, strings, enums, vectors, colours, sets)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return _f32(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(repr(v) for v in sorted(value)) + "}" if value else "set()"
    try:
        items = list(value)
    except TypeError:
        return repr(value)
    inner = ", ".join(lit(v) for v in items)
    return f"({inner},)" if len(items) == 1 else f"({inner})"


def _wrap(tokens: list[str], indent: str, width: int = 100) -> str:
    """Join tokens with ', ' over several lines no wider than ``width``."""
    lines, current = [], indent
    for token in tokens:
        piece = token + ", "
        if len(current) + len(piece) > width and current.strip():
            lines.append(current.rstrip())
            current = indent
        current += piece
    if current.strip():
        lines.append(current.rstrip())
    return "\n".join(lines)


def _list_lit(tokens: list[str], indent: str) -> str:
    if not tokens:
        return "[]"
    return "[\n" + _wrap(tokens, indent + "    ") + "\n" + indent + "]"


# ---------------------------------------------------------------------------------------------
# Reading RNA


def _prop_value(owner, prop):
    value = getattr(owner, prop.identifier)
    if prop.type == "ENUM" and prop.is_enum_flag:
        return set(value)
    if prop.type in {"FLOAT", "INT", "BOOLEAN"} and getattr(prop, "array_length", 0) > 0:
        return tuple(value)
    return value


def simple_props(owner, skip=(), only=None) -> dict:
    """Writable simple RNA properties (bool/int/float/string/enum, arrays included)."""
    result = {}
    for prop in owner.bl_rna.properties:
        key = prop.identifier
        if prop.is_readonly or prop.type not in SIMPLE_TYPES or key in ALWAYS_SKIP or key in skip:
            continue
        if only is not None and key not in only:
            continue
        if getattr(prop, "is_hidden", False):
            continue
        try:
            result[key] = _prop_value(owner, prop)
        except Exception:  # noqa: BLE001 - some props raise on read in a given context
            continue
    return result


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) <= 1e-7 * max(1.0, abs(float(a)))
        except (TypeError, ValueError):
            return False
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def changed_props(owner, fresh, keep=(), skip=()) -> dict:
    """Simple props of ``owner`` that differ from ``fresh`` (a new datablock), plus ``keep``."""
    mine = simple_props(owner, skip)
    base = simple_props(fresh, skip) if fresh is not None else {}
    return {k: v for k, v in mine.items() if k in keep or k not in base or not _same(v, base[k])}


class _Fresh:
    """New, default datablocks to diff against (so scene.py only lists what was changed)."""

    def __init__(self):
        self.made = []
        self.cache = {}

    def get(self, kind: str, subtype: str | None = None):
        key = (kind, subtype)
        if key not in self.cache:
            collection = getattr(bpy.data, kind)
            block = (
                collection.new("__viga_fresh__", subtype)
                if subtype
                else collection.new("__viga_fresh__")
            )
            self.made.append((collection, block))
            self.cache[key] = block
        return self.cache[key]

    def free(self):
        for collection, block in reversed(self.made):
            try:
                collection.remove(block)
            except Exception:  # noqa: BLE001
                pass
        self.made.clear()
        self.cache.clear()


# ---------------------------------------------------------------------------------------------
# Program text: helpers that scene.py carries with it (it must not need the add-on)

HEADER = '''\
r"""{title}

Generated by viga_addon (tools/scene_export.py) with Blender {version}.
Run in a fresh Blender:  blender -b --factory-startup --python scene.py
                     or  python scene.py   (with the bpy module installed)
It removes the startup scene's content and rebuilds the scene from nothing. Whatever cannot be
set in the running Blender version is listed in one warning at the end; the rest still builds.
{notes}"""

import contextlib

import bpy
from mathutils import Matrix

SKIPPED = []
SOCKET_IDS = {{}}  # (node group, socket identifier in the original file) -> identifier here


def skip(what, reason):
    SKIPPED.append(f"{{what}}: {{reason}}")


@contextlib.contextmanager
def block(what):
    """Run one section; on error note it and carry on with the next section."""
    try:
        yield
    except Exception as exc:
        skip(what, f"{{type(exc).__name__}}: {{exc}}")


def set_props(owner, props, what):
    for key, value in props.items():
        try:
            setattr(owner, key, value)
        except Exception as exc:
            skip(f"{{what}}.{{key}}", exc)


def find_socket(node, sockets, identifier, name):
    """The socket with this identifier (as renumbered for rebuilt node groups), else by name."""
    group = getattr(node, "node_tree", None) if node.bl_idname.endswith("Group") else None
    if node.bl_idname in ("NodeGroupInput", "NodeGroupOutput"):
        group = node.id_data
    if group is not None:
        identifier = SOCKET_IDS.get((group.name, identifier), identifier)
    for socket in sockets:
        if socket.identifier == identifier:
            return socket
    for socket in sockets:
        if socket.name == name:
            return socket
    return None


def set_sockets(node, sockets, values, what):
    for identifier, name, value in values:
        socket = find_socket(node, sockets, identifier, name)
        if socket is None:
            skip(f"{{what}} socket {{identifier!r}}", "not in this Blender version")
            continue
        try:
            socket.default_value = value
        except Exception as exc:
            skip(f"{{what}} socket {{identifier!r}}", exc)


def group_socket(group, identifier, name, in_out, socket_type, props):
    """Add a node-group interface socket; remember its new identifier for links and values."""
    item = group.interface.new_socket(name, in_out=in_out, socket_type=socket_type)
    SOCKET_IDS[(group.name, identifier)] = item.identifier
    set_props(item, props, f"socket {{name!r}} of group {{group.name!r}}")


def clear_tree(tree):
    for node in list(tree.nodes):
        tree.nodes.remove(node)


def add_node(tree, bl_idname, name, location, props=None, inputs=(), outputs=(), group=None):
    """group: name of the node group a group node uses (set before its sockets exist)."""
    what = f"node {{name!r}} in {{tree.name!r}}"
    try:
        node = tree.nodes.new(bl_idname)
    except Exception as exc:
        skip(what, exc)
        return None
    node.name = name
    node.location = location
    set_props(node, props or {{}}, what)
    if group is not None:
        reference(node, "node_tree", "node_groups", group, what)
    set_sockets(node, node.inputs, inputs, what)
    set_sockets(node, node.outputs, outputs, what)
    return node


def link(tree, from_node, from_socket, to_node, to_socket):
    what = f"link {{from_node}}.{{from_socket[0]}} -> {{to_node}}.{{to_socket[0]}} in {{tree.name!r}}"
    a, b = tree.nodes.get(from_node), tree.nodes.get(to_node)
    out = a and find_socket(a, a.outputs, *from_socket)
    inp = b and find_socket(b, b.inputs, *to_socket)
    if out is None or inp is None:
        skip(what, "node or socket missing")
        return
    tree.links.new(out, inp)


def color_ramp(node, props, elements):
    """elements: [(position, (r, g, b, a)), ...]"""
    ramp = node.color_ramp
    set_props(ramp, props, f"colour ramp of {{node.name!r}}")
    while len(ramp.elements) > 1:
        ramp.elements.remove(ramp.elements[-1])
    ramp.elements[0].position, ramp.elements[0].color = elements[0]
    for position, color in elements[1:]:
        ramp.elements.new(position).color = color


def curve_mapping(mapping, curves):
    """curves: one list of (x, y, handle_type) points per curve of a CurveMapping."""
    for curve, points in zip(mapping.curves, curves):
        while len(curve.points) > 2:
            curve.points.remove(curve.points[-1])
        while len(curve.points) < len(points):
            curve.points.new(0.0, 0.0)
        for point, (x, y, handle) in zip(curve.points, points):
            point.location = (x, y)
            point.handle_type = handle
    mapping.update()


def load_image(filepath, name, props):
    try:
        image = bpy.data.images.load(filepath, check_existing=True)
    except Exception as exc:
        skip(f"image {{name!r}}", f"cannot load {{filepath!r}}: {{exc}}")
        return None
    image.name = name
    set_props(image, props, f"image {{name!r}}")
    return image


def groups(flat, n):
    return [tuple(flat[i : i + n]) for i in range(0, len(flat), n)]


def new_mesh(name, vertices, faces, edges=(), smooth=False, material_indices=None):
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


def add_uv_map(mesh, name, uvs, active=False):
    """uvs: flat u, v list, one pair per face corner."""
    layer = mesh.uv_layers.new(name=name)
    layer.data.foreach_set("uv", uvs)
    if active:
        mesh.uv_layers.active = layer


def add_attribute(mesh, name, data_type, domain, field, values):
    attribute = mesh.attributes.new(name, data_type, domain)
    attribute.data.foreach_set(field, values)


def new_object(name, data, collection):
    obj = bpy.data.objects.new(name, data)
    target = bpy.data.collections.get(collection) if collection else None
    (target or bpy.context.scene.collection).objects.link(obj)
    return obj


def set_engine(render, engine):
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
    skip("render engine", f"{{engine!r}} is not available")


def reference(owner, attribute, collection, name, what):
    """Point owner.attribute at bpy.data.<collection>[name] (used once everything exists)."""
    target = getattr(bpy.data, collection).get(name)
    if target is None:
        skip(what, f"{{collection}} {{name!r}} missing")
        return
    try:
        setattr(owner, attribute, target)
    except Exception as exc:
        skip(what, exc)


def clear_scene():
    """Remove the startup file's content so only what follows exists."""
    for collection in (
        bpy.data.objects, bpy.data.meshes, bpy.data.curves, bpy.data.lights, bpy.data.cameras,
        bpy.data.materials, bpy.data.worlds, bpy.data.node_groups, bpy.data.images,
        bpy.data.collections,
    ):
        for item in list(collection):
            collection.remove(item)


clear_scene()
scene = bpy.context.scene
'''

FOOTER = """
bpy.context.view_layer.update()  # world matrices of parented objects are valid from here on

if SKIPPED:
    print(f"WARNING: scene.py could not rebuild {len(SKIPPED)} item(s) in Blender "
          f"{bpy.app.version_string}:")
    for item in SKIPPED:
        print("  -", item)
else:
    print("scene.py: scene rebuilt completely.")
"""


# ---------------------------------------------------------------------------------------------
# Writers


class _Writer:
    def __init__(self, scene):
        self.scene = scene
        self.lines: list[str] = []
        self.skipped: list[str] = []
        self.deferred: list[str] = []
        self.fresh = _Fresh()
        self.written_data: set[tuple[str, str]] = set()
        self.images: dict[str, str] = {}

    def emit(self, text: str = ""):
        self.lines.append(text)

    def section(self, title: str):
        self.emit("")
        self.emit("")
        self.emit(f"# {'=' * 95}")
        self.emit(f"# {title}")

    # --- node trees ----------------------------------------------------------------------

    _NODE_BASE = None

    def _node_base(self) -> set[str]:
        if _Writer._NODE_BASE is None:
            _Writer._NODE_BASE = {p.identifier for p in bpy.types.Node.bl_rna.properties}
        return _Writer._NODE_BASE

    def _socket_values(self, sockets, linked_only_unlinked: bool) -> list[str]:
        values = []
        for socket in sockets:
            if linked_only_unlinked and socket.is_linked:
                continue
            if not hasattr(socket, "default_value"):
                continue
            try:
                value = socket.default_value
            except Exception:  # noqa: BLE001
                continue
            if isinstance(value, bpy.types.ID) or value is None:
                if value is not None:
                    self.skipped.append(
                        f"socket {socket.identifier!r} of node {socket.node.name!r} points at {value.name!r} (data-block sockets are not written)"
                    )
                continue
            if not isinstance(value, (bool, int, float, str)):
                try:
                    value = tuple(value)
                except TypeError:
                    continue
            values.append(f"({socket.identifier!r}, {socket.name!r}, {lit(value)})")
        return values

    def _image_var(self, image, where: str) -> str | None:
        if image is None:
            return None
        if image.name in self.images:
            return self.images[image.name]
        var = f"image_{len(self.images)}"
        props = simple_props(image, only={"alpha_mode", "use_half_precision"})
        try:
            props_cs = image.colorspace_settings.name
        except Exception:  # noqa: BLE001
            props_cs = None
        if image.packed_file is not None or image.source not in {"FILE", "SEQUENCE", "MOVIE"}:
            if image.source == "GENERATED":
                self.emit(
                    f"{var} = bpy.data.images.new({image.name!r}, {image.size[0]}, {image.size[1]})"
                )
                self.emit(
                    f"set_props({var}, {{'generated_type': {image.generated_type!r}, 'generated_color': {lit(tuple(image.generated_color))}}}, {_q(f'image {image.name}')})"
                )
            else:
                self.skipped.append(
                    f"image {image.name!r} used by {where} is packed/in memory; its node is kept without an image"
                )
                return None
        else:
            path = bpy.path.abspath(image.filepath, library=image.library)
            self.emit(f"{var} = load_image({path!r}, {image.name!r}, {lit_dict(props)})")
            if props_cs:
                self.emit(
                    f"if {var}: set_props({var}.colorspace_settings, {{'name': {props_cs!r}}}, {_q(f'image {image.name}')})"
                )
        self.images[image.name] = var
        return var

    def write_tree(self, tree, var: str, owner: str):
        """Emit code that rebuilds ``tree`` (already created and bound to ``var``)."""
        base = self._node_base()
        self.emit(f"clear_tree({var})")
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
                    props[key] = _prop_value(node, prop)
                except Exception:  # noqa: BLE001
                    continue
            for key in ("label", "hide", "mute", "width"):
                value = getattr(node, key)
                if key == "width" or value:
                    props[key] = value
            inputs = self._socket_values(node.inputs, True)
            outputs = (
                self._socket_values(node.outputs, False)
                if node.bl_idname in VALUE_OUTPUT_NODES
                else []
            )
            args = [var, repr(node.bl_idname), repr(node.name), lit(tuple(node.location))]
            text = f"node = add_node({', '.join(args)},\n    props={lit_dict(props)}"
            group = getattr(node, "node_tree", None)
            if isinstance(group, bpy.types.NodeTree):
                text += f", group={group.name!r}"
                pointers.remove("node_tree")
            if inputs:
                text += ",\n    inputs=" + _list_lit(inputs, "    ")
            if outputs:
                text += ",\n    outputs=" + _list_lit(outputs, "    ")
            self.emit(text + ")")
            self._write_node_pointers(node, pointers, owner)
        for node in tree.nodes:
            if node.parent is not None:
                self.emit(f"{var}.nodes[{node.name!r}].parent = {var}.nodes[{node.parent.name!r}]")
        for link_ in tree.links:
            if not link_.is_valid:
                continue
            a, b = link_.from_socket, link_.to_socket
            self.emit(
                f"link({var}, {link_.from_node.name!r}, ({a.identifier!r}, {a.name!r}), "
                f"{link_.to_node.name!r}, ({b.identifier!r}, {b.name!r}))"
            )

    def _write_node_pointers(self, node, pointers: list[str], owner: str):
        where = f"node {node.name!r} of {owner}"
        for key in pointers:
            value = getattr(node, key, None)
            if value is None:
                continue
            if key == "color_ramp":
                elements = ", ".join(
                    f"({lit(e.position)}, {lit(tuple(e.color))})" for e in value.elements
                )
                props = simple_props(
                    value, only={"interpolation", "color_mode", "hue_interpolation"}
                )
                self.emit(f"if node: color_ramp(node, {lit_dict(props)}, [{elements}])")
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
                self.emit(f"if node: curve_mapping(node.mapping, [{', '.join(curves)}])")
            elif key == "image" and isinstance(value, bpy.types.Image):
                image_var = self._image_var(value, where)
                if image_var:
                    self.emit(f"if node: node.image = {image_var}")
            elif key == "object" and isinstance(value, bpy.types.Object):
                self.deferred.append(
                    f"reference({owner_expr(node)}, 'object', 'objects', {value.name!r}, {where!r})"
                )
            elif key in {
                "texture_mapping",
                "color_mapping",
                "image_user",
                "interface",
                "panel_states",
            }:
                continue  # defaults are fine; rarely edited by the agent
            elif isinstance(value, bpy.types.ID):
                self.skipped.append(f"{where}: pointer {key!r} -> {value.name!r} not written")

    # --- materials, node groups, world -----------------------------------------------------

    def write_node_groups(self, groups):
        if not groups:
            return
        self.section("Shader node groups")
        for group in groups:
            self.emit(f"# Node group {group.name!r}")
            self.emit(f"with block({_q(f'node group {group.name}')}):")
            self.emit(f"    group = bpy.data.node_groups.new({group.name!r}, {group.bl_idname!r})")
            # creation order = identifier order, so identifiers usually come out the same
            sockets = [item for item in group.interface.items_tree if item.item_type == "SOCKET"]
            sockets.sort(key=lambda item: _identifier_number(item.identifier))
            if len(sockets) != len(group.interface.items_tree):
                self.skipped.append(
                    f"node group {group.name!r}: interface panels not written (sockets are)"
                )
            for item in sockets:
                props = simple_props(
                    item, only={"default_value", "min_value", "max_value", "hide_value", "subtype"}
                )
                self.emit(
                    f"    group_socket(group, {item.identifier!r}, {item.name!r}, {item.in_out!r}, "
                    f"{item.socket_type!r}, {lit_dict(props)})"
                )
            body_start = len(self.lines)
            self.write_tree(group, "group", f"node group {group.name!r}")
            self._indent_from(body_start)

    def _indent_from(self, start: int):
        self.lines[start:] = [
            "\n".join("    " + line if line else line for line in chunk.split("\n"))
            for chunk in self.lines[start:]
        ]

    def write_materials(self, materials):
        if not materials:
            return
        self.section("Materials")
        for mat in materials:
            fresh = self.fresh.get("materials")
            props = changed_props(mat, fresh, keep={"diffuse_color", "roughness", "metallic"})
            self.emit("")
            self.emit(f"# Material {mat.name!r}")
            self.emit(f"with block({_q(f'material {mat.name}')}):")
            self.emit(f"    mat = bpy.data.materials.new({mat.name!r})")
            self.emit(f"    set_props(mat, {lit_dict(props)}, {_q(f'material {mat.name}')})")
            if _uses_nodes(mat):
                self.emit(
                    "    if mat.node_tree is None:  # Blender < 5.0 creates materials without nodes"
                )
                self.emit("        mat.use_nodes = True")
                self.emit("    tree = mat.node_tree")
                start = len(self.lines)
                self.write_tree(mat.node_tree, "tree", f"material {mat.name!r}")
                self._indent_from(start)

    def write_world(self, world):
        if world is None:
            return
        self.section(f"World {world.name!r}")
        self.emit(f"with block({_q(f'world {world.name}')}):")
        self.emit(f"    world = bpy.data.worlds.new({world.name!r})")
        self.emit(f"    set_props(world, {{'color': {lit(tuple(world.color))}}}, 'world')")
        self.emit("    scene.world = world")
        if _uses_nodes(world):
            self.emit("    if world.node_tree is None:  # Blender < 5.0")
            self.emit("        world.use_nodes = True")
            self.emit("    tree = world.node_tree")
            start = len(self.lines)
            self.write_tree(world.node_tree, "tree", f"world {world.name!r}")
            self._indent_from(start)

    # --- collections ---------------------------------------------------------------------

    def write_collections(self):
        rows = []

        def walk(parent_expr, collection):
            for child in collection.children:
                rows.append((parent_expr, child))
                walk(f"bpy.data.collections[{child.name!r}]", child)

        walk("scene.collection", self.scene.collection)
        if not rows:
            return
        self.section("Collections")
        for parent_expr, child in rows:
            self.emit(f"with block({_q(f'collection {child.name}')}):")
            self.emit(f"    collection = bpy.data.collections.new({child.name!r})")
            self.emit(f"    {parent_expr}.children.link(collection)")
            flags = {
                k: getattr(child, k)
                for k in ("hide_render", "hide_viewport", "hide_select")
                if getattr(child, k)
            }
            if flags:
                self.emit(
                    f"    set_props(collection, {lit_dict(flags)}, {_q(f'collection {child.name}')})"
                )

    # --- object data ---------------------------------------------------------------------

    def write_mesh(self, mesh) -> str:
        verts = [_g6(c) for v in mesh.vertices for c in v.co]
        faces = [lit(tuple(p.vertices)) for p in mesh.polygons]
        face_edges = {key for p in mesh.polygons for key in p.edge_keys}
        loose = [lit(tuple(e.vertices)) for e in mesh.edges if e.key not in face_edges]
        smooth_flags = [p.use_smooth for p in mesh.polygons]
        if smooth_flags and all(smooth_flags):
            smooth = "True"
        elif any(smooth_flags):
            smooth = _list_lit([str(i) for i, s in enumerate(smooth_flags) if s], "    ")
        else:
            smooth = "False"
        indices = [p.material_index for p in mesh.polygons]
        out = f"    data = new_mesh(\n        {mesh.name!r},\n        vertices={_list_lit(verts, '        ')},\n"
        out += f"        faces={_list_lit(faces, '        ')},\n"
        if loose:
            out += f"        edges={_list_lit(loose, '        ')},\n"
        out += f"        smooth={smooth},\n"
        if any(indices):
            out += f"        material_indices={_list_lit([str(i) for i in indices], '        ')},\n"
        self.emit(out + "    )")
        uv_names = set()
        for layer in mesh.uv_layers:
            uv_names.add(layer.name)
            flat = [_g6(c) for item in layer.data for c in item.uv]
            active = layer == mesh.uv_layers.active
            self.emit(
                f"    add_uv_map(data, {layer.name!r}, {_list_lit(flat, '        ')}, active={active})"
            )
        for attribute in mesh.attributes:
            name = attribute.name
            if name.startswith(".") or name in INTERNAL_ATTRIBUTES or name in uv_names:
                continue
            field = ATTRIBUTE_FIELDS.get(attribute.data_type)
            if field is None or attribute.domain not in {"POINT", "EDGE", "FACE", "CORNER"}:
                self.skipped.append(
                    f"mesh {mesh.name!r}: attribute {name!r} ({attribute.data_type}) not written"
                )
                continue
            values = []
            for item in attribute.data:
                value = getattr(item, field)
                values.extend(value if not isinstance(value, (bool, int, float)) else [value])
            tokens = [repr(v) if isinstance(v, (bool, int)) else _g6(v) for v in values]
            self.emit(
                f"    add_attribute(data, {name!r}, {attribute.data_type!r}, {attribute.domain!r}, "
                f"{field!r}, {_list_lit(tokens, '        ')})"
            )
        if mesh.shape_keys is not None:
            self.skipped.append(f"mesh {mesh.name!r}: shape keys not written")
        return "data"

    def write_curve(self, curve) -> None:
        kind = "FONT" if isinstance(curve, bpy.types.TextCurve) else "CURVE"
        fresh = self.fresh.get("curves", kind)
        skip = {"texspace_location", "texspace_size"} if curve.use_auto_texspace else set()
        skip |= {"body_format"}
        props = changed_props(
            curve,
            fresh,
            keep={"dimensions"} | ({"body", "size"} if kind == "FONT" else set()),
            skip=skip,
        )
        body = props.pop("body", None)
        self.emit(f"    data = bpy.data.curves.new({curve.name!r}, {kind!r})")
        if body is not None:
            self.emit(f"    data.body = {body!r}")
        self.emit(f"    set_props(data, {lit_dict(props)}, {_q(f'curve {curve.name}')})")
        if kind == "FONT":
            for slot in ("font", "font_bold", "font_italic", "font_bold_italic"):
                font = getattr(curve, slot, None)
                if font is not None and font.filepath not in ("<builtin>", ""):
                    path = bpy.path.abspath(font.filepath)
                    self.emit(f"    with block({_q(f'font {font.name}')}):")
                    self.emit(
                        f"        data.{slot} = bpy.data.fonts.load({path!r}, check_existing=True)"
                    )
            return
        for spline in curve.splines:
            sprops = simple_props(spline, skip={"type", "point_count_u", "point_count_v"})
            self.emit(f"    spline = data.splines.new({spline.type!r})")
            if spline.type == "BEZIER":
                pts = spline.bezier_points
                self.emit(f"    spline.bezier_points.add({len(pts) - 1})")
                for field in ("co", "handle_left", "handle_right"):
                    flat = [_g6(c) for p in pts for c in getattr(p, field)]
                    self.emit(
                        f"    spline.bezier_points.foreach_set({field!r}, {_list_lit(flat, '        ')})"
                    )
                for field in ("handle_left_type", "handle_right_type"):
                    types = [getattr(p, field) for p in pts]
                    self.emit(f"    for point, value in zip(spline.bezier_points, {types!r}):")
                    self.emit(f"        point.{field} = value")
                for field in ("radius", "tilt"):
                    flat = [_g6(getattr(p, field)) for p in pts]
                    self.emit(
                        f"    spline.bezier_points.foreach_set({field!r}, {_list_lit(flat, '        ')})"
                    )
            else:
                pts = spline.points
                self.emit(f"    spline.points.add({len(pts) - 1})")
                flat = [_g6(c) for p in pts for c in p.co]
                self.emit(f"    spline.points.foreach_set('co', {_list_lit(flat, '        ')})")
                for field in ("radius", "tilt", "weight"):
                    values = [_g6(getattr(p, field)) for p in pts]
                    self.emit(
                        f"    spline.points.foreach_set({field!r}, {_list_lit(values, '        ')})"
                    )
            self.emit(f"    set_props(spline, {lit_dict(sprops)}, {_q(f'spline of {curve.name}')})")

    def write_light(self, light) -> None:
        fresh = self.fresh.get("lights", light.type)
        keep = set(LIGHT_KEYS) | set(LIGHT_KEYS_BY_TYPE.get(light.type, ()))
        props = changed_props(light, fresh, keep=keep)
        self.emit(f"    data = bpy.data.lights.new({light.name!r}, {light.type!r})")
        self.emit(f"    set_props(data, {lit_dict(props)}, {_q(f'light {light.name}')})")
        cycles = getattr(light, "cycles", None)
        if cycles is not None:
            extra = changed_props(cycles, getattr(fresh, "cycles", None))
            if extra:
                self.emit(
                    f"    set_props(data.cycles, {lit_dict(extra)}, {_q(f'light {light.name} (cycles)')})"
                )
        if light.node_tree is not None and len(light.node_tree.nodes) > 2:
            self.skipped.append(f"light {light.name!r}: light node tree not written")

    def write_camera(self, camera) -> None:
        fresh = self.fresh.get("cameras")
        props = changed_props(camera, fresh, keep=set(CAMERA_KEYS), skip=CAMERA_SKIP)
        # lens/sensor first so derived values settle before the rest
        ordered = {k: props.pop(k) for k in CAMERA_KEYS if k in props}
        ordered.update(props)
        self.emit(f"    data = bpy.data.cameras.new({camera.name!r})")
        self.emit(f"    set_props(data, {lit_dict(ordered)}, {_q(f'camera {camera.name}')})")
        dof = changed_props(camera.dof, fresh.dof)
        if dof:
            self.emit(
                f"    set_props(data.dof, {lit_dict(dof)}, {_q(f'camera {camera.name} depth of field')})"
            )
        if camera.dof.focus_object is not None:
            self.deferred.append(
                f"reference(bpy.data.cameras[{camera.name!r}].dof, 'focus_object', 'objects', "
                f"{camera.dof.focus_object.name!r}, {_q(f'focus object of camera {camera.name}')})"
            )

    # --- objects -------------------------------------------------------------------------

    def write_object(self, obj):
        data = obj.data
        supported = obj.type in {"MESH", "CURVE", "FONT", "EMPTY", "LIGHT", "CAMERA"}
        label = obj.type if supported else f"{obj.type}, rebuilt as an empty"
        self.emit("")
        self.emit(f"# --- Object {obj.name!r} ({label}) ---")
        self.emit(f"with block({_q(f'object {obj.name}')}):")
        data_expr = "None"
        if supported and data is not None:
            key = (type(data).__name__, data.name)
            kind = {
                "MESH": "meshes",
                "CURVE": "curves",
                "FONT": "curves",
                "LIGHT": "lights",
                "CAMERA": "cameras",
            }[obj.type]
            if key in self.written_data:
                self.emit(
                    f"    data = bpy.data.{kind}[{data.name!r}]  # shared with an earlier object"
                )
            else:
                self.written_data.add(key)
                {
                    "MESH": self.write_mesh,
                    "CURVE": self.write_curve,
                    "FONT": self.write_curve,
                    "LIGHT": self.write_light,
                    "CAMERA": self.write_camera,
                }[obj.type](data)
                if obj.type in {"MESH", "CURVE", "FONT"}:
                    names = [lit(m.name if m else None) for m in data.materials]
                    if names:
                        self.emit(f"    for name in [{', '.join(names)}]:")
                        self.emit(
                            "        data.materials.append(bpy.data.materials.get(name) if name else None)"
                        )
            data_expr = "data"
        elif not supported:
            self.skipped.append(f"object {obj.name!r}: type {obj.type} is rebuilt as an empty")
        collection = next(
            (
                c.name
                for c in obj.users_collection
                if c != self.scene.collection and c.name in self._scene_collections
            ),
            None,
        )
        self.emit(f"    obj = new_object({obj.name!r}, {data_expr}, {lit(collection)})")
        for extra in obj.users_collection:
            primary = extra.name == collection or (
                collection is None and extra == self.scene.collection
            )
            if not primary and (
                extra == self.scene.collection or extra.name in self._scene_collections
            ):
                target = (
                    "scene.collection"
                    if extra == self.scene.collection
                    else f"bpy.data.collections[{extra.name!r}]"
                )
                self.emit(f"    {target}.objects.link(obj)")
        if obj.parent is not None:
            self.emit(f"    obj.parent = bpy.data.objects[{obj.parent.name!r}]")
            if obj.parent_type != "OBJECT":
                self.emit(
                    f"    set_props(obj, {{'parent_type': {obj.parent_type!r}, 'parent_bone': {obj.parent_bone!r}}}, {_q(f'parent of {obj.name}')})"
                )
            identity = all(
                abs(obj.matrix_parent_inverse[i][j] - (1.0 if i == j else 0.0)) < 1e-9
                for i in range(4)
                for j in range(4)
            )
            if not identity:
                rows = ", ".join(lit(tuple(row)) for row in obj.matrix_parent_inverse)
                self.emit(f"    obj.matrix_parent_inverse = Matrix(({rows}))")
        transform = {"location": tuple(obj.location), "rotation_mode": obj.rotation_mode}
        if obj.rotation_mode == "QUATERNION":
            transform["rotation_quaternion"] = tuple(obj.rotation_quaternion)
        elif obj.rotation_mode == "AXIS_ANGLE":
            transform["rotation_axis_angle"] = tuple(obj.rotation_axis_angle)
        else:
            transform["rotation_euler"] = tuple(obj.rotation_euler)
        transform["scale"] = tuple(obj.scale)
        for key, default in (
            ("delta_location", (0, 0, 0)),
            ("delta_rotation_euler", (0, 0, 0)),
            ("delta_scale", (1, 1, 1)),
        ):
            value = tuple(getattr(obj, key))
            if not _same(value, tuple(float(v) for v in default)):
                transform[key] = value
        self.emit(f"    set_props(obj, {lit_dict(transform)}, {_q(f'transform of {obj.name}')})")
        fresh = self.fresh_object(obj)
        flags = {}
        for key in OBJECT_FLAGS:
            value = getattr(obj, key, None)
            if value is not None and value != getattr(fresh, key, None):
                flags[key] = value
        if obj.type == "EMPTY" or not supported:
            flags["empty_display_type"] = obj.empty_display_type
            flags["empty_display_size"] = obj.empty_display_size
        if flags:
            self.emit(f"    set_props(obj, {lit_dict(flags)}, {_q(f'visibility of {obj.name}')})")
        if obj.hide_get():
            self.emit("    obj.hide_set(True)")
        for index, slot in enumerate(obj.material_slots):
            if slot.link == "OBJECT":
                name = slot.material.name if slot.material else None
                self.emit(f"    obj.material_slots[{index}].link = 'OBJECT'")
                self.emit(
                    f"    obj.material_slots[{index}].material = bpy.data.materials.get({name!r}) if {name!r} else None"
                )
        for modifier in obj.modifiers:
            self.write_modifier(obj, modifier)
        for what, present in (
            ("constraints", len(obj.constraints)),
            ("animation", obj.animation_data is not None and obj.animation_data.action is not None),
            ("vertex groups", len(getattr(obj, "vertex_groups", ()))),
        ):
            if present:
                self.skipped.append(f"object {obj.name!r}: {what} not written")

    def fresh_object(self, obj):
        """A new object with the same data: the defaults scene.py's new_object() starts from."""
        data = obj.data if obj.type in {"MESH", "CURVE", "FONT", "LIGHT", "CAMERA"} else None
        key = ("objects", data.name if data is not None else None, obj.type)
        if key not in self.fresh.cache:
            block = bpy.data.objects.new("__viga_fresh__", data)
            self.fresh.made.append((bpy.data.objects, block))
            self.fresh.cache[key] = block
        return self.fresh.cache[key]

    def fresh_modifier(self, kind: str):
        """A new modifier of this type on a scratch mesh object (None if it cannot be made)."""
        key = ("modifier", kind)
        if key not in self.fresh.cache:
            holder = self.fresh.cache.get(("modifier-holder",))
            if holder is None:
                holder = bpy.data.objects.new("__viga_fresh__", self.fresh.get("meshes"))
                self.fresh.made.append((bpy.data.objects, holder))
                self.fresh.cache[("modifier-holder",)] = holder
            try:
                self.fresh.cache[key] = holder.modifiers.new("fresh", kind)
            except Exception:  # noqa: BLE001
                self.fresh.cache[key] = None
        return self.fresh.cache[key]

    def write_modifier(self, obj, modifier):
        if modifier.type == "NODES":
            self.skipped.append(
                f"object {obj.name!r}: geometry-nodes modifier {modifier.name!r} not written"
            )
            return
        props, pointers = {}, []
        for prop in modifier.bl_rna.properties:
            key = prop.identifier
            if key in ALWAYS_SKIP or prop.is_readonly:
                continue
            if prop.type == "POINTER":
                value = getattr(modifier, key)
                if isinstance(value, (bpy.types.Object, bpy.types.Collection, bpy.types.Material)):
                    kind = {
                        bpy.types.Object: "objects",
                        bpy.types.Collection: "collections",
                        bpy.types.Material: "materials",
                    }
                    collection = next(v for k, v in kind.items() if isinstance(value, k))
                    pointers.append((key, collection, value.name))
                elif value is not None and isinstance(value, bpy.types.ID):
                    self.skipped.append(
                        f"modifier {modifier.name!r} of {obj.name!r}: {key} -> {value.name!r} not written"
                    )
                continue
            if prop.type not in SIMPLE_TYPES:
                continue
            try:
                props[key] = _prop_value(modifier, prop)
            except Exception:  # noqa: BLE001
                continue
        fresh = self.fresh_modifier(modifier.type)
        if fresh is not None:
            base = simple_props(fresh)
            props = {k: v for k, v in props.items() if k not in base or not _same(v, base[k])}
        self.emit(f"    mod = obj.modifiers.new({modifier.name!r}, {modifier.type!r})")
        self.emit(
            f"    set_props(mod, {lit_dict(props)}, {_q(f'modifier {modifier.name} of {obj.name}')})"
        )
        for key, collection, name in pointers:
            what = f"modifier {modifier.name} of {obj.name}: {key}"
            self.deferred.append(
                f"reference(bpy.data.objects[{obj.name!r}].modifiers[{modifier.name!r}], {key!r}, "
                f"{collection!r}, {name!r}, {what!r})"
            )

    # --- scene settings ------------------------------------------------------------------

    def write_settings(self):
        scene = self.scene
        self.section("Scene settings: camera, render, colour management")
        self.emit("with block('scene settings'):")
        self.emit(f"    scene.name = {scene.name!r}")
        if scene.camera is not None:
            self.emit(f"    scene.camera = bpy.data.objects.get({scene.camera.name!r})")
        render = simple_props(scene.render, only=set(RENDER_KEYS))
        engine = render.pop("engine", "CYCLES")
        self.emit(f"    set_engine(scene.render, {engine!r})")
        self.emit(f"    set_props(scene.render, {lit_dict(render)}, 'render')")
        cycles = getattr(scene, "cycles", None)
        if cycles is not None:
            self.emit(
                f"    set_props(scene.cycles, {lit_dict(simple_props(cycles, only=set(CYCLES_KEYS)))}, 'cycles')"
            )
        self.emit(f"    set_props(scene, {{'frame_current': {scene.frame_current}}}, 'frame')")
        self.emit(
            "    set_props(scene.display_settings, "
            f"{{'display_device': {scene.display_settings.display_device!r}}}, 'display')"
        )
        self.emit(
            f"    set_props(scene.view_settings, {lit_dict(simple_props(scene.view_settings, only=set(VIEW_KEYS)))}, 'view')"
        )
        try:
            sequencer = scene.sequencer_colorspace_settings.name
            self.emit(
                f"    set_props(scene.sequencer_colorspace_settings, {{'name': {sequencer!r}}}, 'sequencer colour space')"
            )
        except Exception:  # noqa: BLE001
            pass

    # --- the whole program ---------------------------------------------------------------

    def write(self) -> str:
        scene = self.scene
        self._scene_collections = set()

        def walk(collection):
            for child in collection.children:
                self._scene_collections.add(child.name)
                walk(child)

        walk(scene.collection)
        objects = _parents_first(list(scene.objects))
        materials = _used_materials(objects)
        trees = [m.node_tree for m in materials if _uses_nodes(m)]
        if scene.world is not None and _uses_nodes(scene.world):
            trees.append(scene.world.node_tree)
        groups = _node_groups(trees)

        body_start = len(self.lines)
        try:
            self.write_collections()
            self.write_node_groups(groups)
            self.write_materials(materials)
            self.write_world(scene.world)
            self.section("Objects (parents first)")
            for obj in objects:
                self.write_object(obj)
            if self.deferred:
                self.section("References between data-blocks (now that all exist)")
                for line in self.deferred:
                    self.emit(f"with block({line[:60]!r}):")
                    self.emit(f"    {line}")
            self.write_settings()
        finally:
            self.fresh.free()
        body = "\n".join(self.lines[body_start:])
        notes = ""
        if self.skipped:
            notes = (
                "\nNot reproduced (noted when this file was written):\n"
                + "\n".join(f"  - {s}" for s in self.skipped)
                + "\n"
            )
        header = HEADER.format(
            title=f"Scene {scene.name!r}: {len(objects)} objects, rebuilt from an empty file.".replace(
                TRIPLE_DOUBLE, TRIPLE_SINGLE
            ),
            version=bpy.app.version_string,
            notes=notes.replace(TRIPLE_DOUBLE, TRIPLE_SINGLE),
        )
        return header + body + "\n" + FOOTER


def _q(text: str) -> str:
    """A string literal for generated code (names may contain quotes)."""
    return repr(text)


def lit_dict(values: dict, indent: str = "    ") -> str:
    """A dict literal; longer than about a line, one wrapped entry list under ``indent``."""
    items = [f"{k!r}: {lit(v)}" for k, v in values.items()]
    one_line = "{" + ", ".join(items) + "}"
    if len(one_line) <= 72:
        return one_line
    return "{\n" + _wrap(items, indent + "    ") + "\n" + indent + "}"


def owner_expr(node) -> str:
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


def _uses_nodes(block) -> bool:
    if block is None or block.node_tree is None:
        return False
    if bpy.app.version >= (5, 0, 0):
        return True  # use_nodes is always on (and deprecated) from 5.0
    return bool(block.use_nodes)


def _parents_first(objects: list) -> list:
    def depth(obj):
        d = 0
        while obj.parent is not None:
            obj, d = obj.parent, d + 1
        return d

    order = {obj.name: i for i, obj in enumerate(objects)}
    return sorted(objects, key=lambda o: (depth(o), order[o.name]))


def _used_materials(objects) -> list:
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


def _node_groups(trees) -> list:
    """Node groups used by the trees (recursively), dependencies first."""
    ordered: list = []

    def visit(tree):
        for node in tree.nodes:
            group = getattr(node, "node_tree", None)
            if isinstance(group, bpy.types.NodeTree) and group not in ordered:
                visit(group)
                ordered.append(group)

    for tree in trees:
        visit(tree)
    return ordered


def scene_py_source(scene=None) -> tuple[str, list[str], int]:
    """The scene.py program text for ``scene`` (default: the current scene).

    Returns (source, skipped items, object count).
    """
    scene = scene or bpy.context.scene
    writer = _Writer(scene)
    source = writer.write()
    return source, writer.skipped, len(scene.objects)


def write_scene_py(path) -> dict:
    """Write a standalone program that rebuilds the current scene from an empty file.

    Returns {"ok": True, "path", "objects": n, "bytes": n, "skipped": [...]} where ``skipped``
    lists what the program does not reproduce, or {"ok": False, "error"} when it cannot be
    written.
    """
    try:
        source, skipped, count = scene_py_source()
        compile(source, str(path), "exec")  # never hand out a program that does not parse
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - report to the caller instead of raising into the agent
        return {
            "ok": False,
            "error": f"could not write scene.py to {path}: {type(exc).__name__}: {exc}",
        }
    return {
        "ok": True,
        "path": str(target),
        "objects": count,
        "bytes": len(source.encode("utf-8")),
        "skipped": skipped,
    }
