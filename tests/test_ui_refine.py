"""The panel's Refine button on real bpy: the panel's choices, the stepped modal refinement
driven with fake TIMER/ESC events (one small render per tick, a progress bar), Stop keeping the
best state, cancel putting the scene back, bad choices refused before anything renders."""

from __future__ import annotations

import types

import bpy
import pytest
from test_refine import build_scene, shoot
from ui_support import FakeWindowManager, draw_panel, event

from viga_addon.operators import refine as refine_op
from viga_addon.panels import refine_panel


class Harness:
    """VIGA_OT_refine's methods on a plain object (headless Blender never goes modal)."""

    invoke = refine_op.VIGA_OT_refine.invoke
    execute = refine_op.VIGA_OT_refine.execute
    modal = refine_op.VIGA_OT_refine.modal
    cancel = refine_op.VIGA_OT_refine.cancel
    _end = refine_op.VIGA_OT_refine._end

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
    refine_op.JOBS.clear()
    refine_op.LAST.clear()


def test_panel_offers_the_groups_budget_and_the_button(sun_task):
    layout = draw_panel(refine_panel.VIGA_PT_refine)
    text = layout.dump()
    for prop in ("refine_lighting", "refine_material", "refine_placement", "refine_camera"):
        assert prop in text
    assert "refine_budget" in text
    assert "viga.refine" in layout.buttons()


def test_button_headless_refines_to_the_end_as_one_operator_call(sun_task):
    assert bpy.ops.viga.refine() == {"FINISHED"}
    assert abs(bpy.data.objects["Sun"].data.energy - 3.0) / 3.0 < 0.15
    summary = refine_op.LAST[bpy.context.scene.name]
    assert summary.startswith("Refined") and "PSNR" in summary
    assert "Refined" in draw_panel(refine_panel.VIGA_PT_refine).texts()


@pytest.mark.smoke
def test_modal_refines_one_render_per_tick_with_a_progress_bar(sun_task):
    op, context = Harness(), window_context()
    assert op.invoke(context, event("NOTHING")) == {"RUNNING_MODAL"}
    assert len(context.window_manager.timers) == 1
    job = refine_op.job_for(bpy.context.scene)
    seen, outcome = [], None
    for _ in range(40):
        outcome = op.modal(context, event("TIMER"))
        if outcome != {"RUNNING_MODAL"}:
            break
        seen.append(job.renders)
        if len(seen) == 2:  # mid-run: a progress bar, Stop, and no second Refine
            layout = draw_panel(refine_panel.VIGA_PT_refine)
            assert any(item.get("kind") == "progress" for item in layout.items)
            assert "viga.refine_stop" in layout.buttons()
            assert "viga.refine" not in layout.buttons()
    assert outcome == {"FINISHED"}, op.reports
    # each tick is at most one render: the count goes up one at a time (or stays: check render)
    assert all(b - a <= 1 for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1] <= 8
    assert context.window_manager.timers == []
    assert refine_op.job_for(bpy.context.scene) is None
    assert abs(bpy.data.objects["Sun"].data.energy - 3.0) / 3.0 < 0.15


def test_keys_are_held_and_escape_stops_keeping_the_best(sun_task):
    sun_task.refine_budget = 40
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    for _ in range(8):  # the check render, the start, the sun's closed form and its render
        op.modal(context, event("TIMER"))
    assert op.modal(context, event("G", "PRESS")) == {"RUNNING_MODAL"}  # no edits meanwhile
    assert op.modal(context, event("MOUSEMOVE")) == {"PASS_THROUGH"}
    op.modal(context, event("ESC", "PRESS"))
    outcome = None
    for _ in range(6):
        outcome = op.modal(context, event("TIMER"))
        if outcome != {"RUNNING_MODAL"}:
            break
    assert outcome == {"FINISHED"}
    assert "cancelled" in refine_op.LAST[bpy.context.scene.name]
    assert bpy.data.objects["Sun"].data.energy < 9.0  # the best found so far is kept


def test_blender_cancelling_the_operator_puts_the_scene_back(sun_task):
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    for _ in range(3):
        op.modal(context, event("TIMER"))
    op.cancel(context)
    assert bpy.data.objects["Sun"].data.energy == pytest.approx(9.0)
    assert refine_op.job_for(bpy.context.scene) is None
    assert context.window_manager.timers == []


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
    assert bpy.data.objects["Sun"].data.energy == pytest.approx(9.0)


def test_switching_scene_midway_stops_and_puts_the_scene_back(sun_task):
    op, context = Harness(), window_context()
    op.invoke(context, event("NOTHING"))
    for _ in range(3):
        op.modal(context, event("TIMER"))
    context.scene = bpy.data.scenes.new("Other")
    assert op.modal(context, event("TIMER")) == {"CANCELLED"}
    assert bpy.data.objects["Sun"].data.energy == pytest.approx(9.0)
    assert refine_op.JOBS == {}
    assert context.window_manager.timers == []
