"""Matching an existing scene to a photo, headless: ``reconstruct --scene START.blend`` with the
offline demo's edit script (the scripted provider; no model is called) on a perturbed copy of
the demo scene, through the CLI as a user runs it."""

import hashlib
import json
from pathlib import Path

import bpy
import pytest
from pipeline_helpers import CLI_TINY, run_cli

from viga_addon.agent import selection
from viga_addon.common import metrics
from viga_addon.demo import tabletop_edit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def start_blend(tmp_path_factory):
    path = tabletop_edit.write_start_scene(tmp_path_factory.mktemp("start") / "start.blend")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return path


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _cli(*args, timeout=600):
    return run_cli("reconstruct", "--provider", "scripted", *args, timeout=timeout)


def _objects_of(blend):
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    try:
        return {o.name: tuple(o.location) for o in bpy.context.scene.objects}
    finally:
        bpy.ops.wm.read_factory_settings(use_empty=True)


def test_edit_run_brings_the_perturbed_scene_back_and_never_writes_it(start_blend, tmp_path):
    before = _digest(start_blend)
    r = _cli("--scene", str(start_blend), "--out", str(tmp_path), *CLI_TINY)
    assert r.returncode == 0, r.stderr[-2000:]
    run = Path(r.stdout.strip().splitlines()[-1])
    assert _digest(start_blend) == before  # START.blend is only read
    assert (run / "start_scene.blend").exists()
    info = json.loads((run / "run.json").read_text())
    assert info["start_scene"]["source"] == str(start_blend)
    assert [s["name"] for s in info["stages"]] == list(tabletop_edit.SCRIPT)  # no init
    state = json.loads((run / "state.json").read_text())
    assert sorted(state["edit"]["originals"]) == sorted(tabletop_edit.OBJECTS)
    graph = state["scene_graph"]
    assert selection.validate_scene_graph(graph) is None
    box = next(n for n in graph["objects"] if n["name"] == "blue_box")
    assert box["materials"] == ["blue_paint"] and box["bbox"]["max"][2] == pytest.approx(1.5)
    final = _objects_of(run / "final.blend")
    assert sorted(final) == sorted(tabletop_edit.OBJECTS)
    assert final["blue_box"] == pytest.approx((0.9, 0.8, 0.75))  # composition put it back
    assert (run / "scene.py").exists() and (run / "report.html").exists()
    start = metrics.compare(
        str(run / "stages/geometry/round_1/before.png"), str(run / "reference.png")
    )
    end = json.loads((run / "metrics.json").read_text())["final"]
    assert end["psnr"] > start["psnr"] + 10, (start, end)


def test_edit_run_resumes_and_keeps_its_start_scene(start_blend, tmp_path):
    args = ("--scene", str(start_blend), "--out", str(tmp_path), "--stages", "material,lighting")
    r = _cli(*args, "--stop-after", "material", *CLI_TINY)
    assert r.returncode == 0, r.stderr[-2000:]
    run = Path(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else None
    run = run or next(tmp_path.iterdir())
    assert json.loads((run / "state.json").read_text())["status"] == "paused"
    r = _cli("--resume", str(run), *CLI_TINY)
    assert r.returncode == 0, r.stderr[-2000:]
    state = json.loads((run / "state.json").read_text())
    assert state["status"] == "done" and state["edit"]["source"] == str(start_blend)
    assert sorted(_objects_of(run / "final.blend")) == sorted(tabletop_edit.OBJECTS)


def test_a_locked_run_changes_only_the_open_objects(start_blend, tmp_path):
    r = _cli(
        "--scene",
        str(start_blend),
        "--out",
        str(tmp_path),
        "--stages",
        "composition",
        "--lock-to-objects",
        "red_ball",
        *CLI_TINY,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    run = Path(r.stdout.strip().splitlines()[-1])
    start, final = _objects_of(start_blend), _objects_of(run / "final.blend")
    assert final["blue_box"] == pytest.approx(start["blue_box"])  # locked: rolled back
    messages = (run / "stages/composition/round_1/messages.json").read_text()
    assert "Locked, leave as they are: blue_box" in messages


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--stages", "init,material"), "no init stage"),
        (("--lock-to-collection", "nowhere"), None),
    ],
)
def test_bad_edit_options(start_blend, tmp_path, args, says):
    r = _cli("--scene", str(start_blend), "--out", str(tmp_path), *args, *CLI_TINY)
    if says:
        assert r.returncode == 2 and says in r.stderr
    else:  # the collection is only known once the scene is open: the run fails, saying why
        assert r.returncode == 1 and "no collection named 'nowhere'" in r.stderr


def test_edit_options_need_a_scene(tmp_path):
    r = _cli("--lock-to-objects", "a", "--out", str(tmp_path), *CLI_TINY)
    assert r.returncode == 2 and "go with --scene" in r.stderr
    r = _cli("--scene", str(tmp_path / "missing.blend"), "--out", str(tmp_path), *CLI_TINY)
    assert r.returncode == 2 and "is not a .blend file" in r.stderr
