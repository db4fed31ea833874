"""execute_code against real bpy: results, change report, error messages, restore on error."""

import threading

import bpy
import pytest

from tests.tools.test_tools_snapshot import build_scene, counts, describe, names
from viga_addon.tools.code import execute
from viga_addon.tools.code.execute import execute_code


@pytest.fixture
def scene(clean_scene):
    return build_scene(clean_scene)


def _all_names(changes, kind):
    return {key: changes[kind][key] for key in ("objects", "materials", "lights")}


@pytest.mark.smoke
def test_success_reports_created_changed_removed_and_stdout(scene):
    result = execute_code(
        "print('working on', len(bpy.data.objects), 'objects')\n"
        "bpy.data.objects['Table'].location += Vector((0.5, 0, 0))\n"
        "bpy.data.lights['Key Light'].energy = 100\n"
        "bpy.data.objects.remove(bpy.data.objects['Ghost'])\n"
        "lamp = bpy.data.lights.new('Fill', 'POINT')\n"
        "obj = bpy.data.objects.new('Fill', lamp)\n"
        "bpy.context.scene.collection.objects.link(obj)\n"
        "mat = bpy.data.materials.new('Blue Glass')\n"
    )
    assert result["ok"] is True, result
    assert result["error"] is None and result["traceback"] is None
    assert result["restored"] is False
    assert result["stdout"] == "working on 7 objects\n"
    changes = result["changes"]
    assert _all_names(changes, "created") == {
        "objects": ["Fill"],
        "materials": ["Blue Glass"],
        "lights": ["Fill"],
    }
    assert _all_names(changes, "changed") == {
        "objects": ["Cup", "Table"],
        "materials": [],
        "lights": ["Key Light"],
    }  # Cup is parented
    assert _all_names(changes, "removed") == {"objects": ["Ghost"], "materials": [], "lights": []}
    assert result["seconds"] > 0


def test_material_node_and_modifier_edits_count_as_changes(scene):
    result = execute_code(
        "mat = bpy.data.materials['Red Paint']\n"
        "bsdf = next(n for n in mat.node_tree.nodes if n.type == 'BSDF_PRINCIPLED')\n"
        "bsdf.inputs['Roughness'].default_value = 0.9\n"
        "bpy.data.objects['Floor'].modifiers.new('Wave', 'WAVE')\n"
        "bpy.data.objects['Cup'].hide_render = True\n"
    )
    assert result["ok"], result
    assert result["changes"]["changed"]["materials"] == ["Red Paint"]
    assert result["changes"]["changed"]["objects"] == ["Cup", "Floor"]


def test_namespace_has_the_usual_modules_and_runs_main_guard(scene):
    result = execute_code(
        "def main():\n"
        "    print(math.pi > 3, random.random() < 1, Matrix.Identity(4)[0][0],\n"
        "          Euler((0, 0, 1)).z, bmesh.new() is not None, mathutils.Vector((1, 2)).y)\n"
        "if __name__ == '__main__':\n"
        "    main()\n"
    )
    assert result["ok"], result
    assert result["stdout"] == "True True 1.0 1.0 True 2.0\n"


def test_fresh_namespace_each_call(scene):
    assert execute_code("leftover = 41")["ok"]
    result = execute_code("print(leftover)")
    assert result["ok"] is False
    assert result["error"].startswith("NameError: name 'leftover' is not defined")


def test_long_output_is_cut_with_a_note(scene):
    result = execute_code("for i in range(3000):\n    print('line', i)\n")
    assert result["ok"]
    assert len(result["stdout"]) < execute.STDOUT_LIMIT + 200
    assert "output cut" in result["stdout"]
    assert result["stdout"].startswith("line 0\n") and result["stdout"].endswith("line 2999\n")
    assert result["text"].startswith("OK: ") and len(result["text"]) <= execute.TEXT_LIMIT
    assert "line 0\n" in result["text"] and result["text"].endswith("line 2999\n")


@pytest.mark.smoke
def test_exception_halfway_restores_scene_and_points_at_model_line(scene):
    expected, expected_counts = describe(scene), counts()
    code = (
        "bpy.data.objects['Table'].location.z = 9\n"
        "bpy.data.materials.new('Half Done')\n"
        "def tint(name):\n"
        "    return bpy.data.materials[name]\n"
        "tint('Missing Material')\n"
        "print('never reached')\n"
    )
    result = execute_code(code)
    assert result["ok"] is False and result["restored"] is True
    assert result["error"].startswith("KeyError: ")
    assert "Missing Material" in result["error"] and "\n" not in result["error"]
    tb = result["traceback"]
    assert 'File "<your code>", line 5, in <module>' in tb
    assert "tint('Missing Material')" in tb
    assert 'File "<your code>", line 4, in tint' in tb
    assert "return bpy.data.materials[name]" in tb
    assert "execute.py" not in tb and "snapshot.py" not in tb
    text = result["text"]
    assert "Failing line 4 (in tint) of your code: return bpy.data.materials[name]" in text
    assert "called from line 5: tint('Missing Material')" in text
    assert describe(scene) == expected and counts() == expected_counts
    assert "Half Done" not in bpy.data.materials
    for kind in ("created", "changed", "removed"):
        assert _all_names(result["changes"], kind) == {"objects": [], "materials": [], "lights": []}


@pytest.mark.smoke
def test_syntax_error_runs_nothing_and_names_the_line(scene):
    before = describe(scene)
    result = execute_code("bpy.data.objects['Table'].location.z = 5\nfor x in range(3)\n    pass\n")
    assert result["ok"] is False and result["restored"] is False
    assert result["error"].startswith("SyntaxError:")
    assert "line 2" in result["error"] and "nothing was run" in result["error"]
    assert "for x in range(3)" in result["traceback"]
    assert "Failing line 2 of your code: for x in range(3)" in result["text"]
    assert result["text"].endswith("Changes: none (nothing was run).")
    assert describe(scene) == before


def test_delete_everything_then_raise_brings_everything_back(scene):
    expected, expected_counts, expected_names = describe(scene), counts(), names()
    result = execute_code(
        "for o in list(bpy.data.objects):\n"
        "    bpy.data.objects.remove(o)\n"
        "for m in list(bpy.data.materials):\n"
        "    bpy.data.materials.remove(m)\n"
        "for c in list(bpy.data.collections):\n"
        "    bpy.data.collections.remove(c)\n"
        "bpy.context.scene.world = None\n"
        "bpy.context.scene.render.resolution_x = 1\n"
        "raise RuntimeError('oops after deleting')\n"
    )
    assert result["restored"] is True
    assert result["error"].startswith("RuntimeError: oops after deleting")
    assert describe(scene) == expected
    assert counts() == expected_counts and names() == expected_names
    assert scene.camera.name == "Camera" and scene.world.name == "Studio"


@pytest.mark.parametrize(
    "code, start",
    [
        ("bpy.data.objects['Cup'].location.x = 4\nraise SystemExit(2)", "SystemExit: "),
        ("bpy.data.objects['Cup'].location.x = 4\nraise KeyboardInterrupt", "KeyboardInterrupt"),
        ("bpy.data.objects['Cup'].location.x = 4\nexit()", "SystemExit: "),
    ],
)
def test_exit_and_interrupt_are_caught_and_restored(scene, code, start):
    expected = describe(scene)
    result = execute_code(code)
    assert result["ok"] is False and result["restored"] is True
    assert result["error"].startswith(start)
    assert describe(scene) == expected


def test_operator_error_is_reported_as_a_model_line(scene):
    result = execute_code("x = 1\nbpy.ops.mesh.primitive_cube_add(size=2, colour='red')\n")
    assert result["ok"] is False and result["restored"] is True
    assert "line 2" in result["traceback"] and "colour" in result["error"]


@pytest.mark.parametrize("code", ["", "   \n\t\n"])
def test_empty_code_is_refused_with_a_clear_message(scene, code):
    result = execute_code(code)
    assert result["ok"] is False and result["error"].startswith("Empty code")


def test_checker_refusal_runs_nothing(scene):
    before = counts()
    seen = []

    def checker(code):
        seen.append(code)
        return "imports of os are not allowed" if "import os" in code else None

    refused = execute_code("import os\nbpy.ops.mesh.primitive_cube_add()", checker=checker)
    assert refused["ok"] is False and refused["error"] == "Refused: imports of os are not allowed"
    assert counts() == before
    allowed = execute_code("bpy.ops.mesh.primitive_cube_add()", checker=checker)
    assert allowed["ok"] and allowed["changes"]["created"]["objects"] == ["Cube"]
    assert len(seen) == 2


def test_off_main_thread_call_is_refused(scene):
    results = []
    worker = threading.Thread(target=lambda: results.append(execute_code("x = 1")))
    worker.start()
    worker.join()
    assert results[0]["ok"] is False and "main thread" in results[0]["error"]


def test_checkpoint_file_is_removed_after_each_call(scene, monkeypatch):
    made = []
    real = execute.snapshot.checkpoint

    def spy(*args, **kwargs):
        handle = real(*args, **kwargs)
        made.append(handle.path)
        return handle

    monkeypatch.setattr(execute.snapshot, "checkpoint", spy)
    execute_code("x = 1")
    execute_code("raise ValueError('x')")
    assert len(made) == 2 and not any(p.exists() for p in made)


EDIT_MODE_SUBDIVIDE = (
    "obj = bpy.data.objects['Floor']\n"
    "bpy.context.view_layer.objects.active = obj\n"
    "bpy.ops.object.mode_set(mode='EDIT')\n"
    "bm = bmesh.from_edit_mesh(obj.data)\n"
    "bmesh.ops.subdivide_edges(bm, edges=bm.edges, cuts=2)\n"
    "bmesh.update_edit_mesh(obj.data)\n"
)


def test_code_left_in_edit_mode_is_switched_back_and_its_edits_count(scene):
    result = execute_code(EDIT_MODE_SUBDIVIDE)
    assert result["ok"], result
    assert bpy.context.mode == "OBJECT"
    assert "switched back to Object Mode" in result["stdout"]
    assert len(bpy.data.objects["Floor"].data.vertices) > 8
    assert result["changes"]["changed"]["objects"] == ["Floor"]


def test_error_raised_in_edit_mode_restores_the_mesh(scene):
    expected, expected_counts = describe(scene), counts()
    result = execute_code(EDIT_MODE_SUBDIVIDE + "raise ValueError('boom in edit mode')\n")
    assert result["restored"] is True and result["error"].startswith("ValueError: boom")
    assert bpy.context.mode == "OBJECT"
    assert describe(scene) == expected and counts() == expected_counts


def test_checker_that_crashes_refuses(scene):
    def broken(_code):
        raise RuntimeError("policy bug")

    result = execute_code("bpy.ops.mesh.primitive_cube_add()", checker=broken)
    assert result["ok"] is False and result["error"].startswith("Refused: the safety check")
    assert "policy bug" in result["error"] and "Cube" not in bpy.data.objects


def test_runaway_recursion_gives_a_short_traceback(scene):
    result = execute_code("def dig(n):\n    return dig(n + 1)\ndig(0)\n")
    assert result["restored"] is True and result["error"].startswith("RecursionError")
    tb = result["traceback"]
    assert "more frames of your code" in tb and len(tb.splitlines()) < 40
    assert "return dig(n + 1)" in tb
    assert "more calls" in result["text"] and len(result["text"]) < 2000


def test_caller_checkpoint_is_used_and_kept(scene, monkeypatch):
    expected = describe(scene)
    handle = execute.snapshot.checkpoint()
    written = []
    monkeypatch.setattr(execute.snapshot, "checkpoint", lambda *a, **k: written.append(1))
    result = execute_code(
        "bpy.data.objects['Table'].scale.x = 3\nraise ValueError('late')", saved=handle
    )
    assert result["restored"] is True and written == []
    assert describe(scene) == expected
    assert handle.path.is_file()  # still the caller's to roll back to or discard
    handle.discard()


def test_syntax_error_is_reported_before_the_checker_runs(scene):
    seen = []
    result = execute_code("x = = 1", checker=lambda code: seen.append(code) or "no")
    assert result["error"].startswith("SyntaxError:") and seen == []


# ----------------------------------------------------------------------------- world / render
WORLD_AND_EXPOSURE = (
    "bg = bpy.data.worlds['Studio'].node_tree.nodes['Background']\n"
    "bg.inputs['Color'].default_value = (0.9, 0.5, 0.1, 1.0)\n"
    "bpy.context.scene.view_settings.exposure = 1.5\n"
)


def test_world_colour_and_exposure_are_in_the_change_report(scene):
    result = execute_code(WORLD_AND_EXPOSURE)
    assert result["ok"], result
    changes = result["changes"]
    assert changes["changed"]["world"] == ["Studio"]
    assert changes["changed"]["render"] == ["view_settings.exposure"]
    for kind in ("created", "changed", "removed"):
        assert _all_names(changes, kind) == {"objects": [], "materials": [], "lights": []}
    assert changes["created"]["world"] == [] and changes["removed"]["render"] == []


def test_camera_world_and_render_keys_name_what_changed(scene):
    result = execute_code(
        "bpy.data.cameras['Camera'].lens = 85\n"
        "bpy.context.scene.render.resolution_x = 64\n"
        "bpy.context.scene.frame_end = 99\n"
        "bpy.context.scene.world = bpy.data.worlds.new('Night')\n"
    )
    assert result["ok"], result
    changes = result["changes"]
    assert changes["changed"]["camera"] == ["Camera"]
    assert changes["changed"]["render"] == ["frame_end", "render.resolution_x"]
    assert changes["created"]["world"] == ["Night"]
    assert changes["changed"]["world"] == ["Studio"]  # no longer the scene's world


def test_one_capture_before_and_one_after_each_call(scene, monkeypatch):
    taken = []
    real = execute.fingerprint.capture

    def counting(*args, **kwargs):
        taken.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(execute.fingerprint, "capture", counting)
    assert execute_code("bpy.data.objects['Table'].location.x = 1", scope=["transforms"])["ok"]
    assert len(taken) == 2
    taken.clear()
    refused = execute_code(WORLD_AND_EXPOSURE, scope=["transforms"])
    assert refused["out_of_scope"] and refused["restored"]
    assert len(taken) == 3  # and one after the rollback, for the report of what is left
