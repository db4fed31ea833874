"""``python -m viga_addon physics SCENE.blend`` as a user runs it: a child process."""

import hashlib
import json

import bpy
import pytest
from pipeline_helpers import run_cli

from viga_addon.tools.physics.roles import OVERRIDE_PROPERTY


def _write_scene(path, float_by=0.0):
    """A ground plane, a box resting on it (``float_by`` above it) and a camera, saved."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_plane_add(size=4)
    bpy.context.object.name = "ground"
    bpy.ops.mesh.primitive_cube_add(size=0.5, location=(0, 0, 0.25 + float_by))
    bpy.context.object.name = "crate"
    bpy.ops.mesh.primitive_uv_sphere_add(
        radius=0.2, location=(1, 0, 0.2), segments=16, ring_count=8
    )
    bpy.context.object.name = "ball"
    bpy.context.object[OVERRIDE_PROPERTY] = "active"
    bpy.ops.object.camera_add(location=(3, -3, 2))
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, check_existing=False)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return path


def _fingerprint(path):
    return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_check_writes_its_folder_and_leaves_the_input_alone(tmp_path):
    scene = _write_scene(tmp_path / "shelf.blend", float_by=0.03)
    before = _fingerprint(scene)
    r = run_cli("physics", str(scene), timeout=120)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "shelf_physics"
    assert r.stdout.strip() == str(out)  # the folder alone on stdout: no Blender chatter
    assert r.stderr.strip().splitlines()[-1] == "stable 1/2 · crate floats 3.0 cm"
    assert _fingerprint(scene) == before
    assert sorted(p.name for p in out.iterdir()) == ["physics.blend", "physics.json"]
    report = json.loads((out / "physics.json").read_text())
    assert report["ready"] is False and report["seconds"] == 2.0 and report["fps"] == 24
    assert report["summary"] == "stable 1/2 · crate floats 3.0 cm"
    crate = report["objects"]["crate"]
    for key in ("role", "shape", "mass_kg", "material", "moved_m", "turned_deg"):
        assert key in crate
    assert crate["peak_speed_m_s"] > 0 and crate["detail"] == "fell 3.0 cm onto ground"
    assert (crate["role"], crate["shape"], crate["verdict"]) == ("active", "BOX", "floats")
    assert report["objects"]["ground"]["role"] == "passive"
    assert report["objects"]["ball"]["verdict"] == "rests"
    assert "Camera" not in report["objects"]

    bpy.ops.wm.open_mainfile(filepath=str(out / "physics.blend"))
    try:
        scene_data = bpy.context.scene
        assert scene_data.rigidbody_world is not None
        assert {o.name for o in scene_data.rigidbody_world.collection.objects} == {
            "ground",
            "crate",
            "ball",
        }
        assert bpy.data.objects["crate"].rigid_body.collision_shape == "BOX"
        assert bpy.data.objects["ground"].rigid_body.type == "PASSIVE"
        assert "Camera" in bpy.data.objects  # the whole scene, not just the bodies
    finally:
        bpy.ops.wm.read_factory_settings(use_empty=True)


def test_out_seconds_and_fps(tmp_path):
    scene = _write_scene(tmp_path / "still.blend")
    r = run_cli(
        "physics", str(scene), "--out", str(tmp_path / "o"), "--seconds", "1", "--fps", "30"
    )
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "o" / "physics.json").read_text())
    assert report["ready"] is True and report["frames"] == 30 and report["seconds"] == 1.0
    assert r.stderr.strip().splitlines()[-1] == "stable 2/2 · physics-ready"


@pytest.mark.parametrize(
    "make, args, expect",
    [
        (lambda p: p / "missing.blend", [], "no such file"),
        (lambda p: (p / "notes.txt").write_text("hi") and p / "notes.txt", [], "not a .blend"),
        (lambda p: p, [], "not a .blend"),
        (
            lambda p: (p / "broken.blend").write_text("not blender") and p / "broken.blend",
            [],
            "cannot open",
        ),
        (lambda p: _write_scene(p / "ok.blend"), ["--seconds", "0"], "--seconds"),
        (lambda p: _write_scene(p / "ok.blend"), ["--fps", "0"], "--fps"),
        (
            lambda p: _write_scene(p / "physics.blend"),
            ["--out", "."],
            "over the input",
        ),
    ],
)
def test_bad_input_is_exit_2_with_a_clear_message(tmp_path, make, args, expect):
    path = make(tmp_path)
    args = [str(tmp_path) if a == "." else a for a in args]
    r = run_cli("physics", str(path), *args, timeout=120)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert expect in r.stderr and r.stdout == ""
