"""The settle check inside a reconstruction: the composition stage's check_physics tool (in the
render process, frames 0 and 48 as a strip the model sees), its result in the attempt's
metrics, metrics.json and the report, and the final scene's check that ends every run
(physics.json, run.json, metrics.json, the done message). Real bpy, the scripted provider."""

import copy
import json

import bpy
import pytest
from pipeline_helpers import TINY, demo_script

from viga_addon.agent.session import Session
from viga_addon.agent.worker import ModelWorker
from viga_addon.demo import tabletop
from viga_addon.tools.host import BlenderHost

# the demo's layout, with the ball (radius 0.6 after geometry) 20 cm above the ground
FLOATING = tabletop._COMPOSITION.replace("(-1.2, 0.4, 0.6)", "(-1.2, 0.4, 0.8)")


def _call(name, **arguments):
    return {"name": name, "arguments": arguments}


def _turn(*calls):
    return {"text": "", "tool_calls": list(calls)}


def floating_script():
    script = demo_script()
    assert FLOATING != tabletop._COMPOSITION
    script["composition"] = {
        "generator": [
            [
                _turn(_call("execute_code", code=FLOATING)),
                _turn(_call("check_physics")),
                _turn(_call("end_round", summary="layout; the ball still floats")),
            ]
        ],
        "verifier": [
            [
                _turn(_call("check_physics")),
                _turn(
                    _call(
                        "submit_verdict",
                        analysis="Layout matches; check_physics says red_ball floats.",
                        approved=True,
                        checklist=[],
                        best_attempt=1,
                    )
                ),
            ]
        ],
    }
    return script


@pytest.fixture(scope="module")
def floating_run(tmp_path_factory):
    """The demo with a floating ball, its renders and checks in the render process."""
    tmp = tmp_path_factory.mktemp("physics_run")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    worker = ModelWorker("scripted", opts={"script": copy.deepcopy(floating_script())})
    host = BlenderHost(render_device="cpu", preview_size=64, preview_samples=4, render_process=True)
    session = Session.create(tabletop.PHOTO, tmp / "runs", host, worker, dict(TINY))
    try:
        status = session.run_to_end()
    finally:
        host.close()
        worker.close()
    assert status == "done", session.state.message
    assert not host.warnings, host.warnings  # everything ran in the render process
    return session


def test_the_generator_and_the_verifier_see_the_check(floating_run):
    rdir = floating_run.run_dir / "stages" / "composition" / "round_1"
    for k in (1, 2):  # the generator's check, then the verifier's
        check = json.loads((rdir / f"physics_{k}" / "check.json").read_text())
        assert check["ready"] is False and check["stable"] == 2 and check["active"] == 3
        assert check["summary"] == "stable 2/3 · red_ball floats 20.0 cm"
        ball = check["objects"]["red_ball"]
        assert ball["verdict"] == "floats" and 19.0 < ball["moved_cm"] < 21.0
        assert check["objects"]["ground"] == {"role": "passive", "verdict": "support"}
        for frame in ("frame_000.png", "frame_048.png", "frames.png"):
            assert (rdir / f"physics_{k}" / frame).is_file(), frame
    messages = json.loads((rdir / "messages.json").read_text())["generator"]["messages"]
    results = [
        part
        for m in messages
        for part in m["content"]
        if part.get("type") == "tool_result" and "physics-ready" in json.dumps(part)
    ]
    assert results, "the generator never got the check's result"
    said = json.dumps(results[0])
    assert "red_ball: floats (moved 20" in said and "frames.png" in said


def test_the_frames_show_the_ball_fall(floating_run):
    import numpy as np
    from PIL import Image

    rdir = floating_run.run_dir / "stages" / "composition" / "round_1" / "physics_1"
    first, last = (
        np.asarray(Image.open(rdir / name).convert("RGB"), dtype=float)
        for name in ("frame_000.png", "frame_048.png")
    )
    assert first.shape == last.shape

    def ball_row(image):  # the mean image row of the red ball's pixels (rows grow downwards)
        red = (image[..., 0] > image[..., 1] + 40) & (image[..., 0] > image[..., 2] + 40)
        assert red.sum() >= 4
        return np.nonzero(red)[0].mean()

    assert ball_row(last) > ball_row(first) + 0.5  # it fell between frame 0 and 48
    with Image.open(rdir / "frames.png") as strip:
        assert strip.width > 2 * first.shape[1]  # both frames side by side


def test_the_check_is_in_the_metrics_and_the_report(floating_run):
    d = floating_run.run_dir
    attempt = floating_run.state.stages["composition"].attempts[0]
    assert attempt.metrics["physics"]["summary"] == "stable 2/3 · red_ball floats 20.0 cm"
    assert "psnr" in attempt.metrics
    metrics = json.loads((d / "metrics.json").read_text())
    kept = metrics["stages"]["composition"]["metrics"][0]["physics"]
    assert kept["ready"] is False and kept["objects"]["red_ball"]["verdict"] == "floats"
    report = (d / "report.html").read_text()
    assert "physics: stable 2/3 · red_ball floats 20.0 cm" in report
    assert "settle check, frames 0 and 48" in report


def test_the_final_scene_is_checked_and_says_it_is_not_ready(floating_run):
    d = floating_run.run_dir
    physics = json.loads((d / "physics.json").read_text())
    assert physics["ready"] is False
    assert physics["objects"]["red_ball"]["verdict"] == "floats"
    assert physics["objects"]["blue_box"]["verdict"] == "rests"
    run = json.loads((d / "run.json").read_text())["physics"]
    assert run["ready"] is False and run["summary"] == "stable 2/3 · red_ball floats 20.0 cm"
    assert run["check_seconds"] < 2.0
    metrics = json.loads((d / "metrics.json").read_text())
    assert metrics["physics"]["summary"] == run["summary"]
    assert "physics: stable 2/3 · red_ball floats" in floating_run.state.message
    report = (d / "report.html").read_text()
    assert "settle check: not physics-ready (stable 2/3" in report
    # the final scene itself has no rigid bodies: the check ran on a copy
    assert bpy.context.scene.rigidbody_world is None
    assert abs(bpy.data.objects["red_ball"].location.z - 0.8) < 1e-6


def test_the_tool_is_offered_in_composition_only():
    from viga_addon.stages import STAGES

    for stage in STAGES:
        offered = "check_physics" in stage.generator_tools
        assert offered == (stage.name == "composition"), stage.name
        assert ("check_physics" in stage.verifier_tools) == offered, stage.name
    composition = next(s for s in STAGES if s.name == "composition")
    assert composition.generator_tools[-1] == "end_round"
    assert composition.verifier_tools[-1] == "submit_verdict"
    prompt = composition.system_prompt("generator")
    assert "check_physics" in prompt and "floats" in prompt
