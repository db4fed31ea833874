"""Glue between the Blender UI and the Session that is not a Blender class.

Python objects cannot live in bpy properties, so the live run (Session, worker, host, timer,
the scene fingerprint taken at a pause, tick timings) is kept here, in a module-level registry.
Only one run goes at a time: the host works on ``bpy.context.scene`` on the one main thread.

Also here: where the API key comes from (preferences, else the environment), whether Blender
allows online access, checking the run inputs before anything starts, turning the panel's
reference (a file or an image datablock) into a photo path, hand-edit detection on resume, and
the Text/Image datablocks the panel opens.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from .agent.providers.base import DEFAULT_MODELS, KEY_ENV_VARS, PROVIDER_LABELS, is_local_url

TICK_SECONDS = 0.1  # window-manager timer interval of the modal pump
TICK_BUDGET = 0.05  # a tick keeps stepping while it is under this (a render may overrun)
CODE_TEXT_NAME = "VIGA code"
RENDER_IMAGE_NAME = "VIGA photo | render"
SCRIPTED_NOTE = "scripted — offline demo, no model is called"
ONLINE_HELP = (
    "Turn on Edit › Preferences › System › Allow Online Access "
    "(or start Blender with --online-mode)"
)
FINISHED_STAGE = ("approved", "budget_spent", "failed", "skipped")
STOP_KINDS = ("waiting", "paused", "review", "done", "failed", "cancelled")


# ----------------------------------------------------------------------------- live run registry
@dataclass
class LiveRun:
    """Everything about the run in progress that cannot be stored in bpy properties."""

    session: object
    worker: object
    host: object
    scene_key: int
    scene_name: str
    timer: object = None  # the window-manager timer while a modal pump is active
    pumping: bool = False
    step_once: bool = False  # "Step": pause again after the next round
    paused_fp: dict | None = None  # scene fingerprint when the run paused (hand edits)
    paused_names: set | None = None
    last_message: str = ""
    last_kind: str = ""
    error: str = ""
    hand_edits: dict | None = None  # the last hand edits passed on to the session
    ticks: list = field(default_factory=list)  # (seconds, the tick only polled the model)
    started: float = field(default_factory=time.time)
    redrawn: float = 0.0  # when the pump last redrew the sidebar

    @property
    def status(self) -> str:
        return self.session.state["status"]


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
            if live.session.state.get("awaiting"):
                live.worker.cancel()
                live.session.state["awaiting"] = None
            live.session.pause(reason)
    finally:
        live.worker.close()
        set_live_run(None)


# ----------------------------------------------------------------------------- keys and access
def api_key(provider: str, prefs=None) -> tuple[str | None, str]:
    """(key, where it came from) for ``provider``; key None when there is none.

    The key is never stored anywhere else: the preferences, else the environment variable.
    """
    if provider not in KEY_ENV_VARS:
        return None, "no key needed"
    stored = (getattr(prefs, f"{provider}_api_key", "") or "").strip() if prefs else ""
    if stored:
        return stored, "add-on preferences"
    env = KEY_ENV_VARS[provider]
    value = os.environ.get(env, "").strip()
    if value:
        return value, f"environment variable {env}"
    return None, ""


def key_help(provider: str) -> str:
    env = KEY_ENV_VARS.get(provider, "")
    return (
        f"Set it in Edit › Preferences › Add-ons › VIGA (stored in Blender's preferences, "
        f"never in .blend files) or in the {env} environment variable"
    )


def online_access() -> bool:
    return bool(getattr(bpy.app, "online_access", True))


def needs_online(provider: str, base_url: str | None) -> bool:
    """A request leaves this machine (scripted never does; a local server stays local)."""
    if provider == "scripted":
        return False
    if provider == "openai" and is_local_url(base_url or os.environ.get("OPENAI_BASE_URL")):
        return False
    return True


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
    key, source = api_key(provider, p)
    problems = []
    photo, label, problem = photo_from_props(props, resolve=resolve_photo)
    if problem:
        problems.append(problem)
    if (
        provider in KEY_ENV_VARS
        and not key
        and not (
            provider == "openai" and is_local_url(base_url or os.environ.get("OPENAI_BASE_URL"))
        )
    ):
        problems.append(
            ("no_key", f"No {PROVIDER_LABELS[provider]} API key. {key_help(provider)}.")
        )
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


def settings_from_prefs(p) -> dict:
    """Session settings from the add-on preferences (defaults when the add-on has none)."""
    if p is None:
        return {}
    budgets = {
        name: getattr(p, f"budget_{name}")
        for name in ("geometry", "material", "composition", "lighting", "camera")
    }
    pause = None if p.pause_after == "NONE" else p.pause_after.lower()
    return {
        "budgets": budgets,
        "rollouts": p.budget_init,
        "render_device": p.render_device.lower(),
        "engine": p.engine,
        "preview_size": p.preview_size,
        "preview_samples": p.preview_samples,
        "final_size": p.final_size,
        "final_samples": p.final_samples,
        "review_code": p.review_code,
        "pause_after": pause,
    }


def scripted_options(p) -> dict:
    """Worker options of the scripted demo: the bundled script, or a JSON file from the prefs."""
    path = (getattr(p, "demo_script", "") if p else "") or ""
    if path.strip():
        return {"script": bpy.path.abspath(path.strip())}
    from .demo import tabletop

    return {"script": tabletop.SCRIPT}


# ----------------------------------------------------------------------------- hand edits
def remember_scene(live: LiveRun, scene=None) -> None:
    """Capture the scene at a pause, so edits made while paused can be found on resume."""
    from .tools import fingerprint

    scene = scene or bpy.context.scene
    live.paused_fp = fingerprint.capture(scene)
    live.paused_names = {o.name for o in scene.objects}


def _has_changes(changes: dict) -> bool:
    return any(names for kind in changes.values() for names in kind.values())


def hand_edits_since_pause(live: LiveRun, scene=None) -> dict | None:
    """What changed in the scene since the pause, as execute_code's change report (world and
    render settings too); None if nothing or no capture."""
    from .tools import fingerprint

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
    session.resume_running()
    return changes


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
    session = live.session
    st = session.state
    status = st["status"]
    if live.error:
        return live.error
    if status == "done":
        return "done: final.blend, final.png and scene.py are in the run folder"
    if status in ("paused", "review", "failed", "cancelled") and st.get("message"):
        return st["message"]
    phase = st["phase"]
    stage = session.stage.name
    n = st["stages"][stage]["round"]
    if st.get("awaiting"):
        role = st["awaiting"]["role"]
        waited = time.time() - st["awaiting"].get("submitted", time.time())
        return f"{stage} round {n}: the {role} model is thinking ({waited:.0f} s)"
    words = {
        "begin": "setting up the scene",
        "stage_start": f"starting {stage}",
        "round_start": f"{stage} round {n}: rendering the current scene",
        "generator": f"{stage} round {n}: generator",
        "attempt": f"{stage} round {n}: rendering the attempt",
        "verifier": f"{stage} round {n}: verifier",
        "round_end": f"{stage} round {n}: verdict",
        "stage_end": f"finishing {stage}",
        "final": "final render and scene.py",
        "done": "done",
    }
    text = words.get(phase, phase)
    if live.last_message and phase in ("generator", "verifier"):
        text = live.last_message
    return text


def latest_metrics(stage_state: dict) -> dict | None:
    for attempt in reversed(stage_state.get("attempts") or []):
        if attempt.get("metrics"):
            return attempt["metrics"]
    return None


def last_verdict(session) -> tuple[str, int, dict] | None:
    """(stage, round, verdict) of the verifier's most recent verdict in the run."""
    st = session.state
    for name in reversed(st["stage_order"]):
        for attempt in reversed(st["stages"][name].get("attempts") or []):
            if attempt.get("verdict"):
                return name, attempt["round"], attempt["verdict"]
    return None


def tick_stats(live: LiveRun, pending_only: bool = False) -> dict:
    """Longest and 99th-percentile tick (seconds) of the modal pump."""
    values = sorted(t for t, pending in live.ticks if pending or not pending_only)
    if not values:
        return {"count": 0, "max": 0.0, "p99": 0.0}
    k = min(len(values) - 1, int(round(0.99 * (len(values) - 1))))
    return {"count": len(values), "max": values[-1], "p99": values[k]}


_STATE_CACHE: dict = {}


def saved_run_state(run_dir: str) -> dict | None:
    """state.json of a run folder (cached on its mtime: the panel redraws often)."""
    from .agent.runstore import read_json

    path = Path(run_dir) / "state.json"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    cached = _STATE_CACHE.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    state = read_json(path)
    _STATE_CACHE[str(path)] = (mtime, state)
    return state


# ----------------------------------------------------------------------------- datablocks
def show_code_text(code: str, title: str = "") -> object:
    """Put ``code`` in the "VIGA code" Text datablock (created if needed); returns it."""
    text = bpy.data.texts.get(CODE_TEXT_NAME) or bpy.data.texts.new(CODE_TEXT_NAME)
    text.clear()
    if title:
        text.write(f"# {title}\n")
    text.write(code)
    return text


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


def latest_render(session) -> str | None:
    """The newest render of the run (final.png, else the last attempt's render)."""
    final = session.run_dir / "final.png"
    if session.state["status"] == "done" and final.is_file():
        return str(final)
    st = session.state
    for name in reversed(st["stage_order"][: st["stage_index"] + 1]):
        for attempt in reversed(st["stages"][name].get("attempts") or []):
            if attempt.get("render") and Path(attempt["render"]).is_file():
                return attempt["render"]
    return None


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
