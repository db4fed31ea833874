"""``python -m viga_addon physics SCENE.blend [--out DIR] [--seconds S] [--fps N]``: the settle
check.

Opens the .blend (only to read it: nothing is saved over it), gives every mesh object a rigid
body (passive supports, active things on them, shapes and masses that fit), lets the scene run
with nothing pushing, and writes to DIR (default ``<name>_physics/`` beside the file):
``physics.json`` (ready or not, and per object its role, shape, mass, material, how far it moved
and turned, its peak speed and a verdict) and ``physics.blend`` (the scene with its rigid
bodies). The summary goes to stderr, the folder to stdout. No model is called.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

EXIT_CODES = """\
exit codes:
  0  the check ran (physics.json says whether the scene is physics-ready)
  1  a Blender error the check cannot go on from
  2  bad input: no such .blend, not a .blend, a file Blender cannot open, --seconds or --fps
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``physics`` subcommand to an argparse subparsers object and return it."""
    p = subparsers.add_parser(
        "physics",
        help="check that a .blend stands up under rigid-body physics (no model is called)",
        description="Give every mesh object of SCENE a rigid body (passive supports, active\n"
        "objects resting on them), simulate with nothing pushing, and report per object how\n"
        "far it moved and turned. The scene is physics-ready when no active object moves\n"
        "more than 1 cm or turns more than 2 degrees. No model is called.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scene", help="the .blend file to check (it is not modified)")
    p.add_argument(
        "--out", help="output folder (default: <name>_physics/ beside the .blend)", default=None
    )
    p.add_argument(
        "--seconds", type=float, default=2.0, help="simulated time in seconds (default 2)"
    )
    p.add_argument("--fps", type=int, default=24, help="frames per second (default 24)")
    p.set_defaults(func=run)
    return p


@contextlib.contextmanager
def quiet_stdout():
    """Blender's own chatter ("Read blend: …") goes to the C-level stdout; stdout is for the
    folder alone, so it goes nowhere meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def run(args) -> int:
    """Run the ``physics`` subcommand; returns the process exit code."""
    from ..tools.physics import check

    scene_path = Path(args.scene)
    if not scene_path.exists():
        return _fail(f"no such file: {scene_path}")
    if scene_path.is_dir() or scene_path.suffix.lower() != ".blend":
        return _fail(f"not a .blend file: {scene_path}")
    if not 0 < args.seconds <= check.MAX_SECONDS:
        return _fail(f"--seconds must be more than 0 and at most {check.MAX_SECONDS:g}")
    if not 1 <= args.fps <= check.MAX_FPS:
        return _fail(f"--fps must be from 1 to {check.MAX_FPS}")
    out = Path(args.out) if args.out else scene_path.with_name(f"{scene_path.stem}_physics")
    if (out / "physics.blend").resolve() == scene_path.resolve():
        return _fail(f"--out {out} would write physics.blend over the input; choose another folder")

    import bpy

    with quiet_stdout():
        try:
            bpy.ops.wm.open_mainfile(filepath=str(scene_path.resolve()), load_ui=False)
        except RuntimeError as exc:
            return _fail(f"cannot open {scene_path}: {str(exc).strip()}")
        report = check.check_scene(
            bpy.context.scene,
            seconds=args.seconds,
            fps=args.fps,
            in_place=True,
            blend_path=out / "physics.blend",
        )
        report["scene"] = str(scene_path.resolve())
        check.write_results(report, out)
    print(report["summary"], file=sys.stderr)
    print(out)
    return 0
