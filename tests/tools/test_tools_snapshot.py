"""snapshot / restore / checkpoint / rollback against real bpy (no undo, no open_mainfile)."""

import json
import os
import re

import bpy
import pytest

from viga_addon.tools.scene import rna
from viga_addon.tools.snapshot import digests
from viga_addon.tools.snapshot import store as snap

COUNTED = snap.CONTENT_TYPES + ("libraries", "texts", "scenes", "shape_keys")


# ----------------------------------------------------------------------------- scene helpers
def _principled(mat):
    if mat.node_tree is None:
        mat.use_nodes = True
    return next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")


def _material(name, color, roughness, metallic):
    mat = bpy.data.materials.new(name)
    bsdf = _principled(mat)
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    return mat


def _mesh_object(name, location, material, collection, size=1.0):
    mesh = bpy.data.meshes.new(name + "_mesh")
    s = size / 2
    verts = [(x, y, z) for x in (-s, s) for y in (-s, s) for z in (-s, s)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    mesh.materials.append(material)
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    collection.objects.link(obj)
    return obj


def build_scene(scene):
    """A small but varied scene: nested collections, parenting, modifiers, hidden objects,
    Principled materials, two lights, a camera, a world colour and non-default render settings."""
    props = bpy.data.collections.new("Props")
    scene.collection.children.link(props)
    small = bpy.data.collections.new("SmallProps")
    props.children.link(small)
    red = _material("Red Paint", (0.8, 0.1, 0.05), 0.35, 0.0)
    steel = _material("Brushed Steel", (0.6, 0.6, 0.62), 0.22, 1.0)
    table = _mesh_object("Table", (0.0, 0.0, 0.4), steel, props, size=1.5)
    table.rotation_euler = (0.0, 0.0, 0.3)
    table.scale = (1.2, 0.8, 0.1)
    cup = _mesh_object("Cup", (0.2, -0.1, 0.3), red, small, size=0.2)
    cup.parent = table
    cup.modifiers.new("Bevel", "BEVEL").width = 0.01
    ghost = _mesh_object("Ghost", (2.0, 0.0, 0.0), red, scene.collection)
    ghost.hide_render = True
    ghost.hide_viewport = False
    floor = _mesh_object("Floor", (0.0, 0.0, 0.0), steel, scene.collection, size=10)
    floor.modifiers.new("Subdivision", "SUBSURF").levels = 2
    key = bpy.data.lights.new("Key Light", "AREA")
    key.energy = 612.5
    key.color = (1.0, 0.9, 0.8)
    key.size = 1.75
    key_obj = bpy.data.objects.new("Key Light", key)
    key_obj.location = (3, -3, 4)
    scene.collection.objects.link(key_obj)
    sun = bpy.data.lights.new("Sun", "SUN")
    sun.energy = 2.5
    sun_obj = bpy.data.objects.new("Sun", sun)
    props.objects.link(sun_obj)
    cam = bpy.data.cameras.new("Camera")
    cam.lens = 42.0
    cam_obj = bpy.data.objects.new("Camera", cam)
    cam_obj.location = (5, -5, 3)
    cam_obj.rotation_euler = (1.1, 0.0, 0.8)
    scene.collection.objects.link(cam_obj)
    scene.camera = cam_obj
    world = bpy.data.worlds.new("Studio")
    if world.node_tree is None:
        world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.1, 0.2, 0.3, 1.0)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.7
    scene.world = world
    scene.render.engine = "CYCLES"
    scene.render.resolution_x = 97
    scene.render.resolution_y = 61
    scene.render.resolution_percentage = 50
    scene.render.film_transparent = True
    scene.cycles.samples = 9
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.exposure = 0.7
    scene.view_settings.gamma = 1.1
    bpy.context.view_layer.update()
    ghost.hide_set(True)
    return scene


def _r(values, digits=5):
    return tuple(round(float(v), digits) for v in values)


def describe(scene):
    """Everything the restore must bring back, by name."""
    bpy.context.view_layer.update()
    objects = {}
    for obj in scene.objects:
        objects[obj.name] = {
            "type": obj.type,
            "data": obj.data.name if obj.data else None,
            "matrix": tuple(_r(row) for row in obj.matrix_world),
            "parent": obj.parent.name if obj.parent else None,
            "modifiers": [(m.name, m.type) for m in obj.modifiers],
            "slots": [s.material.name if s.material else None for s in obj.material_slots],
            "hide": (obj.hide_viewport, obj.hide_render, obj.hide_get()),
            "collections": sorted(c.name for c in obj.users_collection),
            "verts": len(obj.data.vertices) if obj.type == "MESH" else None,
        }
    materials = {}
    for mat in bpy.data.materials:
        if mat.node_tree is None:
            continue
        bsdf = next((n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED"), None)
        if bsdf is not None:
            materials[mat.name] = {
                k: _r(bsdf.inputs[k].default_value)
                if k == "Base Color"
                else round(bsdf.inputs[k].default_value, 5)
                for k in ("Base Color", "Roughness", "Metallic")
            }
    lights = {
        lt.name: (lt.type, round(lt.energy, 4), _r(lt.color), round(lt.shadow_soft_size, 4))
        for lt in bpy.data.lights
    }
    tree = scene.world.node_tree if scene.world else None
    background = tree.nodes.get("Background") if tree else None
    return {
        "objects": objects,
        "materials": materials,
        "lights": lights,
        "world": (
            scene.world.name,
            _r(background.inputs["Color"].default_value),
            round(background.inputs["Strength"].default_value, 4),
        )
        if background
        else None,
        "camera": scene.camera.name if scene.camera else None,
        "lens": {c.name: round(c.lens, 4) for c in bpy.data.cameras},
        "collections": {
            c.name: sorted(ch.name for ch in c.children)
            for c in scene.collection.children_recursive
        },
        "master": sorted(c.name for c in scene.collection.children),
        "render": (
            scene.render.engine,
            scene.render.resolution_x,
            scene.render.resolution_y,
            scene.render.resolution_percentage,
            scene.render.film_transparent,
        ),
        "cycles": (scene.cycles.samples,),
        "color": (
            scene.view_settings.view_transform,
            round(scene.view_settings.exposure, 4),
            round(scene.view_settings.gamma, 4),
            scene.view_settings.look,
        ),
    }


def counts():
    return {t: len(getattr(bpy.data, t)) for t in COUNTED}


def names():
    return {t: sorted(i.name for i in getattr(bpy.data, t)) for t in COUNTED}


def mess_up(scene, tag=""):
    """Change every kind of state restore must undo, creating and deleting things."""
    bpy.data.objects["Table"].location.x += 3
    bpy.data.objects["Cup"].parent = None
    bpy.data.objects["Floor"].modifiers.clear()
    bpy.data.objects.remove(bpy.data.objects["Ghost"])
    bpy.data.objects["Sun"].name = "Renamed Sun" + tag
    _principled(bpy.data.materials["Red Paint"]).inputs["Roughness"].default_value = 0.99
    bpy.data.lights["Key Light"].energy = 1.0
    new_mat = _material("Added" + tag, (0, 1, 0), 0.5, 0.5)
    _mesh_object("Added Cube" + tag, (1, 1, 1), new_mat, scene.collection)
    _mesh_object("Table", (0, 0, 0), new_mat, scene.collection)  # name clash -> "Table.001"
    bpy.data.meshes.new("Orphan Mesh" + tag)
    bpy.data.collections.remove(bpy.data.collections["SmallProps"])
    extra = bpy.data.collections.new("Extra" + tag)
    scene.collection.children.link(extra)
    scene.world.node_tree.nodes["Background"].inputs["Color"].default_value = (1, 0, 0, 1)
    scene.world = bpy.data.worlds.new("Other World" + tag)
    scene.camera = None
    bpy.data.cameras["Camera"].lens = 18
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = 300
    scene.render.film_transparent = False
    scene.cycles.samples = 512
    scene.view_settings.view_transform = "Filmic" if bpy.app.version < (4, 0) else "AgX"
    scene.view_settings.exposure = -2.0


# ----------------------------------------------------------------------------- tests
@pytest.mark.smoke
def test_restore_brings_back_exact_state(clean_scene, tmp_path):
    scene = build_scene(clean_scene)
    expected, expected_counts = describe(scene), counts()
    scene_pointer = scene.as_pointer()

    result = snap.snapshot("stage_geometry", tmp_path)
    assert result["ok"] and os.path.isfile(result["path"]) and result["seconds"] > 0
    mess_up(scene)
    assert describe(scene) != expected

    restored = snap.restore("stage_geometry", tmp_path)
    assert restored["ok"], restored
    assert "unrestored_settings" not in restored, restored["unrestored_settings"]
    assert bpy.context.scene.as_pointer() == scene_pointer  # same Scene datablock kept
    assert describe(scene) == expected
    assert counts() == expected_counts


@pytest.mark.smoke
def test_repeated_cycles_leave_no_orphans_libraries_or_renamed_duplicates(clean_scene, tmp_path):
    scene = build_scene(clean_scene)
    expected, expected_counts, expected_names = describe(scene), counts(), names()
    snap.snapshot("s", tmp_path)
    for cycle in range(4):
        mess_up(scene, tag=str(cycle))
        assert snap.restore("s", tmp_path)["ok"]
        assert counts() == expected_counts, cycle
        assert names() == expected_names, cycle
        assert describe(scene) == expected, cycle
        assert len(bpy.data.libraries) == 0
        renamed = [
            i.name
            for t in snap.CONTENT_TYPES
            for i in getattr(bpy.data, t)
            if re.search(r"\.\d{3}$", i.name)
        ]
        assert renamed == []
        # snapshot the restored state again: the next cycle restores from it
        snap.snapshot("s", tmp_path)


def test_restore_by_path_and_scene_settings_beyond_render(clean_scene, tmp_path):
    scene = build_scene(clean_scene)
    scene.frame_end = 77
    scene.render.image_settings.file_format = "JPEG"
    scene.render.image_settings.quality = 63
    path = snap.snapshot("by_path", tmp_path)["path"]
    scene.frame_end = 10
    scene.render.image_settings.file_format = "PNG"
    assert snap.restore(path)["ok"]
    assert scene.frame_end == 77
    assert scene.render.image_settings.file_format == "JPEG"
    assert scene.render.image_settings.quality == 63


def test_settings_payload_round_trips_through_the_rna_walker(clean_scene):
    scene = build_scene(clean_scene)
    scene.render.image_settings.file_format = "JPEG"
    structs = ("render", "view_settings", "cycles")
    saved = json.loads(json.dumps({a: rna.to_dict(getattr(scene, a)) for a in structs}))
    assert saved["render"]["image_settings"]["__struct__"]["file_format"] == "JPEG"
    assert saved["view_settings"]["exposure"] == pytest.approx(0.7)
    scene.render.resolution_x = 300
    scene.render.image_settings.file_format = "PNG"
    scene.view_settings.view_transform = "Filmic" if bpy.app.version < (4, 0) else "AgX"
    scene.view_settings.exposure = -2.0
    scene.cycles.samples = 512
    failures = []
    for attr in structs:
        rna.from_dict(getattr(scene, attr), saved[attr], failures, f"scene.{attr}.")
    assert failures == []
    assert {a: rna.to_dict(getattr(scene, a)) for a in structs} == saved
    assert scene.render.resolution_x == 97 and scene.view_settings.view_transform == "Standard"


def test_view_layer_flags_selection_and_active_object_come_back(clean_scene, tmp_path):
    scene = build_scene(clean_scene)
    view_layer = bpy.context.view_layer
    small = view_layer.layer_collection.children["Props"].children["SmallProps"]
    small.exclude = True
    table = bpy.data.objects["Table"]
    for obj in scene.objects:
        obj.select_set(obj.name in {"Table", "Floor"})
    view_layer.objects.active = table
    snap.snapshot("vl", tmp_path)
    small.exclude = False
    bpy.data.objects["Floor"].select_set(False)
    bpy.data.objects["Ghost"].hide_set(False)
    view_layer.objects.active = bpy.data.objects["Floor"]
    assert snap.restore("vl", tmp_path)["ok"]
    lc = view_layer.layer_collection.children["Props"].children["SmallProps"]
    assert lc.exclude is True
    assert view_layer.objects.active.name == "Table"
    assert sorted(o.name for o in scene.objects if o.select_get()) == ["Floor", "Table"]
    assert bpy.data.objects["Ghost"].hide_get() is True


def test_datablocks_outside_the_scene_are_left_alone(clean_scene, tmp_path):
    scene = build_scene(clean_scene)
    kept_material = bpy.data.materials.new("Library Gold")
    kept_material.use_fake_user = True
    kept_orphan = bpy.data.meshes.new("Artist Orphan")
    other_scene = bpy.data.scenes.new("Layout B")
    other_obj = bpy.data.objects.new("Only In B", bpy.data.meshes.new("B mesh"))
    other_scene.collection.objects.link(other_obj)
    pointers = {
        x.name: x.as_pointer() for x in (kept_material, kept_orphan, other_scene, other_obj)
    }

    snap.snapshot("outside", tmp_path)
    mess_up(scene)
    scene.collection.objects.link(other_obj)  # an outside object pulled into the scene
    assert snap.restore("outside", tmp_path)["ok"]

    assert bpy.data.materials["Library Gold"].as_pointer() == pointers["Library Gold"]
    assert bpy.data.meshes["Artist Orphan"].as_pointer() == pointers["Artist Orphan"]
    assert bpy.data.scenes["Layout B"].as_pointer() == pointers["Layout B"]
    assert bpy.data.objects["Only In B"].as_pointer() == pointers["Only In B"]
    assert "Only In B" not in scene.objects  # unlinked from the restored scene, still in B
    assert "Only In B" in other_scene.objects


def test_new_scene_created_after_snapshot_is_removed(clean_scene, tmp_path):
    build_scene(clean_scene)
    before = counts()
    snap.snapshot("s", tmp_path)
    bpy.data.scenes.new("Made By Code")
    assert snap.restore("s", tmp_path)["ok"]
    assert counts() == before


def test_empty_scene_round_trip(clean_scene, tmp_path):
    before = counts()
    snap.snapshot("empty", tmp_path)
    bpy.ops.mesh.primitive_cube_add()
    clean_scene.world = bpy.data.worlds.new("W")
    assert snap.restore("empty", tmp_path)["ok"]
    assert counts() == before
    assert clean_scene.world is None and len(clean_scene.objects) == 0


def test_snapshot_write_is_atomic(clean_scene, tmp_path, monkeypatch):
    build_scene(clean_scene)
    good = snap.snapshot("s", tmp_path)["path"]
    good_bytes = open(good, "rb").read()

    def explode(_scene):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(snap, "_build_payload", explode)
    with pytest.raises(KeyboardInterrupt):
        snap.snapshot("s", tmp_path)
    assert open(good, "rb").read() == good_bytes
    digests.settle()  # the good snapshot's digests are written on their thread
    # no temporary file left behind
    assert sorted(os.listdir(tmp_path)) == ["s.blend", "s.digests.json", "s.snapshot.json"]
    assert len(bpy.data.texts) == 0


def test_mismatched_pair_is_refused(clean_scene, tmp_path):
    """A kill between the two moves leaves a new .blend beside the old side-car."""
    scene = build_scene(clean_scene)
    snap.snapshot("a", tmp_path)
    bpy.data.objects["Table"].location.x = 7
    snap.snapshot("b", tmp_path)
    os.replace(tmp_path / "b.blend", tmp_path / "a.blend")
    expected, expected_counts = describe(scene), counts()
    result = snap.restore("a", tmp_path)
    assert result["ok"] is False and "does not match" in result["error"]
    assert describe(scene) == expected and counts() == expected_counts


def test_restore_errors_are_clear(clean_scene, tmp_path):
    missing = snap.restore("nope", tmp_path)
    assert missing["ok"] is False and "No snapshot file" in missing["error"]
    other = tmp_path / "plain.blend"
    bpy.ops.mesh.primitive_cube_add()
    bpy.data.libraries.write(str(other), {bpy.data.objects["Cube"]})
    before = counts()
    result = snap.restore(str(other))
    assert result["ok"] is False and "not a viga snapshot" in result["error"]
    assert "plain.snapshot.json" in result["error"]
    assert counts() == before  # nothing touched, no Library entry left


def test_checkpoint_and_rollback(clean_scene):
    scene = build_scene(clean_scene)
    expected, expected_counts = describe(scene), counts()
    handle = snap.checkpoint()
    assert handle.path.is_file() and handle.seconds > 0
    mess_up(scene)
    assert snap.rollback(handle)["ok"]
    assert describe(scene) == expected and counts() == expected_counts
    mess_up(scene, tag="again")  # a checkpoint can be rolled back to twice
    assert snap.rollback(handle)["ok"]
    assert describe(scene) == expected
    handle.discard()
    assert not handle.path.exists()
    handle.discard()
    gone = snap.rollback(handle)
    assert gone["ok"] is False and "is gone" in gone["error"]


def test_packed_images_shape_keys_geometry_nodes_and_animation_survive(clean_scene, tmp_path):
    scene = build_scene(clean_scene)
    table = bpy.data.objects["Table"]
    image = bpy.data.images.new("Painted", 8, 8)
    image.pixels[0:4] = [1.0, 0.0, 0.0, 1.0]
    image.pack()
    mat = bpy.data.materials["Red Paint"]
    mat.node_tree.nodes.new("ShaderNodeTexImage").image = image
    table.shape_key_add(name="Basis")
    table.shape_key_add(name="Squash").value = 0.25
    group = bpy.data.node_groups.new("Passthrough", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    group.links.new(
        group.nodes.new("NodeGroupInput").outputs[0], group.nodes.new("NodeGroupOutput").inputs[0]
    )
    table.modifiers.new("GN", "NODES").node_group = group
    table.keyframe_insert("location", frame=1)
    table.location.x = 2.0
    table.keyframe_insert("location", frame=10)
    scene.frame_set(1)
    expected, expected_names = describe(scene), names()

    snap.snapshot("rich", tmp_path)
    for _ in range(2):
        table = bpy.data.objects["Table"]
        table.modifiers.clear()
        table.shape_key_clear()
        table.animation_data_clear()
        bpy.data.images["Painted"].pixels[0:4] = [0.0, 1.0, 0.0, 1.0]
        assert snap.restore("rich", tmp_path)["ok"]
        assert names() == expected_names and describe(scene) == expected

    table = bpy.data.objects["Table"]
    assert [m.name for m in table.modifiers] == ["GN"]
    assert table.modifiers["GN"].node_group.name == "Passthrough"
    assert [k.name for k in table.data.shape_keys.key_blocks] == ["Basis", "Squash"]
    assert table.data.shape_keys.key_blocks["Squash"].value == pytest.approx(0.25)
    assert table.animation_data.action is not None
    assert list(bpy.data.images["Painted"].pixels[0:4]) == pytest.approx([1.0, 0.0, 0.0, 1.0])


def test_datablocks_dragged_in_by_references_are_not_duplicated(clean_scene, tmp_path):
    scene = build_scene(clean_scene)
    table = bpy.data.objects["Table"]
    curve = table.driver_add("location", 2)
    var = curve.driver.variables.new()
    var.targets[0].id_type = "SCENE"
    var.targets[0].id = scene
    var.targets[0].data_path = "frame_current"
    curve.driver.expression = "var / 10"
    notes = bpy.data.texts.new("notes.py")
    table["notes"] = notes
    expected_names = names()

    snap.snapshot("refs", tmp_path)
    assert snap.restore("refs", tmp_path)["ok"]
    assert names() == expected_names  # no "Scene.001" / "notes.py.001"
    table = bpy.data.objects["Table"]
    assert table.animation_data.drivers[0].driver.variables[0].targets[0].id == scene
    assert table["notes"] == bpy.data.texts["notes.py"]


def test_truncated_snapshot_is_refused_and_scene_left_untouched(clean_scene, tmp_path):
    scene = build_scene(clean_scene)
    path = snap.snapshot("cut", tmp_path)["path"]
    data = open(path, "rb").read()
    with open(path, "wb") as handle:  # what a crash half-way through a plain write would leave
        handle.write(data[: len(data) // 2])
    expected, expected_counts = describe(scene), counts()
    result = snap.restore(path)
    assert result["ok"] is False and "does not match" in result["error"]
    assert describe(scene) == expected and counts() == expected_counts


def test_snapshot_is_an_ordinary_blend_file(clean_scene, tmp_path):
    build_scene(clean_scene)
    path = snap.snapshot("plain", tmp_path)["path"]
    with bpy.data.libraries.load(path) as (src, _dst):
        assert sorted(src.objects) == sorted(o.name for o in clean_scene.objects)
    for lib in list(bpy.data.libraries):
        bpy.data.libraries.remove(lib)


def test_restore_never_reloads_the_file(clean_scene, tmp_path):
    """A reload (open_mainfile / factory settings) would end a running modal operator and
    reset the UI; restore must swap data in place instead."""
    scene = build_scene(clean_scene)
    loads = []

    def on_load(*_args):
        loads.append(True)

    bpy.app.handlers.load_pre.append(on_load)
    try:
        snap.snapshot("s", tmp_path)
        mess_up(scene)
        assert snap.restore("s", tmp_path)["ok"]
        handle = snap.checkpoint()
        mess_up(scene, tag="x")
        assert snap.rollback(handle)["ok"]
        handle.discard()
    finally:
        bpy.app.handlers.load_pre.remove(on_load)
    assert loads == []
    assert scene.name == "Scene" and scene == bpy.context.scene  # the held reference still works
