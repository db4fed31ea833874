"""render(): tiny real Cycles renders (≤96 px, ≤8 samples), settings restored, no-camera scenes."""

import os

import bpy
import numpy as np
import pytest
from PIL import Image

from viga_addon.tools.render import engine as render_tool
from viga_addon.tools.render.engine import engine_id, look_at_euler, render

TINY = {"long_side": 64, "samples": 4}


def _build_simple_scene(with_camera=True):
    """A cube on a plane lit by a sun, optionally seen by a camera."""
    bpy.ops.mesh.primitive_cube_add(location=(0, 0, 1))
    bpy.ops.mesh.primitive_plane_add(size=10)
    bpy.ops.object.light_add(type="SUN", location=(0, 0, 5))
    bpy.context.object.data.energy = 3.0
    if with_camera:
        bpy.ops.object.camera_add(location=(7, -7, 5))
        camera = bpy.context.object
        camera.rotation_euler = look_at_euler((7, -7, 5), (0, 0, 1))
        bpy.context.scene.camera = camera


def _settings(scene):
    """Everything render() may touch, as plain values."""
    r, img, cyc = scene.render, scene.render.image_settings, scene.cycles
    return {
        "engine": r.engine,
        "res": (r.resolution_x, r.resolution_y),
        "percentage": r.resolution_percentage,
        "filepath": r.filepath,
        "use_file_extension": r.use_file_extension,
        "format": img.file_format,
        "color_mode": img.color_mode,
        "color_depth": img.color_depth,
        "samples": cyc.samples,
        "adaptive": cyc.use_adaptive_sampling,
        "threshold": round(cyc.adaptive_threshold, 6),
        "denoise": cyc.use_denoising,
        "device": cyc.device,
        "camera": scene.camera.name if scene.camera else None,
        "eevee_samples": scene.eevee.taa_render_samples,
        "objects": sorted(o.name for o in bpy.data.objects),
        "cameras": sorted(c.name for c in bpy.data.cameras),
    }


def _unusual_settings(scene):
    scene.render.engine = "CYCLES"
    scene.render.resolution_x, scene.render.resolution_y = 333, 222
    scene.render.resolution_percentage = 37
    scene.render.filepath = "//somewhere/frame_"
    scene.render.image_settings.file_format = "JPEG"
    scene.cycles.samples = 77
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.adaptive_threshold = 0.2
    scene.cycles.use_denoising = False


@pytest.mark.smoke
def test_auto_device_falls_back_to_cpu_and_writes_png(clean_scene, tmp_path):
    _build_simple_scene()
    clean_scene.render.resolution_x, clean_scene.render.resolution_y = 400, 300
    out = tmp_path / "shot.png"

    result = render("preview", path=str(out), **TINY)

    assert result["ok"], result
    assert result["path"] == str(out) and out.exists()
    if render_tool.find_gpu_backend()[0] is None:
        assert (result["device"], result["backend"]) == ("CPU", "CPU")
        assert "No GPU" in result["note"] and "CPU" in result["note"]
    assert (result["width"], result["height"]) == (64, 48)  # the scene's 4:3 aspect kept
    assert result["samples"] == 4 and result["engine"] == "CYCLES"
    assert result["denoised"] is True  # OpenImageDenoise is compiled into both bpy wheels
    assert result["seconds"] > 0
    image = Image.open(out)
    assert image.mode == "RGBA" and image.size == (64, 48)
    pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 5  # a lit cube on a plane, not a flat frame
    assert os.listdir(tmp_path) == ["shot.png"]  # the temporary file was renamed, not left


@pytest.mark.smoke
def test_settings_restored_after_render(clean_scene, tmp_path):
    _build_simple_scene()
    _unusual_settings(clean_scene)
    before = _settings(clean_scene)

    result = render("final", path=str(tmp_path / "a.png"), **TINY)

    assert result["ok"], result
    assert _settings(clean_scene) == before


def test_settings_restored_when_blender_render_raises(clean_scene, tmp_path, monkeypatch):
    _build_simple_scene(with_camera=False)
    _unusual_settings(clean_scene)
    before = _settings(clean_scene)

    def failing_render():
        raise RuntimeError("Error: simulated render failure")

    monkeypatch.setattr(render_tool, "_run_render", failing_render)
    result = render("preview", path=str(tmp_path / "a.png"), **TINY)

    assert result == {
        "ok": False,
        "error": "Render failed: RuntimeError: Error: simulated render failure",
    }
    assert _settings(clean_scene) == before  # the temporary camera is gone as well
    assert not list(tmp_path.iterdir())


def test_settings_restored_when_output_folder_is_unusable(clean_scene, tmp_path):
    _build_simple_scene()
    _unusual_settings(clean_scene)
    before = _settings(clean_scene)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder is needed")

    result = render("preview", path=str(blocker / "a.png"), **TINY)

    assert result["ok"] is False and "Render failed" in result["error"]
    assert _settings(clean_scene) == before


@pytest.mark.smoke
def test_scene_without_camera_uses_temporary_framing_camera(clean_scene, tmp_path):
    _build_simple_scene(with_camera=False)
    objects_before = sorted(o.name for o in bpy.data.objects)

    result = render("preview", path=str(tmp_path / "c.png"), **TINY)

    assert result["ok"], result
    assert "no camera" in result["note"] and "temporary camera" in result["note"]
    assert clean_scene.camera is None
    assert sorted(o.name for o in bpy.data.objects) == objects_before
    assert len(bpy.data.cameras) == 0
    pixels = np.asarray(Image.open(result["path"]).convert("L"), dtype=float)
    assert pixels.std() > 5  # the framing camera actually sees the cube and plane


def test_empty_scene_renders_world_only(clean_scene, tmp_path):
    result = render("preview", path=str(tmp_path / "e.png"), long_side=32, samples=1)

    assert result["ok"], result
    assert os.path.exists(result["path"])
    assert len(bpy.data.objects) == 0 and len(bpy.data.cameras) == 0


def test_render_through_named_camera_keeps_scene_camera(clean_scene, tmp_path):
    _build_simple_scene()
    main_camera = clean_scene.camera
    bpy.ops.object.camera_add(location=(0, 0, 20), rotation=(0, 0, 0))
    top = bpy.context.object
    top.name = "TopCamera"

    through_main = render("preview", path=str(tmp_path / "main.png"), **TINY)
    through_top = render("preview", path=str(tmp_path / "top.png"), camera="TopCamera", **TINY)

    assert through_main["ok"] and through_top["ok"]
    assert clean_scene.camera == main_camera
    main_pixels = np.asarray(Image.open(through_main["path"]).convert("L"), dtype=float)
    top_pixels = np.asarray(Image.open(through_top["path"]).convert("L"), dtype=float)
    assert np.abs(main_pixels - top_pixels).mean() > 5  # really a different viewpoint


def test_bad_requests_give_clear_errors(clean_scene):
    _build_simple_scene()
    assert "Unknown preset" in render("huge")["error"]
    assert "Unknown engine" in render(engine="LUXCORE")["error"]
    assert "Unknown device" in render(device="tpu")["error"]
    assert "long_side" in render(long_side=3)["error"]
    error = render(camera="Cube")["error"]
    assert "No camera object named 'Cube'" in error and "Camera" in error


def test_gpu_request_fails_clearly_without_gpu(clean_scene, tmp_path):
    if render_tool.find_gpu_backend()[0] is not None:
        pytest.skip("this machine has a GPU for Cycles")
    _build_simple_scene()
    before = _settings(clean_scene)

    result = render("preview", path=str(tmp_path / "g.png"), device="gpu", **TINY)

    assert result["ok"] is False
    assert "no GPU" in result["error"] and "device='cpu'" in result["error"]
    assert _settings(clean_scene) == before
    assert not (tmp_path / "g.png").exists()


@pytest.mark.smoke
def test_eevee_engine_id_matches_running_blender():
    ids = {i.identifier for i in bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items}
    assert engine_id("EEVEE") in ids
    # Checked in both wheels: 4.2 calls it BLENDER_EEVEE_NEXT, 5.x BLENDER_EEVEE.
    if bpy.app.version[:2] == (4, 2):
        assert engine_id("EEVEE") == "BLENDER_EEVEE_NEXT"
    if bpy.app.version >= (5, 0, 0):
        assert engine_id("EEVEE") == "BLENDER_EEVEE"
    assert engine_id("CYCLES") == "CYCLES"


@pytest.mark.slow
def test_eevee_render(clean_scene, tmp_path):
    """EEVEE on the software GL here: ~5 s with a warm shader cache, ~30-45 s cold."""
    _build_simple_scene()
    before = _settings(clean_scene)

    result = render(
        "preview", path=str(tmp_path / "ev.png"), engine="EEVEE", long_side=32, samples=1
    )

    assert result["ok"], result
    assert result["engine"] == "EEVEE" and result["device"] == "GPU"
    assert Image.open(result["path"]).size == (32, 18)  # factory 16:9
    assert _settings(clean_scene) == before
