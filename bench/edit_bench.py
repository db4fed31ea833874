"""BlenderGym-style edit tasks: a start .blend and a target image, per factor (lighting,
material, placement, camera); PSNR and the photometric loss (MSE on RGB in [0, 1]) of the start
scene and of the edited one against the target.

The target is a render of the demo scene (``demo/tabletop_edit.build_scene(perturb=False)``);
each start scene is that scene with one factor spoilt. Two offline drivers make the edits; NO
model is called by either:

  refiner   ``python -m viga_addon refine START TARGET --params GROUP``: render-and-compare
            search of the factor's numbers (what the agent calls as refine_parameters)
  scripted  ``python -m viga_addon reconstruct --scene START TARGET --provider scripted
            --stages STAGE``: the edit pipeline replaying the demo's recorded edit for that
            stage (the demo's own ground-truth code): a check that the edit run carries an edit
            through to final.blend, an upper bound, not a model's result

Every image is rendered here at the same settings (Cycles CPU, fixed seed, no denoising).

    .venv/bin/python bench/edit_bench.py [--size 96] [--samples 16] [--budget 40] [--write]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, table

# factor -> (the perturbation of the target scene, the refiner group, the pipeline stage)
TASKS = {
    "lighting": (
        """
import math
sun = bpy.data.objects["sun"]
sun.data.energy = 0.9; sun.data.color = (0.7, 0.8, 1.0)
bpy.context.scene.world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.3
""",
        "lighting",
        "lighting",
    ),
    "material": (
        """
red = bpy.data.materials["red_plastic"].node_tree.nodes["Principled BSDF"]
red.inputs["Base Color"].default_value = (0.1, 0.55, 0.12, 1.0)
blue = bpy.data.materials["blue_paint"].node_tree.nodes["Principled BSDF"]
blue.inputs["Base Color"].default_value = (0.6, 0.6, 0.6, 1.0)
""",
        "material",
        "material",
    ),
    "placement": (
        """
bpy.data.objects["red_ball"].location = (-0.7, -0.2, 0.6)
bpy.data.objects["blue_box"].location = (1.4, 1.3, 0.75)
""",
        "placement",
        "composition",
    ),
    "camera": (
        """
cam = bpy.data.objects["camera"]
cam.location = (6.4, -6.0, 4.4); cam.data.lens = 33
""",
        "camera",
        "camera",
    ),
}
SECTION = "## Edit tasks (BlenderGym-style)"


def _render(blend: Path | None, out: Path, size: int, samples: int) -> np.ndarray:
    """The scene (``blend``, or the open one) rendered at the bench's settings, as RGB [0, 1]."""
    import bpy
    from PIL import Image

    if blend is not None:
        bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.render.resolution_x, scene.render.resolution_y = size, round(size * 3 / 4)
    scene.render.resolution_percentage = 100
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.seed = 0
    scene.cycles.use_denoising = False
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(out)
    bpy.ops.render.render(write_still=True)
    return np.asarray(Image.open(out).convert("RGB"), dtype=np.float64) / 255.0


def _db(psnr: float) -> str:
    return "∞ (the same image)" if math.isinf(psnr) else f"{psnr:.2f}"


def _scores(image: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    mse = float(np.mean((image - target) ** 2))
    return (10 * math.log10(1.0 / mse) if mse > 0 else float("inf")), mse


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "viga_addon", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def _build(task: str, work: Path, size: int, samples: int) -> tuple[Path, Path, np.ndarray]:
    """target.png (the demo scene) and start.blend (the task's factor spoilt)."""
    import bpy

    from viga_addon.demo import tabletop_edit

    tabletop_edit.build_scene(perturb=False)
    target_png = work / "target.png"
    target = _render(None, target_png, size, samples)
    exec(TASKS[task][0], {"bpy": bpy})  # noqa: S102 - the bench's own perturbation
    start = work / "start.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(start), copy=True)
    return start, target_png, target


def _drive(driver: str, task: str, start: Path, target_png: Path, work: Path, budget: int):
    _perturb, group, stage = TASKS[task]
    out = work / driver
    if driver == "refiner":
        r = _cli(
            "refine",
            str(start),
            str(target_png),
            "--params",
            group,
            "--budget",
            str(budget),
            "--out",
            str(out),
        )
        return r, out / "refined.blend"
    r = _cli(
        "reconstruct",
        str(target_png),
        "--provider",
        "scripted",
        "--scene",
        str(start),
        "--stages",
        stage,
        "--out",
        str(out),
        "--preview-size",
        "48",
        "--preview-samples",
        "2",
        "--final-size",
        "48",
        "--final-samples",
        "2",
        "--verify-size",
        "48",
        "--render-device",
        "cpu",
        "--quiet",
    )
    run = Path(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else out
    return r, run / "final.blend"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=96, help="long side of every render (px)")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--budget", type=int, default=40, help="the refiner's renders per task")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--write", action="store_true", help="replace this section of BENCHMARKS.md")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks.split(","):
            work = Path(tmp) / task
            work.mkdir()
            start, target_png, target = _build(task, work, args.size, args.samples)
            start_psnr, start_mse = _scores(
                _render(start, work / "start.png", args.size, args.samples), target
            )
            for driver in ("refiner", "scripted"):
                t0 = time.monotonic()
                r, end = _drive(driver, task, start, target_png, work, args.budget)
                seconds = time.monotonic() - t0
                if r.returncode != 0 or not end.exists():
                    print(f"{task}/{driver} failed: {r.stderr[-600:]}", file=sys.stderr)
                    rows.append([task, driver, f"{start_psnr:.2f}", "failed", "", "", ""])
                    continue
                end_psnr, end_mse = _scores(
                    _render(end, work / f"{driver}.png", args.size, args.samples), target
                )
                rows.append(
                    [
                        task,
                        driver,
                        f"{start_psnr:.2f}",
                        _db(end_psnr),
                        f"{start_mse:.5f}",
                        f"{end_mse:.5f}",
                        f"{seconds:.0f}",
                    ]
                )
                print(json.dumps(dict(zip(HEADER, rows[-1], strict=True))), file=sys.stderr)
    text = _section(rows, args)
    print(text)
    if args.write:
        _write(text)
    return 0


HEADER = ["task", "driver", "PSNR start", "PSNR end", "MSE start", "MSE end", "seconds"]


def _section(rows: list[list], args: argparse.Namespace) -> str:
    return "\n".join(
        [
            SECTION,
            "",
            "A start .blend (the demo scene with one factor spoilt) and a target image (the demo "
            "scene rendered), per factor; PSNR (dB, higher is better) and the photometric loss "
            "(MSE on RGB in [0, 1], lower is better; BlenderGym's) of the start and of the "
            f"edited scene, every image rendered alike ({args.size} px, {args.samples} samples, "
            "Cycles CPU, seed 0); the target is a render of the same scene, so an exact match "
            "is reachable. **No model is called.** *refiner*: the render-and-compare "
            f"refiner ({args.budget} renders). *scripted*: `reconstruct --scene` replaying the "
            "demo's recorded edit for that stage (its ground-truth code) — it shows the edit "
            "run carries an edit through to final.blend; an upper bound, not a model's result. "
            "Seconds include start-up, on a shared 2-core machine.",
            "",
            table(HEADER, rows),
            "",
            f"Reproduce: `.venv/bin/python bench/edit_bench.py --size {args.size} --samples "
            f"{args.samples} --budget {args.budget} --write`",
            "",
        ]
    )


def _write(text: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    old = path.read_text() if path.exists() else ""
    if SECTION in old:
        head, _, rest = old.partition(SECTION)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1 :] if nxt >= 0 else ""
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


if __name__ == "__main__":
    sys.exit(main())
