"""Restore and rollback are exact for each kind of change a model's code makes, in a scene of a
few hundred objects: the bar any faster (changed-only) revert has to meet.

Exact: the scene's full fingerprint (tools/fingerprint.py: objects, transforms, modifiers,
slots, meshes, materials, lights, camera, world, settings) is the one taken at the snapshot, and
so are what the fingerprint does not read (custom properties, constraints) and the names.
"""

import bpy
import pytest

from viga_addon.tools import fingerprint
from viga_addon.tools import snapshot as snap

COUNT = 200
MATERIALS = 8


def _build():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    mats = [bpy.data.materials.new(f"mat_{i}") for i in range(MATERIALS)]
    verts = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]
    faces = [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]
    for i in range(COUNT):
        mesh = bpy.data.meshes.new(f"mesh_{i:03d}")
        mesh.from_pydata(verts, [], faces)
        mesh.materials.append(mats[i % MATERIALS])
        obj = bpy.data.objects.new(f"part_{i:03d}", mesh)
        obj.location = (i % 20, i // 20, 0)
        obj["tag"] = i
        scene.collection.objects.link(obj)
    light = bpy.data.objects.new("key", bpy.data.lights.new("key", "POINT"))
    scene.collection.objects.link(light)
    bpy.data.objects["part_001"].parent = bpy.data.objects["part_000"]
    bpy.data.objects["part_002"].constraints.new("TRACK_TO").target = light
    return scene


def _state(scene):
    capture = fingerprint.capture(scene)
    extra = {
        o.name: (o.get("tag"), tuple(c.type for c in o.constraints), o.parent and o.parent.name)
        for o in scene.objects
    }
    names = {t: sorted(i.name for i in getattr(bpy.data, t)) for t in ("objects", "meshes")}
    names["materials"] = sorted(m.name for m in bpy.data.materials)
    return capture.entries, extra, names


def _move(scene):
    obj = bpy.data.objects["part_010"]
    obj.location.x += 3
    obj["tag"] = -1


def _delete(scene):
    bpy.data.objects.remove(bpy.data.objects["part_000"])  # a parent: its child loses it


def _add(scene):
    obj = bpy.data.objects.new("added", bpy.data.meshes.new("added_mesh"))
    scene.collection.objects.link(obj)
    obj.data.materials.append(bpy.data.materials.new("added_mat"))


def _rename(scene):
    bpy.data.objects["part_020"].name = "renamed"
    bpy.data.meshes["mesh_020"].name = "mesh_renamed"


def _material(scene):
    mat = bpy.data.materials["mat_3"]
    mat.diffuse_color = (0.0, 1.0, 0.0, 1.0)
    mat.roughness = 0.123


def _geometry(scene):
    bpy.data.meshes["mesh_030"].vertices[0].co.z = 5.0


def _constraint(scene):
    bpy.data.objects["part_002"].constraints.clear()
    bpy.data.objects["part_040"].constraints.new("COPY_LOCATION")


CHANGES = [_move, _delete, _add, _rename, _material, _geometry, _constraint]


@pytest.fixture
def big_scene():
    scene = _build()
    yield scene
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_restore_and_rollback_undo_each_kind_of_change(big_scene, tmp_path, change):
    before = _state(big_scene)
    saved = snap.snapshot("s", tmp_path)
    change(big_scene)
    assert _state(big_scene) != before  # the change is visible to the comparison
    assert snap.restore(saved["path"])["ok"]
    assert _state(bpy.context.scene) == before

    handle = snap.checkpoint()
    try:
        change(bpy.context.scene)
        assert _state(bpy.context.scene) != before
        assert snap.rollback(handle)["ok"]
        assert _state(bpy.context.scene) == before
    finally:
        handle.discard()


def test_all_changes_at_once_then_twice(big_scene, tmp_path):
    before = _state(big_scene)
    handle = snap.checkpoint()
    try:
        for _ in range(2):
            for change in CHANGES:
                try:
                    change(bpy.context.scene)
                except KeyError:  # renamed/deleted by an earlier change of the same pass
                    pass
            assert snap.rollback(handle)["ok"]
            assert _state(bpy.context.scene) == before
    finally:
        handle.discard()
