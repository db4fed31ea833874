"""Pure-Python work of a step (PSNR/SSIM against the photo, the verifier's and the selector's
sheets, report.html at a round's or a stage's end, scene.py's parse check) on one worker thread, so ``Session.step()`` only starts it and collects it on
a later step instead of holding Blender's main thread (numpy and Pillow release the GIL while
they work). Jobs take file paths and plain values only, never the session's state.

``job_step(s, key, fn, *args)`` is the job's result once it is done, or None while it runs: the
caller returns a waiting result and asks again with the same ``key`` on the next step (only the
first ask starts the job). A job's exception is raised where its result is collected.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..state import RunState
from .events import StepKind, StepResult

if TYPE_CHECKING:
    from .core import Session


class OffThread:
    """One worker thread and the jobs started on it, by key."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: dict[str, Future] = {}
        self._background: list[Future] = []  # in order: one thread runs them one by one
        self._notes: dict[str, Any] = {}  # a phase's parts done so far, between its steps

    def note(self, key: str, value: Any) -> None:
        self._notes[key] = value

    def noted(self, key: str) -> Any:
        """What was noted under ``key`` (None when nothing was)."""
        return self._notes.get(key)

    def start(self, key: str, fn: Callable[..., Any], *args: Any) -> None:
        """Start ``fn(*args)`` as job ``key`` (a job of the same key is forgotten)."""
        self._jobs[key] = self._submit(fn, *args)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="viga-images")
        return self._pool.submit(fn, *args)

    def started(self, key: str) -> bool:
        return key in self._jobs

    def collect(self, key: str) -> tuple[bool, Any]:
        """(True, result) once job ``key`` is done (and forgotten), (False, None) while it runs."""
        job = self._jobs[key]
        if not job.done():
            return False, None
        del self._jobs[key]
        return True, job.result()

    def background(self, fn: Callable[..., Any], *args: Any) -> None:
        """Start ``fn(*args)`` with nobody asking for it on a step (see ``settle``)."""
        # a finished job is kept only for its result (an error to report)
        self._background = [j for j in self._background if not j.done() or j.result() is not None]
        self._background.append(self._submit(fn, *args))

    def settle(self) -> list[Any]:
        """Wait for the background jobs still running (blocking); their results."""
        jobs, self._background = self._background, []
        return [job.result() for job in jobs]

    def forget(self) -> None:
        """Drop every job asked for on a step (they finish on their own; nobody collects them)
        and every note; background jobs stay."""
        self._jobs.clear()
        self._notes.clear()

    def close(self) -> None:
        self.settle()
        self.forget()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


def state_copy(state: RunState) -> dict:
    """The state as JSON data of its own (the run goes on changing the state itself)."""
    return json.loads(json.dumps(state.to_json(), default=str))


def write_report_job(run_dir: Path, state: RunState | dict) -> str | None:
    """Write the run's report.html; the error as text if that failed (it never stops a run)."""
    try:
        from ..report import write_report

        write_report(run_dir, state=state)
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


def place_program_job(written: str, final: str) -> str | None:
    """Parse the program at ``written`` and move it to ``final`` (a program that does not parse
    is never handed out: it is removed instead); the error as text, or None."""
    try:
        source = Path(written).read_text(encoding="utf-8")
        compile(source, final, "exec")
        os.replace(written, final)
    except Exception as e:
        Path(written).unlink(missing_ok=True)
        return f"{Path(final).name} was not written: {type(e).__name__}: {e}"
    return None


def job_step(s: Session, key: str, fn: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """(True, result) of job ``key`` (``fn(*args)``, started on the first ask), else (False,
    None) while it runs."""
    jobs = s.offthread
    if not jobs.started(key):
        jobs.start(key, fn, *args)
    return jobs.collect(key)


def working(s: Session, what: str) -> StepResult:
    """The step's result while ``what`` is under way off the main thread (or was one short
    main-thread part of a longer phase): like a render's wait, it writes nothing."""
    return StepResult(
        StepKind.WAITING,
        f"{s.stage.name}: {what}",
        stage=s.stage.name,
        extra={"working": what},
    )
