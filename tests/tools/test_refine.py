"""The numeric refiner on real bpy with tiny Cycles renders (48 px, 8 samples, few renders)."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from viga_addon.cli import refine as refine_cli  # noqa: E402
from viga_addon.common import metrics  # noqa: E402
from viga_addon.tools.refine import steps as refine  # noqa: E402
from viga_addon.tools.render import engine as render  # noqa: E402

SIDE = 48
SAMPLES = 8
ROOT = Path(__file__).resolve().parents[2]


def _material(name, colour, roughness=0.5):
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*colour, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    return mat


def build_scene(camera=True):
    """Ground plane, a red cube, a bare cone (no material), a sun, a world, a camera (4:3)."""
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    bpy.ops.mesh.primitive_plane_add(size=6)
    ground = bpy.context.object
    ground.name = "Ground"
    ground.data.materials.append(_material("Floor", (0.5, 0.5, 0.45)))
    bpy.ops.mesh.primitive_cube_add(size=1.2, location=(-0.5, 0, 0.6))
    cube = bpy.context.object
    cube.name = "Cube"
    cube.data.materials.append(_material("Red", (0.7, 0.1, 0.08)))
    bpy.ops.mesh.primitive_cone_add(radius1=0.4, depth=0.8, location=(1.0, 0.6, 0.4), vertices=12)
    bpy.context.object.name = "Bare"
    bpy.ops.object.light_add(type="SUN", rotation=(0.6, 0.2, 0.8))
    sun = bpy.context.object
    sun.name = "Sun"
    sun.data.energy = 3.0
    world = bpy.data.worlds.new("World")
    scene.world = world
    if world.node_tree is None:
        world.use_nodes = True
    background = world.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = (0.4, 0.5, 0.6, 1.0)
    background.inputs["Strength"].default_value = 0.8
    if camera:
        bpy.ops.object.camera_add(location=(4.0, -4.0, 3.0))
        cam = bpy.context.object
        cam.name = "Camera"
        cam.rotation_euler = render.look_at_euler(cam.location, (0, 0, 0.4))
        scene.camera = cam
    return scene


def shoot(path):
    result = render.render("preview", path=str(path), long_side=SIDE, samples=SAMPLES, device="cpu")
    assert result["ok"], result
    return str(path)


def red():
    return bpy.data.materials["Red"].node_tree.nodes["Principled BSDF"].inputs["Base Color"]


def state():
    """Everything the refiner could touch, as plain numbers (to check 'unchanged')."""
    scene = bpy.context.scene
    out = {"exposure": scene.view_settings.exposure, "objects": {}, "materials": {}}
    for obj in scene.objects:
        entry = [
            tuple(obj.location),
            tuple(obj.rotation_euler),
            tuple(obj.scale),
            tuple(obj.color),
            obj.hide_render,
        ]
        if obj.type == "LIGHT":
            entry += [obj.data.energy, tuple(obj.data.color)]
        if obj.type == "CAMERA":
            entry.append(obj.data.lens)
        out["objects"][obj.name] = entry
    for mat in bpy.data.materials:
        bsdf = mat.node_tree.nodes.get("Principled BSDF") if mat.node_tree else None
        if bsdf:
            out["materials"][mat.name] = [
                tuple(bsdf.inputs["Base Color"].default_value),
                bsdf.inputs["Roughness"].default_value,
                bsdf.inputs["Metallic"].default_value,
            ]
    if scene.world:
        bg = scene.world.node_tree.nodes["Background"]
        out["world"] = [
            tuple(bg.inputs["Color"].default_value),
            bg.inputs["Strength"].default_value,
        ]
    out["view_transform"] = scene.view_settings.view_transform
    out["override"] = bpy.context.view_layer.material_override
    out["samples"] = scene.cycles.samples
    out["resolution"] = (scene.render.resolution_x, scene.render.resolution_y)
    out["material_names"] = sorted(m.name for m in bpy.data.materials)
    return out


def run(targets, budget, photo, **kw):
    kw.setdefault("long_side", SIDE)
    kw.setdefault("samples", SAMPLES)
    kw.setdefault("device", "cpu")
    return refine.refine_parameters(targets, budget, photo, **kw)


# --------------------------------------------------------------------------- recovery
@pytest.mark.smoke
def test_recovers_light_energy_within_a_small_budget(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    bpy.data.objects["Sun"].data.energy = 9.0
    seen = []
    result = run(["light:Sun.energy"], 10, photo, progress=seen.append)
    assert result["ok"], result
    assert result["renders"] <= 10
    assert abs(bpy.data.objects["Sun"].data.energy - 3.0) / 3.0 < 0.1
    assert result["end"]["psnr"] >= result["start"]["psnr"] + 6
    assert result["params"]["light:Sun.energy"]["before"] == [9.0]
    # progress after every render, counting up, with the loss
    assert [s["renders"] for s in seen] == list(range(1, len(seen) + 1))
    assert all(s["best_loss"] <= s["loss"] + 1e-12 for s in seen)


def test_recovers_material_colour_with_object_masks(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    red().default_value = (0.2, 0.6, 0.3, 1.0)
    before = state()
    result = run(["material:Red.base_color"], 12, photo)
    assert result["ok"], result
    colour = np.array(red().default_value[:3])
    assert np.abs(colour - [0.7, 0.1, 0.08]).max() < 0.08, colour
    assert result["end"]["psnr"] >= result["start"]["psnr"] + 6
    # the ID pass left nothing behind: no override, no extra material, object colours as before
    after = state()
    assert after["override"] is None and after["material_names"] == before["material_names"]
    assert after["view_transform"] == before["view_transform"]
    assert after["objects"]["Cube"][3] == before["objects"]["Cube"][3]
    assert after["objects"]["Sun"][4] == before["objects"]["Sun"][4]


def test_mixed_targets_as_a_comma_string(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    red().default_value = (0.3, 0.5, 0.6, 1.0)
    bpy.data.objects["Sun"].data.energy = 1.0
    result = run("light:Sun.energy, material:Red.base_color", 16, photo)
    assert result["ok"], result
    assert set(result["params"]) == {"light:Sun.energy", "material:Red.base_color"}
    assert result["end"]["psnr"] >= result["start"]["psnr"] + 6
    assert abs(bpy.data.objects["Sun"].data.energy - 3.0) / 3.0 < 0.25
    assert np.abs(np.array(red().default_value[:3]) - [0.7, 0.1, 0.08]).max() < 0.15


def test_object_masks_separate_objects(clean_scene, tmp_path):
    from viga_addon.tools.refine import masks as refine_masks

    build_scene()
    masks = refine_masks.object_masks(str(tmp_path / "ids.png"), 64, 48)
    assert set(masks) == {"Ground", "Cube", "Bare"}
    assert all(m.shape == (48, 64) for m in masks.values())
    total = sum(m.astype(int) for m in masks.values())
    assert total.max() == 1  # no pixel claimed twice
    assert masks["Cube"].sum() > 50 and masks["Bare"].sum() > 10
    # the cube sits left of the cone in this view
    cube_x = np.nonzero(masks["Cube"])[1].mean()
    cone_x = np.nonzero(masks["Bare"])[1].mean()
    assert cube_x < cone_x
    assert not (tmp_path / "ids.png").exists()


# --------------------------------------------------------------------------- never worse
@pytest.mark.smoke
def test_never_worse_than_the_start_at_the_optimum(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    before = state()
    result = run(["light:Sun.energy", "world.strength"], 6, photo)
    assert result["ok"], result
    assert result["end"]["loss"] <= result["start"]["loss"]
    assert not result["improved"]
    assert state() == before  # the start was best: exactly the original values are back


def test_never_worse_on_an_unreachable_photo(clean_scene, tmp_path):
    build_scene()
    rng = np.random.default_rng(0)
    noise = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    result = run(["camera"], 8, str(tmp_path / "noise.png"), workdir=str(tmp_path / "work"))
    assert result["ok"], result
    assert result["end"]["loss"] <= result["start"]["loss"]
    assert result["renders"] <= 8
    # what the scene was left in renders to what the refiner reported as best
    check = shoot(tmp_path / "check.png")
    best = metrics.load_rgb(tmp_path / "work" / "best.png")
    assert np.abs(metrics.load_rgb(check) - best).max() < 2 / 255


def test_cancel_from_progress_keeps_the_best(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    bpy.data.objects["Sun"].data.energy = 9.0
    result = run(["light:Sun.energy"], 30, photo, progress=lambda info: info["renders"] < 2)
    assert result["ok"] and result["stopped"] == "cancelled"
    assert result["renders"] == 2
    assert result["end"]["loss"] <= result["start"]["loss"]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "targets, kwargs, words",
    [
        (["light:Moon.energy"], {}, ["Moon", "Sun"]),
        (["light:Sun.brightness"], {}, ["brightness", "energy"]),
        (["material:Nope.base_color"], {}, ["Nope", "Red"]),
        (["object:Cube.colour"], {}, ["colour", "location"]),
        (["sky.color"], {}, ["sky.color"]),
        (["material"], {"objects": ["Bare"]}, ["Bare", "no material"]),
        (["placement"], {"objects": ["Ghost"]}, ["Ghost"]),
        (["lighting"], {"allowed_groups": ["material"]}, ["light:Sun.energy", "material"]),
        ([], {}, ["non-empty"]),
    ],
)
def test_bad_targets_are_refused_and_the_scene_unchanged(
    clean_scene, tmp_path, targets, kwargs, words
):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    before = state()
    result = run(targets, 10, photo, **kwargs)
    assert not result["ok"]
    for word in words:
        assert word in result["error"], result["error"]
    assert state() == before


@pytest.mark.smoke
@pytest.mark.parametrize("budget", [0, -3, 2.5, True])
def test_bad_budget_is_refused(clean_scene, tmp_path, budget):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    before = state()
    result = run(["light:Sun.energy"], budget, photo)
    assert not result["ok"] and "budget" in result["error"]
    assert state() == before


def test_scene_without_camera_is_refused(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    bpy.data.objects.remove(bpy.data.objects["Camera"])
    before = state()
    for targets in (["light:Sun.energy"], ["camera"], ["camera.lens"]):
        result = run(targets, 10, photo)
        assert not result["ok"] and "no camera" in result["error"], result
    assert state() == before


def test_missing_or_unreadable_photo(clean_scene, tmp_path):
    build_scene()
    before = state()
    result = run(["light:Sun.energy"], 5, str(tmp_path / "missing.png"))
    assert not result["ok"] and "photo" in result["error"]
    (tmp_path / "bad.png").write_bytes(b"not a png")
    result = run(["light:Sun.energy"], 5, str(tmp_path / "bad.png"))
    assert not result["ok"] and "cannot read the photo" in result["error"]
    assert state() == before


def test_photo_of_another_aspect_is_compared_on_the_crop(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")  # 48x36, aspect 4:3
    wide = metrics.load_rgb(photo)[9:27]  # its centre 48x18 strip: aspect 8:3
    Image.fromarray((wide * 255).round().astype(np.uint8)).save(tmp_path / "wide.png")
    bpy.data.objects["Sun"].data.energy = 9.0
    result = run(["light:Sun.energy"], 10, str(tmp_path / "wide.png"))
    assert result["ok"], result
    assert "aspect" in result["note"] and "crop" in result["note"]
    assert result["size"][0] / result["size"][1] == pytest.approx(8 / 3, rel=0.05)
    assert abs(bpy.data.objects["Sun"].data.energy - 3.0) / 3.0 < 0.15


def test_linked_socket_and_quaternion_are_refused(clean_scene, tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    tree = bpy.data.materials["Red"].node_tree
    tex = tree.nodes.new("ShaderNodeTexNoise")
    tree.links.new(tex.outputs["Color"], tree.nodes["Principled BSDF"].inputs["Base Color"])
    result = run(["material:Red.base_color"], 5, photo)
    assert not result["ok"] and "link" in result["error"]
    bpy.data.objects["Cube"].rotation_mode = "QUATERNION"
    result = run(["object:Cube.rotation"], 5, photo)
    assert not result["ok"] and "QUATERNION" in result["error"]


def test_groups_expand_to_named_parameters(clean_scene):
    from viga_addon.tools.refine import params as refine_params

    scene = build_scene()
    assert refine_params.group_names("lighting", scene) == [
        "light:Sun.energy",
        "light:Sun.color",
        "light:Sun.rotation",
        "world.strength",
        "world.color",
    ]
    material = refine_params.group_names("material", scene)
    assert "material:Red.base_color" in material and "material:Floor.metallic" in material
    assert refine_params.group_names("placement", scene, ["Cube"]) == [
        "object:Cube.location",
        "object:Cube.rotation",
        "object:Cube.scale",
    ]
    assert refine_params.group_names("camera", scene) == [
        "camera.location",
        "camera.rotation",
        "camera.lens",
    ]


# --------------------------------------------------------------------------- CLI
def _save_task(tmp_path):
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    red().default_value = (0.2, 0.6, 0.3, 1.0)
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    return blend, photo


def test_cli_writes_refined_blend_renders_and_metrics(clean_scene, tmp_path):
    blend, photo = _save_task(tmp_path)
    parser = argparse.ArgumentParser()
    refine_cli.add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "out"
    args = parser.parse_args(
        [
            "refine",
            str(blend),
            photo,
            "--params",
            "material",
            "--objects",
            "Cube",
            "--budget",
            "10",
            "--out",
            str(out),
            "--long-side",
            str(SIDE),
            "--view-size",
            "48",
            "--view-samples",
            "8",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert refine_cli.run(args) == 0
    for name in ("refined.blend", "before.png", "after.png", "metrics.json"):
        assert (out / name).is_file(), name
    report = json.loads((out / "metrics.json").read_text())
    assert report["after"]["psnr"] > report["before"]["psnr"] + 3
    assert report["refine"]["renders"] <= 10
    assert "material:Red.base_color" in report["refine"]["params"]
    # the refined file holds the refined colour; the input file is untouched
    bpy.ops.wm.open_mainfile(filepath=str(out / "refined.blend"))
    assert np.abs(np.array(red().default_value[:3]) - [0.7, 0.1, 0.08]).max() < 0.1
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert tuple(red().default_value[:3]) == pytest.approx((0.2, 0.6, 0.3))


def test_cli_as_a_process_reports_bad_input(tmp_path, clean_scene):
    blend, photo = _save_task(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "viga_addon",
        "refine",
        str(blend),
        photo,
        "--out",
        str(tmp_path / "out"),
    ]
    bad = subprocess.run(
        cmd + ["--params", "light:Moon.energy", "--device", "cpu"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2 and "Moon" in bad.stderr
    assert not (tmp_path / "out" / "before.png").exists()
    zero = subprocess.run(
        cmd + ["--params", "lighting", "--budget", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert zero.returncode == 2 and "budget" in zero.stderr
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "viga_addon",
            "refine",
            str(tmp_path / "none.blend"),
            photo,
            "--params",
            "camera",
            "--out",
            str(tmp_path / "o2"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert missing.returncode == 2 and "none.blend" in missing.stderr
