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
from ..runstore import RunStore, new_run_dir
from ..scene_edit import SceneEdit, check_edit_stages
from ..settings import Settings
from ..state import Phase, RunState, RunStatus, StageState
from . import phases, turns
from .controls import SessionControls
from .events import StepKind, StepResult, Wait


class Session(SessionControls):
    """One reconstruction run. Create with :meth:`create`, continue one with :meth:`resume`.

    ``host.call(tool, args) -> dict`` is the way into Blender; ``client`` (a ModelWorker) takes
    model requests (``submit``) and answers them (``poll``, never blocking).
    """

    # the parts and the shared helpers: base.SessionBase; the artist's controls: controls.py

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

    # ---------------------------------------------------------------- stepping
    def step(self) -> StepResult:
        """One short unit of work. A phase that waits (a render, image work) is a generator:
        ``work`` keeps it between steps and each step advances it once; a waiting step writes
        nothing. Only a finished unit saves state.json and appends to events.jsonl."""
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
                if self.work is None:
                    started = phases.PHASES[st.phase](self)
                    if isinstance(started, StepResult):  # a phase that never waits
                        result = started
                    else:
                        self.work = started
                if self.work is not None:
                    try:
                        wait = next(self.work)
                    except StopIteration as stop:
                        self.work = None
                        result = stop.value
                    except BaseException:
                        self.work = None
                        raise
                    else:
                        return self._waiting(wait)
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

    def _waiting(self, wait: Wait) -> StepResult:
        stage = self.stage.name
        if wait.rendering:
            text, extra = f"{stage}: rendering ({wait.what})", {"host_call": wait.what}
            return StepResult(StepKind.WAITING, text, stage=stage, tool=wait.what, extra=extra)
        return StepResult(
            StepKind.WAITING, f"{stage}: {wait.what}", stage=stage, extra={"working": wait.what}
        )

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
