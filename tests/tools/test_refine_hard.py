"""The refiner's hard cases on real bpy with tiny renders: objects far off their place (located
in the photo first), several lights of different types (closed form per light), "never worse"
at the photo's settings, the stepped form, and the values a caller can apply elsewhere."""

from __future__ import annotations

import math

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from test_refine import build_scene, run, shoot  # noqa: E402

from viga_addon.tools.refine import check as refine_check  # noqa: E402
from viga_addon.tools.refine import locate as refine_locate  # noqa: E402
from viga_addon.tools.refine import params as refine_params  # noqa: E402
from viga_addon.tools.refine import steps as refine  # noqa: E402
from viga_addon.tools.refine.tone import ToneCurve  # noqa: E402


# --------------------------------------------------------------------------- pure parts
def test_masked_ncc_finds_a_patch_far_from_where_it_was():
    rng = np.random.default_rng(3)
    photo = rng.uniform(0.2, 0.4, (40, 60, 3)).astype(np.float32)
    patch = np.zeros((8, 6, 3), np.float32)
    patch[..., 0], patch[2:6, 1:5, 1] = 0.9, 0.6
    photo[25:33, 40:46] = patch  # where the object is in the photo
    image = rng.uniform(0.2, 0.4, (40, 60, 3)).astype(np.float32)
    image[5:13, 8:14] = patch  # where it is in the render: no overlap
    mask = np.zeros((40, 60), bool)
    mask[5:13, 8:14] = True
    found = refine_locate.locate(photo, image, mask)
    assert found["scale"] == 1.0
    (cx, cy), (ox, oy) = found["corner"], found["origin_corner"]
    assert (cx - ox, cy - oy) == (40 - 8, 25 - 5)
    assert found["score"] > found["here"] + 0.3


@pytest.mark.smoke
@pytest.mark.parametrize("transform", ["Standard", "AgX"])
def test_tone_curve_inverts_the_scene_view_transform(clean_scene, transform):
    scene = clean_scene
    scene.view_settings.view_transform = transform
    curve = ToneCurve.measure(scene)
    display = np.linspace(0.02, 0.95, 50)
    assert np.abs(curve.to_display(curve.to_linear(display)) - display).max() < 0.01
    linear = curve.to_linear(np.array([0.5]))[0]
    srgb = ((0.5 + 0.055) / 1.055) ** 2.4
    white = float(curve.to_display(np.array([1.0]))[0])
    if transform == "Standard":
        assert linear == pytest.approx(srgb, rel=0.03)
        assert white > 0.99
    else:  # AgX rolls off the highlights (scene white is not display white), unlike sRGB
        assert white < 0.9
    assert scene.render.image_settings.file_format == "PNG"  # settings put back


# --------------------------------------------------------------------------- placement
def _ground_truth():
    return {
        n: (tuple(bpy.data.objects[n].location), bpy.data.objects[n].rotation_euler.z)
        for n in ("Cube", "Bare")
    }


@pytest.mark.smoke
def test_objects_far_off_are_located_in_the_photo_and_recovered(clean_scene, tmp_path):
    build_scene()
    bpy.context.scene.render.resolution_x, bpy.context.scene.render.resolution_y = 96, 72
    photo = shoot(tmp_path / "photo.png")
    truth = _ground_truth()
    cube, cone = bpy.data.objects["Cube"], bpy.data.objects["Bare"]
    cube.location.x += 0.9  # more than its own size: render and photo do not overlap
    cube.location.y -= 0.5
    cube.rotation_euler.z += math.radians(30)
    cone.location.y -= 0.6
    result = run(["placement"], 40, photo, objects=["Cube", "Bare"], long_side=64)
    assert result["ok"], result
    assert any(s.startswith("locate: moved") and "Cube" in s for s in result["steps"])
    for name in ("Cube", "Bare"):
        error = np.linalg.norm(np.subtract(bpy.data.objects[name].location, truth[name][0]))
        assert error < 0.15, (name, error, result["steps"])
    assert result["end"]["psnr"] >= result["start"]["psnr"] + 6
    assert result["check"]["end"]["psnr"] > result["check"]["start"]["psnr"]


def test_nothing_misplaced_is_left_alone(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    before = _ground_truth()
    result = run(["placement"], 14, photo, objects=["Cube", "Bare"])
    assert result["ok"], result
    assert "locate: no object found away from its place in the photo" in result["steps"]
    for name in ("Cube", "Bare"):
        moved = np.linalg.norm(np.subtract(bpy.data.objects[name].location, before[name][0]))
        assert moved < 0.1


@pytest.mark.smoke
# --------------------------------------------------------------------------- lights
def test_sun_and_a_coloured_point_light_solve_in_closed_form(clean_scene, tmp_path):
    build_scene()
    bpy.ops.object.light_add(type="POINT", location=(1.5, -1.5, 2.0))
    point = bpy.context.object
    point.name = "Lamp"
    point.data.energy, point.data.color = 200.0, (1.0, 0.5, 0.2)
    photo = shoot(tmp_path / "photo.png")
    sun = bpy.data.objects["Sun"]
    sun.data.energy, sun.data.color = 7.0, (0.6, 0.8, 1.0)
    point.data.energy, point.data.color = 60.0, (0.5, 0.9, 0.9)
    result = run(["lighting"], 20, photo)
    assert result["ok"], result
    assert any(s.startswith("lights: 3 source(s)") for s in result["steps"])
    assert abs(sun.data.energy - 3.0) / 3.0 < 0.3
    assert abs(point.data.energy - 200.0) / 200.0 < 0.35
    assert point.data.color[0] > point.data.color[2] + 0.3  # orange again, not cyan
    assert result["end"]["psnr"] >= result["start"]["psnr"] + 8


# --------------------------------------------------------------------------- never worse
def test_result_worse_at_the_photo_settings_keeps_the_start(clean_scene, tmp_path, monkeypatch):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    bpy.data.objects["Sun"].data.energy = 9.0
    measured = []
    real = refine_check.Check._measure

    def measure(self, tag):
        figures = yield from real(self, tag)
        measured.append((tag, self.long_side, self.samples))
        if tag == "end":  # pretend the full-size render disagrees with the previews
            figures = {"loss": 9.0, "psnr": 1.0, "ssim": 0.0}
        return figures

    monkeypatch.setattr(refine_check.Check, "_measure", measure)
    result = run(["light:Sun.energy"], 8, photo, check_samples=4)
    assert result["ok"], result
    assert measured == [("start", 48, 4), ("end", 48, 4)]  # the photo's own long side
    assert result["kept_start"] is True and result["improved"] is False
    assert "kept the start" in result["note"]
    assert bpy.data.objects["Sun"].data.energy == pytest.approx(9.0)
    assert "scene left as it was" in refine.summary(result)


def test_check_can_be_turned_off_and_bad_settings_are_refused(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    result = run(["light:Sun.energy"], 3, photo, check_long_side=0)
    assert result["ok"] and result["check"] is None
    bad = run(["light:Sun.energy"], 3, photo, check_samples=0)
    assert not bad["ok"] and "check_samples" in bad["error"]
    bad = run(["light:Sun.energy"], 3, photo, strategy="magic")
    assert not bad["ok"] and "strategy" in bad["error"]


# --------------------------------------------------------------------------- stepped form, values
def test_steps_yield_after_every_render_and_values_apply_elsewhere(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    bpy.data.objects["Sun"].data.energy = 9.0
    red = bpy.data.materials["Red"].node_tree.nodes["Principled BSDF"].inputs["Base Color"]
    red.default_value = (0.2, 0.6, 0.6, 1.0)
    steps = refine.refine_steps(
        ["light:Sun.energy", "material:Red.base_color"],
        12,
        photo,
        long_side=48,
        samples=8,
        device="cpu",
    )
    yields = []
    while True:
        try:
            yields.append(next(steps))
        except StopIteration as done:
            result = done.value
            break
    assert result["ok"], result
    # one yield per budget render, plus the start and end check renders
    assert len(yields) == result["renders"] + 2
    refined = {n: list(refine_params.resolve(n, bpy.context.scene).get()) for n in result["values"]}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    build_scene()
    for name, values in result["values"].items():
        refine_params.resolve(name, bpy.context.scene).set(values)
    for name, values in refined.items():
        got = refine_params.resolve(name, bpy.context.scene).get()
        assert np.allclose(got, values, atol=1e-3)


def test_closing_the_steps_midway_puts_the_scene_back(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    sun = bpy.data.objects["Sun"]
    sun.data.energy = 9.0
    steps = refine.refine_steps(["lighting"], 20, photo, long_side=48, device="cpu")
    for _ in range(4):  # into the per-light renders: the sun is alone, the world dark
        next(steps)
    steps.close()
    assert sun.data.energy == pytest.approx(9.0)
    assert tuple(sun.data.color) == pytest.approx((1.0, 1.0, 1.0))
    bg = bpy.context.scene.world.node_tree.nodes["Background"]
    assert bg.inputs["Strength"].default_value == pytest.approx(0.8)


# --------------------------------------------------------------------------- CLI
def _cli(tmp_path, *extra):
    import argparse

    from viga_addon.cli import refine as refine_cli

    build_scene()
    photo = shoot(tmp_path / "photo.png")
    bpy.data.objects["Sun"].data.energy = 9.0
    blend = tmp_path / "task.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    parser = argparse.ArgumentParser()
    refine_cli.add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "out"
    base = ["refine", str(blend), photo, "--params", "light:Sun.energy", "--budget", "6"]
    base += ["--out", str(out), "--long-side", "48", "--view-size", "48", "--device", "cpu"]
    return refine_cli.run(parser.parse_args([*base, "--quiet", *extra])), out


def test_cli_strategy_and_check_options(clean_scene, tmp_path):
    import json

    code, out = _cli(tmp_path, "--strategy", "search", "--check-size", "0")
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["refine"]["check"] is None
    assert report["after"]["psnr"] > report["before"]["psnr"]


@pytest.mark.parametrize("flags", [["--check-samples", "0"], ["--check-size", "8"]])
def test_cli_refuses_bad_check_settings(clean_scene, tmp_path, flags, capsys):
    code, out = _cli(tmp_path, *flags)
    assert code == 2
    assert flags[0] in capsys.readouterr().err
    assert not out.exists()
