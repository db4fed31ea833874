"""``Session``: create or resume a run, ``step()`` it, and the helpers every part shares."""

from __future__ import annotations

import errno
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...stages import INTERACTION, STAGE_NAMES, Stage, build_stages
from ..errors import DiskFull, SettingsError
from ..photo import prepare_reference
from ..progress import RunProgress, progress_of
from ..runstore import RunStore, new_run_dir
from ..scene_edit import SceneEdit, check_edit_stages
from ..settings import Settings
from ..state import Phase, RunState, RunStatus, StageState
from . import hostcalls, phases, turns
from .attempt import AttemptWork
from .controls import SessionControls
from .events import StepKind, StepResult
from .hostcalls import PendingHostCall
from .offthread import OffThread, state_copy, write_report_job


class Session(SessionControls):
    """One reconstruction run. Create with :meth:`create`, continue one with :meth:`resume`.

    ``host.call(tool, args) -> dict`` is the way into Blender; ``client`` (a ModelWorker) takes
    model requests (``submit``) and answers them (``poll``, never blocking).
    """

    def __init__(
        self, store: RunStore, host: Any, client: Any, stages: list[Stage], state: RunState
    ):
        self.store = store
        self.host = host
        self.client = client
        self.stages = list(stages)
        self.state = state
        self._request_started: float | None = None
        self._blender_version: str | None = None
        self.host_pending: PendingHostCall | None = None  # a render running in its process
        self.warnings: list[str] = []  # for the artist (panel, CLI), e.g. rendering in-process
        self.offthread = OffThread()  # image work (metrics, sheets) off the main thread
        self.attempt_work: AttemptWork | None = None  # the attempt phase between its steps

    # ---------------------------------------------------------------- construction
    @classmethod
    def create(
        cls,
        photo: str | Path,
        runs_root: str | Path,
        host: Any,
        client: Any,
        settings: Settings | dict | None = None,
        name: str | None = None,
        edit: SceneEdit | None = None,
    ) -> Session:
        """A new run of ``photo``; ``edit``: it edits an existing scene (no init stage)."""
        settings = Settings.coerce(settings)
        if edit is not None:
            settings = settings.with_changes(stages=check_edit_stages(settings.stages))
        settings.validate()
        stages = _stages_for(settings)
        run_dir = new_run_dir(Path(runs_root), name or Path(photo).stem)
        store = RunStore(run_dir)
        try:
            ref = prepare_reference(photo, store.reference)
        except Exception:
            # nothing to keep: an empty run folder would only confuse a later --resume
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        store.write_run_info(
            {
                "photo": str(Path(photo).resolve()),
                "reference": ref,
                "settings": settings.to_dict(),
                "stages": [{"name": s.name, "budget": s.budget} for s in stages],
                "start_scene": edit.to_json() if edit else None,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
        )
        state = RunState(
            settings=settings,
            reference=ref,
            stage_order=[s.name for s in stages],
            stages={s.name: StageState(budget=s.budget) for s in stages},
            edit=edit,
        )
        session = cls(store, host, client, stages, state)
        session.save()
        store.append_event({"kind": "created", "run_dir": str(run_dir)})
        return session

    @classmethod
    def resume(
        cls,
        run_dir: str | Path,
        host: Any,
        client: Any,
        settings_override: dict | None = None,
    ) -> Session:
        store = RunStore(Path(run_dir))
        state = store.load_state()
        if state is None:
            raise FileNotFoundError(f"no resumable run in {run_dir} (state.json missing)")
        if settings_override:
            state.settings = state.settings.merged(settings_override)
        stages = build_stages(state.stage_order, {})
        stages = [s.with_budget(state.stages[s.name].budget) for s in stages]
        session = cls(store, host, client, stages, state)
        store.rebase_images(state)  # a run folder that moved still finds its renders
        session.apply_edit_limits()
        session.restart_interrupted_round()
        if state.status in (
            RunStatus.PAUSED,
            RunStatus.FAILED,
            RunStatus.CANCELLED,
            RunStatus.REVIEW,
        ) and not (state.status is RunStatus.FAILED and state.phase is Phase.DONE):
            state.status = RunStatus.RUNNING
        state.elapsed_before = state.elapsed
        state.started = time.time()
        session.save()
        store.append_event({"kind": "resumed", "phase": str(state.phase)})
        return session

    # ---------------------------------------------------------------- public
    @property
    def run_dir(self) -> Path:
        return self.store.dir

    @property
    def status(self) -> RunStatus:
        return self.state.status

    @property
    def finished(self) -> bool:
        return self.state.ended

    @property
    def stage(self) -> Stage:
        return self.stages[min(self.state.stage_index, len(self.stages) - 1)]

    @property
    def stage_state(self) -> StageState:
        return self.state.stages[self.stage.name]

    def progress(self) -> RunProgress:
        """What a front end shows: stage, round, fraction done, elapsed, tokens, cost."""
        return progress_of(self.state, self.run_dir, elapsed=self.elapsed())

    def elapsed(self) -> float:
        return self.state.elapsed_before + (time.time() - self.state.started)

    def step(self) -> StepResult:
        st = self.state
        if st.ended:
            kind = StepKind.DONE if st.status is RunStatus.DONE else StepKind(str(st.status))
            return StepResult(kind, st.message)
        if st.held:
            return StepResult(StepKind(str(st.status)), st.message)
        try:
            if st.awaiting is not None:
                result = turns.poll(self)
                if result.waiting:
                    return result
            else:
                result = phases.PHASES[st.phase](self)
                if result.waiting:  # a render runs in the render process
                    return result
            self.save()
        except Exception as exc:
            full = disk_full_message(exc, self.store.dir)
            if not full:
                raise
            return self._pause_disk_full(full)
        event = {
            "phase": str(st.phase),
            "stage": self.stage.name if st.phase is not Phase.DONE else None,
            **result.event(),
        }
        self.store.append_event(event)
        return result

    def run_to_end(
        self,
        on_step: Callable[[StepResult, Session], None] | None = None,
        poll_interval: float = 0.02,
    ) -> RunStatus:
        """Pump ``step`` until the run finishes, pauses or waits for review (headless use)."""
        while True:
            r = self.step()
            if on_step:
                on_step(r, self)
            if r.stops and not r.waiting:
                return self.state.status
            if r.waiting:
                time.sleep(poll_interval)

    # ---------------------------------------------------------------- shared helpers
    def apply_edit_limits(self) -> None:
        """Tell the host what an edit run may not change (a new host knows nothing)."""
        edit = self.state.edit
        if edit is not None and edit.limits is not None:
            result = self.host.call("set_edit_limits", {"limits": edit.limits})
            if not result.get("ok"):
                raise RuntimeError(f"could not set the edit limits: {result.get('error')}")

    def save(self) -> None:
        self.state.elapsed = self.elapsed()
        self.store.save_state(self.state)

    def round_dir(self, n: int | None = None) -> Path:
        return self.store.round_dir(self.stage.name, self.stage_state.round if n is None else n)

    @property
    def blender_version(self) -> str | None:
        """The version of the Blender that runs the model's code (asked once per process: a
        resumed run may run in another Blender)."""
        if self._blender_version is None:
            info = self.host.call("blender_info", {})
            self._blender_version = info.get("version") if info.get("ok") else ""
        return self._blender_version or None

    def system_prompt(self, role: str) -> str:
        """The current stage's system prompt for ``role``, told which Blender it runs in."""
        return self.stage.system_prompt(role, blender_version=self.blender_version)

    def stage_named(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def timed(self, category: str, name: str, args: dict) -> dict:
        """``host.call`` with its time added to the run's timing of ``category``."""
        t0 = time.monotonic()
        try:
            return self.host.call(name, args)
        finally:
            timing = self.state.timing
            setattr(timing, category, getattr(timing, category) + time.monotonic() - t0)

    def snapshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        result = self.timed("other_tools", "snapshot", {"path": str(path)})
        if not result.get("ok"):
            raise RuntimeError(f"snapshot failed: {result.get('error')}")
        self.state.scene_at = self.store.relative(path)

    def restore(self, path: Path) -> None:
        result = self.timed("other_tools", "restore", {"path": str(path)})
        if not result.get("ok"):
            raise RuntimeError(f"restore of {path} failed: {result.get('error')}")
        self.state.scene_at = self.store.relative(path)

    def restore_unless_there(self, path: Path) -> None:
        """Restore ``path`` unless the scene is known to be that snapshot already."""
        if self.state.scene_at != self.store.relative(path):
            self.restore(path)

    def render(self, path: Path, long_side: int | None = None) -> dict | None:
        """A preview render (``long_side``: its size, default the preview size); None while it
        runs in the render process (ask again on the next step)."""
        s = self.state.settings
        return hostcalls.host_step(
            self,
            f"render:{path}",
            "render",
            "render",
            {
                "preset": "preview",
                "path": str(path),
                "long_side": long_side or s.preview_size,
                "samples": s.preview_samples,
                "device": s.render_device,
                "engine": s.engine,
            },
        )

    def compare(self, path: Path) -> dict:
        result = self.timed(
            "other_tools", "compare", {"render": str(path), "photo": str(self.store.reference)}
        )
        return {k: result.get(k) for k in ("psnr", "ssim", "note") if result.get(k) is not None}

    def write_report(self, background: bool = False) -> None:
        """report.html beside the run (~50 ms); a report problem never stops the run.
        ``background``: written on the image thread from a copy of the state, while the run
        goes on; otherwise here, after any such report still being written."""
        if background:
            self.offthread.background(write_report_job, self.store.dir, state_copy(self.state))
            return
        earlier = self.offthread.settle()
        for error in (*earlier, write_report_job(self.store.dir, self.state)):
            if error:
                self.store.append_event({"kind": "report_error", "message": error})

    def _pause_disk_full(self, message: str) -> StepResult:
        """The disk filled up mid-step: pause. state.json on disk is the last complete one
        (files are written to a temporary name, then renamed), so a resume redoes the
        interrupted round only."""
        self.restart_interrupted_round()
        self.state.status = RunStatus.PAUSED
        self.state.message = message
        self.state.error_type = DiskFull.__name__
        try:
            self.save()
            self.store.append_event({"kind": "paused", "message": message})
        except OSError:
            pass  # still full: the previous state.json stands
        return StepResult(StepKind.PAUSED, message, error_type=DiskFull.__name__)


def _stages_for(settings: Settings) -> list[Stage]:
    names = list(settings.stages or STAGE_NAMES)
    if settings.interaction and INTERACTION not in names:  # the event comes after the scene
        names.append(INTERACTION)
    try:
        stages = build_stages(names, settings.budgets)
    except ValueError as e:  # stages/ imports nothing of ours: its errors join the tree here
        raise SettingsError(str(e)) from None
    if stages[0].rollouts:
        stages[0] = stages[0].with_budget(settings.budget(stages[0].name))
    return stages


_LOW_DISK = 64 << 20  # bytes: below this a failed write is taken for a full disk


def disk_full_message(exc: BaseException, run_dir: Path) -> str | None:
    """A clear message when ``exc`` came from a full disk (ENOSPC, or a write that failed with
    almost no space left: Blender's own writers report other errors), else None."""
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    try:
        free = shutil.disk_usage(run_dir).free
    except OSError:
        free = None
    if not full and not (
        free is not None and free < _LOW_DISK and isinstance(exc, OSError | RuntimeError)
    ):
        return None
    left = f" ({free // 1024} KB free)" if free is not None else ""
    return (
        f"Disk full: could not write to {run_dir}{left}: {exc}. Free some space and resume "
        "the run; every completed round is kept."
    )
