"""Revert, Rerun and Skip of a stage with real clicks on the stage rows."""

from __future__ import annotations

from flows import Shots, ready_demo, start_run
from scripts import demo_script

SLOW = demo_script(think=0.8)


def _ball_colour(b):
    return b.eval(
        "tuple(round(v, 3) for v in bpy.data.objects['red_ball'].active_material"
        ".node_tree.nodes['Principled BSDF'].inputs['Base Color'].default_value[:3])"
    )


def test_revert_then_rerun_a_stage_of_a_finished_run(blender, tmp_path, artifacts):
    b, shot = blender, Shots(blender, artifacts)
    ready_demo(b, tmp_path)
    start_run(b)
    b.wait_status("done", timeout=600)
    finished = _ball_colour(b)
    b.click(op='bpy.ops.viga.revert_stage(stage="geometry")')
    state = b.wait_live(lambda s: "reverted" in s["message"] or s["status"] == "paused", 60, "")
    assert _ball_colour(b) != finished  # before the material stage: the placeholder grey
    shot("reverted-to-geometry")
    b.click(op="bpy.ops.viga.resume_run(")
    b.wait_status("done", timeout=600)
    assert _ball_colour(b) == finished
    b.click(op='bpy.ops.viga.rerun_stage(stage="lighting")')
    b.wait_live(lambda s: s["stage"] == "lighting" and s["status"] == "paused", 60, "rerun set")
    b.click(op="bpy.ops.viga.resume_run(")
    state = b.wait_status("done", timeout=600)
    shot("done-after-rerun")
    assert state["stage"] == "camera"


def test_skip_the_running_stage(blender, tmp_path, artifacts):
    b = blender
    ready_demo(b, tmp_path, SLOW)
    start_run(b)
    b.wait_live(lambda s: s["stage"] == "geometry", 300, "the geometry stage")
    b.click(op='bpy.ops.viga.skip_stage(stage="geometry")')
    b.wait_live(lambda s: s["stage"] != "geometry" or s["status"] == "paused", 60, "the skip")
    Shots(b, artifacts)("skipped")
    if b.live()["status"] == "paused":
        b.click(op="bpy.ops.viga.resume_run(")
    b.wait_status("done", timeout=600)
    status = b.eval(
        "addon_module('ui.live').any_live_run().session.state.stages['geometry'].status"
    )
    assert status == "skipped"
