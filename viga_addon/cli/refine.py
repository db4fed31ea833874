"""``python -m viga_addon refine SCENE.blend PHOTO --params … --out DIR``: numeric refinement.

Opens the .blend, refines the chosen parameters against the photo with small renders, and
writes to DIR: ``refined.blend``, ``before.png`` / ``after.png`` (renders at --view-size) and
``metrics.json`` (PSNR/SSIM before and after, the refiner's own figures, every parameter's
before/after value). ``cli/__init__.py`` wires it in with ``add_parser(subparsers)``; ``run(args)``
runs it. No model is called.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

GROUP_HELP = "lighting | material | placement | camera"
EXIT_CODES = """\
exit codes:
  0  refined (or nothing better found, or the result was worse than the start in the check
     render at the photo's settings: the scene is saved as it was)
  1  a render or Blender error the refiner cannot go on from
  2  bad input: scene, photo, parameters, objects, budget (the message says what to change)
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``refine`` subcommand to an argparse subparsers object and return it."""
    p = subparsers.add_parser(
        "refine",
        help="numerically refine lighting, materials, placement or camera of a .blend against "
        "a photo (render-and-compare)",
        description="Refine continuous parameters of SCENE so that its render matches PHOTO, "
        "by rendering small previews and comparing them with the photo. No model "
        "is called.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scene", help="the .blend file to refine (it is not modified)")
    p.add_argument("photo", help="the reference photo (PNG, JPEG, …)")
    p.add_argument(
        "--params",
        required=True,
        help=f"comma-separated groups ({GROUP_HELP}) and/or parameter names such as "
        "light:Sun.energy, world.color, exposure, material:Red.base_color, "
        "object:Cube.location, camera.lens",
    )
    p.add_argument(
        "--objects",
        nargs="+",
        metavar="NAME",
        help="limit the groups to these objects (names, space- or comma-separated)",
    )
    p.add_argument("--budget", type=int, default=60, help="number of preview renders (default 60)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--long-side",
        type=int,
        default=64,
        help="long side of the refiner's preview renders in px (default 64)",
    )
    p.add_argument("--samples", type=int, default=8, help="samples per preview render (default 8)")
    p.add_argument("--device", choices=["auto", "cpu", "gpu"], default="auto")
    p.add_argument(
        "--view-size",
        type=int,
        default=256,
        help="long side of before.png / after.png (default 256)",
    )
    p.add_argument("--view-samples", type=int, default=16)
    p.add_argument(
        "--strategy",
        choices=["auto", "search"],
        default="auto",
        help="auto: locate misplaced objects in the photo and solve lights per light first; "
        "search: closed forms and coordinate search only (default auto)",
    )
    p.add_argument(
        "--check-size",
        type=int,
        default=None,
        help="long side of the final check render that decides whether the result is kept "
        "(default: the photo's, at most 1024; 0: no check)",
    )
    p.add_argument(
        "--check-samples", type=int, default=32, help="samples of the check render (default 32)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)
    return p


def _objects(values):
    if not values:
        return None
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _strict(value):
    """JSON-safe: infinite PSNR (identical images) becomes the string "inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _fail(message, code=2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def run(args) -> int:
    """Run the ``refine`` subcommand; returns the process exit code."""
    scene_path, photo = Path(args.scene), Path(args.photo)
    if scene_path.suffix.lower() != ".blend" or not scene_path.is_file():
        return _fail(f"no .blend file at {scene_path}")
    if not photo.is_file():
        return _fail(f"no photo at {photo}")
    if args.budget < 1:
        return _fail(f"--budget must be at least 1 render, got {args.budget}")
    for flag, value in (("--long-side", args.long_side), ("--view-size", args.view_size)):
        if not 16 <= value <= 8192:
            return _fail(f"{flag} must be between 16 and 8192 px, got {value}")
    if args.check_size is not None and args.check_size != 0 and not 16 <= args.check_size <= 8192:
        return _fail(f"--check-size must be 0 or between 16 and 8192 px, got {args.check_size}")
    for flag, value in (
        ("--samples", args.samples),
        ("--view-samples", args.view_samples),
        ("--check-samples", args.check_samples),
    ):
        if value < 1:
            return _fail(f"{flag} must be at least 1, got {value}")

    import bpy

    from ..common import metrics
    from ..tools.refine import steps as refine
    from ..tools.render import engine as render

    try:
        bpy.ops.wm.open_mainfile(filepath=str(scene_path.resolve()))
    except RuntimeError as exc:
        return _fail(f"cannot open {scene_path}: {exc}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    view = {"long_side": args.view_size, "samples": args.view_samples, "device": args.device}
    before = render.render("preview", path=str(out / "before.png"), **view)
    if not before.get("ok"):
        return _fail(f"render failed: {before.get('error')}", 1)

    started = time.perf_counter()

    def progress(info):
        if not args.quiet:
            print(
                f"[{time.perf_counter() - started:6.1f}s] render {info['renders']}/"
                f"{info['budget']} {info['phase']:<9} loss {info['loss']:.4f} "
                f"best {info['best_loss']:.4f}",
                file=sys.stderr,
                flush=True,
            )

    result = refine.refine_parameters(
        args.params,
        args.budget,
        str(photo),
        objects=_objects(args.objects),
        long_side=args.long_side,
        samples=args.samples,
        device=args.device,
        progress=progress,
        strategy=args.strategy,
        check_long_side=args.check_size,
        check_samples=args.check_samples,
    )
    if not result.get("ok"):
        os.remove(out / "before.png")
        return _fail(result["error"], 1 if result["error"].startswith("render failed") else 2)
    after = render.render("preview", path=str(out / "after.png"), **view)
    if not after.get("ok"):
        return _fail(f"render failed: {after.get('error')}", 1)
    tmp = out / ".refined.tmp.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, check_existing=False)
    os.replace(tmp, out / "refined.blend")
    report = {
        "scene": str(scene_path.resolve()),
        "photo": str(photo.resolve()),
        "params": args.params,
        "objects": _objects(args.objects),
        "budget": args.budget,
        "before": metrics.compare(str(out / "before.png"), str(photo)),
        "after": metrics.compare(str(out / "after.png"), str(photo)),
        "refine": result,
    }
    (out / "metrics.json").write_text(json.dumps(_strict(report), indent=2))
    print(refine.summary(result), file=sys.stderr)
    b, a = report["before"], report["after"]
    if b.get("ok") and a.get("ok"):
        print(
            f"at {args.view_size} px: PSNR {b['psnr']:.2f} -> {a['psnr']:.2f} dB, SSIM "
            f"{b['ssim']:.3f} -> {a['ssim']:.3f}",
            file=sys.stderr,
        )
    print(out)
    return 0
