"""Calls that would crash Blender by their size are refused before they run (policy/sizes.py).

The hostile corpus (tests/hostile_snippets.py, category "crash") runs through execute_code in
tests/tools/test_policy.py; here: which layer refuses what, the cap itself, ordinary code unaffected,
and, in a child process, that a refused snippet leaves Blender alive.
"""

import os
import subprocess
import sys
import textwrap

import bpy
import pytest
from hostile_snippets import SNIPPETS

from viga_addon.tools.code import policy
from viga_addon.tools.code.execute import execute_code
from viga_addon.tools.code.policy import sizes

CRASH = [s for s in SNIPPETS if s.category == "crash"]
CAP = policy.MAX_ESTIMATED_FACES


@pytest.fixture
def empty_scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_the_corpus_covers_each_kind_of_call():
    codes = "\n".join(s.code for s in CRASH)
    for call in (
        "primitive_uv_sphere_add",
        "primitive_grid_add",
        "primitive_torus_add",
        "vertices.add",
        "polygons.add",
        "points.add",
        "images.new",
        ".scale(",
        "create_grid",
        "from_pydata",
    ):
        assert call in codes, call


@pytest.mark.parametrize(
    "code, said",
    [
        ("bpy.ops.mesh.primitive_uv_sphere_add(segments=100000, ring_count=100000)", "faces"),
        ("bpy.ops.mesh.primitive_grid_add(x_subdivisions=10**5, y_subdivisions=10**5)", "faces"),
        ("bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=30)", "faces"),
        ("bpy.ops.mesh.primitive_circle_add(vertices=10**8)", "faces"),
        ("me = bpy.data.meshes.new('m')\nme.vertices.add(10**9)", "vertices"),
        ("me = bpy.data.meshes.new('m')\nme.loops.add(count=10**9)", "loops"),
        ("bpy.data.images.new('i', 100000, 100000)", "pixels"),
        (
            "import bmesh\nbmesh.ops.create_uvsphere(None, u_segments=10**5, v_segments=10**5)",
            "faces",
        ),
    ],
)
def test_constant_sizes_are_refused_before_running(code, said):
    message = policy.check_code(code)
    assert message and message.endswith("Nothing was run."), message
    assert f"{CAP:,}" in message and said in message
    assert "crash or freeze Blender" in message
    # what to do instead, fitting the call
    assert any(word in message for word in ("segments", "fewer", "smaller")), message


@pytest.mark.smoke
@pytest.mark.parametrize(
    "snippet", [s for s in CRASH if "computed" in s.name], ids=lambda s: s.name
)
def test_computed_sizes_pass_the_ast_check_and_are_refused_while_running(snippet, empty_scene):
    assert policy.check_code(snippet.code) is None  # only the run-time layer can see these
    result = execute_code(snippet.code)
    assert result["ok"] is False and result.get("refused"), result
    assert f"{CAP:,}" in result["error"]
    assert not bpy.data.meshes and not bpy.data.images


def test_the_cap_is_a_boundary():
    side = int(CAP**0.5)
    fits = {"x_subdivisions": side, "y_subdivisions": CAP // side}
    assert sizes.primitive_refusal("mesh.primitive_grid_add", (), fits) is None
    over = {"x_subdivisions": side, "y_subdivisions": CAP // side + 1}
    assert sizes.primitive_refusal("mesh.primitive_grid_add", (), over)
    assert sizes.count_refusal("MeshVertices", CAP) is None
    assert "vertices" in sizes.count_refusal("MeshVertices", CAP + 1)
    assert sizes.image_refusal(4096, 4096) is None
    assert sizes.image_refusal(CAP, 2)
    # defaults fill what is not given; what is not a number is left to Blender's own error
    assert sizes.primitive_refusal("mesh.primitive_uv_sphere_add", (), {"segments": CAP}) and (
        f"{CAP * 16:,}"
        in sizes.primitive_refusal("mesh.primitive_uv_sphere_add", (), {"segments": CAP})
    )
    assert sizes.primitive_refusal("mesh.primitive_uv_sphere_add", (), {"segments": "x"}) is None
    assert sizes.primitive_refusal("mesh.primitive_cube_add", (), {"size": 1e12}) is None


def test_ordinary_code_with_the_sized_names_still_runs(empty_scene):
    code = textwrap.dedent(
        """
        n = 24
        bpy.ops.mesh.primitive_uv_sphere_add(segments=n, ring_count=n // 2)
        bpy.ops.mesh.primitive_grid_add(x_subdivisions=n, y_subdivisions=n)
        seen = set()
        seen.add(1)
        me = bpy.data.meshes.new('tri')
        me.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
        me2 = bpy.data.meshes.new('pts')
        me2.vertices.add(n)
        img = bpy.data.images.new('tex', 64, 64)
        img.scale(32, 32)
        add = getattr(me2.edges, 'add')
        add(2)
        print(bpy.context.object.scale.x, len(seen), img.size[0])
        """
    )
    result = execute_code(code)
    assert result["ok"], result
    assert "1.0 1 32" in result["stdout"]
    assert len(bpy.data.meshes["pts"].vertices) == 24 and len(bpy.data.meshes["pts"].edges) == 2
    assert len(bpy.data.objects) == 2


CHILD = """
import os
import sys
import bpy
from viga_addon.tools.code.execute import execute_code
bpy.ops.wm.read_factory_settings(use_empty=True)
code = {code!r}
result = execute_code(code)
print("RESULT", result["ok"], bool(result.get("refused")), flush=True)
print("ALIVE", execute_code("bpy.ops.mesh.primitive_cube_add()")["ok"], len(bpy.data.objects))
sys.stdout.flush()
os._exit(0)  # past what is tested: the bpy module's own teardown is not (4.2 may crash in it)
"""


@pytest.mark.parametrize("name", ["uv_sphere_computed", "loops_add_computed_alias"])
def test_a_refused_snippet_leaves_blender_alive(name):
    """In a child process, so that if the refusal ever breaks, the crash fails this test and
    not the test run."""
    snippet = next(s for s in CRASH if s.name == name)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(code=snippet.code)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "RESULT False True" in done.stdout, done.stdout + done.stderr[-2000:]
    assert "ALIVE True 1" in done.stdout


def test_subdivide_in_edit_mode_is_sized_by_the_mesh_it_cuts(empty_scene):
    code = textwrap.dedent(
        """
        bpy.ops.mesh.primitive_grid_add(x_subdivisions=100, y_subdivisions=100)
        bpy.ops.object.mode_set(mode='EDIT')
        bpy.ops.mesh.select_all(action='SELECT')
        cuts = {cuts}
        bpy.ops.mesh.subdivide(number_cuts=cuts)
        bpy.ops.object.mode_set(mode='OBJECT')
        """
    )
    small = execute_code(code.format(cuts=2))
    assert small["ok"], small
    assert len(bpy.data.objects["Grid"].data.polygons) == 100 * 100 * 9
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = execute_code(code.format(cuts=60))  # 10,000 faces x 61^2: about 37 million
    assert result["ok"] is False and result.get("refused"), result
    assert "number_cuts=60" in result["error"] and f"{CAP:,}" in result["error"]
    assert bpy.context.mode == "OBJECT" and not bpy.data.objects
