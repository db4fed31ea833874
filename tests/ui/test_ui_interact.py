"""The panel's Make it Move: after a run, the prompt starts an interaction run on the current
scene (the scripted demo: no model is called); every bake runs in the render process (a bake
in this process would fail the run here), the can ends knocked over and the sub-panel says so."""

import json

import bpy
import pytest
from ui_support import RecordingLayout, use_demo

from viga_addon.demo import tabletop_edit
from viga_addon.demo.tabletop_interact import PROMPT
from viga_addon.tools.physics import event
from viga_addon.ui import live as rt
from viga_addon.ui.panels.interact_panel import draw_interact


def _demo_scene():
    use_demo()
    tabletop_edit.build_scene(perturb=False, reset=False)  # a factory reset drops the prefs
    bpy.context.scene.viga.provider = "scripted"


def _refuse_here(*_args, **_kwargs):
    raise AssertionError("a bake ran on Blender's main thread")


def test_make_it_move_knocks_the_can_over_with_every_bake_elsewhere(addon, monkeypatch):
    _demo_scene()
    monkeypatch.setattr(event, "bake", _refuse_here)
    scene = bpy.context.scene
    scene.viga.interaction_prompt = PROMPT
    scene.viga.interaction_frames = 24
    shown = RecordingLayout()
    draw_interact(shown, bpy.context)
    assert "viga.make_it_move" in shown.buttons()
    assert bpy.ops.viga.make_it_move() == {"FINISHED"}
    live = rt.live_run(scene)
    session = live.session
    assert session.status == "done", session.state.message
    assert session.state.stage_order == ["interaction"]
    assert session.state.settings.interaction == PROMPT
    assert bpy.context.scene == scene and not live.host.warnings  # no in-process fallback
    metrics = json.loads((session.run_dir / "metrics.json").read_text())
    assert metrics["interaction"]["trajectories"]["yellow_can"]["tilt_deg"] > 45
    assert len(list((session.run_dir / "frames").glob("*.png"))) == 24
    assert scene.rigidbody_world is not None  # the set-up stays in the artist's scene
    assert bpy.data.objects["red_ball"].animation_data.action is not None
    shown = RecordingLayout()
    draw_interact(shown, bpy.context)
    assert "yellow_can tilted" in shown.texts(), shown.texts()


def test_make_it_move_needs_a_prompt(addon):
    _demo_scene()
    bpy.context.scene.viga.interaction_prompt = "  "
    with pytest.raises(RuntimeError, match="Type what should happen"):
        bpy.ops.viga.make_it_move()  # an operator's ERROR report raises from a script
    assert rt.live_run(bpy.context.scene) is None
