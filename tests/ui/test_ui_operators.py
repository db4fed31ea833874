"""The in-Blender operators on real bpy: the modal pump driven with fake TIMER/ESC events through
scripted runs with tiny renders, bad input refused before anything starts, ESC/cancel/resume,
step, pause with hand edits, revert and continue, reopening a .blend saved mid-run, and the
main-thread tick while the scripted model takes seconds to answer."""

from __future__ import annotations

import json
import time

import bpy  # isort: skip  (addon_utils is importable once bpy is)
import addon_utils  # isort: skip
import pytest
from ui_support import (
    ADDON,
    PauseHarness,
    ResumeHarness,
    StepHarness,
    demo_script,
    event,
    fake_context,
    pump_until,
    start_modal_run,
    use_demo,
    write_script,
)

from viga_addon.ui import live as rt


def _run_dirs(prefs):
    root = bpy.path.abspath(prefs.runs_dir)
    import os

    return os.listdir(root) if os.path.isdir(root) else []


def _errors(op):
    return " ".join(m for kinds, m in op.reports if "ERROR" in kinds)


# ----------------------------------------------------------------------------- registration
@pytest.mark.smoke
def test_enable_disable_twice_leaves_nothing_behind(addon):
    ops = (
        "run",
        "resume_run",
        "pause",
        "step_round",
        "cancel",
        "revert_stage",
        "rerun_stage",
        "skip_stage",
        "approve_code",
        "skip_code",
        "open_run_folder",
        "open_runs_root",
        "open_code",
        "show_render",
    )
    for name in ops:
        assert hasattr(bpy.ops.viga, name), name
    assert hasattr(bpy.types.Scene, "viga")
    assert rt.on_load_pre in bpy.app.handlers.load_pre
    for _ in range(2):
        addon_utils.disable(ADDON, default_set=True)
        assert not hasattr(bpy.types.Scene, "viga")
        assert "VIGA_PT_main" not in dir(bpy.types)
        assert rt.on_load_pre not in bpy.app.handlers.load_pre
        assert bpy.context.preferences.addons.get(ADDON) is None
        addon_utils.enable(ADDON, default_set=True)
        assert bpy.context.scene.viga.provider == "DEFAULT"
        assert "VIGA_PT_stages" in dir(bpy.types)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.smoke
def test_run_without_an_image_starts_nothing(addon):
    addon.default_provider = "scripted"
    op, ctx, result = start_modal_run()
    assert result == {"CANCELLED"}
    assert "Choose a reference photo" in _errors(op)
    assert rt.any_live_run() is None and not ctx.window_manager.timers
    assert _run_dirs(addon) == []


@pytest.mark.smoke
def test_photo_that_fails_to_load_starts_nothing(addon, tmp_path):
    bad = tmp_path / "not_a_photo.png"
    bad.write_text("this is text, not a PNG")
    addon.default_provider = "scripted"
    bpy.context.scene.viga.photo_path = str(bad)
    op, ctx, result = start_modal_run()
    assert result == {"CANCELLED"}
    assert "could not be loaded" in _errors(op)
    assert rt.any_live_run() is None and not ctx.window_manager.timers
    assert _run_dirs(addon) == []  # no half-made run folder to confuse a resume
    bpy.context.scene.viga.photo_path = str(tmp_path / "missing.jpg")
    op, ctx, result = start_modal_run()
    assert result == {"CANCELLED"} and "Photo not found" in _errors(op)


@pytest.mark.smoke
def test_no_key_names_where_to_set_it_and_starts_nothing(addon):
    use_demo()
    bpy.context.scene.viga.provider = "anthropic"
    op, ctx, result = start_modal_run()
    assert result == {"CANCELLED"}
    message = _errors(op)
    assert "No Anthropic API key" in message
    assert "Preferences › Add-ons › VIGA" in message and "ANTHROPIC_API_KEY" in message
    assert rt.any_live_run() is None and _run_dirs(addon) == []


@pytest.mark.smoke
def test_online_access_off_sends_nothing(addon):
    assert bpy.app.online_access is False  # the bpy module runs with online access off
    use_demo()
    bpy.context.scene.viga.provider = "openai"
    addon.openai_api_key = "sk-test-not-a-real-key-123456"
    op, ctx, result = start_modal_run()
    assert result == {"CANCELLED"}
    assert "Allow Online Access" in _errors(op) and "--online-mode" in _errors(op)
    assert rt.any_live_run() is None and _run_dirs(addon) == []
    # a local OpenAI-compatible server stays on this machine: no online access needed
    addon.base_url = "http://127.0.0.1:9/v1"
    assert rt.choose(bpy.context).ok


def test_second_run_is_refused_while_one_is_going(addon):
    use_demo()
    op, ctx, result = start_modal_run()
    assert result == {"RUNNING_MODAL"}
    first = rt.any_live_run()
    op2, ctx2, result2 = start_modal_run()
    assert result2 == {"CANCELLED"} and "already going" in _errors(op2)
    assert rt.any_live_run() is first and not ctx2.window_manager.timers
    bpy.ops.viga.cancel()
    assert pump_until(op, ctx) == {"FINISHED"}
    assert not ctx.window_manager.timers


# ----------------------------------------------------------------------------- full modal run
def _delayed_script(seconds):
    script = demo_script()
    for role in ("generator", "verifier"):
        first_turn = script["geometry"][role][0][0]
        script["geometry"][role][0][0] = {**first_turn, "delay": seconds}
    return script


def test_modal_run_to_done_with_a_slow_model_keeps_ticks_short(addon, tmp_path, record_property):
    use_demo(write_script(tmp_path, _delayed_script(2.0)))
    op, ctx, result = start_modal_run()
    assert result == {"RUNNING_MODAL"}
    assert len(ctx.window_manager.timers) == 1 and ctx.window_manager.handlers == [op]
    assert ctx.window_manager.timers[0].time_step == pytest.approx(rt.TICK_SECONDS)
    live = rt.any_live_run()
    assert bpy.context.scene.viga.run_dir == str(live.session.run_dir)
    t0 = time.monotonic()
    assert pump_until(op, ctx) == {"FINISHED"}
    wall = time.monotonic() - t0
    assert live.session.status == "done"
    assert not ctx.window_manager.timers and ctx.window_manager.removed == 1
    assert (live.session.run_dir / "final.blend").is_file()
    assert {"ground", "red_ball", "blue_box", "yellow_can"} <= {
        o.name for o in bpy.context.scene.objects
    }
    pending = rt.tick_stats(live, pending_only=True)
    every = rt.tick_stats(live)
    # 2 × 2 s of model time: the pump polled the worker many times meanwhile
    assert pending["count"] > 20, pending
    assert pending["max"] < 0.05, pending  # a poll never blocks on the model
    record_property("ticks_pending", pending)
    record_property("ticks_all", every)
    print(
        f"\nTICKS wall={wall:.1f}s pending: n={pending['count']} max={pending['max'] * 1000:.2f} ms "
        f"p99={pending['p99'] * 1000:.2f} ms | all: n={every['count']} "
        f"max={every['max'] * 1000:.0f} ms p99={every['p99'] * 1000:.0f} ms"
    )
    # the worker was closed at the end of the run
    assert live.worker._proc is None


def test_escape_cancels_and_resume_continues_to_done(addon, tmp_path):
    use_demo(write_script(tmp_path, _delayed_script(30.0)))
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    pump_until(
        op,
        ctx,
        stop=lambda lv: lv.session.state.awaiting and lv.session.stage.name == "geometry",
        limit=60,
    )
    t0 = time.monotonic()
    assert op.modal(ctx, event("ESC", "PRESS")) == {"CANCELLED"}
    assert time.monotonic() - t0 < 1.0  # the 30 s request was killed, not waited for
    assert live.session.status == "cancelled" and not ctx.window_manager.timers
    state = json.loads((live.session.run_dir / "state.json").read_text())
    assert state["status"] == "cancelled"
    assert state["stages"]["init"]["status"] in ("approved", "budget_spent")
    # resume from the run folder (fresh worker), with the delay gone
    addon.demo_script = write_script(tmp_path, demo_script(), "fast.json")
    resume = ResumeHarness()
    assert resume.invoke(ctx, event("NONE")) == {"RUNNING_MODAL"}, resume.reports
    resumed = rt.any_live_run()
    assert resumed is not live and resumed.session.run_dir == live.session.run_dir
    assert pump_until(resume, ctx) == {"FINISHED"}
    assert resumed.session.status == "done"
    assert [a.to_json() for a in resumed.session.state.stages["init"].attempts] == state["stages"][
        "init"
    ]["attempts"]  # the init stage was not redone


def test_step_runs_one_round_then_pauses(addon, tmp_path):
    addon.pause_after = "STAGE"
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    pump_until(op, ctx, stop=lambda lv: lv.status == "paused")
    assert live.session.state.stages["init"].status != "waiting"
    geo = live.session.state.stages["geometry"]
    assert geo.attempts == []
    stepper = StepHarness()
    assert stepper.invoke(ctx, event("NONE")) == {"FINISHED"}  # the running pump continues
    pump_until(op, ctx, stop=lambda lv: lv.status == "paused")
    assert len(geo.attempts) == 1 and geo.status == "running"
    assert "stepped one round" in live.session.state.message
    bpy.ops.viga.cancel()
    pump_until(op, ctx)


def test_pause_toggle_keeps_hand_edits_and_tells_the_next_round(addon, tmp_path):
    addon.pause_after = "STAGE"
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    pump_until(op, ctx, stop=lambda lv: lv.status == "paused")  # after init
    assert live.paused_fp is not None
    # ESC while paused belongs to the artist's editing: the run stays
    assert op.modal(ctx, event("ESC", "PRESS")) == {"PASS_THROUGH"}
    assert live.status == "paused"
    scene = bpy.context.scene
    ball = scene.objects["red_ball"]
    ball.location.z += 2.0
    bpy.data.objects.remove(scene.objects["blue_box"], do_unlink=True)
    addon.pause_after = "NONE"
    live.session.state.settings = live.session.state.settings.with_changes(pause_after=None)
    pauser = PauseHarness()
    assert pauser.execute(ctx) == {"FINISHED"}
    assert live.status == "running"
    assert live.hand_edits["changed"]["objects"] == ["red_ball"]
    assert live.hand_edits["removed"]["objects"] == ["blue_box"]
    assert any("kept your edits" in m for _, m in pauser.reports)
    pump_until(op, ctx, stop=lambda lv: lv.session.state.stages["geometry"].attempts)
    sent = (live.session.run_dir / "stages/geometry/round_1/messages.json").read_text()
    assert "edited the scene by hand" in sent and "blue_box" in sent
    events = [e["kind"] for e in live.session.store.events()]
    assert "hand_edits" in events
    bpy.ops.viga.cancel()
    pump_until(op, ctx)


def test_pause_without_edits_reports_none(addon):
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    pump_until(op, ctx, stop=lambda lv: lv.session.state.phase == "generator")
    pauser = PauseHarness()
    pauser.execute(ctx)
    assert live.status == "paused"
    for _ in range(3):  # ticks while paused do nothing
        assert op.modal(ctx, event("TIMER")) == {"PASS_THROUGH"}
    assert live.status == "paused"
    pauser.execute(ctx)
    assert live.status == "running" and live.hand_edits is None
    assert "hand_edits" not in [e["kind"] for e in live.session.store.events()]
    bpy.ops.viga.cancel()
    pump_until(op, ctx)


# ----------------------------------------------------------------------------- revert / rerun / skip
def _object_state():
    return {
        o.name: tuple(round(v, 4) for v in o.matrix_world.translation)
        + tuple(round(v, 4) for v in o.scale)
        for o in bpy.context.scene.objects
    }


def test_revert_after_done_restores_the_stage_and_the_run_continues(addon):
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    assert pump_until(op, ctx) == {"FINISHED"}
    assert live.session.status == "done"
    assert bpy.data.objects["blue_box"].scale.z == pytest.approx(1.5)
    assert bpy.ops.viga.revert_stage(stage="init") == {"FINISHED"}
    # the init scaffold: the box is not yet 1.5 tall (the geometry stage did that)
    assert bpy.data.objects["blue_box"].scale.z != pytest.approx(1.5)
    after_revert = _object_state()
    assert live.status == "paused"
    st = live.session.state
    assert st.stages["geometry"].status == "waiting"
    assert st.stages["camera"].attempts == []
    assert live.paused_fp is not None  # the reverted scene is the base, not a hand edit
    resume = ResumeHarness()
    assert resume.invoke(ctx, event("NONE")) == {"RUNNING_MODAL"}
    assert live.hand_edits is None
    assert after_revert  # the scene had content after the revert
    assert pump_until(resume, ctx) == {"FINISHED"}
    assert live.session.status == "done"
    assert st.stages["geometry"].status == "approved"
    assert bpy.data.objects["blue_box"].scale.z == pytest.approx(1.5)
    events = [e["kind"] for e in live.session.store.events()]
    assert events.count("done") == 2 and "revert" in events


def test_revert_while_running_pauses_first_and_bad_stage_is_refused(addon):
    addon.pause_after = "STAGE"
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    pump_until(op, ctx, stop=lambda lv: lv.status == "paused")  # init done
    live.session.state.settings = live.session.state.settings.with_changes(pause_after=None)
    PauseHarness().execute(ctx)
    pump_until(
        op,
        ctx,
        stop=lambda lv: (
            lv.session.state.phase == "generator" and lv.session.stage.name == "geometry"
        ),
    )
    assert live.status == "running"
    with pytest.raises(RuntimeError):  # geometry has not finished: nothing to revert to
        bpy.ops.viga.revert_stage(stage="geometry")
    assert bpy.ops.viga.revert_stage(stage="init") == {"FINISHED"}
    assert live.status == "paused" and live.session.state.awaiting is None
    assert bpy.ops.viga.skip_stage() == {"FINISHED"}
    assert live.session.state.stages["geometry"].status == "skipped"
    assert bpy.ops.viga.rerun_stage(stage="init") == {"FINISHED"}
    assert live.session.state.stages["geometry"].status == "waiting"
    assert live.session.state.stages["init"].status == "running"
    bpy.ops.viga.cancel()
    pump_until(op, ctx)


# ----------------------------------------------------------------------------- review mode
def test_review_mode_edit_approve_and_skip(addon):
    addon.review_code = True
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    pump_until(op, ctx, stop=lambda lv: lv.status == "review")
    text = bpy.data.texts[rt.CODE_TEXT_NAME]
    assert live.session.code_under_review.strip() in text.as_string()
    # edit: add a marker object, approve
    text.write(
        "\nbpy.ops.mesh.primitive_cube_add(size=0.1, location=(9, 9, 9))\n"
        "bpy.context.object.name = 'artist_marker'\n"
    )
    assert bpy.ops.viga.approve_code() == {"FINISHED"}
    assert live.status == "running"
    op.modal(ctx, event("TIMER"))  # the approved code runs on the next step
    assert "artist_marker" in bpy.context.scene.objects
    pump_until(op, ctx, stop=lambda lv: lv.status == "review")
    code = (live.session.run_dir / "stages/init/round_1/code.py").read_text()
    assert "artist_marker" in code and "edited by the artist" in code
    assert bpy.ops.viga.skip_code() == {"FINISHED"}
    pump_until(op, ctx, stop=lambda lv: lv.status == "review")
    codes = [c.status for s in live.session.state.stages.values() for c in s.code]
    assert "skipped by the artist" in codes
    bpy.ops.viga.cancel()
    pump_until(op, ctx)


# ----------------------------------------------------------------------------- reopen mid-run
def test_blend_saved_mid_run_offers_resume_after_reopening(addon, tmp_path):
    addon.pause_after = "STAGE"
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    pump_until(op, ctx, stop=lambda lv: lv.status == "paused")
    run_dir = str(live.session.run_dir)
    blend = tmp_path / "mid_run.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend))  # load_pre pauses and forgets the live run
    assert rt.any_live_run() is None
    assert live.worker._proc is None
    assert bpy.context.scene.viga.run_dir == run_dir
    from ui_support import draw_panel

    from viga_addon.ui.panels.main_panel import VIGA_PT_main

    shown = draw_panel(VIGA_PT_main)
    assert "Saved mid-run: geometry" in shown.texts()
    assert "This file was saved during a run" in shown.tips()
    assert "viga.resume_run" in shown.buttons()
    addon = bpy.context.preferences.addons[ADDON].preferences
    addon.pause_after = "NONE"
    ctx = fake_context()
    resume = ResumeHarness()
    assert resume.invoke(ctx, event("NONE")) == {"RUNNING_MODAL"}, resume.reports
    resumed = rt.any_live_run()
    resumed.session.state.settings = resumed.session.state.settings.with_changes(pause_after=None)
    assert pump_until(resume, ctx) == {"FINISHED"}
    assert resumed.session.status == "done"


# ----------------------------------------------------------------------------- headless execute
def test_headless_execute_runs_to_the_first_stop(addon):
    addon.pause_after = "STAGE"
    use_demo()
    assert bpy.ops.viga.run() == {"FINISHED"}
    live = rt.any_live_run()
    assert live.status == "paused" and not live.pumping
    assert live.session.state.stages["init"].status in ("approved", "budget_spent")
    assert bpy.ops.viga.open_code() == {"FINISHED"}
    assert "init round" in bpy.data.texts[rt.CODE_TEXT_NAME].as_string()
    assert bpy.ops.viga.show_render() == {"FINISHED"}
    image = bpy.data.images[rt.RENDER_IMAGE_NAME]
    w, h = image.size
    assert 0 < h <= 48 and w > 2 * h  # photo | gap | render, at the 48 px preview size
    import numpy as np

    px = np.empty(w * h * 4, dtype=np.float32)
    image.pixels.foreach_get(px)
    px = px.reshape(h, w, 4)
    assert not np.allclose(px[:, : w // 2 - 2], px[:, w // 2 + 2 :][:, : w // 2 - 2])
    assert bpy.ops.viga.open_run_folder() == {"FINISHED"}


def test_hand_edits_while_a_request_is_pending_restart_the_round(addon, tmp_path):
    script = demo_script()
    first = script["geometry"]["generator"][0][0]
    script["geometry"]["generator"][0][0] = {**first, "delay": 30.0}
    use_demo(write_script(tmp_path, script))
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()
    pump_until(
        op,
        ctx,
        stop=lambda lv: lv.session.state.awaiting and lv.session.stage.name == "geometry",
    )
    pauser = PauseHarness()
    pauser.execute(ctx)
    assert live.status == "paused" and live.session.state.awaiting
    bpy.context.scene.objects["red_ball"].location.x += 1.0
    # the slow reply is not waited for: the edit restarts the round on the edited scene
    # (the worker restarted for the redone round plays the script without the delay)
    live.worker._config["opts"]["script"] = write_script(tmp_path, demo_script(), "fast.json")
    t0 = time.monotonic()
    pauser.execute(ctx)
    assert time.monotonic() - t0 < 2.0
    assert live.status == "running" and live.session.state.awaiting is None
    assert live.hand_edits["changed"]["objects"] == ["red_ball"]
    assert pump_until(op, ctx) == {"FINISHED"}
    assert live.session.status == "done"
    sent = (live.session.run_dir / "stages/geometry/round_1/messages.json").read_text()
    assert "edited the scene by hand" in sent and "red_ball" in sent


def test_an_exception_in_a_step_pauses_with_the_reason(addon):
    use_demo()
    op, ctx, _ = start_modal_run()
    live = rt.any_live_run()

    def broken():
        raise RuntimeError("snapshot failed: disk full")

    live.session.step = broken
    assert op.modal(ctx, event("TIMER")) == {"PASS_THROUGH"}  # the pump stays, paused
    assert live.status == "paused" and "disk full" in live.error
    from ui_support import draw_panel

    from viga_addon.ui.panels.main_panel import VIGA_PT_main

    shown = draw_panel(VIGA_PT_main)
    assert "the run stopped: RuntimeError: snapshot failed: disk full" in shown.texts()
    del live.session.step
    bpy.ops.viga.cancel()
    assert op.modal(ctx, event("TIMER")) == {"FINISHED"}


def test_finished_run_reopened_can_be_loaded_and_reverted(addon, tmp_path):
    use_demo()
    assert bpy.ops.viga.run() == {"FINISHED"}
    live = rt.any_live_run()
    assert live.status == "done"
    blend = tmp_path / "finished.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert rt.any_live_run() is None
    from ui_support import draw_panel

    from viga_addon.ui.panels.main_panel import VIGA_PT_main, VIGA_PT_stages

    shown = draw_panel(VIGA_PT_main)
    assert "Last run done" in shown.texts() and "viga.resume_run" in shown.buttons()
    assert not draw_panel(VIGA_PT_stages).button_items("viga.revert_stage")  # not loaded yet
    ctx = fake_context()
    loader = ResumeHarness()
    assert loader.invoke(ctx, event("NONE")) == {"FINISHED"}
    assert not ctx.window_manager.timers  # nothing to pump: the run is done
    loaded = rt.any_live_run()
    assert loaded.status == "done"
    assert len(draw_panel(VIGA_PT_stages).button_items("viga.revert_stage")) == 6
    assert bpy.ops.viga.revert_stage(stage="lighting") == {"FINISHED"}
    assert loaded.status == "paused"
    resume = ResumeHarness()
    assert resume.invoke(ctx, event("NONE")) == {"RUNNING_MODAL"}
    assert pump_until(resume, ctx) == {"FINISHED"}
    assert loaded.session.status == "done"
    assert loaded.session.state.stages["camera"].status == "approved"
