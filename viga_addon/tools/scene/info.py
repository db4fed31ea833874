"""get_scene_info: a compact, prompt-sized text summary of the current scene.

Sections: render, camera, world, lights (always kept), then objects and materials, which are
capped to ``max_chars`` with a note saying how many were left out. Numbers are rounded to three
decimals, rotations are in degrees.
"""

import math

import bpy

# Principled BSDF inputs worth reporting, with the names used by different Blender versions
# (3.x says "Emission", 4.x/5.x say "Emission Color").
PRINCIPLED_INPUTS = (
    ("base", ("Base Color",)),
    ("rough", ("Roughness",)),
    ("metal", ("Metallic",)),
    ("emit", ("Emission Color", "Emission")),
    ("emit_str", ("Emission Strength",)),
    ("alpha", ("Alpha",)),
    ("transmission", ("Transmission Weight", "Transmission")),
)
MATERIAL_SHARE = 0.35  # at most this share of the capped budget goes to the materials section


def get_scene_info(max_chars=4000):
    """Summarise the scene as text for a model prompt.

    Returns {"ok": True, "text", "truncated", "counts"}. Lights, camera, world and render settings
    are always included; objects and materials are cut to fit ``max_chars`` and the text says how
    many were left out.
    """
    scene = bpy.context.scene
    objects = list(scene.objects)
    lights = [o for o in objects if o.type == "LIGHT"]
    cameras = [o for o in objects if o.type == "CAMERA"]
    others = [o for o in objects if o.type not in ("LIGHT", "CAMERA")]
    materials = _used_materials(others)

    fixed = [
        f"Scene '{scene.name}': {len(others)} objects, {len(lights)} lights, "
        f"{len(cameras)} cameras, {len(materials)} materials."
    ]
    fixed.append(_render_line(scene))
    fixed.extend(_camera_lines(scene, cameras))
    fixed.append(_world_line(scene.world))
    light_lines = ["Lights:"] + [_light_line(o) for o in lights] if lights else ["Lights: none"]

    fixed_text = "\n".join(fixed)
    budget = max_chars - len(fixed_text) - 1
    lights_text, lights_left = _fit(light_lines, budget, "lights")
    budget -= len(lights_text) + 1

    object_lines = [_object_line(o) for o in others]
    material_lines = [_material_line(m) for m in materials]
    material_size = sum(len(line) + 1 for line in material_lines)
    object_budget = budget - min(material_size + 20, int(budget * MATERIAL_SHARE))
    objects_text, objects_left = _fit(
        ["Objects:"] + object_lines if others else ["Objects: none"], object_budget, "objects"
    )
    budget -= len(objects_text) + 1
    materials_text, materials_left = _fit(
        ["Materials:"] + material_lines if materials else ["Materials: none"], budget, "materials"
    )

    text = "\n".join(
        part for part in (fixed_text, lights_text, objects_text, materials_text) if part
    )
    left_out = objects_left + lights_left + materials_left
    return {
        "ok": True,
        "text": text,
        "truncated": left_out > 0,
        "counts": {
            "objects": len(others),
            "lights": len(lights),
            "cameras": len(cameras),
            "materials": len(materials),
            "meshes": sum(1 for o in others if o.type == "MESH"),
            "objects_omitted": objects_left,
            "lights_omitted": lights_left,
            "materials_omitted": materials_left,
            "chars": len(text),
        },
    }


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


def num(value):
    """A number rounded to 3 decimals without trailing zeros ("1.5", "0", "-2.25")."""
    text = f"{float(value):.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def vec(values):
    return "(" + ", ".join(num(v) for v in values) + ")"


def degrees(euler):
    return vec(math.degrees(a) for a in euler)


def colour(values):
    return vec(list(values)[:3])


def _fit(lines, budget, what):
    """Join the header line and as many item lines as fit in ``budget`` chars.

    When items are left out, the last line says how many. Returns (text, number left out).
    """
    text = "\n".join(lines)
    if len(text) <= budget:
        return text, 0
    header, items = lines[0], lines[1:]

    def note(left):
        return f"  ... {left} more {what} not listed (query them by name with execute_code)"

    kept, size = [header], len(header)
    for index, line in enumerate(items):
        if size + len(line) + 2 + len(note(len(items) - index - 1)) > budget:
            break
        kept.append(line)
        size += len(line) + 1
    left = len(items) - (len(kept) - 1)
    return "\n".join(kept + [note(left)]), left


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


def _render_line(scene):
    r, view = scene.render, scene.view_settings
    look = f", look {view.look}" if view.look not in ("None", "") else ""
    return (
        f"Render: engine {r.engine}, {r.resolution_x}x{r.resolution_y} "
        f"@{r.resolution_percentage}%, view transform {view.view_transform}{look}, "
        f"exposure {num(view.exposure)}, gamma {num(view.gamma)}, "
        f"film transparent {r.film_transparent}"
    )


def _camera_lines(scene, cameras):
    if not cameras:
        return ["Camera: none (renders use a temporary framing camera)"]
    lines = []
    for obj in cameras:
        cam = obj.data
        active = " [active]" if obj == scene.camera else ""
        lens = (
            f"lens {num(cam.lens)}mm"
            if cam.type == "PERSP"
            else f"{cam.type.lower()} scale {num(cam.ortho_scale)}"
            if cam.type == "ORTHO"
            else cam.type.lower()
        )
        lines.append(
            f"Camera '{obj.name}'{active}: loc {vec(obj.location)} "
            f"rot {degrees(obj.rotation_euler)} {lens}, sensor "
            f"{num(cam.sensor_width)}mm ({cam.sensor_fit.lower()}), "
            f"clip {num(cam.clip_start)}-{num(cam.clip_end)}"
            + (
                f", DOF focus {num(cam.dof.focus_distance)} f/{num(cam.dof.aperture_fstop)}"
                if cam.dof.use_dof
                else ""
            )
        )
    return lines


def _world_line(world):
    if world is None:
        return "World: none (black background)"
    tree = world.node_tree
    if tree is None:
        return f"World '{world.name}': colour {colour(world.color)}"
    output = next(
        (n for n in tree.nodes if n.type == "OUTPUT_WORLD" and n.is_active_output), None
    ) or next((n for n in tree.nodes if n.type == "OUTPUT_WORLD"), None)
    surface = output.inputs["Surface"] if output else None
    if surface is None or not surface.is_linked:
        return f"World '{world.name}': colour {colour(world.color)} (no node output)"
    shader = surface.links[0].from_node
    if shader.type != "BACKGROUND":
        return f"World '{world.name}': {shader.bl_idname} shader"
    strength = _socket_text(shader.inputs["Strength"])
    colour_socket = shader.inputs["Color"]
    env = _upstream_nodes(colour_socket)
    hdri = [n for n in env if n.type == "TEX_ENVIRONMENT"]
    if hdri:
        image = hdri[0].image
        name = image.name if image else "no image"
        return f"World '{world.name}': HDRI '{name}', strength {strength}"
    if env:
        return f"World '{world.name}': colour from {_node_names(env)}, strength {strength}"
    return (
        f"World '{world.name}': colour {colour(colour_socket.default_value)}, strength {strength}"
    )


def _light_line(obj):
    light = obj.data
    extra = ""
    if light.type == "SUN":
        extra = f" angle {num(math.degrees(light.angle))}deg"
    elif light.type == "AREA":
        size = (
            num(light.size)
            if light.shape in ("SQUARE", "DISK")
            else f"{num(light.size)}x{num(light.size_y)}"
        )
        extra = f" {light.shape.lower()} size {size}"
    else:
        extra = f" radius {num(light.shadow_soft_size)}"
        if light.type == "SPOT":
            extra += f" cone {num(math.degrees(light.spot_size))}deg blend {num(light.spot_blend)}"
    unit = "W/m2" if light.type == "SUN" else "W"
    hidden = " (hidden in render)" if obj.hide_render else ""
    return (
        f"  {obj.name} [{light.type}] loc {vec(obj.location)} rot "
        f"{degrees(obj.rotation_euler)} energy {num(light.energy)}{unit} colour "
        f"{colour(light.color)}{extra}{hidden}"
    )


def _object_line(obj):
    parts = [
        f"  {obj.name} [{obj.type}] loc {vec(obj.location)} rot "
        f"{degrees(obj.rotation_euler)} scale {vec(obj.scale)} dim {vec(obj.dimensions)}"
    ]
    if obj.parent:
        parts.append(f"parent {obj.parent.name}")
    materials = [slot.material.name for slot in obj.material_slots if slot.material]
    if materials:
        parts.append("mats [" + ", ".join(materials) + "]")
    if obj.modifiers:
        parts.append("mods [" + ", ".join(f"{m.name}:{m.type}" for m in obj.modifiers) + "]")
    if obj.hide_render:
        parts.append("hidden in render")
    return " ".join(parts)


def _used_materials(objects):
    """Materials on the given objects, then any other material with users, in a stable order."""
    seen = {}
    for obj in objects:
        for slot in obj.material_slots:
            if slot.material and slot.material.name not in seen:
                seen[slot.material.name] = slot.material
    for mat in bpy.data.materials:
        if mat.users and mat.name not in seen and not mat.is_grease_pencil:
            seen[mat.name] = mat
    return list(seen.values())


def _material_line(mat):
    tree = mat.node_tree
    principled = None
    if tree is not None:
        principled = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None)
    if principled is None:
        shaders = (
            sorted({n.bl_idname for n in tree.nodes if n.type not in ("OUTPUT_MATERIAL",)})
            if tree
            else []
        )
        return (
            f"  {mat.name}: viewport colour {colour(mat.diffuse_color)}, roughness "
            f"{num(mat.roughness)}, metallic {num(mat.metallic)}"
            + (f"; nodes {', '.join(shaders)}" if shaders else "")
        )
    fields = []
    for label, names in PRINCIPLED_INPUTS:
        socket = next((principled.inputs[n] for n in names if n in principled.inputs), None)
        if socket is None:
            continue
        if label == "emit" and not socket.is_linked:
            continue  # reported together with its strength below when it matters
        if label == "transmission" and not socket.is_linked and socket.default_value == 0:
            continue
        fields.append(f"{label} {_socket_text(socket)}")
    emit_colour = next(
        (principled.inputs[n] for n in ("Emission Color", "Emission") if n in principled.inputs),
        None,
    )
    strength = principled.inputs.get("Emission Strength")
    if (
        emit_colour is not None
        and not emit_colour.is_linked
        and strength is not None
        and (strength.is_linked or strength.default_value > 0)
        and any(c > 0 for c in list(emit_colour.default_value)[:3])
    ):
        fields.append(f"emit colour {colour(emit_colour.default_value)}")
    normal = principled.inputs.get("Normal")
    if normal is not None and normal.is_linked:
        fields.append(f"normal <- {_node_names(_upstream_nodes(normal))}")
    return f"  {mat.name}: " + ", ".join(fields)


def _socket_text(socket):
    """A socket's value, or which nodes feed it (texture names included)."""
    if socket.is_linked:
        return "<- " + _node_names(_upstream_nodes(socket))
    value = socket.default_value
    try:
        values = list(value)
    except TypeError:
        return num(value)
    return colour(values) if len(values) >= 3 else vec(values)


def _upstream_nodes(socket, limit=6):
    """Nodes feeding ``socket`` (breadth first, a few only)."""
    found, queue, seen = [], [link.from_node for link in socket.links], set()
    while queue and len(found) < limit:
        node = queue.pop(0)
        if node.name in seen:
            continue
        seen.add(node.name)
        found.append(node)
        for inp in node.inputs:
            queue.extend(link.from_node for link in inp.links)
    return found


def _node_names(nodes):
    names = []
    for node in nodes:
        image = getattr(node, "image", None)
        names.append(
            f"{node.bl_label or node.type} '{image.name}'"
            if image
            else (node.bl_label or node.type)
        )
    return ", ".join(names)
