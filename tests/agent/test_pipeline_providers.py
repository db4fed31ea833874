"""A full six-stage run through the real anthropic and openai SDKs, talking to a local fake server
that speaks each wire format. The fake server plays the demo's replies in the order the session
asks for them; the session, worker process, SDKs, images and tool calls are all real."""

import base64
import json

import pytest
from fake_model_server import fake_server, system_text
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
        server.cache = True  # usage as the service computes it, cache reads and writes included
        server.queue(*replies)
        session, status = _run(tmp_path, provider, server.url)
        requests = list(server.requests)
        cache_usage = list(server.cache_usage)
    assert status == "done", session.state.message
    assert len(requests) == len(replies)
    path = "/v1/messages" if provider == "anthropic" else "/v1/chat/completions"
    assert all(r["path"] == path for r in requests)

    first = requests[0]["body"]
    if provider == "anthropic":
        assert system_text(first).startswith("Stage: init — Generator")
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
        systems.append(system_text(body))
    firsts = {s.splitlines()[0] for s in systems}
    for stage in STAGE_NAMES:
        assert f"Stage: {stage} — Generator" in firsts and f"Stage: {stage} — Verifier" in firsts

    totals = session.state.totals
    assert totals.requests == len(replies)
    assert totals.images > 0
    # conversations are append-only within a round: most input is read from the cache
    assert totals.cache_read_tokens == sum(u["cache_read_tokens"] for u in cache_usage)
    assert totals.cache_read_tokens > totals.input_tokens + totals.cache_write_tokens
    if provider == "anthropic":
        assert all(u["breakpoints"] >= 3 for u in cache_usage)
        assert totals.cache_write_tokens > 0
    saved = json.loads((session.run_dir / "state.json").read_text())["totals"]
    assert saved["cache_read_tokens"] == totals.cache_read_tokens
    metrics = json.loads((session.run_dir / "metrics.json").read_text())["totals"]
    assert metrics["cache_write_tokens"] == totals.cache_write_tokens
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


# ------------------------------------------------------------------ room to reason, in a run
CUBE = "bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0, 0, 0.5))"


def _geometry_run(tmp_path, provider, server, **settings):
    base_url = server.url if provider == "anthropic" else server.url + "/v1"
    model = "claude-sonnet-4-6" if provider == "anthropic" else "gpt-5"
    worker = ModelWorker(
        provider, model=model, api_key=MARKER_KEY, base_url=base_url, opts={"base_delay": 0.01}
    )
    session, worker = new_session(
        tmp_path,
        worker=worker,
        provider=provider,
        stages=["geometry"],
        budgets={"geometry": 1},
        **settings,
    )
    try:
        status = session.run_to_end()
    finally:
        worker.close()
    return session, status


def _call(name, **arguments):
    return {"name": name, "arguments": arguments}


def _tool_results(body, provider):
    """The text of every tool result in a request body, in order."""
    out = []
    for message in body["messages"]:
        if provider == "openai":
            if message.get("role") == "tool":
                out.append(message["content"])
            continue
        for block in message.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                out.append(" ".join(p.get("text", "") for p in block["content"]))
    return out


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_run_lets_the_model_reason_and_asks_the_verifier_for_its_analysis(tmp_path, provider):
    """Text before a tool call, a text-only reply asked again, execute_code's intent, a
    verdict without analysis refused with a message naming the field, then accepted; the
    settings' thinking / reasoning effort reach the wire."""
    analysis = "No previous checklist. The cube stands where the photo's box is."
    replies = [
        {"text": "First I will look at the photo's proportions."},  # no tool: asked again
        {
            "text": "A cube for the box.",
            "tool_calls": [_call("execute_code", intent="the box as a cube", code=CUBE)],
        },
        {"tool_calls": [_call("end_round", summary="one cube")]},
        {"tool_calls": [_call("submit_verdict", approved=True, checklist=[], best_attempt=1)]},
        {
            "text": "Here is my analysis.",
            "tool_calls": [
                _call(
                    "submit_verdict",
                    analysis=analysis,
                    approved=True,
                    checklist=[],
                    best_attempt=1,
                )
            ],
        },
    ]
    effort = {"thinking": 2048} if provider == "anthropic" else {"reasoning_effort": "low"}
    if provider == "anthropic":  # Claude with thinking on starts every reply with a block
        replies = [{**r, "thinking": f"thought {i}"} for i, r in enumerate(replies)]
    with fake_server() as server:
        server.queue(*replies)
        session, status = _geometry_run(tmp_path, provider, server, **effort)
        bodies = [r["body"] for r in server.requests]
    assert status == "done", session.state.message
    assert len(bodies) == len(replies)
    for body in bodies:
        if provider == "anthropic":
            assert body["tool_choice"] == {"type": "auto"}
            assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
            assert body["max_tokens"] == 16_384  # the default
        else:
            assert body["tool_choice"] == "auto" and body["reasoning_effort"] == "low"
            assert body["max_completion_tokens"] == 16_384
    assert "You may think in text first" in json.dumps(bodies[1]["messages"])
    refused = _tool_results(bodies[4], provider)[-1]
    assert "submit_verdict needs 'analysis'" in refused
    verdict = json.loads((session.run_dir / "stages/geometry/round_1/verdict.json").read_text())
    assert verdict["analysis"] == analysis and verdict["approved"] is True
    attempt = session.state.stages["geometry"].attempts[0]
    assert attempt.verdict.analysis == analysis


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_reply_cut_twice_fails_the_round_cleanly(tmp_path, provider):
    cut = {"fault": "cut", "tool_calls": [_call("execute_code", code=CUBE)]}
    with fake_server() as server:
        server.queue(cut, cut)
        session, status = _geometry_run(tmp_path, provider, server, max_tokens=512)
        limits = [
            r["body"].get("max_tokens") or r["body"].get("max_completion_tokens")
            for r in server.requests
        ]
    assert limits == [512, 1024]  # asked again once, with twice the room
    # the round failed cleanly; it was the stage's only one, so the run is not "done"
    assert status == "failed", session.state.message
    assert "every attempt failed" in session.state.message
    assert "cut at 1024 output tokens" in session.state.message
    assert "raise --max-tokens" in session.state.message
    verdict = json.loads((session.run_dir / "stages/geometry/round_1/verdict.json").read_text())
    assert "cut at 1024 output tokens" in verdict["failed"]


def test_a_server_without_tools_runs_the_whole_pipeline_through_the_text_protocol(tmp_path):
    """Ollama-style: any request with tools is refused (HTTP 400 "… does not support tools");
    the preflight finds it out and every request of the run goes as text, through the real
    openai SDK, with the same tools."""
    replies = flatten_script(demo_script(), STAGE_NAMES)
    with fake_server() as server:
        server.reject_tools = True
        server.queue(*replies)
        session, status = _run(tmp_path, "openai", server.url)
        requests = list(server.requests)
        preflights = list(server.preflights)
    assert status == "done", session.state.message
    assert [bool(p["body"].get("tools")) for p in preflights] == [True, False]
    assert len(requests) == len(replies) and server.pending == 0
    assert all("tools" not in r["body"] for r in requests)
    system = requests[0]["body"]["messages"][0]["content"]
    assert "exactly one fenced block" in system and "- execute_code:" in system
    # earlier calls go back as json blocks in the assistant's text, results as user text
    later = next(
        json.dumps(r["body"]["messages"])
        for r in requests
        if any(m["role"] == "assistant" for m in r["body"]["messages"])
    )
    assert '\\"tool\\": \\"' in later and "Result of " in later
    assert (session.run_dir / "final.blend").is_file()
    for stage in STAGE_NAMES:
        assert session.state.stages[stage].status in ("approved", "budget_spent")
