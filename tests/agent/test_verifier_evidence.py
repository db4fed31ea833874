"""The verifier sees what it judges, on the wire (real anthropic / openai SDKs, the fake server):
the photo and the attempt stay in every request of its conversation after viewpoint renders,
the attempt arrives at least 512 px on its long side, beside the photo in one image; from the
second attempt on it sees a labelled sheet of every attempt; the next round builds on the best
attempt, and a pick the metrics disagree with is written down."""

from __future__ import annotations

import base64
import io
import json

import pytest
from fake_model_server import fake_server
from PIL import Image
from pipeline_helpers import demo_script, flatten_script, new_session

from viga_addon.agent.worker import ModelWorker

KEY = "sk-test-evidence-0123456789"


def _images(provider: str, message: dict) -> list[Image.Image]:
    """The images of one wire message, decoded."""
    out = []
    content = message["content"] if isinstance(message["content"], list) else []
    nested = [b for c in content if c.get("type") == "tool_result" for b in c.get("content", [])]
    for block in [*content, *nested]:
        if not isinstance(block, dict):
            continue
        if provider == "anthropic" and block.get("type") == "image":
            data = block["source"]["data"]
        elif provider == "openai" and block.get("type") == "image_url":
            data = block["image_url"]["url"].split(",", 1)[1]
        else:
            continue
        out.append(Image.open(io.BytesIO(base64.b64decode(data))))
    return out


def _first_user(provider: str, body: dict) -> dict:
    messages = [m for m in body["messages"] if m["role"] == "user"]
    return messages[0]


def _system(provider: str, body: dict) -> str:
    if provider == "anthropic":
        system = body.get("system")
        return system if isinstance(system, str) else " ".join(b["text"] for b in system)
    return body["messages"][0]["content"]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_the_verifier_keeps_photo_and_attempt_after_viewpoint_renders(tmp_path, provider):
    replies = flatten_script(demo_script(), ["init"], {"init": 1})
    with fake_server() as server:
        server.queue(*replies)
        base_url = server.url if provider == "anthropic" else server.url + "/v1"
        worker = ModelWorker(provider, model="test-model", api_key=KEY, base_url=base_url)
        session, worker = new_session(
            tmp_path,
            worker=worker,
            provider=provider,
            stages=["init"],
            rollouts=1,
            verify_size=512,
        )
        try:
            assert session.run_to_end() == "done", session.state.message
        finally:
            worker.close()
        bodies = [r["body"] for r in server.requests]
    verifier = [b for b in bodies if _system(provider, b).startswith("Stage: init — Verifier")]
    assert len(verifier) == 2  # initialize_viewpoint (four views), then the verdict
    for body in verifier:
        first = _images(provider, _first_user(provider, body))
        assert len(first) >= 3, "photo, attempt and the side-by-side are pinned"
        attempt = first[1]
        assert max(attempt.size) >= 512
        pair = first[2]
        assert pair.width > 1.8 * pair.height * (attempt.width / attempt.height) * 0.9
    views_sent = sum(len(_images(provider, m)) for m in verifier[1]["messages"][1:])
    assert views_sent >= 1  # the viewpoint renders came back too


def test_the_sheet_of_attempts_the_best_base_and_a_disagreement(tmp_path):
    """Geometry: round 1 is rejected with best_attempt=1, round 2 (rejected) names round 1 best
    although the metrics rank round 2 higher: round 3 builds on round 1, verdict.json of
    round 2 records the disagreement, and the verifier of round 2 saw a sheet of both."""
    script = demo_script()
    rounds = script["geometry"]["verifier"]
    for rnd in rounds:
        rnd[-1]["tool_calls"][0]["arguments"].update(
            approved=False, best_attempt=1, checklist=["not yet"]
        )
    script["geometry"]["generator"].append(script["geometry"]["generator"][-1])
    session, worker = new_session(
        tmp_path,
        script=script,
        stages=["init", "geometry"],
        rollouts=1,
        budgets={"geometry": 3},
    )
    restores = []
    call = session.host.call

    def recording(name, args=None):
        if name == "restore":
            restores.append(args["path"])
        return call(name, args)

    session.host.call = recording
    try:
        assert session.run_to_end() == "done", session.state.message
    finally:
        worker.close()
    # the verifier's viewpoint renders come back with their camera poses, in words
    init = json.loads((session.run_dir / "stages/init/round_1/messages.json").read_text())
    views = init["verifier"]["messages"][2]["content"][0]["content"][0]["text"]
    assert "image 1: camera" in views and "image 4: camera" in views
    geo = session.run_dir / "stages" / "geometry"
    assert (geo / "round_2" / "attempts.png").is_file()
    assert not (geo / "round_1" / "attempts.png").exists()  # one attempt: nothing to pick from
    messages = json.loads((geo / "round_2" / "messages.json").read_text())
    import bpy

    version = ".".join(map(str, bpy.app.version))
    for role in ("generator", "verifier"):  # both are told the Blender that runs the code
        assert f"Blender {version} " in messages[role]["system"], role
    told = json.dumps(messages["generator"]["messages"])
    assert "The verifier's analysis:" in told  # the generator hears why, not only what
    assert "This round starts from the scene of round 1." in told
    first = messages["verifier"]["messages"][0]["content"]
    assert any(p["type"] == "image" and p["path"].endswith("attempts.png") for p in first)
    verdict = json.loads((geo / "round_2" / "verdict.json").read_text())
    attempts = session.state.stages["geometry"].attempts
    psnr = {a.round: a.metrics["psnr"] for a in attempts}
    assert verdict["metrics_best"] == max(psnr, key=psnr.get)
    if verdict["metrics_best"] != 1:
        assert "picked round 1" in verdict["disagreement"]
    events = [e for e in session.store.events() if e.get("kind") == "round_started"]
    assert [e["round"] for e in events if e["stage"] == "geometry"] == [1, 2, 3]
    # rounds 2 and 3 began from round 1's snapshot (the verifier's pick), not round 2's
    geometry_restores = [r for r in restores if "/stages/geometry/round_" in r]
    assert geometry_restores[:2] == [str(geo / "round_1" / "snapshot.blend")] * 2
