"""Pure-Python work of a step (PSNR/SSIM against the photo, the verifier's and the selector's
sheets, report.html at a round's or a stage's end, scene.py's parse check) on one worker thread,
so ``Session.step()`` never holds Blender's main thread for it (numpy and Pillow release the GIL
while they work). Jobs take file paths and plain values only, never the session's state.

A phase waits for a job with ``result = yield from s.offthread.run(what, fn, *args)``: the
generator yields ``Wait(what)`` until the job is done; a job's exception is raised there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..state import RunState
from .events import Wait


class OffThread:
    """One worker thread: jobs a phase waits for, and background jobs nobody waits for."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._background: list[Future] = []  # in order: one thread runs them one by one

    def run(self, what: str, fn: Callable[..., Any], *args: Any) -> Generator[Wait, None, Any]:
        """``fn(*args)`` on the worker thread; yields ``Wait(what)`` until it is done."""
        job = self._submit(fn, *args)
        while not job.done():
            yield Wait(what)
        return job.result()

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="viga-images")
        return self._pool.submit(fn, *args)

    def background(self, fn: Callable[..., Any], *args: Any) -> None:
        """Start ``fn(*args)`` with nobody asking for it on a step (see ``settle``)."""
        # a finished job is kept only for its result (an error to report)
        self._background = [j for j in self._background if not j.done() or j.result() is not None]
        self._background.append(self._submit(fn, *args))

    def settle(self) -> list[Any]:
        """Wait for the background jobs still running (blocking); their results."""
        jobs, self._background = self._background, []
        return [job.result() for job in jobs]

    def close(self) -> None:
        self.settle()
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
