"""Headless front end: ``python -m viga_addon reconstruct PHOTO`` (bpy module) or
``blender -b --python viga_addon/cli.py -- reconstruct PHOTO`` (a real Blender).

It pumps the same ``Session.step()`` the panel's modal operator pumps.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a script by Blender's --python
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "viga_addon"  # noqa: A001

EXIT_CODES = """\
exit codes:
  0  finished (or stopped where --stop-after asked; resume with --resume RUN_DIR)
  1  the run failed (a tool or Blender error it cannot go on from; the run folder says why)
  2  bad input: usage, photo, stage names, budgets, run folder to resume
  3  no API key or a key the provider refused (see the message for where to set it)
  4  paused after repeated model-service errors (rate limit, server, timeout); resumable
  130 interrupted (Ctrl-C); resumable with --resume RUN_DIR
"""

KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m viga_addon",
        description="Turn one photo into an editable Blender scene with a vision-language model.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser(
        "reconstruct",
        help="reconstruct a photo stage by stage (init, geometry, material, composition, "
        "lighting, camera)",
        description="Reconstruct PHOTO as a Blender scene. Starting a run with a model provider "
        "(anthropic, openai or an OpenAI-compatible server) is your consent to send "
        "the photo and renders to that provider. --provider scripted is an offline "
        "demo that plays back recorded replies: no model is called.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rec.add_argument("photo", nargs="?", help="the reference photo (PNG, JPEG, …)")
    rec.add_argument("--out", default="runs", help="folder that holds run folders (default ./runs)")
    rec.add_argument("--name", help="run name (default: the photo's file name)")
    rec.add_argument(
        "--provider",
        default="auto",
        choices=["auto", "anthropic", "openai", "scripted"],
        help="auto: anthropic if ANTHROPIC_API_KEY is set, else openai if "
        "OPENAI_API_KEY or --base-url is set",
    )
    rec.add_argument("--model", help="model id (default per provider)")
    rec.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL"),
        help="OpenAI-compatible server, e.g. http://localhost:11434/v1 for Ollama "
        "(default $OPENAI_BASE_URL)",
    )
    rec.add_argument(
        "--script",
        help="replies for --provider scripted (JSON); default: the bundled tabletop demo",
    )
    rec.add_argument(
        "--demo-if-no-key",
        action="store_true",
        help="with --provider auto and no key set, run the scripted offline demo "
        "instead of failing",
    )
    rec.add_argument("--stages", help="comma-separated subset of stages to run")
    rec.add_argument("--stop-after", metavar="STAGE", help="pause after this stage (resumable)")
    rec.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    rec.add_argument("--budget", help="rounds per stage, e.g. geometry=3,material=2")
    rec.add_argument("--rollouts", type=int, help="init rollouts to sample (default 2)")
    rec.add_argument("--render-device", choices=["auto", "cpu", "gpu"], default=None)
    rec.add_argument("--engine", choices=["cycles", "eevee"], default=None)
    rec.add_argument("--preview-size", type=int, help="long side of preview renders (px)")
    rec.add_argument("--preview-samples", type=int)
    rec.add_argument("--final-size", type=int, help="long side of final.png (px)")
    rec.add_argument("--final-samples", type=int)
    rec.add_argument(
        "--memory",
        choices=["compact", "full"],
        help="compact (default): photo pinned, old renders dropped",
    )
    rec.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    from . import batch

    batch.add_parser(sub)
    from . import refine_cli

    refine_cli.add_parser(sub)
    return parser


class UsageError(Exception):
    pass


def _parse_budget(text):
    budgets = {}
    for item in filter(None, (text or "").split(",")):
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise UsageError(f"--budget expects stage=N[,stage=N…], got {item!r}")
        budgets[name.strip()] = int(value)
    return budgets


def _settings_from_args(args) -> dict:
    settings = {}
    if args.stages:
        settings["stages"] = [s.strip() for s in args.stages.split(",") if s.strip()]
    if args.budget:
        settings["budgets"] = _parse_budget(args.budget)
    for attr, key in (
        ("rollouts", "rollouts"),
        ("render_device", "render_device"),
        ("preview_size", "preview_size"),
        ("preview_samples", "preview_samples"),
        ("final_size", "final_size"),
        ("final_samples", "final_samples"),
        ("memory", "memory"),
        ("model", "model"),
        ("base_url", "base_url"),
    ):
        value = getattr(args, attr)
        if value is not None:
            settings[key] = value
    if args.engine:
        settings["engine"] = args.engine.upper()
    if args.stop_after:
        settings["stop_after"] = args.stop_after
    for key in ("rollouts", "preview_size", "preview_samples", "final_size", "final_samples"):
        if key in settings and settings[key] < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be at least 1")
    return settings


def choose_provider(args) -> tuple[str, str | None]:
    """(provider name, api key); raises UsageError-like KeyMissing with a helpful message."""
    provider = args.provider
    if provider == "auto":
        if os.environ.get("ANTHROPIC_API_KEY"):
            provider = "anthropic"
        elif os.environ.get("OPENAI_API_KEY") or args.base_url:
            provider = "openai"
        elif args.demo_if_no_key:
            print(
                "No API key is set (ANTHROPIC_API_KEY / OPENAI_API_KEY): falling back to the "
                "offline demo.",
                file=sys.stderr,
            )
            provider = "scripted"
        else:
            raise KeyMissing(no_key_message())
    if provider == "scripted":
        return provider, None
    key = os.environ.get(KEY_ENV[provider])
    if not key and not (provider == "openai" and args.base_url):
        raise KeyMissing(no_key_message(provider))
    return provider, key


class KeyMissing(Exception):
    pass


def no_key_message(provider=None) -> str:
    which = f"No API key for {provider}." if provider else "No API key is set."
    return (
        f"{which} Set one in the environment before running, e.g.\n"
        "  export ANTHROPIC_API_KEY=sk-ant-…   (Claude, --provider anthropic)\n"
        "  export OPENAI_API_KEY=sk-…         (GPT, --provider openai)\n"
        "or point --base-url at a local OpenAI-compatible server (Ollama, vLLM, LM Studio).\n"
        "Inside Blender, keys go in Edit › Preferences › Add-ons › VIGA.\n"
        "To try the pipeline offline, run the bundled scripted demo (no model is called):\n"
        "  python -m viga_addon reconstruct --provider scripted"
    )


def _script_for(args):
    if args.script:
        import json

        try:
            return json.loads(Path(args.script).read_text())
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read --script {args.script}: {e}") from e
    from .demo import tabletop

    return tabletop.SCRIPT


def _progress_line(result, session) -> str:
    p = session.progress()
    minutes, seconds = divmod(int(p["elapsed"]), 60)
    tokens = p["input_tokens"] + p["output_tokens"]
    demo = "[scripted demo] " if session.state["settings"]["provider"] == "scripted" else ""
    return (
        f"{demo}[{minutes:02d}:{seconds:02d}] {p['stage']:<11} round {p['round']}/{p['budget']}  "
        f"{result.message[:90]:<90}  {tokens / 1000:.1f}k tok  ${p['cost_usd']:.3f}"
    )


def _claim_stdout():
    """Keep stdout for the run folder's path: Blender's own chatter (render "Saved: …" lines)
    goes to the C-level stdout, which is pointed at /dev/null for the rest of the process."""
    sys.stdout.flush()
    try:
        real = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        return sys.stdout
    out = os.fdopen(real, "w", buffering=1)
    sys.stdout = out
    return out


def reconstruct(args) -> int:
    from .agent.session import Session
    from .agent.worker import ModelWorker
    from .tools.host import BlenderHost

    settings = _settings_from_args(args)
    resumed_settings = None
    if args.resume:
        from .agent.runstore import RunStore

        state = RunStore(Path(args.resume)).load_state()
        if not state:
            raise UsageError(f"--resume: no resumable run in {args.resume} (state.json missing)")
        resumed_settings = state["settings"]
        provider = state["settings"]["provider"]
        if args.provider not in ("auto", provider):
            provider = args.provider
        args.provider = provider
    elif not args.photo:
        if args.provider != "scripted":
            raise UsageError("reconstruct needs a PHOTO (or --resume RUN_DIR)")
        from .demo import tabletop

        args.photo = str(tabletop.PHOTO)
    provider, key = choose_provider(args)
    settings["provider"] = provider
    opts = {}
    if provider == "scripted":
        opts["script"] = _script_for(args)
        print(
            "NOTE: --provider scripted is an offline demo that plays back recorded replies; "
            "no model is called.",
            file=sys.stderr,
        )

    _claim_stdout()
    import bpy

    from .agent.session import DEFAULT_SETTINGS

    bpy.ops.wm.read_factory_settings(use_empty=True)
    effective = {**DEFAULT_SETTINGS, **(resumed_settings or {}), **settings}
    host = BlenderHost(
        render_device=effective["render_device"],
        engine=effective["engine"],
        preview_size=effective["preview_size"],
        preview_samples=effective["preview_samples"],
    )
    worker = ModelWorker(provider, settings.get("model"), key, settings.get("base_url"), opts)
    try:
        if args.resume:
            settings.setdefault("stop_after", None)
            session = Session.resume(args.resume, host, worker, settings_override=settings)
        else:
            session = Session.create(args.photo, args.out, host, worker, settings, name=args.name)
        print(f"run folder: {session.run_dir}", file=sys.stderr)

        stop = []

        def on_signal(signum, frame):
            # Blender swallows a KeyboardInterrupt raised inside a render; stop between steps
            stop.append(signum)

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        def on_step(result, s):
            if not args.quiet and not result.waiting:
                print(_progress_line(result, s), file=sys.stderr, flush=True)
            if stop:
                raise KeyboardInterrupt

        try:
            status = session.run_to_end(on_step=on_step)
        except KeyboardInterrupt:
            session.cancel()
            print(
                f"interrupted; resume with: python -m viga_addon reconstruct --resume "
                f"{session.run_dir}",
                file=sys.stderr,
            )
            return 130
    finally:
        worker.close()
    message = session.state["message"]
    if status == "done":
        print(f"done: {session.run_dir}", file=sys.stderr)
        print(f"report: {session.run_dir / 'report.html'}", file=sys.stderr)
        print(session.run_dir)
        return 0
    if status == "paused" and session.state["settings"].get("stop_after"):
        print(f"{message}; resume with --resume {session.run_dir}", file=sys.stderr)
        return 0
    print(f"{status}: {message}\nrun folder: {session.run_dir}", file=sys.stderr)
    from .agent.providers.errors import EXIT_FAILED, EXIT_PAUSED, exit_code_for

    if status == "paused":  # whatever paused it: service errors, a full disk, pause_after
        return EXIT_PAUSED
    return exit_code_for(session.state.get("error_type")) if status == "failed" else EXIT_FAILED


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
        if "--" in sys.argv:  # blender -b --python cli.py -- reconstruct …
            argv = sys.argv[sys.argv.index("--") + 1 :]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "reconstruct":
            return reconstruct(args)
        if args.command == "batch":
            from . import batch

            return batch.run(args)
        if args.command == "refine":
            from . import refine_cli

            return refine_cli.run(args)
    except KeyMissing as e:
        print(str(e), file=sys.stderr)
        return 3
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        from .agent.photo import PhotoError

        if isinstance(e, PhotoError | ValueError):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise
    return 2


if __name__ == "__main__":
    sys.exit(main())
