"""The staged loop end to end with the scripted provider, real bpy and real (tiny) Cycles renders."""

import json

import bpy
import pytest
from pipeline_helpers import demo_script, new_session

from viga_addon.stages import STAGE_NAMES


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("full")
    session, worker = new_session(tmp)
    try:
        status = session.run_to_end()
    finally:
        worker.close()
    return session, status


def test_full_run_finishes_and_writes_the_run_folder(full_run):
    session, status = full_run
    assert status == "done", session.state.message
    d = session.run_dir
    for name in (
        "run.json",
        "events.jsonl",
        "reference.png",
        "scene.py",
        "final.blend",
        "final.png",
        "metrics.json",
        "state.json",
    ):
        assert (d / name).is_file(), name
    for stage in STAGE_NAMES:
        assert (d / "stages" / stage / "snapshot.blend").is_file(), stage
        for item in ("code.py", "render.png", "verdict.json", "messages.json"):
            assert (d / "stages" / stage / "round_1" / item).is_file(), (stage, item)
    events = session.store.events()
    assert events[0]["kind"] == "created" and events[-1]["kind"] == "done"


def test_rollout_selector_keeps_the_complete_scaffold(full_run):
    session, _ = full_run
    init = session.state.stages["init"]
    # rollout 2 built all of its own (smaller) graph, but misses a part rollout 1 found
    assert [a.coverage for a in init.attempts] == [1.0, 1.0]
    assert [a.joint_coverage for a in init.attempts] == [1.0, 0.75]
    assert init.best == 1
    assert session.state.scene_graph["objects"][-1]["name"] == "yellow_can"


def test_rejected_round_checklist_reaches_the_next_generator_round(full_run):
    session, _ = full_run
    geo = session.state.stages["geometry"]
    assert geo.status == "approved" and geo.best == 2 and len(geo.attempts) == 2
    sent = json.loads((session.run_dir / "stages/geometry/round_2/messages.json").read_text())
    texts = [
        p["text"]
        for m in sent["generator"]["messages"]
        for p in m["content"]
        if p["type"] == "text"
    ]
    assert any("blue_box must be 1.5 units tall" in t for t in texts)
    verdict = json.loads((session.run_dir / "stages/geometry/round_1/verdict.json").read_text())
    assert verdict["approved"] is False and len(verdict["checklist"]) == 2


def test_first_round_approval_ends_the_stage(full_run):
    session, _ = full_run
    for stage in ("material", "composition", "lighting", "camera"):
        ss = session.state.stages[stage]
        assert ss.status == "approved" and len(ss.attempts) == 1, stage
        assert not (session.run_dir / "stages" / stage / "round_2").exists()


def test_reconstruction_improves_on_the_scaffold(full_run):
    session, _ = full_run
    metrics = json.loads((session.run_dir / "metrics.json").read_text())
    start = metrics["stages"]["init"]["metrics"][0]["psnr"]
    final = metrics["final"]["psnr"]
    assert final > start + 10, (start, final)
    assert metrics["final"]["ssim"] > 0.8


def test_final_scene_has_the_named_parts(full_run):
    names = {o.name for o in bpy.context.scene.objects}
    assert {"ground", "red_ball", "blue_box", "yellow_can", "camera", "sun"} <= names
    assert bpy.data.objects["blue_box"].scale.z == pytest.approx(1.5)
    assert bpy.data.objects["yellow_can"].active_material.name == "yellow_metal"


def test_a_later_round_starts_from_the_photo(full_run):
    """memory "compact": each generator round starts a fresh context that leads with the photo."""
    session, _ = full_run
    msgs = json.loads((session.run_dir / "stages/geometry/round_2/messages.json").read_text())
    first = msgs["generator"]["messages"][0]["content"]
    assert any(p["type"] == "image" and p["path"].endswith("reference.png") for p in first)


def _always_reject(script, stage):
    rounds = script[stage]["verifier"]
    for i, rnd in enumerate(rounds):
        rnd[-1]["tool_calls"][0]["arguments"].update(
            approved=False, best_attempt=1, checklist=[f"still wrong ({i + 1})"]
        )
    return script


def test_spent_budget_restores_the_best_attempt(tmp_path):
    script = _always_reject(demo_script(), "geometry")
    session, worker = new_session(
        tmp_path, script, stages=["init", "geometry"], budgets={"geometry": 2}
    )
    try:
        assert session.run_to_end() == "done"
    finally:
        worker.close()
    geo = session.state.stages["geometry"]
    assert geo.status == "budget_spent" and geo.best == 1
    # round 2 made the box 1.5 tall; the verifier picked round 1 (1.2), which must be the scene
    assert bpy.data.objects["blue_box"].scale.z == pytest.approx(1.2)
    assert "bevel" not in bpy.data.objects["blue_box"].modifiers


def test_verifier_that_errors_fails_its_round_and_the_run_goes_on(tmp_path):
    script = demo_script()
    script["material"]["verifier"] = [[{"fault": "no_tool", "text": "I think it looks fine."}]]
    session, worker = new_session(
        tmp_path, script, stages=["init", "material"], budgets={"material": 2}
    )
    try:
        assert session.run_to_end() == "done"
    finally:
        worker.close()
    mat = session.state.stages["material"]
    assert mat.status == "budget_spent" and len(mat.attempts) == 2
    assert "verifier failed" in mat.attempts[0].verdict.note
    assert bpy.data.objects["red_ball"].active_material.name == "red_plastic"


def test_generator_without_tool_call_fails_the_round_cleanly(tmp_path):
    script = demo_script()
    script["geometry"]["generator"] = [
        [{"fault": "no_tool", "text": "Sure!"}],
        *script["geometry"]["generator"][1:],
    ]
    session, worker = new_session(tmp_path, script, stages=["init", "geometry"])
    try:
        assert session.run_to_end() == "done"
    finally:
        worker.close()
    geo = session.state.stages["geometry"]
    assert geo.attempts[0].failed
    assert geo.best == 2 and geo.status == "approved"


def test_rate_limits_pause_the_run_and_resume_continues(tmp_path):
    script = demo_script()
    script["material"]["generator"][0].insert(0, {"fault": "rate_limit"})
    session, worker = new_session(tmp_path, script, stages=["init", "material"])
    try:
        assert session.run_to_end() == "paused"
        assert "RateLimited" in session.state.message
        done_before = len(session.state.stages["init"].attempts)
        fixed = demo_script()
        worker.close()
        from pipeline_helpers import tiny_host

        from viga_addon.agent.session import Session
        from viga_addon.agent.worker import ModelWorker

        worker = ModelWorker("scripted", opts={"script": fixed})
        resumed = Session.resume(session.run_dir, tiny_host(), worker)
        assert resumed.run_to_end() == "done"
        assert len(resumed.state.stages["init"].attempts) == done_before
    finally:
        worker.close()


def test_review_mode_waits_for_the_artist_and_runs_edited_code(tmp_path):
    session, worker = new_session(tmp_path, stages=["init"], budgets={"init": 1}, review_code=True)
    try:
        assert session.run_to_end() == "review"
        assert "primitive_plane_add" in session.code_under_review
        edited = session.code_under_review.replace('"ground"', '"floor"')
        session.approve_code(edited)
        assert session.run_to_end() == "done"
    finally:
        worker.close()
    assert "floor" in bpy.data.objects and "ground" not in bpy.data.objects
    code = (session.run_dir / "stages/init/round_1/code.py").read_text()
    assert "edited by the artist" in code


def test_scene_py_rebuilds_the_final_scene_in_a_fresh_blender(full_run, tmp_path):
    """scene.py from the run, run in a new process from an empty file, matches final.png."""
    import subprocess
    import sys
    from pathlib import Path

    session, _ = full_run
    d = session.run_dir
    out = tmp_path / "rebuilt.png"
    facts = tmp_path / "facts.json"
    root = Path(__file__).resolve().parents[2]
    probe = f"""
import json, runpy, sys
sys.path.insert(0, {str(root)!r})
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
runpy.run_path({str(d / "scene.py")!r}, run_name="__main__")
from viga_addon.tools.render.engine import render
r = render("final", path={str(out)!r}, long_side=96, samples=8, device="cpu")
facts = {{o.name: {{"loc": list(o.location), "rot": list(o.rotation_euler), "scale": list(o.scale),
                   "mat": o.active_material.name if o.active_material else None}}
         for o in bpy.context.scene.objects}}
json.dump({{"objects": facts, "render": r["ok"]}}, open({str(facts)!r}, "w"))
"""
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rebuilt = json.loads(facts.read_text())
    assert rebuilt["render"]
    bpy.ops.wm.open_mainfile(filepath=str(d / "final.blend"))
    assert set(rebuilt["objects"]) == {o.name for o in bpy.context.scene.objects}
    for obj in bpy.context.scene.objects:
        got = rebuilt["objects"][obj.name]
        assert got["loc"] == pytest.approx(list(obj.location), abs=1e-4), obj.name
        assert got["rot"] == pytest.approx(list(obj.rotation_euler), abs=1e-4), obj.name
        assert got["scale"] == pytest.approx(list(obj.scale), abs=1e-4), obj.name
        want = obj.active_material.name if obj.active_material else None
        assert got["mat"] == want, obj.name
    from viga_addon.common.metrics import compare

    m = compare(str(out), str(d / "final.png"))
    assert m["psnr"] > 30, m


def test_refine_parameters_is_a_lighting_tool_scoped_to_the_stage(tmp_path):
    script = demo_script()
    dim = {
        "name": "execute_code",
        "arguments": {"code": 'bpy.data.objects["sun"].data.energy = 0.3'},
    }
    refine = {"name": "refine_parameters", "arguments": {"targets": ["lighting"], "budget": 8}}
    wrong = {"name": "refine_parameters", "arguments": {"targets": ["material"], "budget": 4}}
    script["lighting"]["generator"] = [
        [
            {"text": "", "tool_calls": [dim]},
            {"text": "", "tool_calls": [wrong]},
            {"text": "", "tool_calls": [refine]},
            {
                "text": "",
                "tool_calls": [{"name": "end_round", "arguments": {"summary": "refined"}}],
            },
        ]
    ]
    session, worker = new_session(
        tmp_path, script, stages=["init", "lighting"], budgets={"init": 1, "lighting": 1}
    )
    try:
        assert session.run_to_end() == "done"
    finally:
        worker.close()
    msgs = json.loads((session.run_dir / "stages/lighting/round_1/messages.json").read_text())
    results = [
        p for m in msgs["generator"]["messages"] for p in m["content"] if p["type"] == "tool_result"
    ]
    assert results[1]["is_error"]  # material is out of the lighting stage's scope
    assert not results[2]["is_error"]
    assert bpy.data.objects["sun"].data.energy > 0.3  # better than the dimmed start
    assert (session.run_dir / "stages/lighting/round_1/refine_2").exists() or (
        session.run_dir / "stages/lighting/round_1/refine_1"
    ).exists()


def test_the_demo_run_ends_physics_ready(full_run):
    """The demo's final scene passes the settle check (the ball, 0.6 across after the geometry
    stage, rests on the ground), and the run's result says so everywhere it is read."""
    session, _ = full_run
    d = session.run_dir
    physics = json.loads((d / "physics.json").read_text())
    assert physics["ready"] is True, physics["summary"]
    assert {n: o["verdict"] for n, o in physics["objects"].items()} == {
        "ground": "support",
        "red_ball": "rests",
        "blue_box": "rests",
        "yellow_can": "rests",
    }
    run = json.loads((d / "run.json").read_text())["physics"]
    assert run["ready"] is True and run["summary"] == "stable 3/3 · physics-ready"
    assert json.loads((d / "metrics.json").read_text())["physics"]["ready"] is True
    assert session.state.message.endswith("physics: stable 3/3 · physics-ready")
