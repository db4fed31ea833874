"""viga_addon.tools.scene.export: scene.py rebuilds the scene in a fresh process.

The round trip: build a scene here, render it, write scene.py, run scene.py in a new Python
process (real bpy, nothing of the add-on imported) that saves a .blend and renders the same way,
then open that .blend here and compare data and pixels.
"""

import ast
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import bpy
import numpy as np
import pytest

from viga_addon.common import metrics
from viga_addon.tools.scene import export as scene_export
from viga_addon.tools.scene.export import program, runtime

VENV311 = Path(__file__).resolve().parents[2] / ".venv-42" / "bin" / "python"  # ./dev smoke42

REBUILD = textwrap.dedent(
    """
    import runpy, sys
    import bpy
    scene_py, blend, png = sys.argv[1:4]
    runpy.run_path(scene_py, run_name="__main__")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    if png:
        scene = bpy.context.scene
        scene.render.filepath = png
        bpy.ops.render.render(write_still=True)
    """
)


def _rebuild(python, scene_py, tmp_path, render=False):
    """Run scene.py in a fresh interpreter; returns (completed process, blend path, png path)."""
    blend = tmp_path / "rebuilt.blend"
    png = tmp_path / "rebuilt.png" if render else ""
    driver = tmp_path / "rebuild_driver.py"
    driver.write_text(REBUILD)
    # a plain environment: the add-on must not be importable, scene.py may not need it
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(python), str(driver), str(scene_py), str(blend), str(png)],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        env=env,
        timeout=300,
    )
    return done, blend, png


def _render(path, scene=None):
    scene = scene or bpy.context.scene
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return path


def _material(name, base_color, roughness, metallic=0.0):
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:  # Blender < 5.0
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = base_color
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    return mat


def _set_world_color(scene, color, strength):
    world = bpy.data.worlds.new("Sky")
    if world.node_tree is None:
        world.use_nodes = True
    background = world.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = color
    background.inputs["Strength"].default_value = strength
    scene.world = world


def _cycles(scene, size=64, samples=8):
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.render.resolution_x = size
    scene.render.resolution_y = size * 3 // 4
    scene.render.resolution_percentage = 100
    scene.cycles.samples = samples
    scene.cycles.seed = 7
    scene.cycles.use_denoising = False
    scene.cycles.use_adaptive_sampling = False
    scene.render.image_settings.file_format = "PNG"


def build_full_scene(scene):
    """Several primitives (modifier, parent, two material slots), textured material, lights, camera."""
    red = _material("Red", (0.8, 0.1, 0.05, 1.0), 0.35)
    blue = _material("Blue", (0.05, 0.2, 0.9, 1.0), 0.6, metallic=0.4)
    noisy = _material("Noisy", (1, 1, 1, 1), 0.5)
    tree = noisy.node_tree
    noise = tree.nodes.new("ShaderNodeTexNoise")
    noise.name = "Noise"
    noise.location = (-600, 200)
    noise.inputs["Scale"].default_value = 6.5
    noise.inputs["Detail"].default_value = 3.0
    ramp = tree.nodes.new("ShaderNodeValToRGB")
    ramp.name = "Ramp"
    ramp.location = (-300, 200)
    ramp.color_ramp.elements[0].color = (0.1, 0.05, 0.0, 1.0)
    ramp.color_ramp.elements[1].position = 0.8
    ramp.color_ramp.elements.new(0.45).color = (0.9, 0.6, 0.1, 1.0)
    tree.links.new(noise.outputs["Fac"], ramp.inputs["Fac"])
    tree.links.new(ramp.outputs["Color"], tree.nodes["Principled BSDF"].inputs["Base Color"])

    bpy.ops.mesh.primitive_plane_add(size=8, location=(0, 0, 0))
    floor = bpy.context.object
    floor.name = "Floor"
    floor.data.materials.append(blue)

    bpy.ops.mesh.primitive_cube_add(size=1.2, location=(-0.8, 0.2, 0.6), rotation=(0, 0, 0.4))
    box = bpy.context.object
    box.name = "Box"
    bevel = box.modifiers.new("Bevel", "BEVEL")
    bevel.width = 0.12
    bevel.segments = 3
    box.data.materials.append(red)

    bpy.ops.mesh.primitive_uv_sphere_add(
        radius=0.35, segments=16, ring_count=8, location=(0, 0, 0.95)
    )
    ball = bpy.context.object
    ball.name = "Ball"
    bpy.ops.object.shade_smooth()
    ball.data.materials.append(noisy)
    ball.parent = box  # keeps its local transform; the world position follows the box

    bpy.ops.mesh.primitive_cylinder_add(
        vertices=12, radius=0.4, depth=1.0, location=(1.2, -0.3, 0.5)
    )
    pillar = bpy.context.object
    pillar.name = "Pillar"
    pillar.rotation_mode = "QUATERNION"
    pillar.rotation_quaternion = (0.9659258, 0.0, 0.0, 0.258819)
    pillar.scale = (1.0, 1.0, 1.3)
    pillar.data.materials.append(red)
    pillar.data.materials.append(blue)
    for polygon in pillar.data.polygons:
        polygon.material_index = 1 if polygon.normal.z > 0.5 else 0

    bpy.ops.object.light_add(type="POINT", location=(1.5, -2.0, 3.0))
    lamp = bpy.context.object
    lamp.name = "Lamp"
    lamp.data.energy = 400.0
    lamp.data.color = (1.0, 0.85, 0.7)
    lamp.data.shadow_soft_size = 0.4

    bpy.ops.object.light_add(type="SUN", rotation=(0.6, 0.2, 0.9))
    sun = bpy.context.object
    sun.name = "Sun"
    sun.data.energy = 2.5
    sun.data.angle = math.radians(8)

    bpy.ops.object.camera_add(
        location=(5.0, -5.0, 3.5), rotation=(math.radians(65), 0, math.radians(45))
    )
    camera = bpy.context.object
    camera.name = "Shot"
    camera.data.lens = 35.0
    camera.data.sensor_width = 32.0
    camera.data.clip_start = 0.05
    camera.data.shift_x = 0.03
    scene.camera = camera

    _set_world_color(scene, (0.3, 0.4, 0.55, 1.0), 0.8)
    _cycles(scene)
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.exposure = 0.3
    bpy.context.view_layer.update()


def build_small_scene(scene):
    """Enough for a 4.2 smoke round trip: mesh + modifier + material, parent, light, camera."""
    mat = _material("Clay", (0.6, 0.5, 0.4, 1.0), 0.7)
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0.5, -0.25, 0.5), rotation=(0.1, 0.2, 0.3))
    cube = bpy.context.object
    cube.name = "Crate"
    cube.scale = (1.0, 2.0, 0.5)
    cube.modifiers.new("Subdivision", "SUBSURF").levels = 1
    cube.data.materials.append(mat)
    bpy.ops.object.empty_add(type="PLAIN_AXES", location=(0, 0, 2))
    handle = bpy.context.object
    handle.name = "Handle"
    cube.parent = handle
    bpy.ops.object.light_add(type="AREA", location=(0, 0, 3))
    bpy.context.object.name = "Softbox"
    bpy.context.object.data.size = 1.5
    bpy.context.object.data.energy = 120.0
    bpy.ops.object.camera_add(location=(3, -3, 2))
    bpy.context.object.name = "Cam"
    bpy.context.object.data.lens = 28.0
    scene.camera = bpy.context.object
    bpy.context.view_layer.update()


def _vec(value):
    return [float(v) for v in value]


def _socket_key(socket):
    """Identifier, or the name for node-group sockets (their identifiers may be renumbered)."""
    grouped = socket.node.bl_idname in ("ShaderNodeGroup", "NodeGroupInput", "NodeGroupOutput")
    return socket.name if grouped else socket.identifier


def describe(scene):
    """Everything the round trip must preserve, as plain data."""
    bpy.context.view_layer.update()
    objects = {}
    for obj in scene.objects:
        entry = {
            "type": obj.type,
            "parent": obj.parent.name if obj.parent else None,
            "location": _vec(obj.location),
            "rotation_mode": obj.rotation_mode,
            "rotation_euler": _vec(obj.rotation_euler),
            "rotation_quaternion": _vec(obj.rotation_quaternion),
            "scale": _vec(obj.scale),
            "world": [_vec(row) for row in obj.matrix_world],
            "hide_render": obj.hide_render,
            "slots": [s.material.name if s.material else None for s in obj.material_slots],
            "modifiers": [(m.name, m.type) for m in obj.modifiers],
        }
        if obj.type == "MESH":
            mesh = obj.data
            entry["counts"] = [len(mesh.vertices), len(mesh.edges), len(mesh.polygons)]
            entry["material_index"] = [p.material_index for p in mesh.polygons]
            entry["smooth"] = [p.use_smooth for p in mesh.polygons]
            entry["uv_maps"] = [layer.name for layer in mesh.uv_layers]
        if obj.type == "LIGHT":
            light = obj.data
            entry["light"] = {
                "type": light.type,
                "energy": light.energy,
                "color": _vec(light.color),
                "shadow_soft_size": light.shadow_soft_size,
                "angle": getattr(light, "angle", None) if light.type == "SUN" else None,
                "size": light.size if light.type == "AREA" else None,
            }
        if obj.type == "CAMERA":
            cam = obj.data
            entry["camera"] = {
                k: getattr(cam, k)
                for k in (
                    "type",
                    "lens",
                    "sensor_width",
                    "sensor_height",
                    "clip_start",
                    "clip_end",
                    "ortho_scale",
                    "shift_x",
                    "shift_y",
                )
            }
        for modifier in obj.modifiers:
            entry.setdefault("modifier_values", {})[modifier.name] = {
                k: getattr(modifier, k)
                for k in ("width", "segments", "levels")
                if hasattr(modifier, k)
            }
        objects[obj.name] = entry
    materials = {}
    for mat in bpy.data.materials:
        if mat.node_tree is None:
            continue
        nodes = {}
        for node in mat.node_tree.nodes:
            values = {}
            for socket in node.inputs:
                if socket.is_linked or not hasattr(socket, "default_value"):
                    continue
                value = socket.default_value
                # group sockets may be renumbered on rebuild: compare them by name
                key = socket.name if node.bl_idname == "ShaderNodeGroup" else socket.identifier
                values[key] = (
                    _vec(value)
                    if hasattr(value, "__len__") and not isinstance(value, str)
                    else value
                )
            nodes[node.name] = {"type": node.bl_idname, "inputs": values}
            if node.bl_idname == "ShaderNodeValToRGB":
                nodes[node.name]["ramp"] = [
                    [e.position, *_vec(e.color)] for e in node.color_ramp.elements
                ]
        links = sorted(
            (
                lk.from_node.name,
                _socket_key(lk.from_socket),
                lk.to_node.name,
                _socket_key(lk.to_socket),
            )
            for lk in mat.node_tree.links
        )
        materials[mat.name] = {"nodes": nodes, "links": [list(lk) for lk in links]}
    world = scene.world
    background = world.node_tree.nodes.get("Background") if world and world.node_tree else None
    return {
        "objects": objects,
        "materials": materials,
        "camera": scene.camera.name if scene.camera else None,
        "world": _vec(background.inputs["Color"].default_value)
        + [background.inputs["Strength"].default_value]
        if background
        else None,
        "render": {
            "engine": scene.render.engine,
            "x": scene.render.resolution_x,
            "y": scene.render.resolution_y,
            "percent": scene.render.resolution_percentage,
            "samples": scene.cycles.samples,
            "seed": scene.cycles.seed,
            "film_transparent": scene.render.film_transparent,
            "view_transform": scene.view_settings.view_transform,
            "look": scene.view_settings.look,
            "exposure": scene.view_settings.exposure,
            "gamma": scene.view_settings.gamma,
        },
    }


def assert_close(expected, actual, path="", tol=1e-4):
    """Recursive equality with a float tolerance; the message names the differing entry."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert sorted(expected) == sorted(actual), (
            f"{path}: keys {sorted(expected)} != {sorted(actual)}"
        )
        for key in expected:
            assert_close(expected[key], actual[key], f"{path}.{key}", tol)
    elif isinstance(expected, (list, tuple)):
        assert len(expected) == len(actual), f"{path}: {expected} != {actual}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_close(e, a, f"{path}[{i}]", tol)
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert actual == pytest.approx(expected, abs=tol), f"{path}: {expected} != {actual}"
    else:
        assert expected == actual, f"{path}: {expected!r} != {actual!r}"


def test_full_scene_round_trip_in_fresh_process_matches_data_and_render(clean_scene, tmp_path):
    scene = clean_scene
    build_full_scene(scene)
    expected = describe(scene)
    original_png = _render(tmp_path / "original.png")

    result = scene_export.write_scene_py(tmp_path / "scene.py")
    assert result["ok"], result
    assert result["objects"] == len(scene.objects) == 7
    assert result["bytes"] == (tmp_path / "scene.py").stat().st_size
    assert result["skipped"] == []
    source = (tmp_path / "scene.py").read_text()
    assert "viga_addon" not in source.replace("Generated by viga_addon", "")
    for name in ("Floor", "Box", "Ball", "Pillar", "Lamp", "Sun", "Shot"):
        assert f"# --- Object {name!r}" in source

    done, blend, png = _rebuild(sys.executable, tmp_path / "scene.py", tmp_path, render=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scene rebuilt completely" in done.stdout, done.stdout[-3000:]

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    actual = describe(bpy.context.scene)
    assert_close(expected, actual)

    a = metrics.load_rgb(original_png)
    b = metrics.load_rgb(png)
    assert a.shape == b.shape == (48, 64, 3)
    mean_abs = float(np.abs(a - b).mean())
    print(
        f"\nscene.py round trip: mean abs pixel difference {mean_abs:.6f} (0-1 scale), "
        f"PSNR {metrics.psnr(a, b):.2f} dB, scene.py {result['bytes']} bytes"
    )
    assert mean_abs < 0.005
    # the render is not trivially empty: objects and lights made it into the picture
    assert a.std() > 0.05


@pytest.mark.smoke
def test_small_scene_round_trip_same_version(clean_scene, tmp_path):
    scene = clean_scene
    build_small_scene(scene)
    expected = describe(scene)
    result = scene_export.write_scene_py(tmp_path / "scene.py")
    assert result["ok"] and result["objects"] == 4, result

    done, blend, _ = _rebuild(sys.executable, tmp_path / "scene.py", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scene rebuilt completely" in done.stdout, done.stdout
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert_close(expected, describe(bpy.context.scene))


@pytest.mark.skipif(
    not VENV311.exists() or bpy.app.version < (5, 0, 0),
    reason="needs Blender 5.x here and the 4.2 venv",
)
def test_scene_from_5x_rebuilds_in_42_with_warnings_not_crashes(clean_scene, tmp_path):
    build_full_scene(clean_scene)
    clean_scene.render.engine = "BLENDER_EEVEE"  # the 5.x id; 4.2 calls it BLENDER_EEVEE_NEXT
    result = scene_export.write_scene_py(tmp_path / "scene.py")
    assert result["ok"], result
    done, blend, _ = _rebuild(VENV311, tmp_path / "scene.py", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    # Principled BSDF sockets that 4.2 lacks are reported, by identifier
    assert "WARNING: scene.py could not rebuild" in done.stdout
    assert "'Diffuse Roughness': not in this Blender version" in done.stdout
    # a 4.2 process reads its own .blend back and lists the objects
    listing = subprocess.run(
        [
            str(VENV311),
            "-c",
            "import bpy, json, sys; bpy.ops.wm.open_mainfile(filepath=sys.argv[1]); "
            "print(bpy.context.scene.render.engine); "
            "print(json.dumps({o.name: [o.type, o.parent.name if o.parent else None, list(o.location)] for o in bpy.context.scene.objects}))",
            str(blend),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listing.returncode == 0, listing.stderr[-2000:]
    *_, engine, objects_json = listing.stdout.strip().splitlines()
    assert engine == "BLENDER_EEVEE_NEXT"
    objects = json.loads(objects_json)
    expected = describe(clean_scene)["objects"]
    assert sorted(objects) == sorted(expected)
    for name, (kind, parent, location) in objects.items():
        assert kind == expected[name]["type"] and parent == expected[name]["parent"]
        assert location == pytest.approx(expected[name]["location"], abs=1e-4)


@pytest.mark.smoke
def test_unsupported_items_are_listed_not_dropped_silently(clean_scene, tmp_path):
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.object
    cube.name = "Tracked"
    cube.constraints.new("TRACK_TO")
    cube.vertex_groups.new(name="top")
    bpy.ops.object.armature_add(location=(2, 0, 0))
    bpy.context.object.name = "Rig"
    result = scene_export.write_scene_py(tmp_path / "scene.py")
    assert result["ok"]
    joined = "\n".join(result["skipped"])
    assert "'Tracked': constraints" in joined and "'Tracked': vertex groups" in joined
    assert "'Rig': type ARMATURE is rebuilt as an empty" in joined
    assert "constraints not written" in (tmp_path / "scene.py").read_text()  # also in the header

    done, blend, _ = _rebuild(sys.executable, tmp_path / "scene.py", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert bpy.data.objects["Rig"].type == "EMPTY"
    assert bpy.data.objects["Rig"].location[0] == pytest.approx(2.0)
    assert bpy.data.objects["Tracked"].type == "MESH"


@pytest.mark.smoke
def test_rebuild_survives_unknown_nodes_sockets_and_properties(clean_scene, tmp_path):
    """A scene.py edited or written by another version: bad names are listed, the rest builds."""
    build_small_scene(clean_scene)
    assert scene_export.write_scene_py(tmp_path / "scene.py")["ok"]
    source = (tmp_path / "scene.py").read_text()
    source = source.replace("'ShaderNodeOutputMaterial'", "'ShaderNodeFromTheFuture'", 1)
    source = source.replace("('Roughness', 'Roughness',", "('Roughness_v9', 'Roughness v9',", 1)
    source = source.replace("'lens': 28.0", "'lens': 28.0, 'lens_of_tomorrow': 1.0", 1)
    (tmp_path / "scene.py").write_text(source)
    done, blend, _ = _rebuild(sys.executable, tmp_path / "scene.py", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "ShaderNodeFromTheFuture" not in out or "node 'Material Output'" in out
    assert "node 'Material Output' in" in out
    assert "socket 'Roughness_v9': not in this Blender version" in out
    assert "lens_of_tomorrow" in out
    assert "link Principled BSDF.BSDF -> Material Output.Surface" in out
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert bpy.data.objects["Cam"].data.lens == pytest.approx(28.0)
    assert sorted(o.name for o in bpy.context.scene.objects) == [
        "Cam",
        "Crate",
        "Handle",
        "Softbox",
    ]


@pytest.mark.smoke
def test_float_literals_round_trip_float32_and_stay_short():
    import struct

    for value in (0.1, 1.0 / 3.0, 123.456789, -2.5e-8, 1e6, 0.0):
        f32 = struct.unpack("f", struct.pack("f", value))[0]
        text = scene_export.lit(f32)
        assert struct.unpack("f", struct.pack("f", float(text)))[0] == f32, (value, text)
        assert len(text) <= 15
    assert scene_export.lit(struct.unpack("f", struct.pack("f", 0.1))[0]) == "0.1"
    assert scene_export.lit((1.0, 2, "A", True)) == "(1.0, 2, 'A', True)"
    assert scene_export.lit({"B", "A"}) == "{'A', 'B'}"


@pytest.mark.smoke
def test_write_error_is_reported(clean_scene, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = scene_export.write_scene_py(blocker / "scene.py")
    assert result["ok"] is False and "could not write scene.py" in result["error"]


def _by_id(sockets, identifier):
    return next(s for s in sockets if s.identifier == identifier)


def build_extras_scene(scene, image_path):
    """Collections, a bezier curve, a text object, an image texture, a node group, hidden items."""
    from PIL import Image

    Image.new("RGB", (4, 4), (200, 30, 30)).save(image_path)
    props = bpy.data.collections.new("Props")
    scene.collection.children.link(props)
    inner = bpy.data.collections.new("Small props")
    props.children.link(inner)

    group = bpy.data.node_groups.new("Tint", "ShaderNodeTree")
    group.interface.new_socket("Color", in_out="INPUT", socket_type="NodeSocketColor")
    scratch = group.interface.new_socket("Scratch", in_out="INPUT", socket_type="NodeSocketFloat")
    group.interface.new_socket(
        "Amount", in_out="INPUT", socket_type="NodeSocketFloat"
    ).default_value = 0.25
    group.interface.remove(
        scratch
    )  # leaves a gap in the socket identifiers (Socket_0, Socket_2, ...)
    group.interface.new_socket("Color", in_out="OUTPUT", socket_type="NodeSocketColor")
    g_in = group.nodes.new("NodeGroupInput")
    g_out = group.nodes.new("NodeGroupOutput")
    mix = group.nodes.new("ShaderNodeMix")
    mix.name = "Mix"
    mix.data_type = "RGBA"
    mix.blend_type = "MULTIPLY"
    _by_id(mix.inputs, "B_Color").default_value = (0.2, 0.9, 0.3, 1.0)
    group.links.new(g_in.outputs[0], _by_id(mix.inputs, "A_Color"))
    group.links.new(g_in.outputs[1], _by_id(mix.inputs, "Factor_Float"))
    group.links.new(_by_id(mix.outputs, "Result_Color"), g_out.inputs[0])

    mat = _material("Printed", (1, 1, 1, 1), 0.5)
    tree = mat.node_tree
    tex = tree.nodes.new("ShaderNodeTexImage")
    tex.name = "Label"
    tex.image = bpy.data.images.load(str(image_path))
    tex.interpolation = "Closest"
    group_node = tree.nodes.new("ShaderNodeGroup")
    group_node.name = "Tinted"
    group_node.node_tree = group
    group_node.inputs["Amount"].default_value = 0.6
    tree.links.new(tex.outputs["Color"], group_node.inputs["Color"])
    tree.links.new(group_node.outputs["Color"], tree.nodes["Principled BSDF"].inputs["Base Color"])
    other = _material("Other", (0.1, 0.1, 0.1, 1), 0.9)

    bpy.ops.mesh.primitive_cube_add(location=(0, 0, 1))
    crate = bpy.context.object
    crate.name = "Crate"
    crate.data.materials.append(mat)
    crate.material_slots[0].link = "OBJECT"
    crate.material_slots[0].material = other
    scene.collection.objects.unlink(crate)
    props.objects.link(crate)

    bpy.ops.curve.primitive_bezier_curve_add(location=(1, 2, 0))
    rope = bpy.context.object
    rope.name = "Rope"
    rope.data.bevel_depth = 0.03
    rope.data.splines[0].bezier_points[1].co = (1.0, 0.5, 0.25)
    scene.collection.objects.unlink(rope)
    inner.objects.link(rope)

    bpy.ops.object.text_add(location=(-2, 0, 0))
    sign = bpy.context.object
    sign.name = "Sign"
    sign.data.body = "OPEN 24h"
    sign.data.extrude = 0.05
    sign.data.align_x = "CENTER"
    sign.hide_render = True

    bpy.ops.object.empty_add(type="CUBE", location=(0, 0, 3))
    marker = bpy.context.object
    marker.name = "Marker"
    marker.empty_display_size = 0.4
    marker.hide_set(True)
    bpy.context.view_layer.update()


@pytest.mark.smoke
def test_collections_curves_text_images_groups_round_trip(clean_scene, tmp_path):
    build_extras_scene(clean_scene, tmp_path / "label.png")
    expected = describe(clean_scene)
    result = scene_export.write_scene_py(tmp_path / "scene.py")
    assert result["ok"] and result["skipped"] == [], result
    done, blend, _ = _rebuild(sys.executable, tmp_path / "scene.py", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scene rebuilt completely" in done.stdout, done.stdout

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    assert_close(expected, describe(scene))
    assert [c.name for c in scene.collection.children] == ["Props"]
    assert [c.name for c in bpy.data.collections["Props"].children] == ["Small props"]
    assert [o.name for o in bpy.data.collections["Small props"].objects] == ["Rope"]
    assert [o.name for o in bpy.data.collections["Props"].objects] == ["Crate"]

    crate = bpy.data.objects["Crate"]
    assert (
        crate.material_slots[0].link == "OBJECT"
        and crate.material_slots[0].material.name == "Other"
    )
    assert crate.data.materials[0].name == "Printed"
    tree = bpy.data.materials["Printed"].node_tree
    assert Path(tree.nodes["Label"].image.filepath).name == "label.png"
    assert tree.nodes["Label"].interpolation == "Closest"
    assert tree.nodes["Tinted"].node_tree.name == "Tint"
    group = bpy.data.node_groups["Tint"]
    assert group.nodes["Mix"].blend_type == "MULTIPLY" and group.nodes["Mix"].data_type == "RGBA"
    sockets = [(i.name, i.in_out) for i in group.interface.items_tree]
    assert sockets == [("Color", "INPUT"), ("Amount", "INPUT"), ("Color", "OUTPUT")] or sorted(
        sockets
    ) == sorted([("Color", "INPUT"), ("Amount", "INPUT"), ("Color", "OUTPUT")])
    assert group.interface.items_tree["Amount"].default_value == pytest.approx(0.25)
    assert len(group.links) == 3
    assert [link.from_socket.name for link in group.links if link.to_node.name == "Mix"] == [
        "Color",
        "Amount",
    ] or sorted(link.from_socket.name for link in group.links if link.to_node.name == "Mix") == [
        "Amount",
        "Color",
    ]
    assert [s.identifier for s in tree.nodes["Tinted"].inputs] != [
        "Socket_0",
        "Socket_2",
    ]  # renumbered
    assert tree.nodes["Tinted"].inputs["Amount"].default_value == pytest.approx(0.6)

    rope = bpy.data.objects["Rope"].data
    assert rope.bevel_depth == pytest.approx(0.03)
    assert tuple(rope.splines[0].bezier_points[1].co) == pytest.approx((1.0, 0.5, 0.25), abs=1e-5)
    sign = bpy.data.objects["Sign"]
    assert sign.data.body == "OPEN 24h" and sign.data.align_x == "CENTER"
    assert sign.data.extrude == pytest.approx(0.05) and sign.hide_render
    marker = bpy.data.objects["Marker"]
    assert marker.empty_display_type == "CUBE" and marker.empty_display_size == pytest.approx(0.4)
    assert marker.hide_get()


@pytest.mark.smoke
def test_names_with_quotes_and_backslashes(clean_scene, tmp_path):
    odd_object = 'Bob\'s "box" \\U0001 """'
    odd_material = "Mat 'A' \"B\" \\"
    bpy.ops.mesh.primitive_cube_add()
    bpy.context.object.name = odd_object
    bpy.context.object.data.materials.append(_material(odd_material, (0.2, 0.3, 0.4, 1.0), 0.5))
    bpy.context.scene.name = 'Shot "1"'
    result = scene_export.write_scene_py(tmp_path / "scene.py")
    assert result["ok"], result
    done, blend, _ = _rebuild(sys.executable, tmp_path / "scene.py", tmp_path)
    assert done.returncode == 0 and "scene rebuilt completely" in done.stdout, (
        done.stdout + done.stderr[-2000:]
    )
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    obj = bpy.data.objects[odd_object]
    assert bpy.context.scene.name == 'Shot "1"'
    assert obj.material_slots[0].material.name == odd_material


# ---------------------------------------------------------------------------------------------
# The helper library scene.py carries: a real module, embedded by its source

PACKAGE_DIR = Path(scene_export.__file__).parent
RUNTIME_SOURCE = Path(runtime.__file__).read_text(encoding="utf-8")
HELPERS = {
    name
    for name, value in vars(runtime).items()
    if callable(value) and getattr(value, "__module__", None) == runtime.__name__
}

EMPTY_FILE_REBUILD = textwrap.dedent(
    """
    import importlib.abc, runpy, sys
    import bpy


    class NoAddon(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "viga_addon":
                raise ImportError("scene.py must not need the add-on")


    sys.meta_path.insert(0, NoAddon())
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert not bpy.data.objects and not bpy.data.materials and not bpy.data.meshes
    runpy.run_path(sys.argv[1], run_name="__main__")
    bpy.ops.wm.save_as_mainfile(filepath=sys.argv[2])
    """
)


@pytest.mark.smoke
def test_helper_library_is_a_plain_bpy_module():
    tree = ast.parse(RUNTIME_SOURCE)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert imported - set(sys.stdlib_module_names) == {"bpy", "mathutils"}
    assert "viga_addon" not in RUNTIME_SOURCE  # scene.py never names the add-on
    assert {
        "skip",
        "block",
        "set_props",
        "find_socket",
        "add_node",
        "link",
        "new_mesh",
        "new_object",
        "set_engine",
        "reference",
        "clear_scene",
        "finish",
    } <= HELPERS


@pytest.mark.smoke
def test_helpers_run_in_process_and_record_what_they_cannot_set(clean_scene):
    runtime.SKIPPED.clear()
    try:
        mesh = runtime.new_mesh("Tri", [0, 0, 0, 1, 0, 0, 0, 1, 0], [(0, 1, 2)], smooth=[0])
        assert len(mesh.polygons) == 1 and mesh.polygons[0].use_smooth
        obj = runtime.new_object("Tri", mesh, None)
        assert obj.name in clean_scene.collection.objects
        runtime.set_props(obj, {"location": (1.0, 2.0, 3.0), "no_such_prop": 1}, "object Tri")
        assert tuple(obj.location) == (1.0, 2.0, 3.0)

        mat = bpy.data.materials.new("Helpers")
        if mat.node_tree is None:  # Blender < 5.0
            mat.use_nodes = True
        tree = mat.node_tree
        noise = runtime.add_node(
            tree,
            "ShaderNodeTexNoise",
            "Noise",
            (-300.0, 0.0),
            inputs=[("Scale", "Scale", 4.5), ("Gone_v9", "Gone", 1.0)],
        )
        assert noise.inputs["Scale"].default_value == pytest.approx(4.5)
        assert runtime.add_node(tree, "ShaderNodeFromTheFuture", "Future", (0.0, 0.0)) is None
        runtime.link(tree, "Noise", ("Fac", "Fac"), "Principled BSDF", ("Roughness", "Roughness"))
        runtime.link(tree, "Future", ("X", "X"), "Principled BSDF", ("Roughness", "Roughness"))
        assert [
            (lk.from_node.name, lk.to_socket.name)
            for lk in tree.links
            if lk.to_node.name == "Principled BSDF" and lk.to_socket.name == "Roughness"
        ] == [("Noise", "Roughness")]
        with runtime.block("failing section"):
            raise ValueError("boom")
        runtime.set_engine(clean_scene.render, "NO_SUCH_ENGINE")
        assert clean_scene.render.engine != "NO_SUCH_ENGINE"

        joined = "\n".join(runtime.SKIPPED)
        assert "object Tri.no_such_prop:" in joined
        assert "socket 'Gone_v9': not in this Blender version" in joined
        assert "node 'Future' in" in joined and "link Future.X -> Principled BSDF" in joined
        assert "failing section: ValueError: boom" in joined
        assert "render engine: 'NO_SUCH_ENGINE' is not available" in joined

        runtime.clear_scene()
        assert not bpy.data.objects and not bpy.data.meshes and not bpy.data.materials
    finally:
        runtime.SKIPPED.clear()
        runtime.SOCKET_IDS.clear()


@pytest.mark.smoke
def test_scene_py_embeds_the_helper_library_and_rebuilds_from_an_empty_file(clean_scene, tmp_path):
    build_small_scene(clean_scene)
    expected = describe(clean_scene)
    result = scene_export.write_scene_py(tmp_path / "scene.py")
    assert result["ok"], result
    source = (tmp_path / "scene.py").read_text()

    library = program.library_source()
    assert library in source  # verbatim, once, before the scene's own statements
    assert source.count(library) == 1
    assert source.index(library) < source.index("\nclear_scene()\n") < source.index("# --- Object")
    assert runtime.__doc__.strip().splitlines()[0] not in source  # its module docstring is not
    for name in HELPERS:
        assert f"\ndef {name}(" in source, name
    assert source.rstrip().endswith(
        "finish()  # world matrices are valid from here on; prints what was not rebuilt"
    )

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    driver = tmp_path / "empty_file_driver.py"
    driver.write_text(EMPTY_FILE_REBUILD)
    blend = tmp_path / "rebuilt.blend"
    done = subprocess.run(
        [sys.executable, str(driver), str(tmp_path / "scene.py"), str(blend)],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scene rebuilt completely" in done.stdout, done.stdout[-3000:]
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert_close(expected, describe(bpy.context.scene))


@pytest.mark.smoke
def test_scene_export_modules_have_no_import_cycles():
    graph = {}
    for path in PACKAGE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    targets.add(node.module.split(".")[0])
                else:
                    targets |= {alias.name for alias in node.names}
        graph[path.stem] = targets
    assert "runtime" in graph and not graph["runtime"]
    done, visiting = set(), []

    def visit(module):
        assert module not in visiting, "import cycle: " + " -> ".join([*visiting, module])
        if module in done:
            return
        visiting.append(module)
        for target in graph.get(module, ()):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in graph:
        visit(module)
