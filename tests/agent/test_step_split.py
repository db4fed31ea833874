"""Long phases in short steps (issue 13): the attempt after its render, the selector's sheet and
the final render's files each span several steps, the image work runs off the main thread, the
steps in between write nothing, and a crash between them resumes as before."""

import json
import time

from pipeline_helpers import demo_script, new_session, tiny_host

from viga_addon.agent.session import Session
from viga_addon.agent.session.events import StepKind
from viga_addon.agent.session.offthread import place_program_job
from viga_addon.agent.worker import ModelWorker
from viga_addon.common import metrics


def _kept(result):
    """What the session keeps of metrics.compare's result (as the host tool's caller did)."""
    return {k: result[k] for k in ("psnr", "ssim", "note") if result.get(k) is not None}


def _pump_until(session, stop, limit=20000):
    """Step (as the modal operator does) until ``stop(session, result)``; the results."""
    results = []
    for _ in range(limit):
        r = session.step()
        results.append(r)
        if stop(session, r) or (r.stops and not r.waiting):
            return results
        if r.waiting:
            time.sleep(0.01)
    raise AssertionError("the run did not get there")


def test_attempt_spans_steps_that_write_nothing_until_it_is_recorded(tmp_path):
    session, worker = new_session(tmp_path, stages=["geometry"])
    state_file = session.run_dir / "state.json"
    try:
        _pump_until(session, lambda s, r: s.state.phase == "attempt")
        saved, events = state_file.read_bytes(), len(session.store.events())
        between = []
        while True:
            r = session.step()
            if r.kind is StepKind.ATTEMPT:
                break
            time.sleep(0.01)
            between.append(r)
            if r.extra.get("working"):  # after the render came back: nothing written
                assert state_file.read_bytes() == saved
                assert len(session.store.events()) == events
        worked = [r.extra["working"] for r in between if r.extra.get("working")]
        assert worked[0] == "snapshot" and "metrics" in worked and "comparison images" in worked
        assert all(r.waiting for r in between)
        rdir = session.round_dir()
        # the metrics made off the main thread are the ones the host tool gives
        direct = metrics.compare(rdir / "render.png", session.store.reference)
        assert r.metrics == _kept(direct)
        assert session.stage_state.attempts[-1].metrics == r.metrics
        assert (rdir / "compare.png").is_file() and (rdir / "snapshot.blend").is_file()
        assert session.state.phase == "verifier"
        first = session.state.conv.messages[0]["content"]
        assert str(rdir / "compare.png") in [p.get("path") for p in first]
    finally:
        worker.close()


def test_a_crash_between_the_attempts_steps_reruns_the_round(tmp_path):
    session, worker = new_session(tmp_path, stages=["geometry"])
    try:
        _pump_until(session, lambda s, r: r.extra.get("working") == "metrics")
    finally:
        worker.close()  # the process dies here: nothing after the generator's end was saved
    on_disk = json.loads((session.run_dir / "state.json").read_text())
    assert on_disk["phase"] == "attempt"
    assert on_disk["stages"]["geometry"]["attempts"] == []
    worker = ModelWorker("scripted", opts={"script": demo_script()})
    resumed = Session.resume(session.run_dir, tiny_host(), worker)
    try:
        assert resumed.state.phase == "round_start"
        status = resumed.run_to_end()
    finally:
        worker.close()
    assert status == "done", resumed.state.message
    geo = resumed.state.stages["geometry"]
    assert [a.round for a in geo.attempts] == [1, 2]
    assert all(a.metrics and a.metrics.get("psnr") is not None for a in geo.attempts)


def test_final_files_and_selector_sheet_come_in_their_own_steps(tmp_path):
    session, worker = new_session(tmp_path, stages=["init", "geometry"])
    try:
        results = _pump_until(session, lambda s, r: False)
    finally:
        worker.close()
    assert session.status == "done", session.state.message
    worked = [r.extra.get("working") for r in results]
    assert "sheet of rollouts" in worked
    tail = worked[worked.index("final render done") :]
    assert [w for w in tail if w in ("final.blend", "scene.py")] == ["final.blend", "scene.py"]
    d = session.run_dir
    final = json.loads((d / "metrics.json").read_text())["final"]
    direct = metrics.compare(d / "final.png", session.store.reference)
    assert final == _kept(direct)
    assert (d / "stages/init/rollouts.png").is_file() and (d / "report.html").is_file()
    assert "done" in (d / "report.html").read_text().lower()
    # scene.py is written on the main thread and parsed on the worker thread, then moved in place
    i = tail.index("scene.py")
    assert "scene.py check" in tail[i + 1 :]
    compile((d / "scene.py").read_text(), "scene.py", "exec")
    assert not list(d.glob(".scene.py*")) and "scene_py_error" not in json.loads(
        (d / "metrics.json").read_text()
    )


def test_a_scene_py_that_does_not_parse_is_never_handed_out(tmp_path):
    good, bad = tmp_path / ".good", tmp_path / ".bad"
    good.write_text("import bpy\nx = 1\n")
    bad.write_text("def broken(:\n")
    assert place_program_job(str(good), str(tmp_path / "scene.py")) is None
    assert (tmp_path / "scene.py").read_text() == "import bpy\nx = 1\n" and not good.exists()
    error = place_program_job(str(bad), str(tmp_path / "other.py"))
    assert "other.py was not written: SyntaxError" in error
    assert not bad.exists() and not (tmp_path / "other.py").exists()
