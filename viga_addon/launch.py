"""Open a run — its model worker, its Blender host and its Session — the one way every front
end does it (the CLI's reconstruct, the panel's Reconstruct and Resume).

Needs bpy (the host); imported lazily by the front ends.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def open_run(
    settings: Settings | dict,
    *,
    photo: str | Path | None = None,
    runs_root: str | Path | None = None,
    name: str | None = None,
    resume: str | Path | None = None,
    settings_override: dict | None = None,
    api_key: str | None = None,
    worker_opts: dict | None = None,
    edit: Any = None,
) -> OpenRun:
    """A new run of ``photo`` under ``runs_root``, or the run folder ``resume`` continued.

    ``settings``: the new run's (for a resume, the stored ones with ``settings_override``
    applied choose the provider). ``api_key``: a key from the add-on preferences (else the
    environment's). ``edit``: an ``agent.scene_edit.SceneEdit`` for a run that edits an
    existing scene (no init stage). Raises ProviderError (no key, bad provider), PhotoError / ValueError (bad
    photo or settings), OSError (the run folder cannot be written); nothing is left running.
    """
    settings = Settings.coerce(settings)
    if resume is not None:
        settings = stored_settings(resume).merged(settings_override)
    opts = dict(worker_opts or {})
    if settings.image_size:
        opts.setdefault("max_image_side", settings.image_size)
    if settings.tool_protocol != "auto":
        opts.setdefault("tool_protocol", settings.tool_protocol)
    worker = ModelWorker(settings.provider, settings.model, api_key, settings.base_url, opts)
    try:
        host = make_host(settings)
        if resume is not None:
            session = Session.resume(resume, host, worker, settings_override=settings_override)
        else:
            if photo is None or runs_root is None:
                raise ValueError("a new run needs a photo and a folder for its runs")
            session = Session.create(photo, runs_root, host, worker, settings, name=name, edit=edit)
    except BaseException:
        worker.close()
        if "host" in locals():
            host.close()
        raise
    return OpenRun(session=session, worker=worker, host=host)
