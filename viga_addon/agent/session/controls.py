"""What the artist (or a script) does to a run between steps: pause, resume, cancel, review the
generator's code, keep hand edits, revert to a stage, rerun or skip one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..state import IN_ROUND, Phase, RunStatus, StageState, StageStatus
from .base import SessionBase


class SessionControls(SessionBase):
    """The artist's controls of a run (``core.Session`` adds create / resume / step)."""

    # ------------------------------------------------------------------ pause / cancel
    def resume_running(self) -> None:
        if self.state.status is RunStatus.PAUSED:
            self.state.status = RunStatus.RUNNING
            self.state.message = ""
            self.save()

    def cancel(self) -> None:
        """Stop at once: the in-flight request is killed, the interrupted round will rerun."""
        if self.client is not None:
            self.client.cancel()
        self.state.awaiting = None
        self.restart_interrupted_round()
        self.state.status = RunStatus.CANCELLED
        self.state.message = "cancelled; resume to continue from the last completed round"
        self.save()
        self.store.append_event({"kind": "cancelled"})

    # ------------------------------------------------------------------ code review
    @property
    def code_under_review(self) -> str | None:
        return self.state.review.code if self.state.review else None

    def approve_code(self, code: str | None = None) -> None:
        """Run the code under review; ``code``: the artist's version of it (None: unchanged)."""
        review = self.state.review
        if review is None:
            return
        call = self.state.pending[0]
        call.arguments = {**call.arguments, "code": review.code if code is None else code}
        call.reviewed = "edited" if code is not None and code != review.code else "approved"
        self.state.review = None
        self.state.status = RunStatus.RUNNING
        self.save()

    def skip_code(self) -> None:
        if self.state.review is None:
            return
        self.state.pending[0].reviewed = "skipped"
        self.state.review = None
        self.state.status = RunStatus.RUNNING
        self.save()

    # ------------------------------------------------------------------ hand edits
    def accept_hand_edits(self, changes: dict[str, Any]) -> None:
        """Keep what the artist changed by hand while the run was paused.

        The current scene becomes the base of the next round (snapshotted into the run folder,
        so a resume keeps it too) and ``changes`` is told to the next generator round.
        """
        stage = self.stage
        ss = self.stage_state
        k = len(list(self.store.stage_dir(stage.name).glob("hand_edit_*.blend"))) + 1
        path = self.store.stage_dir(stage.name) / f"hand_edit_{k}.blend"
        self.snapshot(path)
        if self.state.phase in IN_ROUND:
            if self.state.awaiting is not None and self.client is not None:
                self.client.cancel()  # its reply belongs to the round being restarted
            self.restart_interrupted_round()
            self.state.scene_at = self.store.relative(path)
        ss.hand_edit_base = self.store.relative(path)
        ss.hand_edits = changes
        self.save()
        self.store.append_event({"kind": "hand_edits", "changes": changes})

    # ------------------------------------------------------------------ revert / rerun / skip
    def revert_to_stage(self, name: str) -> None:
        """Scene back to the end of stage ``name``; the run continues with the stage after it."""
        idx = self.state.stage_order.index(name)
        snap = self.store.stage_dir(name) / "snapshot.blend"
        if not snap.exists():
            raise ValueError(f"stage {name} has not finished; nothing to revert to")
        self._back_to(snap, forget_from=idx + 1)
        self.goto_stage(idx + 1)
        self._reopen_finished_run()
        self.state.message = f"reverted to the end of {name}"
        self.save()
        self.store.append_event({"kind": "revert", "stage": name})

    def rerun_stage(self, name: str) -> None:
        idx = self.state.stage_order.index(name)
        start = self.store.stage_dir(name) / "start.blend"
        if not start.exists():
            raise ValueError(f"stage {name} has not started; nothing to rerun")
        self._back_to(start, forget_from=idx)
        self.goto_stage(idx)
        self.state.phase = Phase.ROUND_START  # start.blend already exists
        self.state.stages[name].status = StageStatus.RUNNING
        self.state.stages[name].round = 1
        self._reopen_finished_run()
        self.save()
        self.store.append_event({"kind": "rerun", "stage": name})

    def skip_stage(self, name: str | None = None) -> None:
        name = name or self.stage.name
        idx = self.state.stage_order.index(name)
        if idx != self.state.stage_index:
            raise ValueError(f"only the current stage ({self.stage.name}) can be skipped")
        self.cancel_request()
        start = self.store.stage_dir(name) / "start.blend"
        if start.exists() and self.state.scene_at != self.store.relative(start):
            self.host.call("restore", {"path": str(start)})
            self.state.scene_at = self.store.relative(start)
        self.state.stages[name].status = StageStatus.SKIPPED
        self.snapshot(self.store.stage_dir(name) / "snapshot.blend")
        self.goto_stage(idx + 1)
        self.save()
        self.store.append_event({"kind": "skip", "stage": name})

    # ------------------------------------------------------------------ helpers
    def _back_to(self, snapshot: Path, forget_from: int) -> None:
        """The scene as ``snapshot`` holds it; the stages from index ``forget_from`` on start
        over (their rounds are forgotten, their folders stay)."""
        self.cancel_request()
        self.host.call("restore", {"path": str(snapshot)})
        self.state.scene_at = self.store.relative(snapshot)
        for later in self.state.stage_order[forget_from:]:
            self.state.stages[later] = StageState(budget=self.stage_named(later).budget)

    def _reopen_finished_run(self) -> None:
        """After a revert/rerun a finished run has work again: paused, resumable."""
        if self.state.ended:
            self.state.status = RunStatus.PAUSED
            self.state.error_type = None

    def cancel_request(self) -> None:
        """Drop the request in flight, the tool calls not yet run and the phase under way."""
        self.drop_work()
        if self.state.awaiting is not None and self.client is not None:
            self.client.cancel()
        self.state.awaiting = None
        self.state.pending = []
        self.state.results = []
        self.state.review = None
        if self.state.status in (RunStatus.CANCELLED, RunStatus.REVIEW):
            self.state.status = RunStatus.PAUSED
