"""Glue between the Blender UI and the Session that is not a Blender class.

Python objects cannot live in bpy properties, so the live run (Session, worker, host, timer,
the scene fingerprint taken at a pause, tick timings) is kept here, in a module-level registry.
Only one run goes at a time: the host works on ``bpy.context.scene`` on the one main thread.

Also here: the key from the preferences (resolved by ``agent.providers.keys``, the one
resolver), whether Blender allows online access, checking the run inputs before anything starts,
turning the panel's reference (a file or an image datablock) into a photo path, the run's
settings from the preferences, hand-edit detection on resume, and the Text/Image datablocks the
panel opens. What a run shows comes from ``agent.progress`` (one read model for every front end).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy

from ..agent.errors import AuthError
from ..agent.progress import RunProgress, read_progress
from ..agent.providers import DEFAULT_MODELS, KEY_ENV_VARS, PROVIDER_LABELS
from ..agent.providers import keys as provider_keys
from ..agent.settings import Settings
from ..agent.state import RunStatus

TICK_SECONDS = 0.1  # window-manager timer interval of the modal pump
# a tick keeps stepping while it is under this: in a window the tick right after a redraw
# adds to the gap the artist feels (a redraw costs 200-300 ms on a software GL), so short
TICK_BUDGET = 0.025
CODE_TEXT_NAME = "VIGA code"
RENDER_IMAGE_NAME = "VIGA photo | render"
SCRIPTED_NOTE = "scripted — offline demo, no model is called"
ONLINE_HELP = (
    "Turn on Edit › Preferences › System › Allow Online Access "
    "(or start Blender with --online-mode)"
)
# the first line of the "VIGA code" text: the code below it is what Approve runs
CODE_HEADER = "# VIGA: "
REVIEW_TITLE = "Review: edit if you like, then Approve or Skip in the VIGA panel"


# ----------------------------------------------------------------------------- live run registry
@dataclass
class LiveRun:
    """Everything about the run in progress that cannot be stored in bpy properties."""

    session: Any  # agent.session.Session
    worker: Any  # agent.worker.ModelWorker
    host: Any  # tools.host.BlenderHost
    scene_key: int
    scene_name: str
    timer: object = None  # the window-manager timer while a modal pump is active
    pumping: bool = False
    step_once: bool = False  # "Step": pause again after the next round
    paused_fp: Any = None  # tools.scene.fingerprint.Capture of the scene when the run paused
    paused_names: set | None = None
    last_message: str = ""
    last_kind: str = ""
    error: str = ""
    hand_edits: dict | None = None  # the last hand edits passed on to the session
    ticks: list = field(default_factory=list)  # (seconds, the tick only polled the model)
    started: float = field(default_factory=time.time)
    redrawn: float = 0.0  # when the pump last redrew the sidebar
    review_shown: str | None = None  # the tool call whose code the "VIGA code" text holds

    @classmethod
    def of(cls, opened: Any, scene: Any) -> LiveRun:
        """The live run of ``opened`` (launch.OpenRun) working in ``scene``."""
        return cls(
            session=opened.session,
            worker=opened.worker,
            host=opened.host,
            scene_key=scene_key(scene),
            scene_name=scene.name,
        )

    def close_processes(self) -> None:
        """End the run's model worker and its render process (the run folder stays), without
        waiting on Blender's main thread for them to exit."""
        self.worker.close(wait=False)
        close_host = getattr(self.host, "close", None)
        if close_host is not None:
            close_host(wait=False)

    @property
    def status(self) -> RunStatus:
        return self.session.state.status


_LIVE: LiveRun | None = None


def scene_key(scene) -> int:
    return scene.as_pointer()


def live_run(scene=None) -> LiveRun | None:
    """The live run (of ``scene`` if given, else whichever scene it belongs to)."""
    if _LIVE is None:
        return None
    if scene is not None and _LIVE.scene_key != scene_key(scene):
        return None
    return _LIVE


def any_live_run() -> LiveRun | None:
    return _LIVE


def set_live_run(live: LiveRun | None) -> None:
    global _LIVE
    _LIVE = live


def run_is_going(live: LiveRun | None) -> bool:
    """True while a run pumps or waits (paused/review) — another run must not start."""
    return live is not None and (live.pumping or live.status in ("running", "paused", "review"))


def shutdown_live_run(reason: str) -> None:
    """Stop the live run's worker and timer and forget it (file load, unregister).

    The run folder stays resumable: the session pauses (its state is saved after every step).
    """
    live = _LIVE
    if live is None:
        return
    try:
        if live.timer is not None:
            bpy.context.window_manager.event_timer_remove(live.timer)
    except Exception:  # the window manager may already be gone
        pass
    live.timer = None
    live.pumping = False
    try:
        if not live.session.finished:
            if live.session.state.awaiting is not None:
                live.worker.cancel()
                live.session.state.awaiting = None
            live.session.pause(reason)
    finally:
        live.close_processes()
        set_live_run(None)


# ----------------------------------------------------------------------------- keys and access
def stored_key(provider: str, prefs: Any = None) -> str | None:
    """The key the add-on preferences hold for ``provider`` (None: empty or no preferences)."""
    value = (getattr(prefs, f"{provider}_api_key", "") or "").strip() if prefs else ""
    return value or None


def api_key(
    provider: str, prefs: Any = None, base_url: str | None = None
) -> tuple[str | None, str]:
    """(key, where it came from) for ``provider``: the preferences, else the environment (a
    local server gets a placeholder); key None when there is none. See agent/providers/keys.py."""
    if provider not in KEY_ENV_VARS:
        return None, "no key needed"
    try:
        choice = provider_keys.resolve_key(
            provider, stored=stored_key(provider, prefs), base_url=base_url
        )
    except AuthError:
        return None, ""
    if choice.source == provider_keys.SOURCE_LOCAL:
        return None, choice.source  # the worker sends the placeholder itself
    return choice.key, choice.source


def key_help(provider: str) -> str:
    return provider_keys.key_help(provider)


def online_access() -> bool:
    return bool(getattr(bpy.app, "online_access", True))


def needs_online(provider: str, base_url: str | None) -> bool:
    """A request leaves this machine (scripted never does; a local server stays local)."""
    return provider_keys.needs_online(provider, base_url)


# ----------------------------------------------------------------------------- run inputs
@dataclass
class RunChoice:
    """What a run would use, from the scene's properties over the preferences' defaults."""

    provider: str
    model: str
    base_url: str | None
    key: str | None
    key_source: str
    photo: str | None  # a file path (an image datablock resolved to its file)
    photo_label: str
    problems: list = field(default_factory=list)  # (code, message) that stop a run

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def provider_label(self) -> str:
        return PROVIDER_LABELS.get(self.provider, self.provider)


def scene_props(scene):
    return getattr(scene, "viga", None)


def choose(context, resolve_photo: bool = False) -> RunChoice:
    """Provider, model, key and photo of a run from ``context``; problems listed, not raised.

    ``resolve_photo`` writes a packed/generated image datablock to a temporary PNG (done when
    a run starts, not on every panel redraw).
    """
    from .preferences import prefs

    p = prefs(context)
    props = scene_props(context.scene)
    provider = (props.provider if props and props.provider != "DEFAULT" else None) or (
        p.default_provider if p else "anthropic"
    )
    model = (
        ((props.model if props else "") or "").strip()
        or ((getattr(p, "default_model", "") if p else "") or "").strip()
        or DEFAULT_MODELS[provider]
    )
    if provider == "scripted":
        model = DEFAULT_MODELS["scripted"]
    base_url = ((getattr(p, "base_url", "") if p else "") or "").strip() or None
    if provider != "openai":
        base_url = None
    key, source = api_key(provider, p, base_url)
    problems = []
    photo, label, problem = photo_from_props(props, resolve=resolve_photo)
    if problem:
        problems.append(problem)
    if not key and provider_keys.needs_key(provider, base_url):
        problems.append(("no_key", f"No {PROVIDER_LABELS[provider]} API key. {key_help(provider)}"))
    if needs_online(provider, base_url) and not online_access():
        problems.append(
            ("offline", f"Blender's online access is off, so nothing is sent. {ONLINE_HELP}.")
        )
    return RunChoice(provider, model, base_url, key, source, photo, label, problems)


def photo_from_props(props, resolve: bool = False):
    """(path or None, label, problem or None) of the reference the panel points at."""
    if props is None:
        return None, "", ("no_image", "The add-on's scene properties are missing.")
    if props.photo_source == "IMAGE":
        image = props.photo_image
        if image is None:
            return None, "", ("no_image", "Choose a reference image (an image in this file).")
        path = bpy.path.abspath(image.filepath, library=image.library) if image.filepath else ""
        if path and Path(path).is_file() and not image.packed_file and not image.is_dirty:
            return path, image.name, None
        if image.packed_file or image.has_data or image.source == "GENERATED":
            if not resolve:
                return "", image.name, None
            try:
                return image_to_file(image), image.name, None
            except Exception as e:
                return None, image.name, ("bad_image", f"Cannot use image {image.name!r}: {e}")
        return (
            None,
            image.name,
            ("bad_image", f"Image {image.name!r} has no pixels or file ({path or 'no path'})."),
        )
    raw = (props.photo_path or "").strip()
    if not raw:
        return (
            None,
            "",
            ("no_image", "Choose a reference photo (a file, or an image in this file)."),
        )
    path = bpy.path.abspath(raw)
    if not Path(path).is_file():
        return None, Path(path).name, ("bad_image", f"Photo not found: {path}")
    return path, Path(path).name, None


def image_to_file(image) -> str:
    """A packed, generated or edited image datablock written to a temporary PNG; its path."""
    import tempfile

    folder = Path(tempfile.gettempdir()) / "viga_photos"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{bpy.path.clean_name(image.name)}.png"
    if image.packed_file and not image.is_dirty:
        suffix = Path(image.filepath or image.name).suffix or ".png"
        target = target.with_suffix(suffix)
        target.write_bytes(bytes(image.packed_file.data))
        return str(target)
    copy = image.copy()
    try:
        copy.filepath_raw = str(target)
        copy.file_format = "PNG"
        copy.save()
    finally:
        bpy.data.images.remove(copy)
    return str(target)


def settings_from_prefs(p: Any) -> Settings:
    """A run's settings from the add-on preferences (the defaults when the add-on has none)."""
    if p is None:
        return Settings()
    budgets = {
        name: getattr(p, f"budget_{name}")
        for name in ("geometry", "material", "composition", "lighting", "camera")
    }
    return Settings(
        budgets=budgets,
        rollouts=p.budget_init,
        render_device=p.render_device.lower(),
        engine=p.engine,
        preview_size=p.preview_size,
        preview_samples=p.preview_samples,
        final_size=p.final_size,
        final_samples=p.final_samples,
        verify_size=p.verify_size,
        review_code=p.review_code,
        pause_after=None if p.pause_after == "NONE" else p.pause_after.lower(),
        max_tokens=p.max_tokens,
        thinking=p.thinking,
        reasoning_effort=None if p.reasoning_effort == "DEFAULT" else p.reasoning_effort.lower(),
        tool_choice=p.tool_choice.lower(),
        tool_protocol=getattr(p, "tool_protocol", "AUTO").lower(),
        max_cost=float(getattr(p, "max_cost", 0.0)),
    )


def demo_script(p, edit: bool = False) -> Any:
    """The scripted demo's replies: a JSON file named in the preferences, else the bundled
    script (``edit``: the edit-mode one)."""
    path = (getattr(p, "demo_script", "") if p else "") or ""
    if path.strip():
        return bpy.path.abspath(path.strip())
    if edit:
        from ..demo import tabletop_edit

        return tabletop_edit.SCRIPT
    from ..demo import tabletop

    return tabletop.SCRIPT


# ----------------------------------------------------------------------------- hand edits
def remember_scene(live: LiveRun, scene=None) -> None:
    """Capture the scene at a pause, so edits made while paused can be found on resume."""
    from ..tools.scene import fingerprint

    scene = scene or bpy.context.scene
    live.paused_fp = fingerprint.capture(scene)
    live.paused_names = {o.name for o in scene.objects}


def _has_changes(changes: dict) -> bool:
    return any(names for kind in changes.values() for names in kind.values())


def hand_edits_since_pause(live: LiveRun, scene=None) -> dict | None:
    """What changed in the scene since the pause, as execute_code's change report (world and
    render settings too); None if nothing or no capture."""
    from ..tools.scene import fingerprint

    if live.paused_fp is None:
        return None
    now = fingerprint.capture(scene or bpy.context.scene)
    changes = fingerprint.diff(live.paused_fp, now).report
    return changes if _has_changes(changes) else None


def removed_while_paused(live: LiveRun, scene) -> list[str]:
    """Names of objects that were in the scene at the pause and are gone now (cheap check)."""
    if not live.paused_names:
        return []
    return sorted(live.paused_names - {o.name for o in scene.objects})


def continue_live(live: LiveRun, scene=None) -> dict | None:
    """Resume a paused live run, keeping hand edits made while it was paused; returns them."""
    session = live.session
    changes = hand_edits_since_pause(live, scene)
    if changes:
        session.accept_hand_edits(changes)
        live.hand_edits = changes
    live.paused_fp = None
    live.paused_names = None
    raise_cost_cap(session)
    session.resume_running()
    return changes


def addon_prefs(context=None) -> Any:
    """The add-on's preferences (None when it is not enabled as an add-on)."""
    from .preferences import prefs

    return prefs(context)


def raise_cost_cap(session: Any, p: Any = None) -> None:
    """A run stopped at its cost cap goes on under the cap now in the preferences."""
    p = p if p is not None else addon_prefs()
    cap = float(getattr(p, "max_cost", 0.0) or 0.0) if p is not None else 0.0
    settings = session.state.settings
    if session.state.error_type == "CostCapReached" and cap != settings.max_cost:
        session.state.settings = settings.with_changes(max_cost=cap)


def summarize_changes(changes: dict | None) -> str:
    if not changes:
        return ""
    parts = []
    for kind, by_key in changes.items():
        for key, names in by_key.items():
            if names:
                parts.append(
                    f"{kind} {key}: {', '.join(names[:4])}"
                    + (f" (+{len(names) - 4})" if len(names) > 4 else "")
                )
    return "; ".join(parts)


# ----------------------------------------------------------------------------- what the panel shows
def describe_step(live: LiveRun) -> str:
    """The current step in words."""
    if live.error:
        return live.error
    return live.session.progress().step_text(live.last_message)


def tick_stats(live: LiveRun, pending_only: bool = False) -> dict:
    """Longest and 99th-percentile tick (seconds) of the modal pump."""
    values = sorted(t for t, pending in live.ticks if pending or not pending_only)
    if not values:
        return {"count": 0, "max": 0.0, "p99": 0.0}
    k = min(len(values) - 1, int(round(0.99 * (len(values) - 1))))
    return {"count": len(values), "max": values[-1], "p99": values[k]}


_PROGRESS_CACHE: dict[str, tuple[float, RunProgress | None]] = {}


def saved_progress(run_dir: str) -> RunProgress | None:
    """The progress of a run folder from its state.json (cached on the file's mtime: the panel
    redraws often)."""
    path = Path(run_dir) / "state.json"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    cached = _PROGRESS_CACHE.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    progress = read_progress(run_dir)
    _PROGRESS_CACHE[str(path)] = (mtime, progress)
    return progress


# ----------------------------------------------------------------------------- datablocks
def show_code_text(code: str, title: str = "") -> Any:
    """Put ``code`` in the "VIGA code" Text datablock (created if needed) under a one-line
    ``CODE_HEADER`` comment with ``title``; returns the datablock."""
    text = bpy.data.texts.get(CODE_TEXT_NAME) or bpy.data.texts.new(CODE_TEXT_NAME)
    text.clear()
    text.write(f"{CODE_HEADER}{title}\n")
    text.write(code)
    return text


def show_review(live: LiveRun) -> Any:
    """The code under review in the "VIGA code" text, written there once per review: the pump
    sees the review on every tick, and rewriting the text would wipe the artist's edits."""
    review = live.session.state.review
    text = bpy.data.texts.get(CODE_TEXT_NAME)
    if review is None:
        return text
    if text is None or live.review_shown != review.call_id:
        text = show_code_text(review.code, REVIEW_TITLE)
        live.review_shown = review.call_id
    return text


def code_from_text(text: Any) -> str:
    """The code of a Text datablock without the header line ``show_code_text`` put on top (the
    artist's edits below it are kept as they are)."""
    lines = text.as_string().split("\n")
    if lines and lines[0].startswith(CODE_HEADER):
        lines = lines[1:]
    return "\n".join(lines)


def show_in_editor(context, area_type: str, attr: str, datablock) -> bool:
    """Show a datablock in an open editor of ``area_type`` (Text/Image); False if none is open."""
    screen = getattr(context, "screen", None)
    if screen is None:
        return False
    for area in screen.areas:
        if area.type == area_type:
            setattr(area.spaces.active, attr, datablock)
            area.tag_redraw()
            return True
    return False


def side_by_side_image(photo_path: str, render_path: str):
    """The "VIGA render" Image: the photo (left) and the render (right) at the render's size.

    One image keeps them side by side in any single Image editor; it is rebuilt on each call.
    """
    import numpy as np

    render = bpy.data.images.load(render_path, check_existing=False)
    photo = bpy.data.images.load(photo_path, check_existing=False)
    try:
        w, h = render.size
        if tuple(photo.size) != (w, h):
            photo.scale(w, h)
        a = np.empty(w * h * 4, dtype=np.float32)
        b = np.empty(w * h * 4, dtype=np.float32)
        render.pixels.foreach_get(a)
        photo.pixels.foreach_get(b)
        gap = np.ones((h, max(2, w // 64), 4), dtype=np.float32)
        out = np.concatenate([b.reshape(h, w, 4), gap, a.reshape(h, w, 4)], axis=1)
    finally:
        bpy.data.images.remove(render)
        bpy.data.images.remove(photo)
    image = bpy.data.images.get(RENDER_IMAGE_NAME)
    if image is not None and tuple(image.size) != (out.shape[1], out.shape[0]):
        bpy.data.images.remove(image)
        image = None
    if image is None:
        image = bpy.data.images.new(RENDER_IMAGE_NAME, out.shape[1], out.shape[0])
    image.pixels.foreach_set(out.ravel())
    image.update()
    return image


def redraw(context) -> None:
    """Redraw the sidebars of the 3D Viewports (not the viewports themselves: heavy scenes)."""
    wm = getattr(context, "window_manager", None)
    windows = getattr(wm, "windows", None) or []
    for window in windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                for region in area.regions:
                    if region.type == "UI":
                        region.tag_redraw()


@bpy.app.handlers.persistent
def on_load_pre(*_args):
    """Another .blend is loading: pause the live run (its folder stays resumable) and forget it."""
    shutdown_live_run("paused: Blender loaded another file; resume from the panel")
