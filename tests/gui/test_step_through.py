"""Step-through with real clicks: Pause, Step, Resume, Cancel, Resume after Cancel; ESC; code
review with an edit typed into a Text Editor, then Approve and Skip."""

from __future__ import annotations

from pathlib import Path

from flows import Shots, drawn_texts, ready_demo, start_run
from scripts import demo_script
from window import wait_for

SLOW = demo_script(think=1.0)  # a model that takes a second per reply: time to click


def test_pause_step_resume_cancel_and_resume_again(blender, tmp_path, artifacts):
    b, shot = blender, Shots(blender, artifacts)
    ready_demo(b, tmp_path, SLOW)
    start_run(b)
    b.wait_live(lambda s: s["stage"] == "geometry", 300, "the geometry stage")
    b.click(op="bpy.ops.viga.pause(")
    paused = b.wait_status("paused", timeout=60)
    # the pause lands at the next round's boundary: geometry's second round, or (when the
    # click came late on a loaded machine) a later stage's first; Step has a round to run
    assert paused["stage"] in ("geometry", "material", "composition"), paused
    shot("paused")
    assert any("Resume" in t for t in drawn_texts(b)), "a paused run offers Resume"
    b.click(op="bpy.ops.viga.step_round(")
    stepped = b.wait_live(
        lambda s: s["status"] == "paused" and "stepped" in s["message"], 300, "one round"
    )
    assert (stepped["stage"], stepped["round"]) != (paused["stage"], paused["round"])
    b.click(op="bpy.ops.viga.resume_run(")
    b.wait_status("running", timeout=60)
    b.click(op="bpy.ops.viga.cancel(")
    b.wait_status("cancelled", timeout=60)
    shot("cancelled")
    b.click(op="bpy.ops.viga.resume_run(")
    b.wait_status("done", timeout=600)
    shot("done-after-resume")


def test_esc_cancels_a_running_run(blender, tmp_path, artifacts):
    b = blender
    ready_demo(b, tmp_path, SLOW)
    start_run(b)
    b.wait_live(lambda s: s["stage"] == "geometry", 300, "the geometry stage")
    view = b.geometry()["regions"]["WINDOW"]
    b.move(view["x"] + view["width"] // 3, view["y"] + view["height"] // 2)
    b.key("Escape")
    state = b.wait_status("cancelled", timeout=60)
    assert not b.exited()
    Shots(b, artifacts)("cancelled-with-esc")
    assert Path(state["run_dir"], "state.json").is_file()


EDIT = "bpy.data.objects['red_ball']['edited_in_review'] = 1"


def test_review_edit_approve_then_skip(blender, tmp_path, artifacts):
    b, shot = blender, Shots(blender, artifacts)
    ready_demo(b, tmp_path)
    b.click(path="review_code")  # the Review code toggle
    wait_for(lambda: b.eval("addon_module('ui.preferences').prefs().review_code"), 10, "review on")
    start_run(b)
    b.wait_status("review", timeout=300)
    shot("review")
    b.eval("set_area_type('PROPERTIES', 'TEXT_EDITOR')")  # set-up: an editor to type in
    b.click(op="bpy.ops.viga.open_code(")
    wait_for(
        lambda: b.eval("area_of('TEXT_EDITOR').spaces.active.text.name") == "VIGA code",
        10,
        "the code in the Text Editor",
    )
    editor = b.geometry("TEXT_EDITOR")["regions"]["WINDOW"]
    b.click_window(editor["x"] + editor["width"] // 2, editor["y"] + editor["height"] // 2)
    b.key("ctrl+End")
    b.key("Return")
    b.type_text(EDIT)
    b.screenshot(artifacts / "typed.png", region=None)
    wait_for(
        lambda: EDIT in b.eval("bpy.data.texts['VIGA code'].as_string()"),
        20,
        "the edit",
        detail=lambda: b.eval("bpy.data.texts['VIGA code'].as_string()[-300:]"),
    )
    b.click(op="bpy.ops.viga.approve_code(")
    state = b.wait_status("review", "running", timeout=120)
    b.wait_status("review", timeout=300)  # the next piece of code
    code = Path(state["run_dir"], "stages", "init", "round_1", "code.py")
    wait_for(code.is_file, 60, "round 1's code.py")
    assert EDIT in code.read_text() and "edited by the artist" in code.read_text()
    b.click(op="bpy.ops.viga.skip_code(")
    b.wait_live(lambda s: s["status"] != "review", 60, "the skip")
    shot("after-skip")
    b.click(op="bpy.ops.viga.cancel(")
    b.wait_status("cancelled", timeout=60)
