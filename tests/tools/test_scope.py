"""Stage scopes: what a call changed is classified, out-of-scope calls are rolled back whole and
reported, and every stage's own demo code passes its stage's scope."""

import bpy
import pytest

from viga_addon.demo import tabletop
from viga_addon.stages import build_stages
from viga_addon.stages.base import SCOPES
from viga_addon.tools.code import scope_check
from viga_addon.tools.code.execute import execute_code
from viga_addon.tools.host import BlenderHost
from viga_addon.tools.scene import fingerprint, scope

STAGES = {s.name: s for s in build_stages(None, None)}


@pytest.fixture
def demo_scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert execute_code(tabletop._SCAFFOLD.format(can=tabletop._CAN))["ok"]
    yield bpy.context.scene
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _changed(code):
    before = fingerprint.capture()
    result = execute_code(code)
    assert result["ok"], result
    found = fingerprint.diff(before, fingerprint.capture())
    return {c["what"]: c["scopes"] for c in scope_check.changes(found)}


def test_every_scope_name_is_known_to_the_classifier():
    labels = fingerprint.capture(bpy.context.scene)
    used = {s for entry in labels.entries.values() for s in entry.scopes or ()}
    assert used <= set(SCOPES)
    for stage in STAGES.values():
        assert set(stage.scope) <= set(SCOPES)


@pytest.mark.smoke
@pytest.mark.parametrize(
    "stage, code",
    [
        ("geometry", tabletop._GEOMETRY_1),
        ("geometry", tabletop._GEOMETRY_2),
        ("material", tabletop._MATERIAL),
        ("composition", tabletop._COMPOSITION),
        ("lighting", tabletop._LIGHTING),
        ("camera", tabletop._CAMERA),
    ],
)
def test_demo_stage_code_fits_its_stage_scope(demo_scene, stage, code):
    result = BlenderHost(render_device="cpu").call(
        "execute_code", {"code": code, "scope": list(STAGES[stage].scope)}
    )
    assert result["ok"], result


@pytest.mark.smoke
def test_out_of_scope_call_is_rolled_back_whole_and_explained(demo_scene):
    before = fingerprint.capture()
    code = (
        "bpy.data.materials['placeholder_grey'].diffuse_color = (1, 0, 0, 1)\n"
        "bpy.data.objects['red_ball'].location.x = 3\n"
    )
    result = BlenderHost(render_device="cpu").call(
        "execute_code", {"code": code, "scope": ["materials"]}
    )
    assert result["ok"] is False and result["restored"] is True
    assert result["out_of_scope"] == [
        {"what": "changed transform of 'red_ball'", "scopes": ["transforms"]}
    ]
    assert "(allowed: materials)" in result["error"]
    assert "changed transform of 'red_ball' (needs scope transforms)" in result["error"]
    assert fingerprint.capture() == before  # the in-scope material edit was rolled back too
    assert "transforms belong to other stages" in result["text"]


@pytest.mark.parametrize(
    "code, expected",
    [
        (
            "bpy.data.objects['sun'].rotation_euler.x = 1",
            {"changed transform of 'sun'": ["lights"]},
        ),
        (
            "bpy.data.objects['camera'].location.x = 1",
            {"changed transform of 'camera'": ["camera"]},
        ),
        (
            "bpy.data.objects['red_ball'].scale.x = 2",
            {"changed transform of 'red_ball'": ["transforms"]},
        ),
        (
            "bpy.data.objects['blue_box'].data.vertices[0].co.x = 2",
            {"changed mesh 'Cube'": ["meshes"]},
        ),
        (
            "bpy.data.objects['blue_box'].modifiers.new('b', 'BEVEL')",
            {"changed modifiers of 'blue_box'": ["modifiers"]},
        ),
        (
            "bpy.data.objects['blue_box'].hide_render = True",
            {"changed object 'blue_box'": ["objects"]},
        ),
        ("bpy.data.lights['sun'].energy = 9", {"changed light 'sun'": ["lights"]}),
        ("bpy.data.cameras['camera'].lens = 80", {"changed camera 'camera'": ["camera"]}),
        (
            "bpy.context.scene.view_settings.exposure = 1",
            {"changed view_settings settings": ["render"]},
        ),
        ("bpy.context.scene.camera = None", {"changed scene camera": ["camera"]}),
    ],
)
def test_changes_are_classified(demo_scene, code, expected):
    assert _changed(code) == expected


def test_new_objects_count_under_their_kind(demo_scene):
    found = _changed(
        "l = bpy.data.lights.new('fill', 'POINT')\n"
        "o = bpy.data.objects.new('fill', l)\nbpy.context.scene.collection.objects.link(o)\n"
        "o.location = (1, 2, 3)\n"
        "bpy.ops.mesh.primitive_cube_add()\n"
    )
    assert found["created light object 'fill'"] == ["lights"]
    assert found["created light 'fill'"] == ["lights"]
    assert found["created object 'Cube'"] == ["objects"]
    assert found["created mesh 'Cube.001'"] == ["meshes"]
    assert not any(k.startswith("created transform") for k in found)
    assert (
        scope_check.out_of_scope(
            [{"what": k, "scopes": v} for k, v in found.items() if "light" in k], ["lights"]
        )
        == []
    )


def test_material_assignment_needs_the_materials_scope(demo_scene):
    found = _changed(
        "m = bpy.data.materials.new('wood')\n"
        "o = bpy.data.objects['ground']\no.data.materials.clear()\no.data.materials.append(m)\n"
    )
    assert set(found) == {
        "created material 'wood'",
        "changed material slots of 'ground'",
        "changed material indices of mesh 'Plane'",
    }
    assert all(v == ["materials"] for v in found.values())


def test_in_scope_call_reports_success_with_no_scope_noise(demo_scene):
    result = execute_code("bpy.data.lights['sun'].energy = 5", scope=("lights",))
    assert result["ok"] and "out_of_scope" not in result


# ----------------------------------------------------------------------------- edit limits
def _limited_host(**limits):
    from viga_addon.tools.scene import graph as scene_graph

    host = BlenderHost(render_device="cpu", preview_size=32, preview_samples=1)
    described = scene_graph.describe(**limits)
    assert described["ok"], described
    assert host.call("set_edit_limits", {"limits": described["limits"]})["ok"]
    return host


@pytest.mark.smoke
def test_locked_objects_are_rolled_back_and_named(demo_scene):
    host = _limited_host(lock_objects=["red_ball"])
    before = fingerprint.capture()
    moved = host.call(
        "execute_code",
        {
            "code": 'bpy.data.objects["blue_box"].location.x += 1\n'
            'bpy.data.objects["red_ball"].location.x += 1',
            "scope": ["transforms"],
        },
    )
    assert not moved["ok"] and moved["refused"]
    assert fingerprint.capture() == before  # the allowed half was rolled back too
    assert [v["locked"] for v in moved["out_of_scope"]] == [["blue_box"]]
    assert (
        "blue_box" in moved["error"]
        and "Only these objects may change: red_ball" in (moved["error"])
    )
    # the hint names the artist's lock, not another stage's scope
    assert "The artist locked blue_box" in moved["text"]
    assert "other stages" not in moved["text"]
    alone = host.call(
        "execute_code",
        {"code": 'bpy.data.objects["red_ball"].location.x += 1', "scope": ["transforms"]},
    )
    assert alone["ok"], alone["error"]


def test_a_material_only_a_locked_object_uses_is_locked(demo_scene):
    host = _limited_host(lock_objects=["red_ball"])
    code = (
        'm = bpy.data.materials.new("only_box")\n'
        'bpy.data.objects["blue_box"].data.materials.append(m)'
    )
    refused = host.call("execute_code", {"code": code, "scope": ["materials"]})
    assert not refused["ok"] and "blue_box" in refused["error"]
    own = host.call(
        "execute_code",
        {"code": code.replace("blue_box", "red_ball"), "scope": ["materials"]},
    )
    assert own["ok"], own["error"]


def test_a_collection_lock_keeps_the_world_and_other_objects(demo_scene):
    coll = bpy.data.collections.new("props")
    demo_scene.collection.children.link(coll)
    coll.objects.link(bpy.data.objects["yellow_can"])
    host = _limited_host(lock_collection="props")
    world = host.call(
        "execute_code",
        {"code": "bpy.context.scene.view_settings.exposure = 1.0", "scope": ["render"]},
    )
    assert not world["ok"] and world["refused"]
    can = host.call(
        "execute_code",
        {"code": 'bpy.data.objects["yellow_can"].location.z += 0.1', "scope": ["transforms"]},
    )
    assert can["ok"], can["error"]


def test_no_adding_or_removing_unless_allowed(demo_scene):
    host = _limited_host()
    remove = 'bpy.data.objects.remove(bpy.data.objects["yellow_can"])'
    add = "bpy.ops.mesh.primitive_cube_add()"
    for code in (remove, add, 'bpy.data.objects["ground"].name = "floor"'):
        result = host.call("execute_code", {"code": code, "scope": ["objects", "meshes"]})
        assert not result["ok"] and "no object may be added" in result["error"], code
        assert "may not add or remove objects" in result["text"], code
        assert "earlier stages" not in result["text"] and "other stages" not in result["text"]
    free = _limited_host(allow_add_remove=True)
    assert free.call("execute_code", {"code": add, "scope": ["objects", "meshes"]})["ok"]
    assert free.call("execute_code", {"code": remove, "scope": ["objects", "meshes"]})["ok"]


def test_limits_that_name_what_the_scene_lacks_are_refused(demo_scene):
    from viga_addon.tools.scene import graph as scene_graph

    assert "no object named lamp" in scene_graph.describe(lock_objects=["lamp"])["error"]
    assert "no collection named 'props'" in scene_graph.describe(lock_collection="props")["error"]


def test_limits_survive_json(demo_scene):
    from viga_addon.tools.scene import graph as scene_graph

    limits = scene_graph.edit_limits(objects=["red_ball"])
    assert scope.EditLimits.from_json(limits.to_json()) == limits
    assert ("objects", "blue_box") in limits.locked
    assert ("objects", "red_ball") not in limits.locked


def test_refined_values_on_a_locked_object_are_refused(demo_scene):
    from viga_addon.tools.render.process import jobs

    host = _limited_host(lock_objects=["red_ball"])
    before = host._limits_before()
    jobs.apply_values({"object:red_ball.location": [-1.0, 0.5, 0.6]})
    host._check_limits(before)  # the open object: fine
    before = host._limits_before()
    jobs.apply_values({"object:blue_box.location": [0.0, 0.0, 0.5]})
    with pytest.raises(ValueError, match="blue_box"):
        host._check_limits(before)
