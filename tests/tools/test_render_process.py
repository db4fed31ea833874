"""The render process (tools/render/process/): renders outside Blender's main thread, the same
image as in-process, the device passed explicitly, killed at its time limit, restarted after a
crash, an in-process fallback, and a whole scripted run through it. Real bpy, tiny Cycles."""

import os
import sys
import time

import bpy
import numpy as np
import pytest
from PIL import Image

from viga_addon.agent.session import Session
from viga_addon.agent.session.events import StepKind
from viga_addon.agent.worker import ModelWorker
from viga_addon.demo import tabletop
from viga_addon.tools.host import BlenderHost
from viga_addon.tools.render import engine as render_tool
from viga_addon.tools.render.process import client as client_mod
from viga_addon.tools.render.process.client import RenderProcess

TINY = {"long_side": 48, "samples": 2}


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie still answers kill(0): ask /proc where there is one
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def _finish(host, started, timeout=120):
    """Poll a started host call to its result (as the session's steps do)."""
    assert started.get("pending"), started
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        result = host.poll(started["pending"])
        if result is not None:
            return result
        time.sleep(0.01)
    raise AssertionError("the render process did not answer")


def _textured_scene(tmp_path):
    """A plane with a red/blue image texture (an external PNG, absolute path) and a camera."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    tex = np.zeros((8, 8, 3), np.uint8)
    tex[:, :4] = (230, 20, 20)
    tex[:, 4:] = (20, 20, 230)
    tex_path = tmp_path / "texture.png"
    Image.fromarray(tex).save(tex_path)
    bpy.ops.mesh.primitive_plane_add(size=2)
    plane = bpy.context.object
    mat = bpy.data.materials.new("Tex")
    if bpy.app.version < (5, 0):  # always on in 5.x (the property is deprecated there)
        mat.use_nodes = True
    nodes = mat.node_tree.nodes
    image_node = nodes.new("ShaderNodeTexImage")
    image_node.image = bpy.data.images.load(str(tex_path))
    emission = nodes.new("ShaderNodeEmission")
    out = nodes["Material Output"]
    mat.node_tree.links.new(image_node.outputs["Color"], emission.inputs["Color"])
    mat.node_tree.links.new(emission.outputs["Emission"], out.inputs["Surface"])
    plane.data.materials.append(mat)
    bpy.ops.object.camera_add(location=(0, 0, 3))
    bpy.context.scene.camera = bpy.context.object
    bpy.context.scene.render.resolution_x = 64
    bpy.context.scene.render.resolution_y = 64
    return tex_path


@pytest.fixture
def host():
    made = []

    def make(**kw):
        h = BlenderHost(render_device="cpu", render_process=True, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        pid = h.process.pid if h.process else None
        h.close()
        if pid:
            assert not _alive(pid), "the render process outlived host.close()"


@pytest.mark.smoke
def test_image_texture_renders_the_same_through_the_process(tmp_path, host):
    _textured_scene(tmp_path)
    h = host()
    args = {"path": str(tmp_path / "p.png"), **TINY, "device": "cpu"}
    through = _finish(h, h.start("render", args))
    here = h.call("render", {**args, "path": str(tmp_path / "h.png")})
    assert through["ok"] and here["ok"], (through, here)
    a = np.asarray(Image.open(through["path"]).convert("RGB"), float)
    b = np.asarray(Image.open(here["path"]).convert("RGB"), float)
    assert a.shape == b.shape
    assert np.abs(a - b).mean() < 2.0
    # the texture resolved in the process: red on one half, blue on the other
    left, right = a[:, : a.shape[1] // 3], a[:, -a.shape[1] // 3 :]
    assert left[..., 0].mean() > left[..., 2].mean() + 50
    assert right[..., 2].mean() > right[..., 0].mean() + 50
    assert h.last_job["load_seconds"] is not None and h.last_job["write_seconds"] > 0


def test_device_is_passed_explicitly(tmp_path, host, monkeypatch):
    _textured_scene(tmp_path)
    h = host()
    sent = []
    real_submit = h.process.submit
    monkeypatch.setattr(
        h.process, "submit", lambda job, limit=None: sent.append(job) or real_submit(job, limit)
    )
    result = _finish(
        h, h.start("render", {"path": str(tmp_path / "a.png"), **TINY, "device": "auto"})
    )
    assert sent[0]["device"] == render_tool.choose_device("auto")
    assert (
        result["ok"]
        and result["backend"]
        == h.call("render", {"path": str(tmp_path / "b.png"), **TINY, "device": "auto"})["backend"]
    )
    # a backend the artist's Blender picked is used as given, not picked again in the process
    monkeypatch.setattr(render_tool, "choose_device", lambda device="auto": {"backend": "NOPE"})
    refused = _finish(h, h.start("render", {"path": str(tmp_path / "c.png"), **TINY}))
    assert not refused["ok"] and "NOPE" in refused["error"]


@pytest.mark.smoke
def test_a_crash_fails_the_call_and_the_process_restarts(tmp_path, host, monkeypatch):
    monkeypatch.setenv("VIGA_RENDER_TEST_HOOKS", "1")
    _textured_scene(tmp_path)
    h = host()
    first = _finish(h, h.start("render", {"path": str(tmp_path / "a.png"), **TINY}))
    assert first["ok"]
    pid = h.process.pid
    real_submit = h.process.submit
    monkeypatch.setattr(
        h.process, "submit", lambda job, limit=None: real_submit({**job, "test_crash": True}, limit)
    )
    crashed = _finish(h, h.start("render", {"path": str(tmp_path / "b.png"), **TINY}))
    assert not crashed["ok"]
    assert "stopped unexpectedly" in crashed["error"] and "SIGSEGV" in crashed["error"]
    assert bpy.context.scene.objects.get("Plane") is not None  # this Blender is fine
    monkeypatch.setattr(h.process, "submit", real_submit)
    again = _finish(h, h.start("render", {"path": str(tmp_path / "c.png"), **TINY}))
    assert again["ok"], again
    assert h.process.pid != pid and not _alive(pid)


def test_a_render_past_its_time_limit_is_killed_and_the_model_told(tmp_path, host):
    _textured_scene(tmp_path)
    h = host(render_timeout=0.05)
    pid_ready = _finish(h, h.start("render", {"path": str(tmp_path / "w.png"), **TINY}))
    assert not pid_ready["ok"] and "took over 0.05 s" in pid_ready["error"]
    assert "fewer samples, a smaller size, or a simpler scene" in pid_ready["error"]
    assert not os.path.exists(tmp_path / "w.png")
    h.render_timeout = 120
    ok = _finish(h, h.start("render", {"path": str(tmp_path / "x.png"), **TINY}))
    assert ok["ok"] and h.process.starts == 2


def test_views_render_in_the_process_with_their_poses(tmp_path, host):
    _textured_scene(tmp_path)
    h = host()
    h.viewer.render_options.update(TINY)
    names = [o.name for o in bpy.context.scene.objects]
    result = _finish(
        h, h.start("initialize_viewpoint", {"object_names": [], "out_dir": str(tmp_path)})
    )
    assert result["ok"], result
    assert len(result["images"]) == 4
    assert all(
        os.path.exists(i["path"]) and len(i["camera"]["location"]) == 3 for i in result["images"]
    )
    assert [o.name for o in bpy.context.scene.objects] == names  # no temporary camera here
    moved = _finish(
        h, h.start("investigate", {"operation": "orbit_left", "out_dir": str(tmp_path)})
    )
    assert moved["ok"] and moved["camera"] != result["images"][0]["camera"]


def test_a_process_that_cannot_start_falls_back_to_rendering_here(tmp_path, monkeypatch):
    _textured_scene(tmp_path)
    monkeypatch.setattr(client_mod, "worker_command", lambda binary: [str(tmp_path / "no-blender")])
    h = BlenderHost(render_device="cpu", render_process=True)
    try:
        assert not h.process.usable and "could not start" in h.warnings[0]
        result = h.start("render", {"path": str(tmp_path / "a.png"), **TINY})
        assert result["ok"] and os.path.exists(result["path"])  # rendered here, at once
    finally:
        h.close()
    # a child that dies before it is ready: the first job falls back too
    monkeypatch.setattr(client_mod, "worker_command", lambda binary: [sys.executable, "-c", "pass"])
    h = BlenderHost(render_device="cpu", render_process=True)
    try:
        assert h.process.usable
        result = _finish(h, h.start("render", {"path": str(tmp_path / "b.png"), **TINY}))
        assert result["ok"] and os.path.exists(result["path"])
        assert h.warnings and "exited before it was ready" in h.warnings[0]
        later = h.start("render", {"path": str(tmp_path / "c.png"), **TINY})
        assert later["ok"] and "pending" not in later
    finally:
        h.close()


def test_a_scripted_run_renders_through_the_process_and_steps_wait(tmp_path, host):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    h = host(preview_size=48, preview_samples=2)
    worker = ModelWorker("scripted", opts={"script": tabletop.SCRIPT})
    settings = {
        "preview_size": 48,
        "preview_samples": 2,
        "final_size": 64,
        "final_samples": 4,
        "verify_size": 48,
        "render_device": "cpu",
        "rollouts": 2,
    }
    try:
        session = Session.create(tabletop.PHOTO, tmp_path / "runs", h, worker, settings)
        kinds = []
        while True:
            r = session.step()
            kinds.append((r.kind, r.extra.get("host_call")))
            if r.stops and not r.waiting:
                break
            if r.waiting:
                time.sleep(0.005)
    finally:
        worker.close()
    assert session.status.value == "done", session.state.message
    run = session.run_dir
    assert (run / "final.png").exists() and (run / "final.blend").exists()
    waited = [name for kind, name in kinds if kind is StepKind.WAITING and name]
    assert "render" in waited and "initialize_viewpoint" in waited
    assert h.process.replies >= 10 and h.process.starts == 1
    assert session.state.timing.render > 0
    events = (run / "events.jsonl").read_text()
    assert '"host_call"' not in events  # waiting steps are not logged one by one


def test_process_shut_down_on_close_and_at_exit(tmp_path):
    p = RenderProcess(client_mod.worker_command(bpy.app.binary_path))
    pid = p.pid
    assert _alive(pid)
    client_mod.close_all()
    assert not _alive(pid) and not os.path.exists(p.workdir)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities")
def test_the_process_runs_below_blenders_priority(tmp_path):
    """A render takes every core: below Blender's priority it leaves the artist's window
    responsive (a real window drew at half speed beside renders on 2 cores)."""
    p = RenderProcess(client_mod.worker_command(bpy.app.binary_path))
    try:
        want = min(19, os.getpriority(os.PRIO_PROCESS, 0) + client_mod.RENDER_NICENESS)
        deadline = time.monotonic() + 10  # the first instant belongs to nice itself
        while os.getpriority(os.PRIO_PROCESS, p.pid) != want and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, p.pid) == want
    finally:
        p.close()


def test_refine_searches_in_the_process_and_only_the_best_values_come_back(tmp_path, host):
    from test_refine import build_scene, shoot

    bpy.ops.wm.read_factory_settings(use_empty=True)
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    sun = bpy.data.objects["Sun"].data
    sun.energy = 9.0
    h = host()
    started = h.start(
        "refine_parameters",
        {
            "targets": ["light:Sun.energy"],
            "budget": 8,
            "photo": photo,
            "out_dir": str(tmp_path / "r"),
        },
    )
    assert sun.energy == 9.0  # the search runs on the process's own copy
    result = _finish(h, started)
    assert result["ok"] and result["improved"], result
    assert abs(sun.energy - 3.0) / 3.0 < 0.15  # the best value, applied here
    assert "Refined 1 parameter" in result["text"]
    assert h.call("revert_last", {})["ok"]
    assert bpy.data.objects["Sun"].data.energy == 9.0


def test_the_panel_says_when_renders_fall_back_to_blender(addon, tmp_path, monkeypatch):
    from ui_support import draw_all, pump_until, start_modal_run, use_demo

    from viga_addon.ui import live as rt

    monkeypatch.setattr(client_mod, "worker_command", lambda binary: [str(tmp_path / "none")])
    use_demo()
    op, ctx, _ = start_modal_run()
    pump_until(op, ctx, stop=lambda live: live.session.stage_state.attempts)
    live = rt.any_live_run()
    assert live.session.warnings and "rendering inside Blender" in live.session.warnings[0]
    shown = " ".join(draw_all().texts().split())  # the warning is wrapped into lines
    assert "render process could not start" in shown and "rendering inside Blender" in shown
    assert live.session.status.value == "running"  # the run goes on


@pytest.fixture
def process():
    p = RenderProcess(client_mod.worker_command(bpy.app.binary_path))
    yield p
    pid = p.pid
    p.close()
    assert not _alive(pid)


def _refine_request(tmp_path, process, budget, **extra):
    """A refine job of the sun's energy (three times too bright) in test_refine's scene."""
    from test_refine import build_scene, shoot

    bpy.ops.wm.read_factory_settings(use_empty=True)
    build_scene()
    photo = shoot(tmp_path / "photo.png")
    bpy.data.objects["Sun"].data.energy = 9.0
    blend = process.job_path("refine")
    bpy.ops.wm.save_as_mainfile(filepath=blend, copy=True, check_existing=False)
    args = {"targets": ["light:Sun.energy"], "budget": budget, "photo": photo, "device": "cpu"}
    return {
        "kind": "refine",
        "refine": args,
        "device": render_tool.choose_device("cpu"),
        "blend": blend,
        **extra,
    }


def test_a_refine_job_sends_progress_lines_before_its_reply(tmp_path, process):
    process.submit(_refine_request(tmp_path, process, 6))
    seen, reply = [], None
    end = time.monotonic() + 120
    while reply is None and time.monotonic() < end:
        reply = process.poll()
        if process.progress is not None and (not seen or process.progress is not seen[-1]):
            seen.append(process.progress)
        time.sleep(0.005)
    assert reply is not None and reply["ok"], reply
    assert "progress" not in reply and process.replies == 1  # progress lines are not replies
    renders = [info["renders"] for info in seen]
    assert len(seen) >= 2 and renders == sorted(set(renders)), renders
    assert renders[-1] == reply["result"]["renders"] <= 6
    for info in seen:
        assert info["budget"] == 6 and isinstance(info["phase"], str)
        assert isinstance(info["loss"], float) and info["best_loss"] <= info["loss"] + 1e-12
    assert reply["values"]["light:Sun.energy"][0] < 9.0
    # a render job after it: the old protocol, and no progress of its own
    _textured_scene(tmp_path)
    blend = process.job_path("render")
    bpy.ops.wm.save_as_mainfile(filepath=blend, copy=True, check_existing=False)
    view = {"path": str(tmp_path / "r.png"), "render": {**TINY, "device": "cpu"}}
    process.submit({"kind": "render", "views": [view], "blend": blend})
    assert process.progress is None
    rendered = process.wait(120)
    assert rendered["ok"] and rendered["results"][0]["ok"] and process.progress is None


def test_a_stop_file_ends_a_refine_job_early_keeping_its_best(tmp_path, process):
    stop = tmp_path / "stop"
    stop.write_text("")
    process.submit(_refine_request(tmp_path, process, 40, stop_file=str(stop)))
    reply = process.wait(120)
    assert reply["ok"], reply
    assert reply["result"]["stopped"] == "cancelled" and reply["result"]["renders"] == 1
    # a job for another scene than the file opens on is refused, not run on the wrong one
    process.submit(_refine_request(tmp_path, process, 4, scene="Elsewhere"))
    refused = process.wait(120)
    assert not refused["ok"] and "'Elsewhere'" in refused["error"]
