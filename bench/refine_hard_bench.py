"""The refiner on hard synthetic tasks: busy scenes, several objects far off, mixed lights.

Three scenes of 12-13 objects (a floor, a back wall and 10-11 primitives) lit by mixed light
types with colours (sun + coloured point; spot + area + point; sun + area + coloured spot). Per
scene, five tasks from the ground truth:

- placement: three objects moved 0.3-0.6 units on the floor (any direction) and turned
  15-35° about the up axis; the refiner is given every primitive (30 transforms) to find them;
- lighting: every light's energy x/÷1.5-3, its colour redrawn, sun/spot/area directions turned
  10-20°, point lights moved 0.3-0.6; world strength x/÷1.3-1.8;
- material: every base colour redrawn, roughness ±0.3;
- camera: moved 0.15-0.35 per axis, tilted and panned 1.5-3°, focal length x/÷1.08-1.15;
- placement+lighting: both of the above at once, both groups refined together.

The photo is the ground truth at 128 px / 32 samples (seed 7). Each result is judged the way a
user sees it: re-rendered at the photo's own resolution and samples (another seed) and compared
with the photo. Both strategies run from the same perturbed state in one run, at the same budget:
"search" (closed forms, then coordinate search: the algorithm before issue 14) and "auto"
(locate objects in the photo, per-light closed form, separable search, final check).

    .venv/bin/python bench/refine_hard_bench.py [--budget 60] [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from bench.refine_bench import _add, _material, write_section  # noqa: E402
from viga_addon.common import metrics
from viga_addon.tools.refine import steps as refine
from viga_addon.tools.render import engine as render

PHOTO = {"long_side": 128, "samples": 32}
SECTION = "## Refiner: hard tasks"
TASKS = ("placement", "lighting", "material", "camera", "placement+lighting")
STRATEGIES = ("search", "auto")
PALETTE = [
    (0.75, 0.12, 0.08),
    (0.1, 0.25, 0.75),
    (0.15, 0.6, 0.2),
    (0.85, 0.7, 0.1),
    (0.55, 0.2, 0.65),
    (0.9, 0.4, 0.05),
    (0.1, 0.6, 0.65),
    (0.8, 0.8, 0.78),
    (0.3, 0.18, 0.1),
    (0.85, 0.3, 0.5),
    (0.2, 0.2, 0.22),
]
KINDS = ("cube", "uv_sphere", "cylinder", "cone", "cube", "torus", "cylinder", "cube", "cone")


# ----------------------------------------------------------------------------- scenes
def _light(kind, name, energy, colour, location=(0, 0, 4), rotation=(0, 0, 0), **data):
    bpy.ops.object.light_add(type=kind, location=location, rotation=rotation)
    light = bpy.context.object
    light.name = name
    light.data.energy = energy
    light.data.color = colour
    for key, value in data.items():
        setattr(light.data, key, value)
    return light


def _camera(location, target, lens=40.0):
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = 160, 120
    bpy.ops.object.camera_add(location=location)
    cam = bpy.context.object
    cam.name = "Camera"
    cam.rotation_euler = render.look_at_euler(cam.location, target)
    cam.data.lens = lens
    scene.camera = cam


def _world(colour, strength):
    world = bpy.data.worlds.new("World")
    bpy.context.scene.world = world
    if world.node_tree is None:
        world.use_nodes = True
    bg = world.node_tree.nodes["Background"]
    bg.inputs["Color"].default_value = (*colour, 1.0)
    bg.inputs["Strength"].default_value = strength


def _primitive(kind, name, colour, location, size, turn, roughness=0.5):
    mat = _material(f"M_{name}", colour, roughness)
    x, y = location
    if kind == "cube":
        obj = _add(kind, name, mat, size=size, location=(x, y, size / 2))
    elif kind == "uv_sphere":
        obj = _add(
            kind,
            name,
            mat,
            radius=size / 2,
            location=(x, y, size / 2),
            segments=20,
            ring_count=10,
        )
    elif kind == "cylinder":
        obj = _add(
            kind, name, mat, radius=size / 3, depth=size, location=(x, y, size / 2), vertices=16
        )
    elif kind == "cone":
        obj = _add(
            kind, name, mat, radius1=size / 2, depth=size, location=(x, y, size / 2), vertices=16
        )
    else:  # torus
        obj = _add(
            kind,
            name,
            mat,
            major_radius=size / 2,
            minor_radius=size / 6,
            location=(x, y, size / 6),
            major_segments=24,
            minor_segments=8,
        )
    obj.rotation_euler.z = turn
    return obj


def _room(seed, count, floor, wall):
    """Floor, back wall and ``count`` primitives on a loose grid; returns the primitives."""
    rng = np.random.default_rng(seed)
    _add("plane", "Floor", _material("Floor", floor, 0.7), size=10)
    back = _add("plane", "Wall", _material("Wall", wall, 0.9), size=10, location=(0, 2.6, 2.5))
    back.rotation_euler.x = math.pi / 2
    names, spots = [], [(x, y) for y in (-1.2, 0.0, 1.2) for x in (-2.0, -1.0, 0.0, 1.0, 2.0)]
    order = rng.permutation(len(spots))[:count]
    for i, k in enumerate(order):
        x, y = spots[k]
        x += rng.uniform(-0.2, 0.2)
        y += rng.uniform(-0.2, 0.2)
        name = f"Obj{i}"
        _primitive(
            KINDS[i % len(KINDS)],
            name,
            PALETTE[i % len(PALETTE)],
            (x, y),
            rng.uniform(0.45, 0.7),
            rng.uniform(0, math.pi / 2),
            rng.uniform(0.3, 0.7),
        )
        names.append(name)
    return names


def scene_studio():
    names = _room(11, 10, (0.5, 0.48, 0.45), (0.6, 0.62, 0.66))
    _light("SUN", "Sun", 3.0, (1.0, 0.95, 0.88), rotation=(0.7, 0.2, 0.6))
    _light("POINT", "Warm", 250.0, (1.0, 0.55, 0.3), location=(-1.8, -1.5, 2.2))
    _world((0.45, 0.5, 0.6), 0.5)
    _camera((0.6, -7.0, 3.6), (0, 0.2, 0.4))
    return names


def scene_gallery():
    names = _room(23, 11, (0.35, 0.33, 0.3), (0.75, 0.72, 0.68))
    _light(
        "SPOT", "Spot", 600.0, (0.9, 0.95, 1.0), location=(2.5, -3.0, 4.0), spot_size=1.2
    ).rotation_euler = render.look_at_euler((2.5, -3.0, 4.0), (0, 0, 0))
    _light(
        "AREA", "Panel", 300.0, (1.0, 0.9, 0.75), location=(-2.5, -1.5, 3.5), size=1.5
    ).rotation_euler = render.look_at_euler((-2.5, -1.5, 3.5), (0, 0, 0))
    _light("POINT", "Fill", 120.0, (0.6, 0.75, 1.0), location=(0.0, -3.5, 1.5))
    _world((0.3, 0.32, 0.35), 0.4)
    _camera((-0.8, -7.2, 3.2), (0, 0.3, 0.3))
    return names


def scene_workshop():
    names = _room(37, 10, (0.45, 0.3, 0.18), (0.55, 0.55, 0.5))
    _light("SUN", "Sun", 2.5, (1.0, 1.0, 0.95), rotation=(0.5, -0.4, -0.7))
    _light(
        "AREA", "Window", 250.0, (0.75, 0.85, 1.0), location=(3.0, -1.0, 3.0), size=2.0
    ).rotation_euler = render.look_at_euler((3.0, -1.0, 3.0), (0, 0, 0))
    _light(
        "SPOT", "Lamp", 500.0, (1.0, 0.4, 0.25), location=(-2.0, -2.5, 3.5), spot_size=1.0
    ).rotation_euler = render.look_at_euler((-2.0, -2.5, 3.5), (-0.5, 0, 0))
    _world((0.5, 0.5, 0.5), 0.3)
    _camera((1.2, -7.0, 4.0), (0, 0.1, 0.3), lens=38.0)
    return names


SCENES = {"studio": scene_studio, "gallery": scene_gallery, "workshop": scene_workshop}


def build(name):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return SCENES[name]()


# ----------------------------------------------------------------------------- perturbations
def _sign(rng):
    return 1.0 if rng.random() < 0.5 else -1.0


def perturb_placement(rng, movable):
    for name in rng.choice(movable, size=3, replace=False):
        obj = bpy.data.objects[name]
        distance, heading = rng.uniform(0.3, 0.6), rng.uniform(0, 2 * math.pi)
        obj.location.x += distance * math.cos(heading)
        obj.location.y += distance * math.sin(heading)
        obj.rotation_euler.z += _sign(rng) * math.radians(rng.uniform(15, 35))


def perturb_lighting(rng):
    scene = bpy.context.scene
    for light in (o for o in scene.objects if o.type == "LIGHT"):
        light.data.energy *= rng.uniform(1.5, 3.0) ** _sign(rng)
        light.data.color = tuple(rng.uniform(0.4, 1.0, 3))
        if light.data.type == "POINT":
            for axis in range(3):
                light.location[axis] += _sign(rng) * rng.uniform(0.3, 0.6) / math.sqrt(3)
        else:
            light.rotation_euler.x += _sign(rng) * math.radians(rng.uniform(10, 20))
            light.rotation_euler.y += _sign(rng) * math.radians(rng.uniform(10, 20))
    bg = scene.world.node_tree.nodes["Background"]
    bg.inputs["Strength"].default_value *= rng.uniform(1.3, 1.8) ** _sign(rng)


def perturb_material(rng):
    for mat in bpy.data.materials:
        bsdf = mat.node_tree.nodes["Principled BSDF"]
        bsdf.inputs["Base Color"].default_value = (*rng.uniform(0.05, 0.9, 3), 1.0)
        rough = bsdf.inputs["Roughness"]
        rough.default_value = min(1.0, max(0.0, rough.default_value + _sign(rng) * 0.3))


def perturb_camera(rng):
    cam = bpy.context.scene.camera
    for axis in range(3):
        cam.location[axis] += _sign(rng) * rng.uniform(0.15, 0.35)
    cam.rotation_euler.x += _sign(rng) * math.radians(rng.uniform(1.5, 3.0))
    cam.rotation_euler.z += _sign(rng) * math.radians(rng.uniform(1.5, 3.0))
    cam.data.lens *= rng.uniform(1.08, 1.15) ** _sign(rng)


def perturb(task, rng, movable):
    """Change the task's factors; returns (targets, objects) to refine."""
    targets, objects = [], None
    for factor in task.split("+"):
        if factor == "placement":
            perturb_placement(rng, movable)
            objects = movable
        elif factor == "lighting":
            perturb_lighting(rng)
        elif factor == "material":
            perturb_material(rng)
        elif factor == "camera":
            perturb_camera(rng)
        else:
            raise ValueError(factor)
        targets.append(factor)
    if objects is not None and "lighting" in targets:
        # the placement objects plus every light (objects limits every group)
        objects = movable + [o.name for o in bpy.context.scene.objects if o.type == "LIGHT"]
    return targets, objects


# ----------------------------------------------------------------------------- running
def judge(folder, tag, photo):
    """PSNR/SSIM of the current scene re-rendered at the photo's own settings."""
    path = os.path.join(folder, f"judge_{tag}.png")
    result = render.render("preview", path=path, device="cpu", **PHOTO)
    if not result["ok"]:
        raise RuntimeError(result["error"])
    a, b = metrics.load_rgb(path), metrics.load_rgb(photo)
    return metrics.psnr(a, b), metrics.ssim(a, b)


def run_task(scene_name, task, seed, budget, photo, folder, strategies):
    rows = []
    for strategy in strategies:
        movable = build(scene_name)
        targets, objects = perturb(task, np.random.default_rng(seed), movable)
        start_psnr, start_ssim = judge(folder, "start", photo)
        started = time.perf_counter()
        result = refine.refine_parameters(
            targets, budget, photo, objects=objects, device="cpu", strategy=strategy
        )
        if not result["ok"]:
            raise RuntimeError(f"{scene_name}/{task}/{strategy}: {result['error']}")
        seconds = time.perf_counter() - started
        end_psnr, end_ssim = judge(folder, "end", photo)
        rows.append(
            {
                "scene": scene_name,
                "task": task,
                "strategy": strategy,
                "dims": sum(len(v["before"]) for v in result["params"].values()),
                "start_psnr": start_psnr,
                "end_psnr": end_psnr,
                "start_ssim": start_ssim,
                "end_ssim": end_ssim,
                "renders": result["renders"],
                "seconds": seconds,
                "stopped": result["stopped"],
                "kept_start": bool(result.get("kept_start")),
            }
        )
        print(
            f"{scene_name:9s} {task:19s} {strategy:6s}: PSNR {start_psnr:6.2f} -> "
            f"{end_psnr:6.2f} ({result['renders']} renders, {seconds:.1f} s, "
            f"{result['stopped']})",
            file=sys.stderr,
            flush=True,
        )
    return rows


def _gain(r):
    return r["end_psnr"] - r["start_psnr"]


def table(rows, strategies) -> str:
    lines = [
        "| scene | task | dims | start PSNR | "
        + " | ".join(f"{s} end PSNR | {s} gain" for s in strategies)
        + " |",
        "|---|---|---|---|" + "---|---|" * len(strategies),
    ]
    keys = sorted({(r["scene"], r["task"]) for r in rows}, key=lambda k: (k[0], TASKS.index(k[1])))
    for scene_name, task in keys:
        group = {r["strategy"]: r for r in rows if r["scene"] == scene_name and r["task"] == task}
        first = next(iter(group.values()))
        cells = []
        for s in strategies:
            r = group.get(s)
            cells.append(f"{r['end_psnr']:.2f} | {_gain(r):+.2f}" if r else "- | -")
        lines.append(
            f"| {scene_name} | {task} | {first['dims']} | {first['start_psnr']:.2f} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "Per task: median and worst PSNR gain (dB) at the photo's settings; goal: median >= 6 dB, "
        "no task worse:",
        "",
        "| task | " + " | ".join(f"{s} median | {s} worst" for s in strategies) + " |",
        "|---|" + "---|---|" * len(strategies),
    ]
    for task in TASKS:
        cells = []
        for s in strategies:
            gains = [_gain(r) for r in rows if r["task"] == task and r["strategy"] == s]
            cells.append(
                f"{statistics.median(gains):+.2f} | {min(gains):+.2f}" if gains else "- | -"
            )
        if any(c != "- | -" for c in cells):
            lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--scenes", default=",".join(SCENES))
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", metavar="MARKDOWN", help="write the table into this file")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    scenes, tasks = args.scenes.split(","), args.tasks.split(",")
    strategies = args.strategies.split(",")
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="refine_hard_") as folder:
        for s_index, scene_name in enumerate(scenes):
            build(scene_name)
            bpy.context.scene.cycles.seed = 7
            photo = os.path.join(folder, f"{scene_name}.png")
            assert render.render("preview", path=photo, device="cpu", **PHOTO)["ok"]
            for t_index, task in enumerate(tasks):
                seed = args.seed * 1000 + s_index * 10 + t_index
                rows += run_task(scene_name, task, seed, args.budget, photo, folder, strategies)
    wall = time.perf_counter() - started
    command = f".venv/bin/python bench/refine_hard_bench.py --budget {args.budget}"
    if args.scenes != ",".join(SCENES):
        command += f" --scenes {args.scenes}"
    if args.tasks != ",".join(TASKS):
        command += f" --tasks {args.tasks}"
    body = "\n".join(
        [
            SECTION,
            "",
            (__doc__.split("\n\n", 1)[1].split("    .venv")[0]).strip(),
            "",
            f"Reproduce: `{command} --write BENCHMARKS.md` ({wall / 60:.1f} min wall on this "
            "2-core machine, shared). Refiner renders: 64 px / 8 samples, Cycles CPU.",
            "",
            table(rows, strategies),
        ]
    )
    print(body)
    if args.write:
        write_section(args.write, body, SECTION)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
