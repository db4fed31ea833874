"""Viewing tools: they render from the viewer's own camera and never change the scene."""

import math

import bpy
import numpy as np
import pytest
from mathutils import Euler, Vector
from PIL import Image

from viga_addon.tools.render import viewing
from viga_addon.tools.render.engine import look_at_euler
from viga_addon.tools.render.viewing import Viewer

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


# ---------------------------------------------------------------------------------------------
# render_view: the generator's viewpoints
# ---------------------------------------------------------------------------------------------


def _render_view(tmp_path, name, **kwargs):
    return viewing.render_view(str(tmp_path / f"{name}.png"), render_options=TINY, **kwargs)


def _capture_after_a_render(scene, tmp_path):
    """The fingerprint after one plain render: Blender's first render in a session creates
    the "Render Result" image, whoever renders, so it is made before the capture."""
    from viga_addon.tools.render import engine as render
    from viga_addon.tools.scene import fingerprint

    assert render.render("preview", path=str(tmp_path / "warm" / "w.png"), **TINY)["ok"]
    return fingerprint.capture(scene)


def _forward(camera):
    rotation = Euler([math.radians(a) for a in camera["rotation"]])
    return rotation.to_quaternion() @ Vector((0, 0, -1))


def test_render_view_named_views_and_orbit_differ_and_change_nothing(scene, tmp_path):
    from viga_addon.tools.scene import fingerprint

    before, captured = _state(scene), _capture_after_a_render(scene, tmp_path / "w")
    both = ["Cube", "Sphere"]
    shots = {
        "camera": _render_view(tmp_path, "camera"),
        "front": _render_view(tmp_path, "front", view="front", around=both),
        "side": _render_view(tmp_path, "side", view="side", around=both),
        "top": _render_view(tmp_path, "top", view="top", around=both),
        "orbit": _render_view(tmp_path, "orbit", azimuth=30, elevation=40, distance=12),
        "scene": _render_view(tmp_path, "scene", view="front"),  # around everything visible
    }

    for name, shot in shots.items():
        assert shot["ok"], (name, shot)
        assert Image.open(shot["path"]).size == (48, 27)
        assert "m, rotation" in shot["text"] and "unchanged" in shot["text"]
        assert str(shot["camera"]["location"]) in shot["text"]
    assert shots["camera"]["camera"]["location"] == pytest.approx([7, -7, 5], abs=1e-3)
    assert shots["camera"]["camera"]["lens"] == 42 and shots["camera"]["view"] == {"name": "camera"}
    centre = Vector(shots["front"]["view"]["looking_at"])
    assert list(centre) == pytest.approx([1.25, 0, 1], abs=1e-3)  # cube and sphere
    assert shots["scene"]["view"]["looking_at"] == pytest.approx([0, 0, 1], abs=1e-3)
    assert shots["scene"]["view"]["distance"] > shots["front"]["view"]["distance"]
    assert shots["orbit"]["view"]["looking_at"] == pytest.approx([0, 0, 1], abs=1e-3)
    centre_of = {"front": centre, "side": centre, "top": centre, "orbit": Vector((0, 0, 1))}
    expected = {"front": (0, -1, 0), "side": (1, 0, 0), "top": (0, 0, 1)}
    for name, direction in expected.items():
        offset = Vector(shots[name]["camera"]["location"]) - centre_of[name]
        assert (offset.normalized() - Vector(direction)).length < 1e-3, name
        assert (_forward(shots[name]["camera"]) + Vector(direction)).length < 1e-3, name
    assert shots["top"]["camera"]["rotation"] == pytest.approx([0, 0, 0], abs=1e-3)  # +Y up
    orbit = shots["orbit"]
    offset = Vector(orbit["camera"]["location"]) - centre_of["orbit"]
    assert offset.length == pytest.approx(12, abs=1e-3)
    assert math.degrees(math.asin(offset.z / offset.length)) == pytest.approx(40, abs=0.01)
    assert math.degrees(math.atan2(offset.y, offset.x)) == pytest.approx(30, abs=0.01)
    assert orbit["view"] == {
        "name": "orbit",
        "looking_at": [0.0, 0.0, 1.0],
        "distance": 12.0,
        "azimuth": 30.0,
        "elevation": 40.0,
    }
    images = {name: _gray(shot["path"]) for name, shot in shots.items()}
    names = sorted(set(images) - {"scene"})
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(images[a] - images[b]).mean() > 2, (a, b)
    assert _state(scene) == before
    assert fingerprint.diff(captured, fingerprint.capture(scene)).changes == []


def test_render_view_isolate_renders_only_the_given_objects(scene, tmp_path, monkeypatch):
    from viga_addon.tools.scene import fingerprint

    bpy.ops.mesh.primitive_cone_add(location=(3, 0, 1.5), radius1=0.2, depth=0.4)
    bpy.context.object.name = "Hat"
    bpy.context.object.parent = bpy.data.objects["Sphere"]
    bpy.context.object.matrix_parent_inverse = bpy.data.objects["Sphere"].matrix_world.inverted()
    before, captured = _state(scene), _capture_after_a_render(scene, tmp_path / "w")
    seen = []
    real_render = viewing.render_tool.render

    def recording_render(*args, **kwargs):
        seen.append({o.name: o.hide_render for o in scene.objects if o.type != "CAMERA"})
        return real_render(*args, **kwargs)

    monkeypatch.setattr(viewing.render_tool, "render", recording_render)
    whole = _render_view(tmp_path, "whole", view="top", around=["Sphere"])
    alone = _render_view(tmp_path, "alone", view="top", around=["Sphere"], isolate=["Sphere"])
    framed = _render_view(tmp_path, "framed", view="top", isolate="Sphere")

    assert whole["ok"] and alone["ok"] and framed["ok"], (whole, alone, framed)
    hidden = {name for name, flag in seen[1].items() if flag}
    assert hidden == {"Cube", "Plane", "Empty"}  # the sphere and its child stay, so does the sun
    assert seen[0] == {**seen[1], "Cube": False, "Plane": False}
    assert alone["isolated"] == ["Hat", "Sphere"] and "Only these objects" in alone["text"]
    assert whole["camera"] == alone["camera"]
    assert framed["view"]["looking_at"] == pytest.approx([3, 0, 0.85], abs=1e-3)  # sphere + hat
    # From above the sphere, the whole scene shows the lit plane in the corners; alone, the
    # corners are the (black) world and the centre is still the sphere.
    corners = (slice(0, 5), slice(0, 5))
    whole_image, alone_image = _gray(whole["path"]), _gray(alone["path"])
    assert whole_image[corners].mean() > alone_image[corners].mean() + 20
    centre = (slice(11, 16), slice(21, 27))
    assert abs(whole_image[centre].mean() - alone_image[centre].mean()) < 25
    assert _state(scene) == before
    assert fingerprint.diff(captured, fingerprint.capture(scene)).changes == []


def test_render_view_without_a_scene_camera_frames_the_scene(scene, tmp_path):
    scene.camera = None
    shot = _render_view(tmp_path, "nocam")
    assert shot["ok"] and shot["view"]["name"] == "framing" and "no camera" in shot["note"]
    assert scene.camera is None and TEMP_CAMERA not in bpy.data.objects


TEMP_CAMERA = viewing.TEMP_CAMERA_NAME


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"view": "back"}, ["camera, front, side, top", "azimuth"]),
        ({"view": "front", "azimuth": 10}, ["either view or azimuth", "front is azimuth -90"]),
        ({"elevation": 120}, ["between -90", "90"]),
        ({"azimuth": "left"}, ["azimuth must be a number"]),
        ({"azimuth": True}, ["azimuth must be a number"]),
        ({"distance": 0}, ["positive number of metres"]),
        ({"distance": float("inf")}, ["distance must be a number"]),
        ({"view": "camera", "distance": 3}, ["photo's camera", "front, side and top"]),
        ({"isolate": [1, 2]}, ["isolate must be a list of object names"]),
        ({"isolate": ["Ghost"]}, ["isolate: No object named 'Ghost'", "Cube", "Sphere"]),
        ({"view": "top", "around": ["Ghost"]}, ["around: No object named 'Ghost'"]),
    ],
)
def test_render_view_bad_arguments_say_what_to_send(scene, tmp_path, kwargs, words):
    before = _state(scene)
    result = _render_view(tmp_path, "bad", **kwargs)
    assert result["ok"] is False
    for word in words:
        assert word in result["error"], (word, result["error"])
    assert list(tmp_path.iterdir()) == []  # nothing rendered
    assert _state(scene) == before


def test_render_view_through_the_host_and_the_session_handler(scene, tmp_path):
    """The model's arguments reach the host's render_view; nothing else does (no path, no
    render settings); the result text carries the pose."""
    from types import SimpleNamespace

    from viga_addon.agent.session import modeltools
    from viga_addon.agent.state import ToolCall
    from viga_addon.tools.host import BlenderHost

    host = BlenderHost(render_device="cpu", preview_size=48, preview_samples=2)
    calls = []

    def timed(category, name, args):
        calls.append((category, name, args))
        return host.call(name, args)

    settings = SimpleNamespace(preview_size=40, preview_samples=2, render_device="cpu")
    settings.engine = "CYCLES"
    session = SimpleNamespace(
        round_dir=lambda: tmp_path / "round_1",
        state=SimpleNamespace(settings=settings),
    )
    session.timed = timed

    def host_wait(category, name, args):  # a host without a render process: at once
        return timed(category, name, args)
        yield

    session.host_wait = host_wait
    tool = modeltools.REGISTRY["render_view"]

    def run_handler(call, args):
        from pipeline_helpers import drive

        return drive(tool.handler(session, call, args))

    assert "no argument 'path'" in tool.check({"path": "/etc/x.png"})
    checked = tool.check({"view": "side", "isolate": "Cube", "azimuth": None})
    assert checked == {"view": "side", "isolate": ["Cube"]}
    outcome = run_handler(ToolCall("c1", "render_view", checked), checked)

    assert not outcome.is_error, outcome.parts
    ((category, name, args),) = calls
    assert (category, name) == ("render", "render_view")
    assert args["path"] == str(tmp_path / "round_1" / "views" / "view_1.png")
    assert args["long_side"] == 40 and args["engine"] == "CYCLES"
    text = outcome.parts[0]["text"]
    assert text.startswith("Rendered from the side view: camera at [")
    assert "Only these objects were rendered: Cube." in text
    assert [p["type"] for p in outcome.parts] == ["text", "image"]
    assert Image.open(args["path"]).size[0] == 40

    plain = run_handler(ToolCall("c2", "render_view", {}), tool.check({}))
    assert "through the photo's camera" in plain.parts[0]["text"]
    assert (tmp_path / "round_1" / "views" / "view_2.png").exists()
    bad = host.call("render_view", {"path": str(tmp_path / "x.png"), "view": "back"})
    assert bad["ok"] is False and "camera, front, side, top" in bad["error"]
