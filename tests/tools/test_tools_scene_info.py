"""get_scene_info: content of the summary on a small scene, capping on a large one."""

import math

import bpy
import pytest

from viga_addon.tools.scene.info import get_scene_info, num


def _principled(material):
    if bpy.app.version < (5, 0, 0):
        material.use_nodes = True  # 5.x materials always have nodes (use_nodes is deprecated)
    return next(n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED")


def _input(node, *names):
    return next(node.inputs[n] for n in names if n in node.inputs)


def _small_scene(scene):
    bpy.ops.mesh.primitive_cube_add(location=(1.23456, 0, 0.5), rotation=(0, 0, math.radians(45)))
    cube = bpy.context.object
    cube.name = "Table"
    cube.scale = (2, 1, 0.25)
    cube.modifiers.new("Bevel", "BEVEL")
    wood = bpy.data.materials.new("Wood")
    node = _principled(wood)
    node.inputs["Base Color"].default_value = (0.6, 0.3, 0.1, 1)
    node.inputs["Roughness"].default_value = 0.35
    texture = wood.node_tree.nodes.new("ShaderNodeTexImage")
    texture.image = bpy.data.images.new("oak.png", 4, 4)
    wood.node_tree.links.new(texture.outputs["Color"], node.inputs["Base Color"])
    cube.data.materials.append(wood)

    bpy.ops.mesh.primitive_uv_sphere_add(location=(0, 0, 2))
    lamp = bpy.context.object
    lamp.name = "Bulb"
    lamp.parent = cube
    glow = bpy.data.materials.new("Glow")
    node = _principled(glow)
    _input(node, "Emission Color", "Emission").default_value = (1, 0.5, 0, 1)
    node.inputs["Emission Strength"].default_value = 4.0
    node.inputs["Metallic"].default_value = 1.0
    lamp.data.materials.append(glow)

    bpy.ops.object.light_add(type="AREA", location=(0, -3, 4))
    area = bpy.context.object
    area.name = "Softbox"
    area.data.energy = 250
    area.data.size = 1.5
    area.data.color = (1, 0.9, 0.8)
    bpy.ops.object.light_add(type="SUN")
    bpy.context.object.data.angle = math.radians(2)

    bpy.ops.object.camera_add(location=(0, -8, 3), rotation=(math.radians(75), 0, 0))
    scene.camera = bpy.context.object
    scene.camera.data.lens = 35

    world = bpy.data.worlds.new("Sky")
    if bpy.app.version < (5, 0, 0):
        world.use_nodes = True
    background = next(n for n in world.node_tree.nodes if n.type == "BACKGROUND")
    background.inputs["Color"].default_value = (0.2, 0.3, 0.4, 1)
    background.inputs["Strength"].default_value = 0.5
    scene.world = world
    scene.view_settings.exposure = 0.75


@pytest.mark.smoke
def test_summary_of_small_scene(clean_scene):
    _small_scene(clean_scene)

    info = get_scene_info()
    text = info["text"]

    assert info["ok"] and info["truncated"] is False
    assert info["counts"]["objects"] == 2 and info["counts"]["lights"] == 2
    assert info["counts"]["cameras"] == 1 and info["counts"]["materials"] == 2
    table = next(line for line in text.splitlines() if line.strip().startswith("Table"))
    assert "loc (1.235, 0, 0.5)" in table  # rounded to 3 decimals
    assert "rot (0, 0, 45)" in table  # degrees
    assert "scale (2, 1, 0.25)" in table and "dim (4, 2, 0.5)" in table
    assert "mats [Wood]" in table and "Bevel:BEVEL" in table
    assert "parent Table" in next(line for line in text.splitlines() if "Bulb [" in line)
    wood = next(line for line in text.splitlines() if line.strip().startswith("Wood:"))
    assert "base <- Image Texture 'oak.png'" in wood and "rough 0.35" in wood
    glow = next(line for line in text.splitlines() if line.strip().startswith("Glow:"))
    assert "emit_str 4" in glow and "emit colour (1, 0.5, 0)" in glow and "metal 1" in glow
    softbox = next(line for line in text.splitlines() if "Softbox [AREA]" in line)
    assert "energy 250W" in softbox and "colour (1, 0.9, 0.8)" in softbox
    assert "size 1.5" in softbox
    assert "angle 2deg" in text
    assert "[active]" in text and "lens 35mm" in text and "rot (75, 0, 0)" in text
    assert "World 'Sky': colour (0.2, 0.3, 0.4), strength 0.5" in text
    assert "exposure 0.75" in text and "view transform" in text
    assert f"engine {clean_scene.render.engine}" in text


def test_hdri_world_is_named(clean_scene):
    world = bpy.data.worlds.new("Studio")
    if bpy.app.version < (5, 0, 0):
        world.use_nodes = True
    env = world.node_tree.nodes.new("ShaderNodeTexEnvironment")
    env.image = bpy.data.images.new("studio_4k.hdr", 8, 4)
    background = next(n for n in world.node_tree.nodes if n.type == "BACKGROUND")
    world.node_tree.links.new(env.outputs["Color"], background.inputs["Color"])
    clean_scene.world = world

    text = get_scene_info()["text"]

    assert "HDRI 'studio_4k.hdr'" in text
    assert "Camera: none" in text and "Objects: none" in text and "Lights: none" in text


def test_caps_two_thousand_objects(clean_scene):
    mesh = bpy.data.meshes.new("shared")
    for index in range(2000):
        obj = bpy.data.objects.new(f"Pebble_{index:04d}", mesh)
        obj.location = (index * 0.01, 0, 0)
        clean_scene.collection.objects.link(obj)
    bpy.ops.object.light_add(type="POINT")
    bpy.context.object.name = "KeyLight"
    bpy.ops.object.camera_add()
    clean_scene.camera = bpy.context.object

    info = get_scene_info(max_chars=4000)
    text, counts = info["text"], info["counts"]

    assert info["truncated"] is True
    assert len(text) <= 4000
    listed = sum(1 for line in text.splitlines() if line.strip().startswith("Pebble_"))
    assert 10 < listed < 2000
    assert counts["objects"] == 2000 and counts["objects_omitted"] == 2000 - listed
    assert f"... {2000 - listed} more objects not listed" in text
    assert "KeyLight [POINT]" in text and "Camera 'Camera' [active]" in text
    assert "World:" in text and "Render:" in text

    smaller = get_scene_info(max_chars=1500)
    assert len(smaller["text"]) <= 1500
    assert smaller["counts"]["objects_omitted"] > counts["objects_omitted"]


@pytest.mark.parametrize(
    "value, text",
    [(1.23456, "1.235"), (2.0, "2"), (-0.0001, "0"), (0.5, "0.5"), (-3.25, "-3.25"), (100, "100")],
)
def test_number_format(value, text):
    assert num(value) == text
