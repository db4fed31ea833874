"""One read model of a run: what the panel, the CLI's progress line, the report and batch show.

``progress_of(state)`` reads a live ``RunState``; ``read_progress(run_dir)`` the state.json of a
run folder (any version). Nothing here writes or decides anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .state import (
    RUN_HELD,
    STAGE_FINISHED,
    Phase,
    RunState,
    RunStatus,
    StageState,
    StageStatus,
    Totals,
    Verdict,
)

STATUS_WORDS = {
    StageStatus.WAITING: "waiting",
    StageStatus.RUNNING: "running",
    StageStatus.APPROVED: "approved",
    StageStatus.BUDGET_SPENT: "budget spent",
    StageStatus.FAILED: "failed",
    StageStatus.SKIPPED: "skipped",
}

_PHASE_WORDS = {
    Phase.BEGIN: "setting up the scene",
    Phase.STAGE_START: "starting {stage}",
    Phase.ROUND_START: "{stage} round {n}: rendering the current scene",
    Phase.GENERATOR: "{stage} round {n}: generator",
    Phase.ATTEMPT: "{stage} round {n}: rendering the attempt",
    Phase.VERIFIER: "{stage} round {n}: verifier",
    Phase.ROUND_END: "{stage} round {n}: verdict",
    Phase.SELECT: "{stage}: the selector compares the rollouts",
    Phase.STAGE_END: "finishing {stage}",
    Phase.FINAL: "final render and scene.py",
    Phase.DONE: "done",
}


@dataclass(frozen=True)
class StageRow:
    """One stage as a front end lists it."""

    name: str
    status: StageStatus
    word: str  # the status in words; "stopped" / "paused" while the run is not going
    round: int
    budget: int
    best: int | None
    attempts: int
    psnr: float | None  # of the latest attempt with metrics
    ssim: float | None

    @property
    def finished(self) -> bool:
        return self.status in STAGE_FINISHED


@dataclass(frozen=True)
class RunProgress:
    status: RunStatus
    phase: Phase
    message: str
    error_type: str | None
    stage: str  # the current stage
    round: int
    budget: int
    fraction: float  # 0..1 of the run's rounds done
    elapsed: float  # seconds
    totals: Totals
    stages: tuple[StageRow, ...]
    verdict: tuple[str, int, Verdict] | None  # the latest (stage, round, verdict)
    provider: str
    model: str | None
    waiting_role: str | None  # the role whose request is in flight
    waiting_since: float | None
    latest_render: Path | None  # final.png once done, else the newest attempt render
    run_dir: Path | None

    @property
    def tokens(self) -> int:
        """Every token of the run: input (uncached, cache writes, cache reads) and output."""
        t = self.totals
        return t.input_tokens + t.cache_write_tokens + t.cache_read_tokens + t.output_tokens

    def token_lines(self) -> list[str]:
        """Tokens and cost in words, as the panel and the report show them."""
        t = self.totals
        return [
            f"in: {t.input_tokens:,} uncached, {t.cache_write_tokens:,} cache writes, "
            f"{t.cache_read_tokens:,} cache reads",
            f"out: {t.output_tokens:,} · ${t.cost_usd:.3f}",
        ]

    def cost_line(self) -> str:
        """Cost and tokens in one short line: ``$0.23 · 82k tok (26k cached)``."""
        t = self.totals
        line = f"${t.cost_usd:.2f} · {short_count(self.tokens)} tok"
        if t.cache_read_tokens:
            line += f" ({short_count(t.cache_read_tokens)} cached)"
        return line

    @property
    def capped(self) -> bool:
        """Stopped at the cost cap (resumable with a higher one)."""
        return self.status is RunStatus.PAUSED and self.error_type == "CostCapReached"

    @property
    def cost_usd(self) -> float:
        return self.totals.cost_usd

    @property
    def rounds(self) -> int:
        return sum(row.attempts for row in self.stages)

    @property
    def scripted(self) -> bool:
        return self.provider == "scripted"

    @property
    def finished(self) -> bool:
        return self.status is RunStatus.DONE or self.phase is Phase.DONE

    def step_text(self, last_message: str = "", now: float | None = None) -> str:
        """The current step in words (``last_message``: the newest step's own message)."""
        if self.status is RunStatus.DONE:
            return "done: final.blend, final.png and scene.py are in the run folder"
        if self.status is not RunStatus.RUNNING and self.message:
            return self.message
        if self.waiting_role:
            waited = (now or time.time()) - (self.waiting_since or now or time.time())
            return (
                f"{self.stage} round {self.round}: the {self.waiting_role} model is thinking "
                f"({waited:.0f} s)"
            )
        if last_message and self.phase in (Phase.GENERATOR, Phase.VERIFIER):
            return last_message
        return _PHASE_WORDS[self.phase].format(stage=self.stage, n=self.round)


def short_count(n: int) -> str:
    """A token count at a glance: 950, 8.2k, 82k, 1.3M."""
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M"


def progress_of(
    state: RunState, run_dir: Path | None = None, elapsed: float | None = None
) -> RunProgress:
    """The read model of ``state`` (``elapsed``: the live value, else the one saved)."""
    stage_name = state.current_stage
    current = state.stages.get(stage_name) or StageState(budget=0)
    total = sum(ss.budget for ss in state.stages.values()) + 1
    done = sum(
        ss.budget if ss.status in STAGE_FINISHED else len(ss.attempts)
        for ss in state.stages.values()
    )
    halted = state.status in RUN_HELD or state.ended
    rows = []
    for name in state.stage_order:
        ss = state.stages.get(name) or StageState(budget=0)
        word = STATUS_WORDS[ss.status]
        if ss.status is StageStatus.RUNNING and halted and state.status is not RunStatus.DONE:
            word = "stopped" if state.ended else str(state.status)
        metrics = ss.latest_metrics() or {}
        rows.append(
            StageRow(
                name=name,
                status=ss.status,
                word=word,
                round=ss.round,
                budget=ss.budget,
                best=ss.best,
                attempts=len(ss.attempts),
                psnr=metrics.get("psnr"),
                ssim=metrics.get("ssim"),
            )
        )
    return RunProgress(
        status=state.status,
        phase=state.phase,
        message=state.message,
        error_type=state.error_type,
        stage=stage_name,
        round=current.round,
        budget=current.budget,
        fraction=1.0 if state.phase is Phase.DONE else min(1.0, done / total),
        elapsed=state.elapsed if elapsed is None else elapsed,
        totals=state.totals,
        stages=tuple(rows),
        verdict=state.last_verdict(),
        provider=state.settings.provider,
        model=state.settings.model,
        waiting_role=state.awaiting.role if state.awaiting else None,
        waiting_since=state.awaiting.submitted if state.awaiting else None,
        latest_render=_latest_render(state, run_dir),
        run_dir=run_dir,
    )


def _latest_render(state: RunState, run_dir: Path | None) -> Path | None:
    if run_dir is None:
        return None
    final = run_dir / "final.png"
    if state.status is RunStatus.DONE and final.is_file():
        return final
    for name in reversed(state.stage_order[: state.stage_index + 1]):
        for attempt in reversed(state.stages[name].attempts):
            if attempt.render and (run_dir / attempt.render).is_file():
                return run_dir / attempt.render
    return None


def read_progress(run_dir: str | Path) -> RunProgress | None:
    """The progress of the run folder ``run_dir``, or None without a readable state.json."""
    from .runstore import RunStore

    store = RunStore(Path(run_dir))
    try:
        state = store.load_state()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return progress_of(state, store.dir) if state is not None else None
