"""The typed run state and the settings (pure Python): JSON round trips, the version-1 layout of
earlier releases, statuses defined once, defaults in one place."""

from __future__ import annotations

import json

import pytest

from viga_addon.agent.settings import DEFAULT_BUDGETS, DEFAULTS, LIMITS, Settings
from viga_addon.agent.state import (
    RUN_ENDED,
    RUN_HELD,
    STAGE_FINISHED,
    STATE_VERSION,
    Attempt,
    Conversation,
    Phase,
    RunState,
    RunStatus,
    StageState,
    StageStatus,
    ToolCall,
    Verdict,
    joined_code,
    migrate_v1,
    run_relative,
)
from viga_addon.stages import ALL_STAGES


def _state() -> RunState:
    ss = StageState(budget=2, status=StageStatus.RUNNING, round=2)
    ss.attempts.append(
        Attempt(
            round=1,
            snapshot="stages/geometry/round_1/snapshot.blend",
            render="stages/geometry/round_1/render.png",
            summary="boxes",
            metrics={"psnr": 21.5, "ssim": 0.8},
            verdict=Verdict(approved=False, checklist=["taller box"], best_attempt=1, score=6),
        )
    )
    ss.generator_conv = Conversation("geometry", "generator", "Stage: geometry — Generator")
    state = RunState(
        settings=Settings(provider="scripted", budgets={"geometry": 2}),
        reference={"width": 320, "height": 240},
        stage_order=["init", "geometry"],
        stages={"init": StageState(budget=2, status=StageStatus.APPROVED), "geometry": ss},
        stage_index=1,
        phase=Phase.GENERATOR,
    )
    state.pending.append(ToolCall("c1", "execute_code", {"code": "pass"}, reviewed="approved"))
    state.totals.add({"input_tokens": 10, "output_tokens": 3}, images=2)
    return state


@pytest.mark.smoke
def test_state_round_trips_through_json():
    state = _state()
    data = json.loads(json.dumps(state.to_json()))
    assert data["version"] == STATE_VERSION
    again = RunState.from_json(data)
    assert again.to_json() == state.to_json()
    assert again.stages["geometry"].attempts[0].verdict.checklist == ["taller box"]
    assert again.pending[0].reviewed == "approved" and again.phase is Phase.GENERATOR
    assert again.current_stage == "geometry" and again.totals.images == 2
    # numbers keep their type: a file rewritten after a resume is byte-identical
    assert json.dumps(again.to_json()) == json.dumps(state.to_json())
    assert again.stages["geometry"].attempts[0].verdict.score == 6
    assert isinstance(again.stages["geometry"].attempts[0].verdict.score, int)


@pytest.mark.smoke
def test_statuses_are_defined_once():
    assert set(STAGE_FINISHED) == {"approved", "budget_spent", "failed", "skipped"}
    assert set(RUN_ENDED) == {"done", "failed", "cancelled"} and set(RUN_HELD) == {
        "paused",
        "review",
    }
    assert RunStatus("paused") == "paused"  # statuses are the strings state.json holds
    state = _state()
    state.status = RunStatus.REVIEW
    assert state.held and not state.ended


@pytest.mark.smoke
def test_version_1_states_are_read_with_paths_made_relative():
    v1 = {
        "version": 1,
        "status": "paused",
        "settings": {"provider": "scripted", "stages": ["init", "geometry"]},
        "reference": {"width": 4, "height": 3},
        "stage_order": ["init", "geometry"],
        "stage_index": 1,
        "phase": "round_start",
        "scene_at": "/old/place/run-1/stages/geometry/start.blend",
        "stages": {
            "init": {"status": "approved", "round": 1, "budget": 1, "attempts": []},
            "geometry": {
                "status": "running",
                "round": 2,
                "budget": 3,
                "status_pending": "approved",
                "base_override": "/old/place/run-1/stages/geometry/hand_edit_1.blend",
                "attempts": [
                    {
                        "round": 1,
                        "snapshot": "/old/place/run-1/stages/geometry/round_1/snapshot.blend",
                        "render": "C:\\runs\\run-1\\stages\\geometry\\round_1\\render.png",
                        "verdict": {"approved": False, "checklist": "not a list"},
                    }
                ],
            },
        },
    }
    state = RunState.from_json(v1)
    geo = state.stages["geometry"]
    assert geo.outcome is StageStatus.APPROVED
    assert geo.hand_edit_base == "stages/geometry/hand_edit_1.blend"
    assert geo.attempts[0].snapshot == "stages/geometry/round_1/snapshot.blend"
    assert geo.attempts[0].render == "stages/geometry/round_1/render.png"
    assert state.scene_at == "stages/geometry/start.blend"
    assert geo.attempts[0].verdict.checklist == ["not a list"]
    assert state.settings.stages == ("init", "geometry")
    assert migrate_v1(v1) is not v1 and v1["scene_at"].startswith("/old")  # input untouched
    assert run_relative("/x/y/reference.png") == "reference.png"


@pytest.mark.smoke
def test_a_newer_state_version_is_refused_with_a_clear_message():
    data = _state().to_json()
    data["version"] = STATE_VERSION + 1
    with pytest.raises(ValueError, match="newer viga_addon"):
        RunState.from_json(data)


@pytest.mark.smoke
def test_one_format_for_a_rounds_code():
    from viga_addon.agent.state import CodeRun

    text = joined_code([CodeRun("a = 1", "ok"), CodeRun("b = 2", "error")])
    assert text == "# --- execute_code #1 (ok)\na = 1\n\n# --- execute_code #2 (error)\nb = 2"


# ----------------------------------------------------------------------------- settings
@pytest.mark.smoke
def test_settings_defaults_live_in_one_place():
    assert DEFAULT_BUDGETS == {s.name: s.budget for s in ALL_STAGES}
    assert DEFAULTS.rollouts == DEFAULT_BUDGETS["init"]
    assert Settings().budget("geometry") == DEFAULT_BUDGETS["geometry"]
    s = Settings(rollouts=4, budgets={"geometry": 2})
    assert s.budget("init") == 4 and s.budget("geometry") == 2
    assert Settings(budgets={"init": 3}).budget("init") == 3
    for name, (low, high) in LIMITS.items():
        if name in ("budget",):
            continue
        assert low <= getattr(DEFAULTS, name) <= high, name


@pytest.mark.smoke
def test_settings_from_dict_merge_and_validate():
    s = Settings.from_dict({"provider": "openai", "stages": ["init"], "budgets": {"init": 1}})
    assert s.stages == ("init",) and s.to_dict()["stages"] == ["init"]
    assert Settings.from_dict(s.to_dict()) == s
    assert s.merged({"stop_after": "init"}).stop_after == "init" and s.stop_after is None
    with pytest.raises(ValueError, match="unknown setting"):
        Settings.from_dict({"preview_sise": 64})
    for bad, message in (
        ({"preview_size": 0}, "at least"),
        ({"engine": "WORKBENCH"}, "engine"),
        ({"stop_after": "texture"}, "unknown stage"),
        ({"pause_after": "always"}, "pause_after"),
    ):
        with pytest.raises(ValueError, match=message):
            Settings.from_dict(bad).validate()


@pytest.mark.smoke
def test_a_verdict_keeps_its_analysis_and_old_verdicts_load_without_one():
    verdict = Verdict(
        approved=False, checklist=["taller box"], best_attempt=1, analysis="box: not fixed"
    )
    data = json.loads(json.dumps(verdict.to_json()))
    assert next(iter(data)) == "analysis"  # first in verdict.json, as the model writes it
    assert Verdict.from_json(data) == verdict
    old = Verdict.from_json({"approved": True, "checklist": [], "best_attempt": 2})
    assert old.analysis == "" and old.approved is True and old.best_attempt == 2
    state = _state()
    state.stages["geometry"].attempts[0].verdict.analysis = "box: not fixed"
    again = RunState.from_json(json.loads(json.dumps(state.to_json())))
    assert again.stages["geometry"].attempts[0].verdict.analysis == "box: not fixed"
