"""The policy for model code, against real bpy: every hostile snippet is refused or contained,
with proof that nothing happened; legit scene code still runs; each layer holds on its own."""

import json
import os
import re
import socket
import sys
import threading
import time

import bpy
import pytest
from hostile_snippets import CATEGORIES, SNIPPETS

from viga_addon.demo import tabletop
from viga_addon.tools.code import execute, policy
from viga_addon.tools.code.execute import execute_code
from viga_addon.tools.host import BlenderHost
from viga_addon.tools.scene import fingerprint

SECRET = "CANARY-7f3e-user-private-data"
TIMEOUT = 1.0


@pytest.fixture
def demo_scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = execute_code(tabletop.TRUTH)
    assert result["ok"], result
    # the artist's other work in the same file: a second scene with its own object and material
    here = bpy.context.scene
    other = bpy.data.scenes.new("artist_other_scene")
    statue = bpy.data.objects.new("artist_statue", bpy.data.meshes.new("statue_mesh"))
    statue.data.materials.append(bpy.data.materials.new("marble"))
    other.collection.objects.link(statue)
    assert bpy.context.scene == here
    yield bpy.context.scene
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture
def listener():
    """A local TCP server that records every connection it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.05)
    accepted = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def _state():
    """Everything a snippet could have changed, for a before/after comparison."""
    app = bpy.app
    handlers = {
        name: len(getattr(app.handlers, name))
        for name in dir(app.handlers)
        if not name.startswith("_") and isinstance(getattr(app.handlers, name), list)
    }
    return {
        "scope": fingerprint.capture(),
        "handlers": handlers,
        "driver_namespace": sorted(app.driver_namespace.keys()),
        "texts": [t.name for t in bpy.data.texts],
        "libraries": [lib.name for lib in bpy.data.libraries],
        "images": [i.name for i in bpy.data.images],
        "autoexec": bpy.context.preferences.filepaths.use_scripts_auto_execute,
        "cwd": os.getcwd(),
        "modules": {"math.sin": id(sys.modules["math"].sin)},
        "other_scenes": {
            s.name: sorted((o.name, tuple(round(v, 4) for v in o.location)) for o in s.objects)
            for s in bpy.data.scenes
            if s != bpy.context.scene
        },
        "planted": [hasattr(bpy.types.Object, "evil"), hasattr(bpy.types.Scene, "evil")],
        "numpy_err": __import__("numpy").geterr(),
        "all_materials": {
            m.name: tuple(round(v, 4) for v in m.diffuse_color) for m in bpy.data.materials
        },
    }


def _fill(code, tmp, canary, port):
    return (
        code.replace("@TMP@", str(tmp))
        .replace("@CANARY@", str(canary))
        .replace("@PORT@", str(port))
    )


def _children():
    mine = str(os.getpid())
    out = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    if handle.read().split(")")[-1].split()[1] == mine:
                        out.add(pid)
            except OSError:
                continue
    return out


def test_corpus_is_big_and_varied():
    assert len(SNIPPETS) >= 40
    assert len({s.name for s in SNIPPETS}) == len(SNIPPETS)
    assert {
        "file",
        "network",
        "process",
        "import",
        "attribute",
        "loop",
        "memory",
        "scope",
        "operator",
        "escape",
        "other_scene",
    } <= set(CATEGORIES)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_hostile_snippet_is_refused_or_contained(snippet, demo_scene, tmp_path, listener):
    port, accepted = listener
    watched = tmp_path / "watched"
    watched.mkdir()
    canary = tmp_path / "canary.txt"
    canary.write_text(SECRET)
    code = _fill(snippet.code, watched, canary, port)
    before = _state()
    children = _children()
    started = time.monotonic()
    result = execute_code(code, timeout=TIMEOUT, scope=snippet.scope)
    elapsed = time.monotonic() - started

    assert result["ok"] is False, result
    if snippet.expect == "refused":
        assert result.get("refused") and result["error"].startswith("Refused:"), result
        assert "not allowed in scene code" in result["error"]
    elif snippet.expect == "timeout":
        assert result.get("timed_out") and result["error"].startswith("Timeout:"), result
        assert result["restored"] is True
        assert elapsed < TIMEOUT + 5
    elif snippet.expect == "scope":
        assert result.get("out_of_scope") and result["restored"] is True, result
        assert "outside what" in result["error"] and "rolled back" in result["error"]
    else:
        assert result["restored"] is True, result
    # proof that nothing happened
    assert _state() == before
    assert list(watched.iterdir()) == []
    assert canary.read_text() == SECRET
    assert SECRET not in json.dumps(result, default=str)
    assert accepted == []
    # what the model reads: the error first, within its limit; advice that fits the refusal
    assert result["text"].startswith(result["error"][:200].rstrip(" …"))
    assert len(result["text"]) <= execute.TEXT_LIMIT
    for problem in re.split(r"; line \d+: ", result["error"]):
        if policy.ADVICE in problem:  # the module advice only where a module was refused
            assert "import" in problem.split(" is not allowed")[0], problem
    time.sleep(0.05)
    assert _children() <= children
    assert execute_code("x = 1")["ok"]  # Blender alive, policy disarmed


def test_refusal_message_says_what_and_why(demo_scene):
    result = execute_code("import os\nprint(os.getcwd())")
    assert result["error"] == (
        "Refused: line 1: import of 'os' is not allowed in scene code (file and process access "
        "are blocked). Use bpy, bmesh, mathutils, math, random and the other allowed modules "
        "only. Nothing was run."
    )


@pytest.mark.smoke
def test_demo_and_typical_scene_code_still_run(tmp_path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert execute_code(tabletop.TRUTH)["ok"]
    typical = """
import math, random, colorsys, itertools, functools, statistics
from collections import namedtuple, defaultdict, Counter
import bmesh
import mathutils
from mathutils import Vector, noise
from bpy.types import Mesh
import numpy as np

random.seed(3)
Part = namedtuple("Part", "name size")
parts = [Part(f"block_{i}", 0.2 + 0.1 * i) for i in range(3)]
for part in parts:
    bpy.ops.mesh.primitive_cube_add(size=part.size, location=(part.size * 3, 0, part.size / 2))
    obj = bpy.context.active_object
    obj.name = part.name
    obj.rotation_euler.z = math.radians(random.uniform(0, 30))
    bev = obj.modifiers.new("bevel", "BEVEL")
    bev.width = 0.02
mesh = bpy.data.meshes.new("tri")
bm = bmesh.new()
verts = [bm.verts.new(v) for v in ((0, 0, 0), (1, 0, 0), (0, 1, 0))]
bm.faces.new(verts)
bm.to_mesh(mesh)
bm.free()
tri = bpy.data.objects.new("tri", mesh)
bpy.context.scene.collection.objects.link(tri)
co = np.zeros(len(mesh.vertices) * 3, dtype=np.float32)
mesh.vertices.foreach_get("co", co)
mesh.vertices.foreach_set("co", (co * 2).astype(np.float32))
mesh.update()
assert isinstance(tri.data, Mesh)
r, g, b = colorsys.hsv_to_rgb(0.1, 0.8, 0.9)
mat = bpy.data.materials.new("tinted")
mat.use_nodes = True
mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (r, g, b, 1)
tri.data.materials.append(mat)
img = bpy.data.images.new("procedural", 8, 8)
tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
tex.image = img
light = bpy.data.lights.new("fill", "AREA")
light.energy = 200
lobj = bpy.data.objects.new("fill", light)
bpy.context.scene.collection.objects.link(lobj)
lobj.location = Vector((2, -2, 3))
bpy.context.scene.render.resolution_x = 640
bpy.context.scene.view_settings.exposure = 0.5
sizes = statistics.mean(p.size for p in parts)
combos = list(itertools.combinations(range(3), 2))
total = functools.reduce(lambda a, b: a + b, range(5))
counts = Counter(o.type for o in bpy.data.objects)
heights = defaultdict(float)
print(len(combos), total, round(sizes, 2), counts["MESH"] > 0, noise.noise(Vector((0.1, 0.2, 0.3))) is not None)
print(getattr(lobj, "name"), hasattr(lobj, "location"), bpy.app.version >= (4, 2, 0))
try:
    bpy.data.objects["missing"]
except KeyError:
    print("handled")
def main():
    return 1
if __name__ == "__main__":
    main()
"""
    result = execute_code(
        typical,
        scope=(
            "objects",
            "meshes",
            "modifiers",
            "materials",
            "transforms",
            "camera",
            "lights",
            "world",
            "render",
        ),
    )
    assert result["ok"], result
    printed = [
        line
        for line in result["stdout"].splitlines()
        if "Warning" not in line and line.startswith(("3", "fill", "handled"))
    ]
    assert printed == ["3 10 0.3 True True", "fill True True", "handled"]
    assert {"block_0", "block_1", "block_2", "tri", "fill"} <= set(bpy.data.objects.keys())
    assert bpy.data.objects["tri"].data.vertices[1].co.x == pytest.approx(2.0)


@pytest.mark.smoke
def test_timeout_is_configurable_and_restores_the_scene(demo_scene):
    before = fingerprint.capture()
    host = BlenderHost(render_device="cpu", code_timeout=0.5)
    started = time.monotonic()
    result = host.call(
        "execute_code",
        {"code": "bpy.data.objects['ground'].location.z = 9\nwhile True:\n    pass\n"},
    )
    assert time.monotonic() - started < 4
    assert result["timed_out"] and "time limit" in result["error"]
    assert "restored" in result["error"] and fingerprint.capture() == before
    fast = host.call("execute_code", {"code": "bpy.data.objects['ground'].location.z = 1"})
    assert fast["ok"], fast


@pytest.mark.smoke
def test_refusal_caught_by_the_code_still_fails_the_call(demo_scene):
    before = fingerprint.capture()
    code = (
        "bpy.data.objects['ground'].location.z = 4\n"
        "try:\n    w = getattr(bpy.ops, 'w' + 'm')\nexcept Exception as e:\n"
        "    print('caught', e)\n"
    )
    result = execute_code(code)
    assert result["ok"] is False and result["refused"] and result["restored"]
    assert "caught bpy.ops.wm is not allowed" in result["stdout"]
    assert fingerprint.capture() == before


# ------------------------------------------------------------------ each layer on its own
_AUDIT_CASES = {
    "open": ("real_open('{canary}').read()", {"real_open": open}),
    "os_system": ("real_os.system('touch {tmp}/spawned')", {"real_os": os}),
    "socket": ("real_socket.create_connection(('127.0.0.1', {port}))", {"real_socket": socket}),
    "listdir": ("real_os.listdir('/')", {"real_os": os}),
    "subprocess": (
        "real_sp.run(['touch', '{tmp}/spawned'])",
        {"real_sp": __import__("subprocess")},
    ),
    "ctypes": ("real_ctypes.CDLL(None)", {"real_ctypes": __import__("ctypes")}),
    "exec": ("real_exec('import os')", {"real_exec": exec}),
    "new_import": ("real_import('xml.dom.minidom')", {"real_import": __import__}),
}


@pytest.mark.smoke
@pytest.mark.parametrize("case", sorted(_AUDIT_CASES))
def test_audit_hook_blocks_what_slips_past_the_other_layers(case, tmp_path, listener):
    """Model code handed the real os/open/socket/... (as if a walk found them): the audit hook
    still refuses, and only while a Guard is active."""
    port, accepted = listener
    template, extra = _AUDIT_CASES[case]
    canary = tmp_path / "canary.txt"
    canary.write_text(SECRET)
    code = template.format(canary=canary, tmp=tmp_path, port=port)
    namespace = {**policy.namespace(), **extra}
    compiled = compile(code, policy.CODE_FILENAME, "exec")
    sys.modules.pop("xml.dom.minidom", None)
    with policy.Guard(timeout=2) as guard, pytest.raises(policy.PolicyViolation):
        exec(compiled, namespace)
    assert guard.refusals
    assert not (tmp_path / "spawned").exists() and accepted == []
    assert "xml.dom.minidom" not in sys.modules
    if case == "listdir":  # outside a Guard the hook is a no-op
        assert os.listdir(tmp_path)


@pytest.mark.parametrize(
    "code, error",
    [
        ("__import__('os')", policy.PolicyViolation),
        ("open('/etc/hostname')", policy.PolicyViolation),
        ("import os", policy.PolicyViolation),
        ("import statistics\nstatistics.sys", policy.PolicyViolation),
        ("getattr(bpy.ops, 'wm')", policy.PolicyViolation),
        ("bpy.utils", policy.PolicyViolation),
        ("bpy.app.handlers", policy.PolicyViolation),
        ("getattr(random, '_os')", policy.PolicyViolation),
        ("getattr(bpy.data, 'libraries')", policy.PolicyViolation),
        ("math.pi = 3", policy.PolicyViolation),
        ("BaseException", NameError),
    ],
)
def test_runtime_layer_alone_refuses(code, error):
    """The namespace and builtins refuse even when the AST check is skipped."""
    with policy.Guard(timeout=2), pytest.raises(error):
        exec(compile(code, policy.CODE_FILENAME, "exec"), policy.namespace())


@pytest.mark.smoke
def test_ast_check_alone_refuses_without_running():
    for snippet in SNIPPETS:
        if snippet.expect == "refused" and snippet.name in (
            "open_read",
            "wm_quit",
            "subclasses_walk",
            "power_tower",
        ):
            assert policy.check_code(snippet.code)
    assert policy.check_code("x = [0] * 1000\nfor i in range(100):\n    pass") is None


def test_audit_hook_is_inactive_on_other_threads_and_after_the_guard(tmp_path):
    seen = []
    with policy.Guard(timeout=2):
        worker = threading.Thread(target=lambda: seen.append(os.listdir(tmp_path)))
        worker.start()
        worker.join()
    assert seen == [[]]
    (tmp_path / "after.txt").write_text("fine")


def test_memory_cap_is_lifted_after_the_call(demo_scene):
    import resource

    before = resource.getrlimit(resource.RLIMIT_AS)
    result = execute_code("n = 10\nx = bytearray(n ** 11)")
    assert result["ok"] is False and "MemoryError" in result["error"]
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    big = bytearray(200_000_000)  # the test process itself is not capped any more
    assert len(big) == 200_000_000


# ------------------------------------------------------------------ property-based
try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # the Blender 4.2 venv has no hypothesis: property tests skip there
    st = None

if st is None:

    @pytest.mark.skip(reason="hypothesis is not installed")
    def test_property_tests_need_hypothesis():
        pass
else:
    _FRAGMENTS = [
        "import os",
        "import math",
        "import bpy",
        "from mathutils import Vector",
        "x = 1",
        "bpy.ops.mesh.primitive_cube_add()",
        "bpy.ops.wm.quit_blender()",
        "open('/etc/passwd')",
        "for i in range(3):",
        "    pass",
        "    x += 1",
        "while False: pass",
        "def f():",
        "    return f",
        "print(x)",
        "raise ValueError('x')",
        "try:",
        "except:",
        "finally:",
        "bpy.data.objects.remove(bpy.data.objects[0])",
        "().__class__",
        "getattr(bpy, 'ops')",
        "lambda: 0",
        "x = [0] * 10",
        "'{}'.format(1)",
        "bpy.context.scene.render.fps = 5",
        "bpy.data.materials.new('m')",
        "exit()",
        "yield 1",
        "global x",
        "del x",
        "import sys",
    ]
    _HYPO = settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )

    @_HYPO
    @given(
        st.one_of(
            st.text(max_size=200),
            st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=8).map("\n".join),
        )
    )
    def test_execute_code_survives_any_text(demo_scene, code):
        before = fingerprint.capture()
        result = execute_code(code, timeout=1.0, scope=("materials",))
        assert isinstance(result["ok"], bool)
        assert set(result) >= {
            "ok",
            "stdout",
            "error",
            "traceback",
            "changes",
            "seconds",
            "restored",
        }
        assert len(result["text"]) <= execute.TEXT_LIMIT
        if result["ok"]:
            assert result["error"] is None
            assert result["text"].startswith("OK: the code ran")
        else:
            assert isinstance(result["error"], str) and result["error"]
            assert result["text"].startswith(result["error"][:200].rstrip(" …"))
            assert fingerprint.capture() == before  # refused, failed and restored, or out of scope
        assert bpy.context.scene is not None and execute_code("x = 1")["ok"]

    _names = st.one_of(st.text(max_size=30), st.sampled_from(["ground", "red_ball", "camera", ""]))
    _numbers = st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**6), 10**6)
    )

    @pytest.fixture(scope="module")
    def tiny_viewer_host():
        return BlenderHost(render_device="cpu", preview_size=16, preview_samples=1)

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        tool=st.sampled_from(
            ["initialize_viewpoint", "set_camera", "investigate", "set_visibility"]
        ),
        names=st.lists(_names, max_size=3),
        number=_numbers,
        word=_names,
        vector=st.lists(_numbers, max_size=4),
    )
    def test_viewing_tools_survive_random_names_and_numbers(
        demo_scene, tiny_viewer_host, tmp_path, tool, names, number, word, vector
    ):
        args = {
            "initialize_viewpoint": {"object_names": names, "out_dir": str(tmp_path)},
            "set_camera": {"location": vector, "lens": number, "out_dir": str(tmp_path)},
            "investigate": {
                "operation": word,
                "object_name": names[0] if names else None,
                "amount": number,
                "out_dir": str(tmp_path),
            },
            "set_visibility": {"show": names, "hide": [word]},
        }[tool]
        before = {o.name for o in bpy.data.objects}
        result = tiny_viewer_host.call(tool, args)
        assert isinstance(result.get("ok"), bool)
        if not result["ok"]:
            assert isinstance(result.get("error"), str) and result["error"]
        tiny_viewer_host.call("reset_view", {})
        assert before <= {o.name for o in bpy.data.objects}
