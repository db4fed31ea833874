"""The panel's Match this scene to the photo: it runs in the current scene (a perturbed demo
scene, the scripted provider: no model is called), only the ticked stages, within the chosen
lock, and Put Back returns the scene exactly as it was."""

import bpy
import pytest
from ui_support import draw_all, use_demo

from viga_addon.demo import tabletop_edit
from viga_addon.stages import STAGE_NAMES
from viga_addon.tools.scene import fingerprint
from viga_addon.ui import live as rt


def _perturbed_scene():
    tabletop_edit.build_scene(reset=False)  # a factory reset would drop the add-on's prefs
    bpy.context.scene.viga.provider = "scripted"


def _tick(*stages):
    props = bpy.context.scene.viga
    for name in ("init", "geometry", "material", "composition", "lighting", "camera"):
        setattr(props, f"stage_{name}", name in stages)


@pytest.mark.smoke
def test_planned_stages_list_budgets_and_checkboxes(addon):
    addon.budget_material = 2
    shown = draw_all()
    text = shown.texts()
    assert "Planned stages:" in text
    assert "2 rounds" in text and f"{addon.budget_init} rollouts" in text
    ticks = [i["prop"] for i in shown.items if i["kind"] == "prop" and "stage_" in i["prop"]]
    assert ticks == [f"stage_{n}" for n in STAGE_NAMES]


def test_match_edits_the_current_scene_and_put_back_restores_it(addon):
    use_demo()
    _perturbed_scene()
    _tick("material", "composition")
    scene = bpy.context.scene
    start = fingerprint.capture(scene)
    box_at = tuple(bpy.data.objects["blue_box"].location)
    assert bpy.ops.viga.match_scene() == {"FINISHED"}
    live = rt.live_run(scene)
    assert live.session.status == "done", live.session.state.message
    assert live.session.state.stage_order == ["material", "composition"]
    assert bpy.context.scene == scene  # no new scene: the artist's own
    assert sorted(o.name for o in scene.objects) == sorted(tabletop_edit.OBJECTS)
    assert tuple(bpy.data.objects["blue_box"].location) == pytest.approx((0.9, 0.8, 0.75))
    assert (live.session.run_dir / "start_scene.blend").exists()
    assert "viga.match_put_back" in draw_all().buttons()
    assert bpy.ops.viga.match_put_back() == {"FINISHED"}
    assert tuple(bpy.data.objects["blue_box"].location) == pytest.approx(box_at)
    back = fingerprint.diff(start, fingerprint.capture(bpy.context.scene))
    assert not fingerprint.has_changes(back.report), back.report


def test_match_within_the_selected_objects(addon):
    use_demo()
    _perturbed_scene()
    _tick("composition")
    scene = bpy.context.scene
    scene.viga.match_lock = "SELECTED"
    for obj in scene.objects:
        obj.select_set(obj.name == "red_ball")
    box_at = tuple(bpy.data.objects["blue_box"].location)
    assert bpy.ops.viga.match_scene() == {"FINISHED"}
    live = rt.live_run(scene)
    assert live.session.state.edit.lock_objects == ["red_ball"]
    assert tuple(bpy.data.objects["blue_box"].location) == pytest.approx(box_at)


def test_match_needs_objects_and_a_selection(addon):
    use_demo()
    with pytest.raises(RuntimeError, match="no objects to match"):
        bpy.ops.viga.match_scene()  # an empty scene
    _perturbed_scene()
    bpy.context.scene.viga.match_lock = "SELECTED"
    for obj in bpy.context.scene.objects:
        obj.select_set(False)
    with pytest.raises(RuntimeError, match="Select the objects the run may change"):
        bpy.ops.viga.match_scene()
    assert rt.live_run(bpy.context.scene) is None  # nothing started
