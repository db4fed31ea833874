"""Open a run — its model worker, its Blender host and its Session — the one way every front
end does it: the CLI's reconstruct and the panel's Reconstruct, Match, Make it Move and Resume
each fill a ``RunRequest`` and hand it to ``open_run``.

Needs bpy (the host); imported lazily by the front ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .agent.runstore import RunStore
from .agent.session import Session
from .agent.settings import Settings
from .agent.worker import ModelWorker


@dataclass
class OpenRun:
    session: Session
    worker: ModelWorker
    host: Any  # tools.host.BlenderHost

    def close(self) -> None:
        """End the worker and render processes (the run folder stays as the last step left it)."""
        self.worker.close()
        close = getattr(self.host, "close", None)
        if close is not None:
            close()


def make_host(settings: Settings, render_process: bool = True) -> Any:
    """The Blender host of a run; its renders go to a render process (tools/render/process/)
    unless ``render_process`` is False."""
    from .tools.host import BlenderHost

    host = BlenderHost(
        render_device=settings.render_device,
        engine=settings.engine,
        preview_size=settings.preview_size,
        preview_samples=settings.preview_samples,
        render_process=render_process,
    )
    host.bake_timeout = settings.bake_timeout
    return host


def stored_settings(run_dir: str | Path) -> Settings:
    """The settings a run folder was started with; FileNotFoundError without a state.json."""
    state = RunStore(Path(run_dir)).load_state()
    if state is None:
        raise FileNotFoundError(f"no resumable run in {run_dir} (state.json missing)")
    return state.settings


@dataclass
class RunRequest:
    """What a front end asks for: a new run of ``photo`` under ``runs_root``, or the run folder
    ``resume`` continued (its stored settings with ``settings_override`` over them)."""

    settings: Settings = field(default_factory=Settings)
    photo: str | Path | None = None
    runs_root: str | Path | None = None
    name: str | None = None  # the run folder's name after its time stamp (default: the photo's)
    resume: str | Path | None = None
    settings_override: dict | None = None
    api_key: str | None = None  # a key from the add-on preferences; None: the environment's
    script: Any = None  # the scripted provider's replies (a script, or its JSON file's path)
    edit: Any = None  # agent.scene_edit.SceneEdit: the run edits an existing scene (no init)


def open_run(request: RunRequest) -> OpenRun:
    """Open what ``request`` asks for. Raises ProviderError (no key, bad provider), PhotoError /
    ValueError (bad photo or settings), OSError (the run folder cannot be written); nothing is
    left running then."""
    settings = Settings.coerce(request.settings)
    resume = request.resume
    if resume is not None:
        settings = stored_settings(resume).merged(request.settings_override)
    opts: dict[str, Any] = {}
    if request.script is not None:
        opts["script"] = request.script
    if settings.image_size:
        opts["max_image_side"] = settings.image_size
    if settings.tool_protocol != "auto":
        opts["tool_protocol"] = settings.tool_protocol
    worker = ModelWorker(
        settings.provider, settings.model, request.api_key, settings.base_url, opts
    )
    try:
        host = make_host(settings)
        if resume is not None:
            session = Session.resume(
                resume, host, worker, settings_override=request.settings_override
            )
        else:
            if request.photo is None or request.runs_root is None:
                raise ValueError("a new run needs a photo and a folder for its runs")
            session = Session.create(
                request.photo,
                request.runs_root,
                host,
                worker,
                settings,
                name=request.name,
                edit=request.edit,
            )
    except BaseException:
        worker.close()
        if "host" in locals():
            host.close()
        raise
    return OpenRun(session=session, worker=worker, host=host)
