"""The read model has words for every phase and status (a phase without words once blanked the
panel: init's selector, Phase.SELECT, raised KeyError on every redraw)."""

from __future__ import annotations

import itertools

import pytest

from viga_addon.agent.progress import STATUS_WORDS, progress_of
from viga_addon.agent.settings import Settings
from viga_addon.agent.state import (
    Awaiting,
    Phase,
    RunState,
    RunStatus,
    StageState,
    StageStatus,
)


def _state(phase: Phase, status: RunStatus, stage_status: StageStatus) -> RunState:
    return RunState(
        settings=Settings(provider="scripted", budgets={"geometry": 2}),
        reference={"width": 32, "height": 24},
        stage_order=["init", "geometry"],
        stages={
            "init": StageState(budget=2, status=StageStatus.APPROVED, round=2),
            "geometry": StageState(budget=2, status=stage_status, round=1),
        },
        stage_index=1,
        phase=phase,
        status=status,
    )


@pytest.mark.smoke
def test_every_stage_status_has_a_word():
    assert set(STATUS_WORDS) == set(StageStatus)


@pytest.mark.smoke
@pytest.mark.parametrize("phase", list(Phase))
def test_every_phase_and_run_status_reads_as_words(phase):
    for status, stage_status in itertools.product(RunStatus, StageStatus):
        progress = progress_of(_state(phase, status, stage_status))
        for message in ("", "a step's own message"):
            text = progress.step_text(message)
            assert isinstance(text, str) and text.strip(), (phase, status, stage_status)
        assert all(row.word for row in progress.stages)


def test_the_selector_phase_says_what_is_going_on():
    text = progress_of(_state(Phase.SELECT, RunStatus.RUNNING, StageStatus.RUNNING)).step_text()
    assert "selector" in text and "rollouts" in text


def test_a_waiting_request_names_its_role_in_any_phase():
    for phase in Phase:
        state = _state(phase, RunStatus.RUNNING, StageStatus.RUNNING)
        state.awaiting = Awaiting(role="selector", images=0, submitted=0.0)
        assert "selector" in progress_of(state).step_text(now=3.0)
