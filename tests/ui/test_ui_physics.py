"""The Physics sub-panel on real bpy: Check Physics driven with fake TIMER/ESC events (the check
in the render process, the timer only polling; the artist's scene never touched), its summary
line and per-object verdicts drawn, Apply Rigid Bodies as one undoable operator, the headless
and no-process fallbacks, and the last run's line read from its run.json."""

from __future__ import annotations

import json
import os
import time
import types

import bpy
import pytest
from test_physics import ball, box, ground
from test_render_process import _alive
from ui_support import FakeWindowManager, draw_panel, event

from viga_addon.tools.render.process import client as client_mod
from viga_addon.ui.operators import physics as physics_op
from viga_addon.ui.operators import refine as refine_op
from viga_addon.ui.panels import physics_panel


class Harness:
    """VIGA_OT_check_physics's methods on a plain object (headless Blender never goes modal)."""

    invoke = physics_op.VIGA_OT_check_physics.invoke
    execute = physics_op.VIGA_OT_check_physics.execute
    modal = physics_op.VIGA_OT_check_physics.modal
    cancel = physics_op.VIGA_OT_check_physics.cancel
    _end = physics_op.VIGA_OT_check_physics._end

    def __init__(self):
        self.reports = []

    def report(self, kinds, message):
        self.reports.append((set(kinds), message))


def window_context():
    return types.SimpleNamespace(
        scene=bpy.context.scene,
        window_manager=FakeWindowManager(),
        window=object(),
        screen=None,
        preferences=bpy.context.preferences,
    )


@pytest.fixture
def table(addon):
    """Ground, a box at rest and a ball 3 cm above the ground."""
    ground()
    box(x=1.0)
    ball(z=0.53, x=-1.0, name="red_ball")
    yield bpy.context.scene
    pids = [p.pid for p in refine_op.PROCESSES if p.pid]
    physics_op.shutdown()
    refine_op.shutdown()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), "a render process outlived shutdown"


def pump(op, context, limit=60.0, on_tick=None):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        outcome = op.modal(context, event("TIMER"))
        if outcome != {"RUNNING_MODAL"}:
            return outcome
        if on_tick is not None:
            on_tick()
        time.sleep(0.01)
    raise AssertionError(f"the physics check did not end in {limit} s")


def where():
    return {
        o.name: tuple(round(v, 6) for v in o.matrix_world.translation) for o in bpy.data.objects
    }


def _buttons(layout) -> list[str]:
    """The panel's buttons but its "i" explanations."""
    return [b for b in layout.buttons() if b != "viga.explain"]


def test_the_panel_offers_check_physics_and_nothing_else_before_a_check(table):
    layout = draw_panel(physics_panel.VIGA_PT_physics)
    assert _buttons(layout) == ["viga.check_physics"]
    assert bpy.ops.viga.apply_rigid_bodies.poll() is False


@pytest.mark.smoke
def test_check_runs_in_the_render_process_and_the_panel_shows_the_verdicts(table, monkeypatch):
    from viga_addon.tools.physics import check as check_mod

    here = []
    monkeypatch.setattr(check_mod, "check_scene", lambda *a, **k: here.append(1))
    before = where()
    op, context = Harness(), window_context()
    t0 = time.perf_counter()
    assert op.invoke(context, event("NOTHING")) == {"RUNNING_MODAL"}
    invoke_s = time.perf_counter() - t0
    job = physics_op.job_for(bpy.context.scene)
    assert job.process is not None and job.process.pid != os.getpid() and _alive(job.process.pid)
    assert len(context.window_manager.timers) == 1
    drawn, ticks = [], []

    def look():
        ticks.append(time.perf_counter())
        assert where() == before and bpy.context.scene.rigidbody_world is None
        if not drawn:  # while it runs: Stop, and no second Check
            drawn.append(draw_panel(physics_panel.VIGA_PT_physics))

    assert pump(op, context, on_tick=look) == {"FINISHED"}, op.reports
    total_s = time.perf_counter() - t0
    assert here == []  # the check never ran in this process
    assert drawn and _buttons(drawn[0]) == ["viga.physics_stop"]
    assert context.window_manager.timers == [] and physics_op.job_for(bpy.context.scene) is None
    assert where() == before and bpy.context.scene.rigidbody_world is None
    result = physics_op.result_for(bpy.context.scene)
    assert result["summary"] == "stable 1/2 · red_ball floats 3.0 cm"
    assert op.reports == [({"INFO"}, result["summary"])]
    text = draw_panel(physics_panel.VIGA_PT_physics).texts()
    assert "stable 1/2 · red_ball floats 3.0 cm" in text
    layout = draw_panel(physics_panel.VIGA_PT_physics)
    assert "red_ball floats 3.0 cm" in text and "fell 3.0 cm onto ground" in layout.tips()
    assert "box rests 0.0 cm" in text and "turned 0.0°" in layout.tips()
    assert "ground passive" in text
    assert _buttons(layout) == ["viga.check_physics", "viga.apply_rigid_bodies"]
    print(f"\npanel check: invoke {invoke_s * 1000:.0f} ms, result after {total_s:.2f} s")
    assert invoke_s < 1.0


def test_escape_abandons_the_check(table):
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    job = physics_op.job_for(bpy.context.scene)
    assert op.modal(context, event("G", "PRESS")) == {"PASS_THROUGH"}
    assert op.modal(context, event("ESC", "PRESS")) == {"CANCELLED"}
    assert physics_op.job_for(bpy.context.scene) is None
    assert physics_op.result_for(bpy.context.scene) is None
    assert context.window_manager.timers == []
    assert not job.process.busy


def test_headless_checks_here_on_a_copy(table):
    before = where()
    assert bpy.ops.viga.check_physics() == {"FINISHED"}
    assert refine_op.PROCESSES == []  # execute runs here, no process
    assert where() == before and len(bpy.data.scenes) == 1
    assert bpy.context.scene.rigidbody_world is None
    result = physics_op.result_for(bpy.context.scene)
    assert result["ready"] is False and result["objects"]["red_ball"]["verdict"] == "floats"


def test_no_render_process_checks_here_and_says_so(table, monkeypatch):
    monkeypatch.setattr(client_mod, "worker_command", lambda *_: ["/nonexistent/blender"])
    op, context = Harness(), window_context()
    assert op.invoke(context, event("NOTHING")) == {"FINISHED"}
    result = physics_op.result_for(bpy.context.scene)
    assert result["summary"] == "stable 1/2 · red_ball floats 3.0 cm"
    assert "rendering inside Blender" in result["warning"]
    assert op.reports[0][0] == {"WARNING"}
    assert "rendering inside Blender" in draw_panel(physics_panel.VIGA_PT_physics).texts()


def test_apply_rigid_bodies_gives_the_checked_bodies_in_one_undo_step(table):
    assert "UNDO" in physics_op.VIGA_OT_apply_rigid_bodies.bl_options
    assert bpy.ops.viga.check_physics() == {"FINISHED"}
    assert bpy.ops.viga.apply_rigid_bodies() == {"FINISHED"}
    objects = bpy.data.objects
    assert objects["ground"].rigid_body.type == "PASSIVE"
    assert objects["red_ball"].rigid_body.type == "ACTIVE"
    assert objects["red_ball"].rigid_body.collision_shape == "SPHERE"
    assert objects["box"].rigid_body.collision_shape == "BOX"
    mass = physics_op.result_for(bpy.context.scene)["bodies"]["red_ball"]["mass_kg"]
    assert objects["red_ball"].rigid_body.mass == pytest.approx(mass, rel=1e-3)
    # played, the scene falls as the check said: the ball lands 3 cm lower
    scene = bpy.context.scene
    for frame in range(scene.frame_current, scene.frame_current + 49):
        scene.frame_set(frame)
    assert objects["red_ball"].matrix_world.translation.z == pytest.approx(0.5, abs=0.005)
    assert objects["box"].matrix_world.translation.z == pytest.approx(0.5, abs=0.005)


def test_the_last_run_line_comes_from_run_json(table, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    physics = {"ready": False, "summary": "stable 2/3 · red_ball floats 20.0 cm"}
    (run / "run.json").write_text(json.dumps({"physics": physics}))
    bpy.context.scene.viga.run_dir = str(run)
    assert physics_panel.run_line(bpy.context) == physics["summary"]
    text = draw_panel(physics_panel.VIGA_PT_physics).texts()
    assert "Last run" in text and "stable 2/3 · red_ball floats 20.0 cm" in text
    time.sleep(0.01)
    physics["summary"] = "stable 3/3 · physics-ready"
    (run / "run.json").write_text(json.dumps({"physics": physics}))
    os.utime(run / "run.json", (time.time() + 5, time.time() + 5))
    assert physics_panel.run_line(bpy.context) == "stable 3/3 · physics-ready"
