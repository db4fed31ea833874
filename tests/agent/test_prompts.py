"""The system prompts tell the model its world, and what they say is true.

The first line of every prompt is unchanged; every generator example runs through the real
execute_code under its stage's scope (in pipeline order, from an empty scene) and succeeds; every
verifier example is a valid submit_verdict call; the policy lists, scopes and renames the prompt
states are the harness's real ones (tools/code/policy, tools/scene/scope, the running Blender).
"""

from __future__ import annotations

import warnings

import bpy
import pytest

from viga_addon.agent.session import modeltools
from viga_addon.stages import SCOPES, STAGES, world
from viga_addon.tools.code import execute, policy
from viga_addon.tools.code.policy import rules
from viga_addon.tools.host import BlenderHost
from viga_addon.tools.render import engine as render

VERSION = ".".join(str(part) for part in bpy.app.version)
ROLES = ("generator", "verifier")


@pytest.mark.smoke
@pytest.mark.parametrize("version", [None, VERSION, "4.2.23 LTS"])
def test_the_first_line_of_every_prompt_is_unchanged(version):
    for stage in STAGES:
        for role in ROLES:
            prompt = stage.system_prompt(role, blender_version=version)
            assert prompt.splitlines()[0] == f"Stage: {stage.name} — {role.capitalize()}"
            assert stage.system_prompt(role) == stage.system_prompt(role, None)  # positional


@pytest.mark.smoke
def test_every_prompt_states_the_world_briefly():
    for stage in STAGES:
        generator = stage.system_prompt("generator", blender_version=VERSION)
        verifier = stage.system_prompt("verifier", blender_version=VERSION)
        for prompt in (generator, verifier):
            assert f"Blender {VERSION}" in prompt
            assert "metres" in prompt and "Z is up" in prompt and "local -Z" in prompt
            assert f"Edits allowed in this stage: {', '.join(stage.scope)}." in prompt
            for name in stage.scope:
                assert f"- {name}: {world.SCOPE_COVERS[name]}" in prompt
        assert f"{world.TIME_LIMIT_S} s per execute_code call" in generator
        assert "str.format" in generator and '"Specular" -> "Specular IOR Level"' in generator
        assert stage.generator_example.strip() in generator
        assert "submit_verdict(" in verifier and '"analysis"' in verifier
        assert "Code policy" not in verifier  # the verifier writes no code
        if set(stage.scope) != set(SCOPES):
            assert "rolled back" in generator
        assert len(generator) < 7000 and len(verifier) < 3500, stage.name


@pytest.mark.smoke
def test_the_version_shapes_the_renames():
    material = next(s for s in STAGES if s.name == "material")
    five = material.system_prompt("generator", blender_version="5.2.3")
    four = material.system_prompt("generator", blender_version="4.2.23 LTS")
    unknown = material.system_prompt("generator")
    assert "Blender 5.2.3 runs your code" in five and "Blender 4.2.23 runs your code" in four
    assert "Blender 4.2 LTS or newer" in unknown
    assert "use_nodes is deprecated" in five and "until you set use_nodes = True" in four
    assert world.parse_version("5.2.3 LTS") == (5, 2, 3) and world.parse_version("x") is None
    running = world.parse_version(bpy.app.version_string)
    assert running == tuple(bpy.app.version)
    assert world.eevee_engine_id(running) == render.engine_id("EEVEE")


@pytest.mark.smoke
def test_the_stated_policy_is_the_real_policy():
    assert set(world.ALLOWED_IMPORTS) == {m.split(".")[0] for m in policy.ALLOWED_MODULES}
    assert set(world.OPERATOR_FAMILIES) == set(policy.ALLOWED_OP_CATEGORIES)
    assert len(world.OPERATOR_FAMILIES) == len(set(world.OPERATOR_FAMILIES))
    assert set(world.EXTRA_OPERATORS) == set(policy.EXTRA_ALLOWED_OPS)
    assert set(world.REFUSED_BUILTINS) <= set(policy.REFUSED_BUILTINS)
    assert world.TIME_LIMIT_S == policy.DEFAULT_TIMEOUT == execute.DEFAULT_TIMEOUT
    assert BlenderHost().code_timeout == world.TIME_LIMIT_S
    assert policy.attribute_refusal("format") and policy.attribute_refusal("format_map")
    assert policy.attribute_refusal("_private")
    for name in world.BPY_NAMES:
        assert rules.bpy_attribute_refusal(name) is None
    for name in ("utils", "props", "path"):
        assert rules.bpy_attribute_refusal(name)
    assert rules.bpy_attribute_refusal("app", "version") is None
    for family in ("wm", "render", "screen", "file", "preferences"):
        assert policy.operator_refusal(family), family
    for op in ("read_factory_settings", "read_homefile"):
        assert policy.operator_refusal("wm", op)
    assert policy.operator_refusal("object", "shade_smooth_by_angle") is None
    assert policy.check_code("x = bpy.data.objects\nbpy.data.objects.remove") is None
    assert policy.check_code("'{}'.format(1)")


@pytest.mark.smoke
def test_the_clear_scene_helper_the_prompt_names_exists(clean_scene):
    assert "clear_scene()" in STAGES[0].system_prompt("generator")
    assert callable(policy.namespace().get("clear_scene"))
    bpy.ops.mesh.primitive_cube_add()
    init = STAGES[0]
    result = execute.execute_code("clear_scene()", scope=list(init.scope))
    assert result["ok"], result.get("error")
    assert len(bpy.context.scene.objects) == 0


@pytest.mark.smoke
def test_every_scope_is_described():
    assert set(world.SCOPE_COVERS) == set(SCOPES)


@pytest.mark.smoke
def test_the_stated_renames_are_the_running_blenders(clean_scene):
    mat = bpy.data.materials.new("probe")
    if mat.node_tree is None:
        mat.use_nodes = True
    inputs = {i.name for i in mat.node_tree.nodes["Principled BSDF"].inputs}
    for old, new in world.PRINCIPLED_RENAMES.items():
        assert new in inputs and old not in inputs, (old, new)
    assert set(world.PRINCIPLED_KEPT) <= inputs
    assert not hasattr(bpy.data.meshes.new("probe"), "use_auto_smooth")
    assert hasattr(bpy.ops.object, "shade_smooth_by_angle")
    assert not hasattr(bpy.types, "ShaderNodeTexMusgrave")
    if bpy.app.version >= (5, 0, 0):  # 4.2 keeps them, without effect
        eevee = set(bpy.types.SceneEEVEE.bl_rna.properties.keys())
        assert not {"use_ssr", "use_gtao", "use_bloom"} & eevee
        scene = set(bpy.types.Scene.bl_rna.properties.keys())
        assert "compositing_node_group" in scene and "node_tree" not in scene


@pytest.mark.smoke
def test_every_generator_example_runs_under_its_stages_scope(clean_scene):
    """In pipeline order from an empty scene, as a run would: each one succeeds, in scope."""
    assert [s.name for s in STAGES][0] == "init"
    for stage in STAGES:
        assert stage.generator_example.strip(), stage.name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = execute.execute_code(stage.generator_example, scope=list(stage.scope))
        assert not [str(w.message) for w in caught], stage.name  # no deprecated API either
        assert result["ok"], (stage.name, result.get("error"), result.get("out_of_scope"))
        assert not result.get("out_of_scope") and not result.get("restored"), stage.name
        assert "Warning" not in result.get("stdout", ""), (stage.name, result["stdout"])
    scene = bpy.context.scene
    assert {"ground", "mug", "mug_handle", "Camera", "Sun"} <= set(scene.objects.keys())
    assert bpy.data.objects["mug"].material_slots[0].material.name == "mug_ceramic"


@pytest.mark.smoke
def test_what_the_prompt_says_is_rolled_back_is(clean_scene):
    """geometry: a call that adds a part and also gives it a material is undone whole."""
    code = (
        "import bpy\n"
        "bpy.ops.mesh.primitive_cube_add()\n"
        "bpy.context.active_object.name = 'part'\n"
        "bpy.context.active_object.data.materials.append(bpy.data.materials.new('paint'))\n"
    )
    geometry = next(s for s in STAGES if s.name == "geometry")
    result = execute.execute_code(code, scope=list(geometry.scope))
    assert result["ok"] is False and result["out_of_scope"]
    assert "part" not in bpy.data.objects and "paint" not in bpy.data.materials
    assert "material" in geometry.system_prompt("generator").split("rolled back")[1][:200]


@pytest.mark.smoke
def test_every_verifier_example_is_a_valid_submit_verdict():
    schema = modeltools.REGISTRY["submit_verdict"].schema["parameters"]
    for stage in STAGES:
        example = stage.verifier_example
        assert isinstance(example.get("analysis"), str) and example["analysis"].strip()
        assert set(schema["required"]) <= set(example), stage.name
        assert set(example) <= set(schema["properties"]) | {"analysis"}, stage.name
        checked = modeltools.REGISTRY["submit_verdict"].check(dict(example))
        assert isinstance(checked, dict), (stage.name, checked)
        assert example["approved"] == (not example["checklist"]), stage.name
        assert list(example)[0] == "analysis"  # written first, as the prompt asks


@pytest.mark.smoke
def test_the_host_says_which_blender_runs():
    info = BlenderHost().call("blender_info", {})
    assert info["ok"] and info["version"] == VERSION
    assert info["version_tuple"] == list(bpy.app.version)
    assert info["version_string"] == bpy.app.version_string
    assert world.parse_version(info["version"]) == tuple(bpy.app.version)
