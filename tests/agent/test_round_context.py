"""The generator starts each round from a fresh context (memory "compact", the default): the
photo, the scene graph, the scene now, the verifier's checklist and one line per earlier round,
not the earlier transcript; "full" carries the transcript. Within a round nothing sent is
rewritten, so each request's messages start with the previous request's (a cache hit)."""

import json

import pytest
from pipeline_helpers import new_session


def _messages(run_dir, n):
    return json.loads((run_dir / f"stages/geometry/round_{n}/messages.json").read_text())


def _texts(message):
    return "\n".join(p.get("text", "") for p in message["content"] if p["type"] == "text")


@pytest.mark.parametrize("memory", ["compact", "full"])
def test_round_two_starts_fresh_or_carries_round_one(tmp_path, memory):
    session, worker = new_session(
        tmp_path, stages=["geometry"], budgets={"geometry": 2}, memory=memory
    )
    try:
        status = session.run_to_end()
    finally:
        worker.close()
    assert status == "done", session.state.message
    one = _messages(session.run_dir, 1)["generator"]["messages"]
    two = _messages(session.run_dir, 2)["generator"]["messages"]
    first = _texts(two[0])
    if memory == "compact":
        assert "Reference photo:" in first and "Scene now:" in first
        assert "Round 2 of 2 of the geometry stage." in first
        assert "Fix these:\n- blue_box must be 1.5 units tall" in first
        assert "Earlier rounds of this stage:\n- round 1: rejected" in first
        assert "first point: blue_box must be 1.5 units tall" in first
        # none of round 1's turns: round 2's conversation is its own
        assert not any(m in two for m in one[1:])
        assert len(two) < len(one) + 2
    else:
        assert two[: len(one)] == one  # the transcript of round 1, unchanged
        assert "Earlier rounds of this stage" not in first


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_requests_within_a_round_only_grow_at_their_end(tmp_path):
    """Every request of a conversation starts with the whole previous request, as sent (the
    real anthropic SDK against the fake server; breakpoints aside, nothing is rewritten)."""
    from fake_model_server import fake_server, system_text
    from scripted_model import script_responder

    from viga_addon.agent.worker import ModelWorker

    with fake_server() as server:
        server.respond_with(script_responder())
        worker = ModelWorker(
            "anthropic", model="claude-sonnet-4-6", api_key="k", base_url=server.url
        )
        session, worker = new_session(
            tmp_path,
            worker=worker,
            provider="anthropic",
            stages=["geometry"],
            budgets={"geometry": 1},
        )
        try:
            assert session.run_to_end() == "done", session.state.message
        finally:
            worker.close()
        bodies = [_plain(r["body"]) for r in server.requests]
    pairs = 0
    for before, after in zip(bodies, bodies[1:], strict=False):
        if system_text(before) != system_text(after):
            continue  # the next conversation (generator -> verifier)
        pairs += 1
        assert after["messages"][: len(before["messages"])] == before["messages"]
        assert len(after["messages"]) > len(before["messages"])
    assert pairs >= 2
