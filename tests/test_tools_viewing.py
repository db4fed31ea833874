"""Viewing tools: they render from the viewer's own camera and never change the scene."""

import math

import bpy
import numpy as np
import pytest
from mathutils import Euler, Vector
from PIL import Image

from viga_addon.tools import viewing
from viga_addon.tools.render import look_at_euler
from viga_addon.tools.viewing import Viewer

TINY = {"long_side": 48, "samples": 2}


@pytest.fixture
def scene(clean_scene):
    """Cube, sphere and plane, a sun, and a scene camera."""
    bpy.ops.mesh.primitive_cube_add(location=(0, 0, 1))
    bpy.ops.mesh.primitive_uv_sphere_add(location=(3, 0, 0.5), radius=0.5)
    bpy.context.object.hide_viewport = True  # unusual visibility states must survive too
    bpy.ops.mesh.primitive_plane_add(size=10)
    bpy.ops.object.light_add(type="SUN", location=(0, 0, 5))
    bpy.context.object.data.energy = 3.0
    bpy.ops.object.camera_add(location=(7, -7, 5))
    camera = bpy.context.object
    camera.rotation_euler = look_at_euler((7, -7, 5), (0, 0, 1))
    camera.data.lens = 42
    clean_scene.camera = camera
    bpy.ops.object.empty_add(location=(0, 0, 4))
    bpy.context.object.hide_render = True
    bpy.context.object.hide_set(True)
    return clean_scene


@pytest.fixture
def viewer(tmp_path):
    v = Viewer()
    v.render_options = TINY
    v.out_dir = str(tmp_path)
    return v


def _state(scene):
    """The scene state the viewer must leave alone."""
    return {
        "scene_camera": scene.camera.name if scene.camera else None,
        "cameras": {
            o.name: ([round(x, 6) for row in o.matrix_world for x in row], o.data.lens)
            for o in scene.objects
            if o.type == "CAMERA"
        },
        "visibility": {
            o.name: (o.hide_render, o.hide_viewport, o.hide_get(), o.hide_select)
            for o in scene.objects
        },
        "objects": sorted(o.name for o in bpy.data.objects),
        "camera_data": sorted(c.name for c in bpy.data.cameras),
        "selected": sorted(o.name for o in scene.objects if o.select_get()),
        "active": bpy.context.view_layer.objects.active.name
        if bpy.context.view_layer.objects.active
        else None,
    }


def _gray(path):
    return np.asarray(Image.open(path).convert("L"), dtype=float)


@pytest.mark.smoke
def test_set_camera_and_visibility_leave_scene_unchanged(scene, viewer):
    before = _state(scene)

    plain = viewer.set_camera([0, -8, 3], look_at=[0, 0, 1])
    assert viewer.set_visibility(hide=["Cube"])["hidden"] == ["Cube", "Empty"]
    without_cube = viewer.set_camera([0, -8, 3], look_at=[0, 0, 1])

    assert plain["ok"] and without_cube["ok"], (plain, without_cube)
    assert plain["camera"]["location"] == [0.0, -8.0, 3.0] and plain["camera"]["lens"] == 50.0
    assert _state(scene) == before
    assert np.abs(_gray(plain["path"]) - _gray(without_cube["path"])).mean() > 3
    # Showing it again gives the first picture back (same view, same visibility).
    assert viewer.set_visibility(show=["Cube"])["hidden"] == ["Empty"]
    again = viewer.set_camera([0, -8, 3], look_at=[0, 0, 1])
    assert np.abs(_gray(plain["path"]) - _gray(again["path"])).mean() < 3
    assert _state(scene) == before


def test_initialize_viewpoint_views_corners_above_objects(scene, viewer, tmp_path):
    before = _state(scene)

    result = viewer.initialize_viewpoint(["Cube", "Sphere"], count=2)

    assert result["ok"], result
    assert len(result["images"]) == 2
    centre = Vector((1.25, 0.0, 1.0))  # joint bounding box of cube and sphere: x -1..3.5, z 0..2
    for image in result["images"]:
        assert Image.open(image["path"]).size == (48, 27)
        location = Vector(image["camera"]["location"])
        assert location.z > 2.0  # above the objects
        assert abs(location.x - centre.x) > 1 and abs(location.y - centre.y) > 1  # diagonal
        forward = look_at_euler(location, centre).to_quaternion() @ Vector((0, 0, -1))
        rotation = image["camera"]["rotation"]
        actual_forward = Euler([math.radians(a) for a in rotation]).to_quaternion() @ Vector(
            (0, 0, -1)
        )
        assert (actual_forward - forward).length < 1e-3  # looking at the centre
    first, second = (Vector(i["camera"]["location"]) for i in result["images"])
    assert abs((first - centre).length - (second - centre).length) < 1e-3
    assert (viewer.location - first).length < 1e-3  # the first view is now current
    assert _state(scene) == before


def test_investigate_orbit_zoom_focus_reset(scene, viewer):
    before = _state(scene)
    viewer.set_camera([6, 0, 1], look_at=[0, 0, 1])
    focus = viewer.focus_point.copy()

    left = viewer.investigate("orbit_left", amount=90)
    assert left["ok"], left
    assert left["camera"]["location"] == pytest.approx([0, -6, 1], abs=1e-3)
    up = viewer.investigate("orbit_up")
    offset = Vector(up["camera"]["location"]) - focus
    assert offset.length == pytest.approx(6, abs=1e-3)
    assert math.degrees(math.asin(offset.z / offset.length)) == pytest.approx(30, abs=1e-3)

    zoomed = viewer.investigate("zoom_in", amount=2)
    assert (Vector(zoomed["camera"]["location"]) - focus).length == pytest.approx(3, abs=1e-3)
    out = viewer.investigate("zoom_out", amount=3)
    assert (Vector(out["camera"]["location"]) - focus).length == pytest.approx(9, abs=1e-3)

    focused = viewer.investigate("focus", object_name="Sphere")
    assert focused["ok"]
    assert list(viewer.focus_point) == pytest.approx([3, 0, 0.5], abs=1e-3)
    assert (Vector(focused["camera"]["location"]) - viewer.focus_point).length < 5

    reset = viewer.investigate("reset")
    assert reset["camera"]["location"] == pytest.approx([7, -7, 5], abs=1e-3)
    assert reset["camera"]["lens"] == 42
    assert _state(scene) == before


def test_unknown_names_and_operations_change_nothing(scene, viewer, tmp_path):
    before = _state(scene)
    viewer.set_visibility(hide=["Plane"])

    for result in (
        viewer.initialize_viewpoint(["Cube", "Ghost"]),
        viewer.investigate("focus", object_name="Ghost"),
        viewer.set_visibility(hide=["Ghost"]),
        viewer.set_visibility(show=["Cube"], hide=["Ghost"]),
    ):
        assert result["ok"] is False
        assert result["error"].startswith("No object named 'Ghost'. Objects in the scene: ")
        assert "Cube" in result["error"] and "Sphere" in result["error"]

    bad = viewer.investigate("spin")
    assert bad["ok"] is False and "orbit_left" in bad["error"] and "reset" in bad["error"]
    assert viewer.investigate("zoom_in", amount=0.5)["ok"] is False
    assert viewer.set_camera([0, 0], look_at=[0, 0, 0])["ok"] is False
    assert viewer.set_camera([0, 0, 5])["ok"] is False  # neither rotation nor look_at

    assert viewer.hidden == {"Plane"} and viewer.shown == set()
    assert viewer.location is None  # no view was chosen by the failed calls
    assert list(tmp_path.iterdir()) == []  # and nothing was rendered
    assert _state(scene) == before


def test_unknown_name_list_is_capped(clean_scene):
    mesh = bpy.data.meshes.new("m")
    for index in range(100):
        clean_scene.collection.objects.link(bpy.data.objects.new(f"Rock_{index:03d}", mesh))

    error = viewing.investigate("focus", object_name="Boulder")["error"]

    assert "Rock_000" in error and "Rock_099" not in error and "(and 70 more)" in error


def test_module_functions_use_default_viewer(scene, tmp_path, monkeypatch):
    monkeypatch.setattr(viewing.default_viewer, "render_options", TINY)
    before = _state(scene)
    try:
        shot = viewing.set_camera([5, 5, 5], rotation=[60, 0, 135], lens=30, out_dir=str(tmp_path))
        orbit = viewing.investigate("orbit_right", out_dir=str(tmp_path))
        hidden = viewing.set_visibility(hide="Plane")
    finally:
        viewing.default_viewer.reset_state()
    assert shot["ok"] and orbit["ok"]
    assert shot["camera"]["rotation"] == pytest.approx([60, 0, 135], abs=1e-3)
    assert shot["camera"]["lens"] == 30
    assert hidden["hidden"] == ["Empty", "Plane"]
    assert _state(scene) == before
