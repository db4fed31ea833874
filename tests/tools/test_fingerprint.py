"""tools/scene/fingerprint.py and tools/scene/rna.py against real bpy: one capture and one diff give both the
change report and the scope check, reading changes nothing, hand edits made while a run is
paused (world colour and exposure too) are reported by ui.live, panel clicks are not."""

import types
import warnings

import bpy
import pytest

from tests.tools.test_tools_snapshot import build_scene
from viga_addon.tools.code import scope_check
from viga_addon.tools.scene import fingerprint, rna
from viga_addon.ui import live as rt


@pytest.fixture
def scene(clean_scene):
    return build_scene(clean_scene)


def _edit_world_and_exposure(scene):
    background = scene.world.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = (0.9, 0.5, 0.1, 1.0)
    scene.view_settings.exposure = 1.5


def _changed(report):
    return {key: names for key, names in report["changed"].items() if names}


# ----------------------------------------------------------------------------- one capture
def test_report_and_scope_check_agree_on_one_diff(scene):
    before = fingerprint.capture(scene)
    bpy.data.objects["Table"].location.x += 1  # Cup is its child: its placement moves too
    bpy.data.materials["Red Paint"].diffuse_color = (0, 0, 1, 1)
    bpy.data.lights["Key Light"].energy = 50
    _edit_world_and_exposure(scene)
    found = fingerprint.diff(before, fingerprint.capture(scene))
    checked = {c["what"]: c["scopes"] for c in scope_check.changes(found)}
    assert checked == {
        "changed transform of 'Table'": ["transforms"],
        "changed material 'Red Paint'": ["materials"],
        "changed light 'Key Light'": ["lights"],
        "changed world 'Studio'": ["world"],
        "changed view_settings settings": ["render"],
    }
    assert _changed(found.report) == {
        "objects": ["Cup", "Table"],
        "materials": ["Red Paint"],
        "lights": ["Key Light"],
        "world": ["Studio"],
        "render": ["view_settings.exposure"],
    }
    # every scope-checked change is named in the report, under the item it belongs to
    for change in found.changes:
        for kind, name in change.refs:
            if kind == "render":
                assert all(p.startswith(name + ".") for p in found.report["changed"][kind])
            else:
                assert name in found.report["changed"][kind], change
    assert scope_check.out_of_scope(
        scope_check.changes(found), ["transforms", "materials", "lights"]
    ) == [
        {"what": "changed view_settings settings", "scopes": ["render"]},
        {"what": "changed world 'Studio'", "scopes": ["world"]},
    ]


def test_created_and_removed_come_from_what_exists(scene):
    before = fingerprint.capture(scene)
    bpy.data.objects.remove(bpy.data.objects["Sun"])  # its light data stays, unused
    cam = bpy.data.objects.new("Close Up", bpy.data.cameras.new("Close Up"))
    scene.collection.objects.link(cam)
    report = fingerprint.diff(before, fingerprint.capture(scene)).report
    assert report["removed"]["objects"] == ["Sun"] and report["removed"]["lights"] == ["Sun"]
    assert report["created"]["objects"] == ["Close Up"]
    assert report["created"]["camera"] == ["Close Up"]
    assert not _changed(report)


def test_modifier_settings_count_even_where_nodes_have_a_same_named_ui_field(scene):
    before = fingerprint.capture(scene)
    bpy.data.objects["Cup"].modifiers["Bevel"].width = 0.03  # "width" of a node is its size
    found = fingerprint.diff(before, fingerprint.capture(scene))
    assert {c["what"] for c in scope_check.changes(found)} == {"changed modifiers of 'Cup'"}
    assert _changed(found.report) == {"objects": ["Cup"]}


def test_reading_changes_nothing_and_warns_nothing(scene):
    with warnings.catch_warnings():  # deprecated in 5.x: reading it warns
        warnings.simplefilter("ignore", DeprecationWarning)
        bpy.data.lights["Key Light"].use_nodes = True
    first = fingerprint.capture(scene)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = fingerprint.capture(scene)
    assert [w for w in caught if issubclass(w.category, DeprecationWarning)] == []
    assert second == first
    found = fingerprint.diff(first, second)
    assert found.changes == [] and not fingerprint.has_changes(found.report)
    assert found.report == fingerprint.empty_report()


def test_panel_clicks_and_selection_are_not_changes(scene):
    before = fingerprint.capture(scene)
    bpy.data.objects["Cup"].modifiers["Bevel"].show_expanded = False
    bpy.data.objects["Floor"].modifiers["Subdivision"].is_active = True
    bpy.data.objects["Table"].select_set(True)
    bpy.context.view_layer.objects.active = bpy.data.objects["Floor"]
    node = bpy.data.materials["Red Paint"].node_tree.nodes[0]
    node.select = not node.select
    node.location.x += 40
    found = fingerprint.diff(before, fingerprint.capture(scene))
    assert found.changes == []


# ----------------------------------------------------------------------------- hand edits
def _paused_run():
    """What ui.live's two hand-edit functions use of a LiveRun."""
    return types.SimpleNamespace(paused_fp=None, paused_names=None)


def test_hand_edits_of_world_colour_and_exposure_are_reported(scene):
    live = _paused_run()
    rt.remember_scene(live, scene)
    assert rt.hand_edits_since_pause(live, scene) is None  # nothing yet
    _edit_world_and_exposure(scene)
    edits = rt.hand_edits_since_pause(live, scene)
    assert _changed(edits) == {"world": ["Studio"], "render": ["view_settings.exposure"]}
    assert rt.summarize_changes(edits) == (
        "changed world: Studio; changed render: view_settings.exposure"
    )


def test_hand_edits_keep_the_object_report(scene):
    live = _paused_run()
    rt.remember_scene(live, scene)
    assert live.paused_names == {o.name for o in scene.objects}
    scene.objects["Table"].location.z += 2
    bpy.data.objects.remove(scene.objects["Ghost"], do_unlink=True)
    edits = rt.hand_edits_since_pause(live, scene)
    assert edits["changed"]["objects"] == ["Cup", "Table"]
    assert edits["removed"]["objects"] == ["Ghost"]
    assert rt.removed_while_paused(live, scene) == ["Ghost"]


# ----------------------------------------------------------------------------- rna walker
def test_props_reads_ids_and_nested_structs_as_asked(scene):
    cup = bpy.data.objects["Cup"]
    bevel = cup.modifiers["Bevel"]
    flat = rna.props(bevel)
    assert flat["width"] == pytest.approx(0.01) and "vertex_group" in flat
    assert "custom_profile" not in flat  # a nested struct: only with depth
    node = next(n for n in scene.world.node_tree.nodes if n.type == "BACKGROUND")
    assert "name" in rna.props(node)
    render = rna.props(scene.render, depth=1)
    assert isinstance(render["image_settings"], dict)
    assert "image_settings" not in rna.props(scene.render)
    mod = cup.modifiers.new("Array", "ARRAY")
    mod.offset_object = bpy.data.objects["Table"]
    assert rna.props(mod, ids=True, leaf=rna.freeze)["offset_object"] == ("ID", "Table")
    assert "offset_object" not in rna.props(mod)


def test_props_sees_properties_registered_later(scene):
    light = bpy.data.lights["Key Light"]
    assert "viga_test_prop" not in rna.props(light)
    bpy.types.Light.viga_test_prop = bpy.props.FloatProperty(default=0.25)
    try:
        assert rna.props(light)["viga_test_prop"] == pytest.approx(0.25)
    finally:
        del bpy.types.Light.viga_test_prop


def test_freeze_rounds_and_orders():
    assert rna.freeze(0.123456) == 0.1235 and str(rna.freeze(-0.00001)) == "0.0"
    assert rna.freeze({"B", "A"}) == ("A", "B")
    assert rna.freeze([1.00001, 2]) == (1.0, 2)
    assert rna.freeze_tree({"a": [0.5], "b": {"c": 1.23456}}) == {"a": (0.5,), "b": {"c": 1.2346}}
