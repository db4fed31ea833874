"""A full six-stage run through the real anthropic and openai SDKs, talking to a local fake server
that speaks each wire format. The fake server plays the demo's replies in the order the session
asks for them; the session, worker process, SDKs, images and tool calls are all real."""

import base64
import json

import pytest
from fake_model_server import fake_server
from pipeline_helpers import demo_script, flatten_script, new_session

from viga_addon.agent.worker import ModelWorker
from viga_addon.stages import STAGE_NAMES

MARKER_KEY = "sk-test-MARKER-a1b2c3d4e5f6g7h8"


def _run(tmp_path, provider, server_url):
    base_url = server_url if provider == "anthropic" else server_url + "/v1"
    worker = ModelWorker(
        provider,
        model="test-model",
        api_key=MARKER_KEY,
        base_url=base_url,
        opts={"base_delay": 0.01, "max_retries": 2},
    )
    session, worker = new_session(tmp_path, worker=worker, provider=provider)
    try:
        status = session.run_to_end()
    finally:
        worker.close()
    return session, status


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_full_run_through_the_real_sdk(tmp_path, provider):
    replies = flatten_script(demo_script(), STAGE_NAMES)
    with fake_server() as server:
        server.queue(*replies)
        session, status = _run(tmp_path, provider, server.url)
        requests = list(server.requests)
    assert status == "done", session.state.message
    assert len(requests) == len(replies)
    path = "/v1/messages" if provider == "anthropic" else "/v1/chat/completions"
    assert all(r["path"] == path for r in requests)

    first = requests[0]["body"]
    if provider == "anthropic":
        assert first["system"].startswith("Stage: init — Generator")
        tool_names = {t["name"] for t in first["tools"]}
        images = [
            b
            for m in first["messages"]
            for b in m["content"]
            if isinstance(b, dict) and b.get("type") == "image"
        ]
        data = base64.b64decode(images[0]["source"]["data"])
    else:
        assert first["messages"][0]["role"] == "system"
        assert first["messages"][0]["content"].startswith("Stage: init — Generator")
        tool_names = {t["function"]["name"] for t in first["tools"]}
        images = [
            p
            for m in first["messages"]
            if isinstance(m.get("content"), list)
            for p in m["content"]
            if p.get("type") == "image_url"
        ]
        data = base64.b64decode(images[0]["image_url"]["url"].split(",", 1)[1])
    assert {"execute_code", "end_round", "make_plan"} <= tool_names
    assert data[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb", b"\xff\xd8\xff\xee")

    systems = []
    for r in requests:
        body = r["body"]
        systems.append(
            body["system"] if provider == "anthropic" else body["messages"][0]["content"]
        )
    firsts = {s.splitlines()[0] for s in systems}
    for stage in STAGE_NAMES:
        assert f"Stage: {stage} — Generator" in firsts and f"Stage: {stage} — Verifier" in firsts

    totals = session.state.totals
    assert totals.requests == len(replies)
    assert totals.input_tokens > 0 and totals.images > 0
    # the key went to the server in the auth header, and nowhere into the run folder
    assert any(MARKER_KEY in v for v in requests[0]["headers"].values())
    for f in session.run_dir.rglob("*"):
        if f.is_file():
            assert b"MARKER" not in f.read_bytes(), f


def test_auth_failure_stops_with_a_clear_message(tmp_path):
    with fake_server() as server:
        server.queue({"fault": "401"})
        session, status = _run(tmp_path, "anthropic", server.url)
    assert status == "failed"
    message = session.state.message
    assert "ANTHROPIC_API_KEY" in message and MARKER_KEY not in message
    state = json.loads((session.run_dir / "state.json").read_text())
    assert state["error_type"] == "AuthError"
