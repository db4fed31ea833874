"""Collections and objects as scene.py code: transforms, visibility, slots, modifiers, data.

Mesh data is written as literal vertices/edges/faces with smooth flags, per-face material
indices, UV maps and simple attributes; curves and text (best effort) as spline points, bezier
handles and the curve's changed properties, fonts by file path; light and camera data by
``world``. Object types other than mesh/curve/text/empty/light/camera become empties.
"""

from __future__ import annotations

import bpy

from .literals import g6, list_lit, lit, lit_dict, q
from .output import Output
from .props import ALWAYS_SKIP, SIMPLE_TYPES, changed_props, prop_value, same, simple_props
from .world import write_camera, write_light

SUPPORTED_TYPES = {"MESH", "CURVE", "FONT", "EMPTY", "LIGHT", "CAMERA"}
DATA_COLLECTIONS = {
    "MESH": "meshes",
    "CURVE": "curves",
    "FONT": "curves",
    "LIGHT": "lights",
    "CAMERA": "cameras",
}
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
POINTER_COLLECTIONS = (
    (bpy.types.Object, "objects"),
    (bpy.types.Collection, "collections"),
    (bpy.types.Material, "materials"),
)


def parents_first(objects: list[bpy.types.Object]) -> list[bpy.types.Object]:
    """The objects ordered by parent depth, otherwise as given."""

    def depth(obj: bpy.types.Object) -> int:
        d = 0
        while obj.parent is not None:
            obj, d = obj.parent, d + 1
        return d

    order = {obj.name: i for i, obj in enumerate(objects)}
    return sorted(objects, key=lambda o: (depth(o), order[o.name]))


def write_collections(out: Output) -> None:
    """The scene's collection hierarchy and the collections' visibility flags."""
    rows = []

    def walk(parent_expr: str, collection: bpy.types.Collection) -> None:
        for child in collection.children:
            rows.append((parent_expr, child))
            walk(f"bpy.data.collections[{child.name!r}]", child)

    walk("scene.collection", out.scene.collection)
    if not rows:
        return
    out.section("Collections")
    for parent_expr, child in rows:
        what = q(f"collection {child.name}")
        out.emit(f"with block({what}):")
        out.emit(f"    collection = bpy.data.collections.new({child.name!r})")
        out.emit(f"    {parent_expr}.children.link(collection)")
        flags = {
            k: getattr(child, k)
            for k in ("hide_render", "hide_viewport", "hide_select")
            if getattr(child, k)
        }
        if flags:
            out.emit(f"    set_props(collection, {lit_dict(flags)}, {what})")


def write_mesh(out: Output, mesh: bpy.types.Mesh) -> None:
    """Mesh data as ``data``: geometry, smooth flags, material indices, UV maps, attributes."""
    verts = [g6(c) for v in mesh.vertices for c in v.co]
    faces = [lit(tuple(p.vertices)) for p in mesh.polygons]
    face_edges = {key for p in mesh.polygons for key in p.edge_keys}
    loose = [lit(tuple(e.vertices)) for e in mesh.edges if e.key not in face_edges]
    smooth_flags = [p.use_smooth for p in mesh.polygons]
    if smooth_flags and all(smooth_flags):
        smooth = "True"
    elif any(smooth_flags):
        smooth = list_lit([str(i) for i, s in enumerate(smooth_flags) if s], "    ")
    else:
        smooth = "False"
    indices = [p.material_index for p in mesh.polygons]
    indent = "        "
    text = f"    data = new_mesh(\n{indent}{mesh.name!r},\n"
    text += f"{indent}vertices={list_lit(verts, indent)},\n"
    text += f"{indent}faces={list_lit(faces, indent)},\n"
    if loose:
        text += f"{indent}edges={list_lit(loose, indent)},\n"
    text += f"{indent}smooth={smooth},\n"
    if any(indices):
        text += f"{indent}material_indices={list_lit([str(i) for i in indices], indent)},\n"
    out.emit(text + "    )")
    uv_names = set()
    for layer in mesh.uv_layers:
        uv_names.add(layer.name)
        flat = [g6(c) for item in layer.data for c in item.uv]
        active = layer == mesh.uv_layers.active
        out.emit(f"    add_uv_map(data, {layer.name!r}, {list_lit(flat, indent)}, active={active})")
    for attribute in mesh.attributes:
        name = attribute.name
        if name.startswith(".") or name in INTERNAL_ATTRIBUTES or name in uv_names:
            continue
        field = ATTRIBUTE_FIELDS.get(attribute.data_type)
        if field is None or attribute.domain not in {"POINT", "EDGE", "FACE", "CORNER"}:
            out.skipped.append(
                f"mesh {mesh.name!r}: attribute {name!r} ({attribute.data_type}) not written"
            )
            continue
        values = []
        for item in attribute.data:
            value = getattr(item, field)
            values.extend(value if not isinstance(value, (bool, int, float)) else [value])
        tokens = [repr(v) if isinstance(v, (bool, int)) else g6(v) for v in values]
        out.emit(
            f"    add_attribute(data, {name!r}, {attribute.data_type!r}, {attribute.domain!r}, "
            f"{field!r}, {list_lit(tokens, indent)})"
        )
    if mesh.shape_keys is not None:
        out.skipped.append(f"mesh {mesh.name!r}: shape keys not written")


def write_curve(out: Output, curve: bpy.types.Curve) -> None:
    """Curve or text data as ``data``: changed properties, fonts, splines and their points."""
    kind = "FONT" if isinstance(curve, bpy.types.TextCurve) else "CURVE"
    fresh = out.fresh.get("curves", kind)
    skip = {"texspace_location", "texspace_size"} if curve.use_auto_texspace else set()
    skip |= {"body_format"}
    props = changed_props(
        curve,
        fresh,
        keep={"dimensions"} | ({"body", "size"} if kind == "FONT" else set()),
        skip=skip,
    )
    body = props.pop("body", None)
    out.emit(f"    data = bpy.data.curves.new({curve.name!r}, {kind!r})")
    if body is not None:
        out.emit(f"    data.body = {body!r}")
    out.emit(f"    set_props(data, {lit_dict(props)}, {q(f'curve {curve.name}')})")
    if kind == "FONT":
        for slot in ("font", "font_bold", "font_italic", "font_bold_italic"):
            font = getattr(curve, slot, None)
            if font is not None and font.filepath not in ("<builtin>", ""):
                path = bpy.path.abspath(font.filepath)
                out.emit(f"    with block({q(f'font {font.name}')}):")
                out.emit(
                    f"        data.{slot} = bpy.data.fonts.load({path!r}, check_existing=True)"
                )
        return
    indent = "        "
    for spline in curve.splines:
        sprops = simple_props(spline, skip={"type", "point_count_u", "point_count_v"})
        out.emit(f"    spline = data.splines.new({spline.type!r})")
        if spline.type == "BEZIER":
            pts = spline.bezier_points
            out.emit(f"    spline.bezier_points.add({len(pts) - 1})")
            for field in ("co", "handle_left", "handle_right"):
                flat = [g6(c) for p in pts for c in getattr(p, field)]
                out.emit(
                    f"    spline.bezier_points.foreach_set({field!r}, {list_lit(flat, indent)})"
                )
            for field in ("handle_left_type", "handle_right_type"):
                types = [getattr(p, field) for p in pts]
                out.emit(f"    for point, value in zip(spline.bezier_points, {types!r}):")
                out.emit(f"        point.{field} = value")
            for field in ("radius", "tilt"):
                flat = [g6(getattr(p, field)) for p in pts]
                out.emit(
                    f"    spline.bezier_points.foreach_set({field!r}, {list_lit(flat, indent)})"
                )
        else:
            pts = spline.points
            out.emit(f"    spline.points.add({len(pts) - 1})")
            flat = [g6(c) for p in pts for c in p.co]
            out.emit(f"    spline.points.foreach_set('co', {list_lit(flat, indent)})")
            for field in ("radius", "tilt", "weight"):
                values = [g6(getattr(p, field)) for p in pts]
                out.emit(f"    spline.points.foreach_set({field!r}, {list_lit(values, indent)})")
        out.emit(f"    set_props(spline, {lit_dict(sprops)}, {q(f'spline of {curve.name}')})")


def _write_data(out: Output, obj: bpy.types.Object) -> str:
    """Emit the object's data (once per data-block); the scene.py expression for it."""
    data = obj.data
    supported = obj.type in SUPPORTED_TYPES
    if not supported:
        out.skipped.append(f"object {obj.name!r}: type {obj.type} is rebuilt as an empty")
        return "None"
    if data is None:
        return "None"
    key = (type(data).__name__, data.name)
    if key in out.written_data:
        kind = DATA_COLLECTIONS[obj.type]
        out.emit(f"    data = bpy.data.{kind}[{data.name!r}]  # shared with an earlier object")
        return "data"
    out.written_data.add(key)
    writer = {
        "MESH": write_mesh,
        "CURVE": write_curve,
        "FONT": write_curve,
        "LIGHT": write_light,
        "CAMERA": write_camera,
    }[obj.type]
    writer(out, data)
    if obj.type in {"MESH", "CURVE", "FONT"}:
        names = [lit(m.name if m else None) for m in data.materials]
        if names:
            out.emit(f"    for name in [{', '.join(names)}]:")
            out.emit(
                "        data.materials.append(bpy.data.materials.get(name) if name else None)"
            )
    return "data"


def _write_new_object(out: Output, obj: bpy.types.Object, data_expr: str) -> None:
    """Create the object in its first scene collection and link it into the others."""
    scene = out.scene
    collection = next(
        (
            c.name
            for c in obj.users_collection
            if c != scene.collection and c.name in out.scene_collections
        ),
        None,
    )
    out.emit(f"    obj = new_object({obj.name!r}, {data_expr}, {lit(collection)})")
    for extra in obj.users_collection:
        primary = extra.name == collection or (collection is None and extra == scene.collection)
        if not primary and (extra == scene.collection or extra.name in out.scene_collections):
            target = (
                "scene.collection"
                if extra == scene.collection
                else f"bpy.data.collections[{extra.name!r}]"
            )
            out.emit(f"    {target}.objects.link(obj)")


def _write_parent(out: Output, obj: bpy.types.Object) -> None:
    if obj.parent is None:
        return
    out.emit(f"    obj.parent = bpy.data.objects[{obj.parent.name!r}]")
    if obj.parent_type != "OBJECT":
        parent = f"{{'parent_type': {obj.parent_type!r}, 'parent_bone': {obj.parent_bone!r}}}"
        out.emit(f"    set_props(obj, {parent}, {q(f'parent of {obj.name}')})")
    identity = all(
        abs(obj.matrix_parent_inverse[i][j] - (1.0 if i == j else 0.0)) < 1e-9
        for i in range(4)
        for j in range(4)
    )
    if not identity:
        rows = ", ".join(lit(tuple(row)) for row in obj.matrix_parent_inverse)
        out.emit(f"    obj.matrix_parent_inverse = Matrix(({rows}))")


def _write_transform(out: Output, obj: bpy.types.Object) -> None:
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
        if not same(value, tuple(float(v) for v in default)):
            transform[key] = value
    out.emit(f"    set_props(obj, {lit_dict(transform)}, {q(f'transform of {obj.name}')})")


def _write_visibility(out: Output, obj: bpy.types.Object) -> None:
    fresh = out.fresh.object_like(obj)
    flags = {}
    for key in OBJECT_FLAGS:
        value = getattr(obj, key, None)
        if value is not None and value != getattr(fresh, key, None):
            flags[key] = value
    if obj.type == "EMPTY" or obj.type not in SUPPORTED_TYPES:
        flags["empty_display_type"] = obj.empty_display_type
        flags["empty_display_size"] = obj.empty_display_size
    if flags:
        out.emit(f"    set_props(obj, {lit_dict(flags)}, {q(f'visibility of {obj.name}')})")
    if obj.hide_get():
        out.emit("    obj.hide_set(True)")


def write_object(out: Output, obj: bpy.types.Object) -> None:
    """One object in its own block: data, collections, parent, transform, flags, modifiers."""
    supported = obj.type in SUPPORTED_TYPES
    label = obj.type if supported else f"{obj.type}, rebuilt as an empty"
    out.emit("")
    out.emit(f"# --- Object {obj.name!r} ({label}) ---")
    out.emit(f"with block({q(f'object {obj.name}')}):")
    _write_new_object(out, obj, _write_data(out, obj))
    _write_parent(out, obj)
    _write_transform(out, obj)
    _write_visibility(out, obj)
    for index, slot in enumerate(obj.material_slots):
        if slot.link == "OBJECT":
            name = slot.material.name if slot.material else None
            out.emit(f"    obj.material_slots[{index}].link = 'OBJECT'")
            out.emit(
                f"    obj.material_slots[{index}].material = "
                f"bpy.data.materials.get({name!r}) if {name!r} else None"
            )
    for modifier in obj.modifiers:
        write_modifier(out, obj, modifier)
    for what, present in (
        ("constraints", len(obj.constraints)),
        ("vertex groups", len(getattr(obj, "vertex_groups", ()))),
    ):
        if present:
            out.skipped.append(f"object {obj.name!r}: {what} not written")


def write_modifier(out: Output, obj: bpy.types.Object, modifier: bpy.types.Modifier) -> None:
    """A modifier's changed simple properties; its object/collection/material pointers deferred."""
    if modifier.type == "NODES":
        out.skipped.append(
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
            collection = next((c for t, c in POINTER_COLLECTIONS if isinstance(value, t)), None)
            if collection is not None:
                pointers.append((key, collection, value.name))
            elif value is not None and isinstance(value, bpy.types.ID):
                out.skipped.append(
                    f"modifier {modifier.name!r} of {obj.name!r}: {key} -> {value.name!r} "
                    "not written"
                )
            continue
        if prop.type not in SIMPLE_TYPES:
            continue
        try:
            props[key] = prop_value(modifier, prop)
        except Exception:  # noqa: BLE001
            continue
    fresh = out.fresh.modifier(modifier.type)
    if fresh is not None:
        base = simple_props(fresh)
        props = {k: v for k, v in props.items() if k not in base or not same(v, base[k])}
    out.emit(f"    mod = obj.modifiers.new({modifier.name!r}, {modifier.type!r})")
    out.emit(
        f"    set_props(mod, {lit_dict(props)}, {q(f'modifier {modifier.name} of {obj.name}')})"
    )
    for key, collection, name in pointers:
        what = f"modifier {modifier.name} of {obj.name}: {key}"
        out.deferred.append(
            f"reference(bpy.data.objects[{obj.name!r}].modifiers[{modifier.name!r}], {key!r}, "
            f"{collection!r}, {name!r}, {what!r})"
        )
