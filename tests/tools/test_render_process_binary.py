"""The render process started the way it is inside Blender: ``bpy.app.binary_path -b
--factory-startup --python worker.py``, not ``sys.executable`` as with the bpy module.

No Blender binary exists here (the bpy module's ``binary_path`` is empty), so a stand-in
executable takes its place: it records the command line and environment it was given, prints a
banner on stdout as Blender does, and runs the script with this interpreter, dropping the bpy
module's own script folders from PYTHONPATH (inside Blender those are its own; here they would
shadow the bpy wheel). What is tested is ours: the command, the environment that lets the
factory-startup process import the add-on and its wheels, and the protocol amid Blender's own
output. Real bpy, a tiny Cycles render."""

import json
import os
import stat
import sys
import time

import bpy
import numpy as np
from PIL import Image

from viga_addon.tools.host import BlenderHost
from viga_addon.tools.render.process import client as client_mod

FAKE_BLENDER = '''#!{python}
"""A stand-in for Blender's binary (tests/test_render_process_binary.py)."""
import json, os, sys
args = sys.argv[1:]
with open({record!r}, "a", encoding="utf-8") as f:
    f.write(json.dumps({{"argv": args, "pythonpath": os.environ.get("PYTHONPATH", "")}}) + "\\n")
if args[:3] != ["-b", "--factory-startup", "--python"] or len(args) != 4:
    sys.exit("unexpected command line: %r" % args)
print("Blender 9.9 (stand-in) started in the background", flush=True)
bundled = {bundled!r}
paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if not p.startswith(bundled))
os.execv(sys.executable, [sys.executable, args[3]])
'''


def _fake_blender(tmp_path):
    record = tmp_path / "blender_calls.jsonl"
    binary = tmp_path / "blender"
    bundled = os.path.join(os.path.dirname(bpy.__file__), bpy.app.version_string.rsplit(".", 1)[0])
    binary.write_text(
        FAKE_BLENDER.format(python=sys.executable, record=str(record), bundled=bundled)
    )
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary, record


def _scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_plane_add(size=2)
    mat = bpy.data.materials.new("Red")
    mat.diffuse_color = (0.9, 0.05, 0.05, 1.0)
    if bpy.app.version < (5, 0):
        mat.use_nodes = True
    mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.9, 0.05, 0.05, 1)
    bpy.context.object.data.materials.append(mat)
    bpy.ops.object.light_add(type="SUN", location=(0, 0, 4))
    bpy.ops.object.camera_add(location=(0, 0, 3))
    bpy.context.scene.camera = bpy.context.object


def test_renders_through_blender_binary_command(tmp_path, monkeypatch):
    binary, record = _fake_blender(tmp_path)
    real = client_mod.worker_command
    assert real("") == [sys.executable, client_mod.WORKER_SCRIPT]  # the bpy module's way
    monkeypatch.setattr(client_mod, "worker_command", lambda _path: real(str(binary)))
    _scene()
    host = BlenderHost(render_device="cpu", render_process=True)
    try:
        assert host.process.usable and not host.warnings, host.warnings
        started = host.start(
            "render", {"path": str(tmp_path / "r.png"), "long_side": 32, "samples": 2}
        )
        assert started.get("pending"), started
        end = time.monotonic() + 120
        result = None
        while result is None and time.monotonic() < end:
            result = host.poll(started["pending"])
            time.sleep(0.01)
        assert result and result["ok"], (result, host.process.log_tail())
        pixels = np.asarray(Image.open(result["path"]).convert("RGB"), float)
        assert pixels[..., 0].mean() > pixels[..., 2].mean() + 20  # the red plane, lit
        assert host.process.starts == 1
    finally:
        host.close()
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(calls) == 1
    assert calls[0]["argv"] == ["-b", "--factory-startup", "--python", client_mod.WORKER_SCRIPT]
    # a factory-startup Blender adds none of the artist's paths: they are passed on
    passed = calls[0]["pythonpath"].split(os.pathsep)
    assert any(os.path.isdir(os.path.join(p, "numpy")) for p in passed)
