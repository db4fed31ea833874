"""The headless front end: ``python -m viga_addon COMMAND`` (the bpy module), ``blender -b
--python viga_addon/__main__.py -- COMMAND`` (a real Blender) or ``viga COMMAND`` (installed).

reconstruct  one photo to a scene, stage by stage (pumps the same Session.step() as the panel)
batch        a folder or manifest of photos, one reconstruct process each, N at a time
batch_files  what batch reads and writes: its inputs, the facts of each run folder, the summary
refine       render-and-compare refinement of a saved .blend against a photo
physics      the settle check: rigid bodies on a saved .blend, simulated; what moved
interact     a saved scene made to move as a prompt asks (the interaction stage, baked)
options      the run options, declared once for reconstruct and batch
progress     the progress line on stderr

May import agent/, tools/ (through launch.py), stages/; bpy only once a command runs.
"""

from __future__ import annotations

import argparse
import sys

from ..agent.errors import AuthError, UsageError, VigaError

EXIT_CODES = """\
exit codes:
  0  finished (or stopped where --stop-after asked; resume with --resume RUN_DIR)
  1  the run failed (a tool or Blender error it cannot go on from, or every attempt of a
     stage failed; the run folder says why)
  2  bad input: usage, photo, stage names, budgets, run folder to resume; or the server
     refused the request itself (HTTP 400/404/422: model, options, tools, images)
  3  no API key or a key the provider refused (see the message for where to set it)
  4  paused after repeated model-service errors (rate limit, server, timeout); resumable
  5  stopped at the cost cap (--max-cost); resumable: --resume RUN_DIR --max-cost HIGHER
  130 interrupted (Ctrl-C); resumable with --resume RUN_DIR
"""


def build_parser() -> argparse.ArgumentParser:
    from . import batch, interact, physics, reconstruct, refine

    parser = argparse.ArgumentParser(
        prog="python -m viga_addon",
        description="Turn one photo into an editable Blender scene with a vision-language model.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    reconstruct.add_parser(sub, EXIT_CODES)
    batch.add_parser(sub)
    refine.add_parser(sub)
    physics.add_parser(sub)
    interact.add_parser(sub, EXIT_CODES)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
        if "--" in sys.argv:  # blender -b --python viga_addon/__main__.py -- reconstruct …
            argv = sys.argv[sys.argv.index("--") + 1 :]
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VigaError as e:  # the error tree (agent/errors.py) says the exit code
        print(str(e) if isinstance(e, AuthError) else f"error: {e}", file=sys.stderr)
        return e.exit_code


__all__ = ["EXIT_CODES", "UsageError", "build_parser", "main"]
