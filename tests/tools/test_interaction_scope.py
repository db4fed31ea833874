"""The interaction stage's scope and its limits, on real bpy through execute_code: physics,
keyframes and new objects pass; baking, and geometry or materials of what was there, do not;
physics stays out of the other stages; the bake tool keeps to the run's frame cap."""

import bpy
import pytest

from viga_addon.stages import ALL_STAGES, INTERACTION, build_stages
from viga_addon.stages.composition import STAGE as COMPOSITION
from viga_addon.stages.geometry import STAGE as GEOMETRY
from viga_addon.stages.interaction import STAGE
from viga_addon.tools.code import execute
from viga_addon.tools.host import BlenderHost
from viga_addon.tools.physics import event

SCOPE = list(STAGE.scope)

SCENE = """
bpy.ops.mesh.primitive_plane_add(size=6)
bpy.context.object.name = "ground"
bpy.ops.mesh.primitive_cylinder_add(radius=0.2, depth=0.6, location=(0, 0, 0.3))
bpy.context.object.name = "can"
mat = bpy.data.materials.new("tin")
bpy.context.object.data.materials.append(mat)
"""


@pytest.fixture
def scene(clean_scene):
    assert execute.execute_code(SCENE)["ok"]
    event.prepare(clean_scene, 24)
    return clean_scene


def _keys(name):
    obj = bpy.data.objects[name]
    return obj.animation_data is not None and obj.animation_data.action is not None


def test_the_stage_is_only_run_when_named():
    assert INTERACTION not in [s.name for s in build_stages()]
    assert [s.name for s in build_stages(["interaction"])] == [INTERACTION]
    assert ALL_STAGES[-1] is STAGE and "bake_simulation" in STAGE.generator_tools


def test_prepare_gives_fitting_rigid_bodies(scene):
    ground, can = bpy.data.objects["ground"], bpy.data.objects["can"]
    assert ground.rigid_body.type == "PASSIVE" and can.rigid_body.type == "ACTIVE"
    assert can.rigid_body.collision_shape == "CYLINDER"
    assert scene.rigidbody_world.point_cache.frame_end == scene.frame_start + 23


def test_the_event_passes(scene):
    code = """
can = bpy.data.objects["can"]
can.rigid_body.mass = 0.3
bpy.ops.mesh.primitive_uv_sphere_add(radius=0.15, location=(-1, 0, 0.15))
ball = bpy.context.object
ball.name = "ball"
ball.data.materials.append(bpy.data.materials.new("rubber"))
with bpy.context.temp_override(object=ball, active_object=ball, selected_objects=[ball]):
    bpy.ops.rigidbody.object_add(type="ACTIVE")
ball.rigid_body.kinematic = True
ball.keyframe_insert("location", frame=1)
ball.rigid_body.keyframe_insert("kinematic", frame=1)
ball.location.x = -0.3
ball.keyframe_insert("location", frame=6)
ball.rigid_body.keyframe_insert("kinematic", frame=6)
ball.rigid_body.kinematic = False
ball.rigid_body.keyframe_insert("kinematic", frame=7)
bpy.ops.object.effector_add(type="WIND", location=(-2, 0, 0.5))
bpy.context.scene.frame_set(1)
"""
    result = execute.execute_code(code, scope=SCOPE, stage=INTERACTION)
    assert result["ok"], (result.get("error"), result.get("out_of_scope"))
    assert _keys("ball") and bpy.data.objects["can"].rigid_body.mass == pytest.approx(0.3)
    assert any(o.field and o.field.type == "WIND" for o in scene.objects)


@pytest.mark.parametrize(
    "code, why",
    [
        (
            'bpy.data.objects["can"].data.vertices[0].co.z += 0.2',
            "changed mesh",
        ),
        ('bpy.data.materials["tin"].diffuse_color = (1, 0, 0, 1)', "changed material 'tin'"),
        ('bpy.data.objects.remove(bpy.data.objects["can"])', "removed object 'can'"),
    ],
)
def test_geometry_materials_and_removals_are_rolled_back_whole(scene, code, why):
    keyed = 'c = bpy.data.objects["can"]\nc.keyframe_insert("location", frame=1)\n'
    keyed += "c.rigid_body.mass = 9.0\n"
    result = execute.execute_code(keyed + code, scope=SCOPE, stage=INTERACTION)
    assert result["ok"] is False and result["restored"] is True
    assert any(why in v["what"] for v in result["out_of_scope"]), result["out_of_scope"]
    can = bpy.data.objects["can"]
    assert not _keys("can") and can.rigid_body.mass != pytest.approx(9.0)  # all of it undone
    assert can.data.vertices[0].co.z == pytest.approx(-0.3)


@pytest.mark.parametrize(
    "code",
    [
        "bpy.ops.ptcache.bake_all(bake=True)",
        "bpy.ops.ptcache.bake(bake=True)",
        "bpy.ops.rigidbody.bake_to_keyframes()",
        "getattr(bpy.ops, 'ptcache').bake_all(bake=True)",
    ],
)
def test_model_code_may_not_bake(scene, code):
    result = execute.execute_code(code, scope=SCOPE, stage=INTERACTION)
    assert result["ok"] is False and result.get("refused"), result
    assert not scene.rigidbody_world.point_cache.is_baked


def test_physics_and_keyframes_stay_out_of_the_other_stages(clean_scene):
    assert execute.execute_code(SCENE)["ok"]
    add = """
ground = bpy.data.objects["ground"]
with bpy.context.temp_override(object=ground, active_object=ground, selected_objects=[ground]):
    bpy.ops.rigidbody.object_add(type="PASSIVE")
"""
    result = execute.execute_code(add, scope=list(GEOMETRY.scope), stage="geometry")
    assert result["ok"] is False and result["restored"] is True
    assert clean_scene.rigidbody_world is None and bpy.data.objects["ground"].rigid_body is None
    key = 'bpy.data.objects["can"].keyframe_insert("location", frame=1)'
    result = execute.execute_code(key, scope=list(COMPOSITION.scope), stage="composition")
    assert result["ok"] is False and not _keys("can")


def test_the_bake_tool_keeps_to_the_frame_cap(scene, tmp_path):
    host = BlenderHost(render_device="cpu", preview_size=32, preview_samples=1)
    refused = host.call("bake_simulation", {"out_dir": str(tmp_path), "frames": 50, "cap": 24})
    assert refused["ok"] is False and "cap of 24" in refused["error"]
    baked = host.call(
        "bake_simulation",
        {"out_dir": str(tmp_path / "f"), "frames": 24, "cap": 24, "sheet": str(tmp_path / "s.png")},
    )
    assert baked["ok"], baked.get("error")
    assert baked["bake"]["frames"] == 24 and set(baked["trajectories"]) == {"can"}
    assert (tmp_path / "s.png").exists() and len(baked["frames"]) == 6
    assert "can: start" in baked["text"]


def test_the_worked_example_runs_in_scope_and_the_prompt_says_the_limits(clean_scene):
    result = execute.execute_code(STAGE.generator_example, scope=SCOPE, stage=INTERACTION)
    assert result["ok"], (result.get("error"), result.get("out_of_scope"))
    prompt = STAGE.system_prompt("generator", blender_version="5.2.3")
    assert prompt.startswith("Stage: interaction — Generator")
    assert "bake_simulation" in prompt and "kinematic" in prompt
    assert "rolled back" in prompt and len(prompt) < 7000
