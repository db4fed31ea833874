"""The panel's Refine button on real bpy: the panel's choices, the modal refinement driven with
fake TIMER/ESC events (the search in the render process, the timer only polling its progress
for the bar), Stop keeping the best state, the best values applied in one step at the end,
cancel leaving the scene untouched and no process behind, the in-process fallback when the
process cannot start, bad choices refused before anything renders."""

from __future__ import annotations

import os
import sys
import time
import types

import bpy
import pytest
from test_refine import build_scene, shoot, state
from test_render_process import _alive
from ui_support import FakeWindowManager, draw_panel, event

from viga_addon.tools.render import engine as render_tool
from viga_addon.tools.render.process import client as client_mod
from viga_addon.tools.render.process import jobs as jobs_mod
from viga_addon.ui.operators import refine as refine_op
from viga_addon.ui.panels import refine_panel

SUN = "light:Sun.energy"


class Harness:
    """VIGA_OT_refine's methods on a plain object (headless Blender never goes modal)."""

    invoke = refine_op.VIGA_OT_refine.invoke
    execute = refine_op.VIGA_OT_refine.execute
    modal = refine_op.VIGA_OT_refine.modal
    cancel = refine_op.VIGA_OT_refine.cancel
    _end = refine_op.VIGA_OT_refine._end
    _give_up = refine_op.VIGA_OT_refine._give_up

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


def energy():
    return bpy.data.objects["Sun"].data.energy


@pytest.fixture
def sun_task(addon, tmp_path):
    """The test_refine scene, its photo in the panel, the sun three times too bright."""
    build_scene()
    props = bpy.context.scene.viga
    props.photo_source = "FILE"
    props.photo_path = shoot(tmp_path / "photo.png")
    bpy.data.objects["Sun"].data.energy = 9.0
    props.refine_lighting, props.refine_material = True, False
    props.refine_placement, props.refine_camera = False, False
    props.refine_budget = 8
    yield props
    pids = [p.pid for p in refine_op.PROCESSES if p.pid]
    refine_op.shutdown()  # does not wait on the main thread: the processes end just after
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), "a refine render process outlived shutdown"
    refine_op.JOBS.clear()
    refine_op.LAST.clear()


@pytest.fixture
def main_renders(monkeypatch):
    """Every render this (Blender's main) process makes through tools/render/engine.py."""
    calls = []
    real = render_tool.render

    def spy(*args, **kw):
        calls.append(kw.get("path"))
        return real(*args, **kw)

    monkeypatch.setattr(render_tool, "render", spy)
    return calls


def pump(op, context, until=lambda job: False, limit=120.0, on_tick=None):
    """TIMER events (10 ms apart) until the operator leaves modal or ``until(job)``."""
    job = refine_op.job_for(bpy.context.scene)
    end = time.monotonic() + limit
    while time.monotonic() < end:
        outcome = op.modal(context, event("TIMER"))
        if outcome != {"RUNNING_MODAL"} or until(job):
            return outcome
        if on_tick is not None:
            on_tick(job)
        time.sleep(0.01)
    raise AssertionError(f"the refinement did not end in {limit} s ({job.renders} renders)")


def test_panel_offers_the_groups_budget_and_the_button(sun_task):
    layout = draw_panel(refine_panel.VIGA_PT_refine)
    text = layout.dump()
    for prop in ("refine_lighting", "refine_material", "refine_placement", "refine_camera"):
        assert prop in text
    assert "refine_budget" in text
    assert "viga.refine" in layout.buttons()


def test_button_headless_refines_here_to_the_end_as_one_operator_call(sun_task, main_renders):
    assert bpy.ops.viga.refine() == {"FINISHED"}
    assert abs(energy() - 3.0) / 3.0 < 0.15
    summary = refine_op.LAST[bpy.context.scene.name]
    assert summary.startswith("Refined") and "PSNR" in summary
    assert "Refined" in draw_panel(refine_panel.VIGA_PT_refine).texts()
    assert main_renders and refine_op.PROCESSES == []  # execute refines here, no process


@pytest.mark.smoke
def test_modal_refines_in_the_render_process_the_timer_only_polls(sun_task, main_renders):
    op, context = Harness(), window_context()
    assert op.invoke(context, event("NOTHING")) == {"RUNNING_MODAL"}
    assert len(context.window_manager.timers) == 1
    job = refine_op.job_for(bpy.context.scene)
    assert job.process is not None and job.process.pid != os.getpid()
    assert _alive(job.process.pid)
    seen, drawn = [], []

    def look(job):
        seen.append(job.renders)
        assert energy() == 9.0  # the artist's scene is untouched until the result
        if 0 < job.renders < 8 and not drawn:  # mid-run: a bar, Stop, and no second Refine
            drawn.append(draw_panel(refine_panel.VIGA_PT_refine))

    outcome = pump(op, context, on_tick=look)
    assert outcome == {"FINISHED"}, op.reports
    assert main_renders == []  # every render was in the render process
    assert drawn, f"no progress seen while it ran: {seen}"
    bar = [item for item in drawn[0].items if item.get("kind") == "progress"]
    assert bar and 0 < bar[0]["factor"] < 1 and "renders" in bar[0]["text"]
    assert "viga.refine_stop" in drawn[0].buttons() and "viga.refine" not in drawn[0].buttons()
    assert seen == sorted(seen) and 0 < seen[-1] <= 8
    assert context.window_manager.timers == []
    assert refine_op.job_for(bpy.context.scene) is None
    # the values applied are the render process's best, exactly
    assert job.result["improved"] and set(job.values) == set(job.result["params"])
    assert energy() == pytest.approx(job.values[SUN][0], rel=1e-6)
    assert abs(energy() - 3.0) / 3.0 < 0.15
    assert "Refined" in refine_op.LAST[bpy.context.scene.name]
    assert refine_op.render_process() is job.process  # kept for the next Refine


@pytest.mark.parametrize("how", ["escape", "stop_button"])
def test_stop_ends_early_keeping_the_best_and_keys_are_held(sun_task, how):
    sun_task.refine_budget = 60
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    job = refine_op.job_for(bpy.context.scene)
    first = []  # the start's PSNR, from the first progress line

    def improved(job):
        if job.best_psnr is not None and not first:
            first.append(job.best_psnr)
        return bool(first) and job.best_psnr > first[0] + 1.0

    assert pump(op, context, until=improved) == {"RUNNING_MODAL"}
    assert op.modal(context, event("G", "PRESS")) == {"RUNNING_MODAL"}  # no edits meanwhile
    assert op.modal(context, event("MOUSEMOVE")) == {"PASS_THROUGH"}
    if how == "escape":
        op.modal(context, event("ESC", "PRESS"))
    else:
        assert bpy.ops.viga.refine_stop() == {"FINISHED"}
    assert os.path.exists(job.stop_file)
    assert energy() == 9.0
    assert pump(op, context, limit=60) == {"FINISHED"}, op.reports
    assert job.result["stopped"] == "cancelled" and job.renders < 60
    assert "cancelled" in refine_op.LAST[bpy.context.scene.name]
    assert energy() < 9.0  # the best found so far is kept
    assert energy() == pytest.approx(job.values[SUN][0], rel=1e-6)


def test_no_improvement_applies_nothing(sun_task, monkeypatch):
    sun_task.refine_budget = 1  # only the start is rendered: nothing can be better
    applied = []
    monkeypatch.setattr(jobs_mod, "apply_values", lambda *a, **kw: applied.append(a))
    before = state()
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    job = refine_op.job_for(bpy.context.scene)
    assert pump(op, context) == {"FINISHED"}, op.reports
    assert job.result["ok"] and not job.result["improved"] and job.values
    assert applied == [] and state() == before
    assert "no improvement found" in refine_op.LAST[bpy.context.scene.name]


def test_cancel_leaves_the_scene_untouched_and_no_process_behind(sun_task):
    before = state()
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    job = refine_op.job_for(bpy.context.scene)
    pump(op, context, until=lambda job: job.renders >= 2)  # mid-search in the process
    pid = job.process.pid
    op.cancel(context)
    assert state() == before
    assert refine_op.job_for(bpy.context.scene) is None
    assert context.window_manager.timers == []
    assert not _alive(pid) and not os.path.exists(job.stop_file)


def test_stop_again_later_abandons_the_job_with_the_scene_unchanged(sun_task, monkeypatch):
    monkeypatch.setattr(refine_op, "ABANDON_AFTER", 0.0)
    sun_task.refine_budget = 60
    before = state()
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    job = refine_op.job_for(bpy.context.scene)
    pump(op, context, until=lambda job: job.renders >= 2)
    pid = job.process.pid
    assert op.modal(context, event("ESC", "PRESS")) == {"RUNNING_MODAL"}  # stopping
    time.sleep(0.01)
    layout = draw_panel(refine_panel.VIGA_PT_refine)
    assert [it["text"] for it in layout.button_items("viga.refine_stop")] == ["Abandon"]
    assert "Abandon leaves the scene unchanged" in layout.tips()
    assert bpy.ops.viga.refine_stop() == {"FINISHED"}
    assert op.modal(context, event("TIMER")) == {"CANCELLED"}
    assert "abandoned" in op.reports[-1][1] and not _alive(pid)
    assert state() == before and context.window_manager.timers == []


def test_loading_a_file_ends_the_job_and_its_process(sun_task):
    assert refine_op.on_load_pre in bpy.app.handlers.load_pre
    before = state()
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    job = refine_op.job_for(bpy.context.scene)
    pump(op, context, until=lambda job: job.renders >= 1)
    pid, workdir = job.process.pid, job.process.workdir
    refine_op.on_load_pre()
    assert not _alive(pid) and not os.path.exists(workdir)
    assert refine_op.PROCESSES == [] and refine_op.JOBS == {}
    assert op.modal(context, event("TIMER")) == {"CANCELLED"}
    assert context.window_manager.timers == []
    assert state() == before


@pytest.mark.parametrize("problem", ["no_group", "no_selection", "no_camera", "no_photo"])
def test_bad_choices_are_refused_before_any_render(sun_task, problem):
    props = sun_task
    if problem == "no_group":
        props.refine_lighting = False
    elif problem == "no_selection":
        props.refine_selected_only = True
        for obj in bpy.context.scene.objects:
            obj.select_set(False)
    elif problem == "no_camera":
        bpy.data.objects.remove(bpy.data.objects["Camera"])
    else:
        props.photo_path = "/nonexistent/photo.png"
    op = Harness()
    assert op.invoke(window_context(), event("NOTHING")) == {"CANCELLED"}
    errors = " ".join(m for kinds, m in op.reports if "ERROR" in kinds)
    assert errors
    assert refine_op.job_for(bpy.context.scene) is None
    assert refine_op.PROCESSES == []  # nothing was started
    assert energy() == pytest.approx(9.0)


def test_switching_scene_midway_stops_with_the_scene_unchanged(sun_task):
    before = state()
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    job = refine_op.job_for(bpy.context.scene)
    pump(op, context, until=lambda job: job.renders >= 1)
    pid = job.process.pid
    context.scene = bpy.data.scenes.new("Other")
    assert op.modal(context, event("TIMER")) == {"CANCELLED"}
    assert not _alive(pid)
    bpy.data.scenes.remove(context.scene)
    assert state() == before
    assert refine_op.JOBS == {}
    assert context.window_manager.timers == []


@pytest.mark.parametrize("failure", ["no_binary", "exits_before_ready"])
def test_a_process_that_cannot_start_refines_here_and_says_so(
    sun_task, main_renders, monkeypatch, tmp_path, failure
):
    command = [str(tmp_path / "no-blender")]
    if failure == "exits_before_ready":
        command = [sys.executable, "-c", "pass"]
    monkeypatch.setattr(client_mod, "worker_command", lambda binary: command)
    op, context = Harness(), window_context()
    assert op.invoke(context, event("NOTHING")) == {"RUNNING_MODAL"}
    job = refine_op.job_for(bpy.context.scene)
    shown = []

    def look(job):
        if job.warning and not shown:
            shown.append(" ".join(draw_panel(refine_panel.VIGA_PT_refine).texts().split()))

    assert pump(op, context, on_tick=look) == {"FINISHED"}, op.reports
    assert job.process is None and main_renders  # rendered here, in this process
    assert abs(energy() - 3.0) / 3.0 < 0.15
    kinds, message = op.reports[-1]
    assert "WARNING" in kinds and "rendering inside Blender" in message
    assert shown and "render process could not start" in shown[0]
