"""``interact SCENE.blend --prompt TEXT [--frames 120] [--fps 24] [--budget N] --out DIR``: make
a saved scene move as the prompt asks, with rigid-body physics.

A run of one stage, ``interaction``, on a copy of the scene (an edit run: the file is only
read; new objects such as a thrown ball are allowed): the generator sets up the event, the
simulation is baked in the render process and the verifier judges a contact sheet of its frames
and each object's trajectory. The run folder (under DIR) holds final.blend with the baked
simulation, frames/, preview.gif, scene.py and report.html. Its "reference" is the scene's own
camera view at the start frame, rendered here first. Exit codes as ``reconstruct``'s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..agent.errors import UsageError
from .options import add_run_options

PROMPT_SKIP = ("--budget", "--stages", "--interaction", "--rollouts", "--stage-max-cost")


def add_parser(subparsers: Any, exit_codes: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "interact",
        help="make a saved scene move as a prompt asks (rigid-body physics, baked)",
        description="Set up the event a prompt asks for on SCENE (a model writes it: keyframes, "
        "an animated-then-dynamic handoff, force fields), bake the rigid-body simulation in a "
        "render process and let a verifier judge the frames. The scene file is only read. "
        "--provider scripted plays the offline demo's interaction (no model is called).",
        epilog=exit_codes,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scene", help="the .blend to make move (it is not modified)")
    p.add_argument("--prompt", required=True, help='the interaction, e.g. "roll the red ball …"')
    p.add_argument("--out", default="runs", help="folder that holds run folders (default ./runs)")
    p.add_argument("--name", help="run name (default: the scene's file name)")
    p.add_argument("--budget", type=int, help="rounds of the interaction stage (default 3)")
    add_run_options(p, skip=PROMPT_SKIP)
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)
    return p


def render_reference(scene_path: Path, out: Path, long_side: int) -> Path:
    """The scene's camera view at its start frame, as the run's reference picture."""
    import bpy

    from ..tools.render import engine

    bpy.ops.wm.open_mainfile(filepath=str(scene_path.resolve()), load_ui=False)
    scene = bpy.context.scene
    scene.frame_set(scene.frame_start)
    result = engine.render(path=str(out), long_side=long_side, samples=16)
    if not result.get("ok"):
        raise UsageError(f"cannot render {scene_path}: {result.get('error')}")
    return out


def run(args: argparse.Namespace) -> int:
    from . import reconstruct
    from .physics import quiet_stdout

    scene = Path(args.scene)
    if scene.suffix.lower() != ".blend" or not scene.is_file():
        raise UsageError(f"not a .blend file: {scene}")
    if not args.prompt.strip():
        raise UsageError("--prompt needs the interaction in words")
    if args.budget is not None and args.budget < 1:
        raise UsageError("--budget must be at least 1 round")
    args.interaction = args.prompt.strip()
    args.stages = "interaction"
    args.budget = f"interaction={args.budget}" if args.budget else None
    args.photo, args.resume, args.stop_after, args.estimate = None, None, None, False
    args.scene, args.lock_to_objects, args.lock_to_collection = str(scene), None, None
    args.allow_add_remove = True  # a thrown ball is a new object
    args.name = args.name or f"{scene.stem}-interact"
    args.interaction_only = True
    with tempfile.TemporaryDirectory(prefix="viga_interact_") as tmp:
        try:
            with quiet_stdout():  # stdout is for the run folder alone
                args.photo = str(render_reference(scene, Path(tmp) / "reference.png", 512))
        except RuntimeError as exc:
            print(f"error: cannot open {scene}: {str(exc).strip()}", file=sys.stderr)
            return 2
        return reconstruct.run(args)
