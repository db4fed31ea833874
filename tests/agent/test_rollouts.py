"""Init as the staged paper does it: 4 independent rollouts by default, then one comparative
request (the selector) over all of them; coverage and metrics decide only when it cannot."""

from __future__ import annotations

import json

from pipeline_helpers import demo_script, new_session

from viga_addon.agent.settings import DEFAULTS
from viga_addon.agent.state import Phase
from viga_addon.stages import STAGES


def _run(tmp_path, script=None, **settings):
    session, worker = new_session(tmp_path, script=script, stages=["init"], **settings)
    try:
        assert session.run_to_end() == "done", session.state.message
    finally:
        worker.close()
    return session


def test_four_independent_rollouts_and_one_comparative_selection(tmp_path):
    assert DEFAULTS.rollouts == 4 == STAGES[0].budget
    session = _run(tmp_path, rollouts=DEFAULTS.rollouts)
    init = session.state.stages["init"]
    assert [a.round for a in init.attempts] == [1, 2, 3, 4]
    assert init.best == 1 and init.selection["by"] == "selector"
    folder = session.run_dir / "stages" / "init"
    saved = json.loads((folder / "selection.json").read_text())
    assert saved["best"] == 1 and saved["reason"] and saved["analysis"]
    assert [r["round"] for r in saved["rollouts"]] == [1, 2, 3, 4]
    assert saved["rollouts"][0]["score"] == 8 and saved["rollouts"][1]["coverage"] == 1.0
    assert (folder / "rollouts.png").is_file()
    first = saved["messages"]["messages"][0]["content"]
    assert saved["messages"]["system"].startswith("Stage: init — Selector")
    assert any(p["type"] == "image" and p["path"].endswith("rollouts.png") for p in first)
    assert sum("Scene graph:" in p.get("text", "") for p in first) == 4
    # independent: no rollout is handed another rollout's checklist
    for n in (2, 3, 4):
        messages = json.loads((folder / f"round_{n}" / "messages.json").read_text())
        texts = [p.get("text", "") for p in messages["generator"]["messages"][0]["content"]]
        verifier = [p.get("text", "") for p in messages["verifier"]["messages"][0]["content"]]
        assert not any("Fix these" in t for t in texts)
        assert not any("Previous checklist" in t for t in verifier)
    events = [e["kind"] for e in session.store.events()]
    assert events.count("selected") == 1
    report = (session.run_dir / "report.html").read_text()
    assert "Kept rollout 1, chosen by the selector" in report and "rollout 4: 4.0" in report


def test_a_selector_that_fails_leaves_the_choice_to_the_ranking(tmp_path):
    script = demo_script()
    script["init"]["selector"] = [[{"fault": "no_tool"}]]
    session = _run(tmp_path, script=script, rollouts=2)
    init = session.state.stages["init"]
    assert init.selection["by"] == "ranking" and "selector failed" in init.selection["reason"]
    assert init.best == 1  # the complete rollout wins on coverage
    assert session.state.status == "done"


def test_one_usable_rollout_needs_no_selector(tmp_path):
    session = _run(tmp_path, rollouts=1)
    assert session.state.stages["init"].selection is None
    assert not (session.run_dir / "stages" / "init" / "selection.json").exists()


def test_an_interrupted_selection_starts_over(tmp_path):
    session, worker = new_session(tmp_path, stages=["init"], rollouts=2)
    try:
        while session.state.phase is not Phase.SELECT or session.state.conv is None:
            step = session.step()
            assert not step.stops or step.waiting, step
        session.restart_interrupted_round()
        assert session.state.phase is Phase.SELECT and session.state.conv is None
        assert [a.round for a in session.state.stages["init"].attempts] == [1, 2]
        assert session.run_to_end() == "done"
    finally:
        worker.close()
