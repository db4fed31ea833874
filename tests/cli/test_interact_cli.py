"""``interact`` and ``reconstruct --interaction`` as a user runs them (child processes, the
scripted provider, tiny Cycles renders): the demo's can ends knocked over in final.blend, read
back by a fresh process; the run folder holds the frames, the preview and a scene.py that
rebuilds the event; a bake past its limit is stopped and reported."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from pipeline_helpers import CLI_TINY, ROOT, cli_env, run_cli

from viga_addon.demo import tabletop, tabletop_edit
from viga_addon.demo.tabletop_interact import PROMPT

FRAMES = "30"

# a fresh Blender reads the baked cache at the last frame, jumping straight to it
READ_LAST_FRAME = """
import json, math, sys
import bpy
from mathutils import Vector
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
scene = bpy.context.scene
cache = scene.rigidbody_world.point_cache
scene.frame_set(scene.frame_end)
can = bpy.data.objects["yellow_can"]
up = can.matrix_world.to_3x3() @ Vector((0, 0, 1))
print(json.dumps({"baked": cache.is_baked, "end": scene.frame_end, "cache_end": cache.frame_end,
                  "tilt": math.degrees(up.angle(Vector((0, 0, 1))))}))
"""


def _last_frame(blend: Path) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", READ_LAST_FRAME, str(blend)],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _run_folder(r) -> Path:
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(r.stdout.strip().splitlines()) == 1, r.stdout  # the run folder alone
    return Path(r.stdout.strip())


def _check_outputs(run: Path, frames: int) -> None:
    last = _last_frame(run / "final.blend")
    assert last["baked"] and last["end"] == last["cache_end"] == frames
    assert last["tilt"] > 45, last  # knocked over at the last frame of the baked cache
    pngs = sorted((run / "frames").glob("frame_*.png"))
    assert len(pngs) == frames
    with Image.open(run / "preview.gif") as gif:
        assert gif.n_frames == frames
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["interaction"]["ok"] and metrics["interaction"]["bake"]["baked"]
    can = metrics["interaction"]["trajectories"]["yellow_can"]
    assert can["tilt_deg"] > 45 and can["moved_m"] > 0.2
    program = (run / "scene.py").read_text()
    for call in ("add_rigid_world(", "add_rigid_body('yellow_can'", "rigid_body.kinematic"):
        assert call in program
    report = (run / "report.html").read_text()
    assert "frames/frame_0001.png" in report and "preview.gif" in report
    sheet = run / "stages" / "interaction" / "round_1" / "render.png"
    assert sheet.exists() and (sheet.parent / "trajectories.json").exists()


def test_reconstruct_with_an_interaction_knocks_the_can_over(tmp_path):
    r = run_cli(
        "reconstruct",
        str(tabletop.PHOTO),
        "--provider",
        "scripted",
        "--rollouts",
        "2",
        "--interaction",
        PROMPT,
        "--frames",
        FRAMES,
        "--out",
        str(tmp_path / "runs"),
        *CLI_TINY,
        timeout=900,
    )
    run = _run_folder(r)
    state = json.loads((run / "state.json").read_text())
    assert state["stage_order"][-1] == "interaction" and state["status"] == "done"
    _check_outputs(run, int(FRAMES))


@pytest.fixture(scope="module")
def demo_scene(tmp_path_factory):
    path = tmp_path_factory.mktemp("scene") / "tabletop.blend"
    tabletop_edit.write_start_scene(path, perturb=False)
    return path


def test_interact_on_a_saved_scene_leaves_it_alone(demo_scene, tmp_path):
    before = hashlib.sha256(demo_scene.read_bytes()).hexdigest()
    r = run_cli(
        "interact",
        str(demo_scene),
        "--provider",
        "scripted",
        "--prompt",
        PROMPT,
        "--frames",
        FRAMES,
        "--budget",
        "1",
        "--out",
        str(tmp_path / "runs"),
        *CLI_TINY,
        timeout=600,
    )
    run = _run_folder(r)
    assert hashlib.sha256(demo_scene.read_bytes()).hexdigest() == before
    state = json.loads((run / "state.json").read_text())
    assert state["stage_order"] == ["interaction"]
    assert state["settings"]["interaction"] == PROMPT
    _check_outputs(run, int(FRAMES))


def test_a_bake_past_its_limit_is_stopped_and_reported(demo_scene, tmp_path):
    r = run_cli(
        "interact",
        str(demo_scene),
        "--provider",
        "scripted",
        "--prompt",
        PROMPT,
        "--budget",
        "1",
        "--bake-timeout",
        "0.2",
        "--out",
        str(tmp_path / "runs"),
        *CLI_TINY,
        timeout=600,
    )
    assert r.returncode == 1, r.stderr[-2000:]
    assert "the bake took over 0.2 s and was stopped" in r.stderr
    run = Path(r.stderr.split("run folder: ")[-1].strip().splitlines()[0])
    trajectories = json.loads(
        (run / "stages" / "interaction" / "round_1" / "trajectories.json").read_text()
    )
    assert "stopped" in trajectories["error"]
    assert not (run / "final.blend").exists()


def test_interact_refuses_bad_input(tmp_path):
    r = run_cli(
        "interact", str(tmp_path / "none.blend"), "--prompt", PROMPT, "--provider", "scripted"
    )
    assert r.returncode == 2 and "not a .blend file" in r.stderr
    r = run_cli("interact", str(tmp_path / "x.blend"), "--prompt", PROMPT, "--frames", "5000")
    assert r.returncode == 2
