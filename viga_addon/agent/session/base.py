"""``SessionBase``: a run's parts (its store, host, model client, stages, state) and the helpers
every phase shares: snapshots, renders, timing, saving, pausing. The phases, the turns and the
controls take a ``SessionBase``; ``core.Session`` adds create / resume / step on top.

A render in the render process outlasts a step: ``result = yield from s.render(path)`` (or
``s.host_wait(...)`` for any render-type host call) starts it and yields ``Wait`` until its
result is there. Closing the generator (cancel, revert, a restarted round) stops the render.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ...stages import Stage
from ..progress import RunProgress, progress_of
from ..runstore import RunStore
from ..state import IN_ROUND, Phase, Review, RunState, RunStatus, StageState, ToolCall
from .events import Wait, Work
from .offthread import OffThread, state_copy, write_report_job

ARTIST_NOTE = (
    "The artist's note (their own words about the photo and what they want; follow it "
    "unless the photo plainly shows otherwise):"
)


class SessionBase:
    """One run's parts and shared helpers (see the module's docstring)."""

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
        self.warnings: list[str] = []  # for the artist (panel, CLI), e.g. rendering in-process
        self.offthread = OffThread()  # image work (metrics, sheets) off the main thread
        self.work: Work | None = None  # the phase under way between its steps (see step())

    # ---------------------------------------------------------------- reading
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
        """The current stage's system prompt for ``role``, told which Blender it runs in, with
        the artist's note (settings.note) at its end when there is one."""
        prompt = self.stage.system_prompt(role, blender_version=self.blender_version)
        note = self.state.settings.note.strip()
        if note:
            prompt += f"\n\n{ARTIST_NOTE}\n{note}"
        return prompt

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

    def render(self, path: Path, long_side: int | None = None) -> Work:
        """A preview render (``long_side``: its size, default the preview size); waits while it
        runs in the render process."""
        s = self.state.settings
        args = {
            "preset": "preview",
            "path": str(path),
            "long_side": long_side or s.preview_size,
            "samples": s.preview_samples,
            "device": s.render_device,
            "engine": s.engine,
        }
        return (yield from self.host_wait("render", "render", args))

    def host_wait(self, category: str, name: str, args: dict) -> Work:
        """Host tool ``name`` counted in timing ``category``: started in the render process and
        waited for (``Wait``) when the host has one, else called at once. Closed before its
        result came (cancel, revert), the generator stops the call."""
        start = getattr(self.host, "start", None)
        if start is None:  # a host without a render process (a test's fake) answers at once
            return self.timed(category, name, args)
        started = time.monotonic()
        result = start(name, args)
        if isinstance(result, dict) and result.get("ok") and result.get("pending"):
            token, result = str(result["pending"]), None
            try:
                while (result := self.host.poll(token)) is None:
                    yield Wait(name, rendering=True)
            finally:
                if result is None and getattr(self.host, "cancel", None) is not None:
                    self.host.cancel()
        timing = self.state.timing
        setattr(timing, category, getattr(timing, category) + time.monotonic() - started)
        self._note_warnings()
        return result

    def _note_warnings(self) -> None:
        """The host's warnings (e.g. rendering in-process), each once in the run's events and in
        ``warnings`` for the panel and the CLI."""
        for warning in getattr(self.host, "warnings", None) or ():
            if warning not in self.warnings:
                self.warnings.append(warning)
                self.store.append_event({"kind": "warning", "message": warning})

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

    # ---------------------------------------------------------------- the run's course
    def pause(self, reason: str = "paused by the user") -> None:
        if not self.finished:
            self.state.status = RunStatus.PAUSED
            self.state.message = reason
            self.save()

    def hold_for_review(self, call: ToolCall) -> None:
        self.state.review = Review(code=call.arguments["code"], call_id=call.id)
        self.state.status = RunStatus.REVIEW
        self.state.message = "review the generator's code before it runs"

    def restart_interrupted_round(self) -> None:
        """Forget a half-done round: it restarts from the snapshot it began with."""
        self.drop_work()
        st = self.state
        if st.phase in IN_ROUND:
            ss = self.stage_state
            n = ss.round
            ss.attempts = [a for a in ss.attempts if a.round < n]
            ss.generator_conv = ss.generator_conv_before_round
            ss.round_failed = None
            st.conv = None
            st.phase = Phase.ROUND_START
        elif st.phase is Phase.SELECT:
            st.conv = None  # the selection starts over; the rollouts stand
        st.pending = []
        st.results = []
        st.awaiting = None
        st.review = None
        st.scene_at = None

    def drop_work(self) -> None:
        """Close the phase under way, if any (a render it waits for is stopped): the phase
        starts afresh on the next step. From inside that phase itself, it only lets go of it."""
        work, self.work = self.work, None
        if work is not None and not work.gi_running:
            work.close()

    def goto_stage(self, idx: int) -> None:
        self.drop_work()
        self.state.stage_index = min(idx, len(self.stages) - 1)
        self.state.phase = Phase.STAGE_START if idx < len(self.stages) else Phase.FINAL
        self.state.conv = None
