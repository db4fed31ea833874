"""``reconstruct PHOTO [options]``: one run, pumped on this thread until it ends or stops."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from ..agent.errors import EXIT_PAUSED, AuthError, CostCapReached, Disposition, error_class
from ..agent.providers.keys import KEY_ENV_VARS, resolve_key
from ..agent.state import RunStatus
from .options import UsageError, add_run_options, settings_from_args
from .progress import ProgressReporter

SCRIPTED_NOTE = (
    "NOTE: --provider scripted is an offline demo that plays back recorded replies; "
    "no model is called."
)


def add_parser(subparsers: Any, exit_codes: str) -> argparse.ArgumentParser:
    rec = subparsers.add_parser(
        "reconstruct",
        help="reconstruct a photo stage by stage (init, geometry, material, composition, "
        "lighting, camera)",
        description="Reconstruct PHOTO as a Blender scene. Starting a run with a model provider "
        "(anthropic, openai or an OpenAI-compatible server) is your consent to send "
        "the photo and renders to that provider. --provider scripted is an offline "
        "demo that plays back recorded replies: no model is called.",
        epilog=exit_codes,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rec.add_argument("photo", nargs="?", help="the reference photo (PNG, JPEG, …)")
    rec.add_argument("--out", default="runs", help="folder that holds run folders (default ./runs)")
    rec.add_argument("--name", help="run name (default: the photo's file name)")
    add_run_options(rec)
    rec.add_argument("--stop-after", metavar="STAGE", help="pause after this stage (resumable)")
    rec.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    rec.add_argument(
        "--scene",
        metavar="START.blend",
        help="edit this scene toward the photo instead of building one (no init stage; the "
        "file is only read, the run works on a copy)",
    )
    rec.add_argument(
        "--lock-to-objects",
        metavar="A,B,…",
        help="with --scene: only these objects may change; everything else is locked",
    )
    rec.add_argument(
        "--lock-to-collection",
        metavar="NAME",
        help="with --scene: only the objects of this collection may change",
    )
    rec.add_argument(
        "--allow-add-remove",
        action="store_true",
        help="with --scene: objects may be added and removed (default: every object stays)",
    )
    rec.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    rec.add_argument(
        "--estimate",
        action="store_true",
        help="print what the run would cost (about $X–$Y with MODEL) and exit",
    )
    rec.set_defaults(func=run)
    return rec


def no_key_message(provider: str | None = None) -> str:
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


def choose_provider(args: argparse.Namespace) -> str:
    """The provider to run: ``--provider``, or for auto the first with a key (or a base URL).
    Raises AuthError (exit code 3) when it needs a key and there is none (a local server needs
    none)."""
    provider = args.provider
    if provider == "auto":
        if os.environ.get(KEY_ENV_VARS["anthropic"]):
            provider = "anthropic"
        elif os.environ.get(KEY_ENV_VARS["openai"]) or args.base_url:
            provider = "openai"
        elif args.demo_if_no_key:
            print(
                "No API key is set (ANTHROPIC_API_KEY / OPENAI_API_KEY): falling back to the "
                "offline demo.",
                file=sys.stderr,
            )
            provider = "scripted"
        else:
            raise AuthError(no_key_message())
    try:
        resolve_key(provider, base_url=args.base_url if provider == "openai" else None)
    except AuthError as e:
        raise AuthError(f"{e}\n\n{no_key_message(provider)}") from None
    return provider


def _script_for(args: argparse.Namespace) -> Any:
    if args.script:
        try:
            return json.loads(Path(args.script).read_text())
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read --script {args.script}: {e}") from e
    if getattr(args, "interaction", None):  # the demo's interaction after its scene
        from ..demo import tabletop, tabletop_edit, tabletop_interact

        if getattr(args, "interaction_only", False):
            return tabletop_interact.SCRIPT
        base = tabletop_edit.SCRIPT if getattr(args, "scene", None) else tabletop.SCRIPT
        return {**base, **tabletop_interact.SCRIPT}
    if getattr(args, "scene", None):
        from ..demo import tabletop_edit

        return tabletop_edit.SCRIPT
    from ..demo import tabletop

    return tabletop.SCRIPT


def _claim_stdout() -> TextIO:
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


def _exit_code(status: RunStatus, error_type: str | None) -> int:
    cls = error_class(error_type) if error_type else None
    if status is RunStatus.PAUSED:
        # 5: stopped at the cost cap (resumable with a higher one); 4: any other pause
        return cls.exit_code if cls is CostCapReached else EXIT_PAUSED
    if status is RunStatus.FAILED and cls is not None and cls.disposition is Disposition.FATAL:
        return cls.exit_code
    return 1


def _estimate(args: argparse.Namespace, overrides: dict[str, Any]) -> str:
    """The run's cost estimate in one line (a resumed run: what a whole run would cost)."""
    from ..agent.settings import Settings
    from ..agent.spending import estimate_run

    if args.resume:
        from ..launch import stored_settings

        settings = stored_settings(args.resume).merged(overrides)
    else:
        settings = Settings.from_dict(overrides)
    return estimate_run(settings).text()


def _scene_edit(args: argparse.Namespace, overrides: dict[str, Any]) -> Any:
    """The SceneEdit of ``--scene`` and its options (None without it); UsageError when bad."""
    from ..agent.scene_edit import SceneEdit, check_edit_stages

    scene = getattr(args, "scene", None)
    lock_objects = getattr(args, "lock_to_objects", None)
    lock_collection = getattr(args, "lock_to_collection", None)
    if scene is None or args.resume:
        if lock_objects or lock_collection or getattr(args, "allow_add_remove", False):
            raise UsageError(
                "--lock-to-objects, --lock-to-collection and --allow-add-remove "
                "go with --scene START.blend (a new run)"
            )
        return None
    path = Path(scene)
    if path.suffix.lower() != ".blend" or not path.is_file():
        raise UsageError(f"--scene: {scene} is not a .blend file")
    try:
        overrides["stages"] = list(check_edit_stages(overrides.get("stages")))
    except ValueError as e:
        raise UsageError(f"--stages: {e}") from None
    objects = None
    if lock_objects is not None:
        objects = [n.strip() for n in lock_objects.split(",") if n.strip()]
        if not objects:
            raise UsageError("--lock-to-objects needs at least one object name")
    return SceneEdit(
        source=str(path.resolve()),
        lock_objects=objects,
        lock_collection=lock_collection,
        allow_add_remove=bool(getattr(args, "allow_add_remove", False)),
    )


def run(args: argparse.Namespace) -> int:
    from ..launch import stored_settings

    overrides = settings_from_args(args)
    edit = _scene_edit(args, overrides)
    if args.resume:
        try:
            stored = stored_settings(args.resume)
        except FileNotFoundError as e:
            raise UsageError(f"--resume: {e}") from None
        if args.provider in ("auto", stored.provider):
            args.provider = stored.provider
    elif not args.photo:
        if args.provider != "scripted":
            raise UsageError("reconstruct needs a PHOTO (or --resume RUN_DIR)")
        from ..demo import tabletop

        args.photo = str(tabletop.PHOTO)
    if getattr(args, "estimate", False) and args.provider == "auto":
        args.demo_if_no_key = True  # an estimate needs no key
    provider = choose_provider(args)
    overrides["provider"] = provider
    estimate = _estimate(args, overrides)
    if getattr(args, "estimate", False):
        print(estimate)
        return 0
    if not args.quiet:
        print(f"estimate: {estimate}", file=sys.stderr)
    script = None
    if provider == "scripted":
        script = _script_for(args)
        print(SCRIPTED_NOTE, file=sys.stderr)

    _claim_stdout()
    from ..agent.settings import Settings
    from ..launch import RunRequest, open_run
    from ..tools.scene.blank import empty_file

    empty_file()  # never read_factory_settings: it disables the user's extensions
    if args.resume:
        overrides.setdefault("stop_after", None)
        request = RunRequest(resume=args.resume, settings_override=overrides, script=script)
    else:
        request = RunRequest(
            Settings.from_dict(overrides),
            photo=args.photo,
            runs_root=args.out,
            name=args.name,
            script=script,
            edit=edit,
        )
    opened = open_run(request)
    session = opened.session
    reporter = ProgressReporter(quiet=args.quiet)
    try:
        print(f"run folder: {session.run_dir}", file=sys.stderr)
        stop: list[int] = []

        def on_signal(signum: int, frame: Any) -> None:
            # Blender swallows a KeyboardInterrupt raised inside a render; stop between steps
            stop.append(signum)

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        warned: set[str] = set()

        def on_step(result: Any, s: Any) -> None:
            reporter.report(result, s.progress())
            for warning in getattr(s, "warnings", ()):  # e.g. rendering in-process
                if warning not in warned:
                    warned.add(warning)
                    print(f"warning: {warning}", file=sys.stderr)
            if stop:
                raise KeyboardInterrupt

        try:
            status = session.run_to_end(on_step=on_step)
        except KeyboardInterrupt:
            session.cancel()
            reporter.close()
            print(
                "interrupted; resume with: python -m viga_addon reconstruct --resume "
                f"{session.run_dir}",
                file=sys.stderr,
            )
            return 130
    finally:
        reporter.close()
        opened.close()
    message = session.state.message
    if status is RunStatus.DONE:
        print(f"done: {session.run_dir}", file=sys.stderr)
        physics = session.store.run_info().get("physics") or {}
        if physics:
            print(f"physics: {physics.get('summary') or physics.get('error')}", file=sys.stderr)
        print(f"report: {session.run_dir / 'report.html'}", file=sys.stderr)
        print(session.run_dir)
        return 0
    capped = session.state.error_type == CostCapReached.__name__
    if status is RunStatus.PAUSED and capped:
        print(
            f"{message}\nresume with: python -m viga_addon reconstruct --resume "
            f"{session.run_dir} --max-cost HIGHER",
            file=sys.stderr,
        )
        return _exit_code(status, session.state.error_type)
    if status is RunStatus.PAUSED and session.state.settings.stop_after:
        print(f"{message}; resume with --resume {session.run_dir}", file=sys.stderr)
        return 0
    print(f"{status}: {message}\nrun folder: {session.run_dir}", file=sys.stderr)
    return _exit_code(status, session.state.error_type)
