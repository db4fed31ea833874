"""Turns of a conversation: run the pending tool calls, submit a request, poll for the reply,
and what a failed request does to the round (by the error's disposition, never its name)."""

from __future__ import annotations

import time
from typing import Any

from .. import messages as msg
from .. import spending
from ..errors import BadResponse, CostCapReached, Disposition, VigaError
from ..state import Awaiting, Phase, RunStatus, ToolCall, Verdict
from . import modeltools
from .base import SessionBase
from .events import StepKind, StepResult, Work
from .rounds import fallback_selection, record_selection, record_verdict


def conversation_step(s: SessionBase, role: str) -> Work:
    """One turn's unit: run the next pending tool call (waiting while a render-type call runs
    in the render process), or end the role's turns, or ask the model."""
    conv = s.state.conv
    stage = s.stage
    if s.state.pending:
        call = s.state.pending[0]
        if (
            role == "generator"
            and call.name == "execute_code"
            and s.state.settings.review_code
            and not call.reviewed
            and isinstance(call.arguments.get("code"), str)
        ):
            s.hold_for_review(call)
            return StepResult(StepKind.REVIEW, s.state.message)
        outcome = yield from modeltools.run_tool(s, role, call)
        s.state.pending.pop(0)
        s.state.results.append(msg.tool_result(call.id, outcome.parts, outcome.is_error))
        if outcome.control and not conv.control:
            conv.control = outcome.control
        if not s.state.pending:
            conv.messages.append({"role": "user", "content": s.state.results})
            s.state.results = []
        return StepResult(
            StepKind.TOOL, f"{role}: {call.name}", tool=call.name, is_error=outcome.is_error
        )
    control, conv.control = conv.control, None
    limit = stage.max_turns(role)
    if control == "end_round" or (role == "generator" and conv.turn >= limit):
        if control != "end_round":
            s.stage_state.summary = "(turn limit reached)"
        s.state.phase = Phase.ATTEMPT
        return StepResult(StepKind.GENERATOR_DONE, "generator finished the attempt")
    if control == "verdict":
        s.state.phase = Phase.ROUND_END
        s.host.call("reset_view", {})
        return StepResult(StepKind.VERDICT, "verifier gave its verdict")
    if role == "verifier" and conv.turn >= limit:
        record_verdict(
            s,
            Verdict(approved=False, note="the verifier used all its turns without a verdict"),
        )
        s.state.phase = Phase.ROUND_END
        s.host.call("reset_view", {})
        return StepResult(StepKind.VERDICT, "verifier ran out of turns")
    if control == "selected" or (role == "selector" and conv.turn >= limit):
        if control != "selected":
            record_selection(s, fallback_selection(s, "the selector used all its turns"))
        s.state.phase = Phase.STAGE_END
        return StepResult(StepKind.SELECTED, s.stage_state.selection_text())
    return submit(s, role)


def submit(s: SessionBase, role: str) -> StepResult:
    conv = s.state.conv
    stage = s.stage
    settings = s.state.settings
    tools = stage.tools_for(role)
    # Sent as it is: within a round a conversation only grows at its end, so every request's
    # prefix is the previous request (a cache hit); what is left behind is left at the round
    # boundary, where the generator's next round starts from a fresh context (phases.py).
    sent = conv.messages
    request = {
        "system": conv.system,
        "messages": sent,
        "tools": modeltools.specs(tools),
        "max_tokens": settings.max_tokens,
        # read by the providers (providers/base.py): text before a tool call is welcome
        "tool_choice": settings.tool_choice,
        "meta": {
            "stage": stage.name,
            "role": role,
            "round": s.stage_state.round,
            "turn": conv.turn,
        },
        # one cache key per conversation (OpenAI's prompt_cache_key)
        "conversation": f"{s.run_dir.name}/{stage.name}/{role}/{s.stage_state.round}",
    }
    if settings.thinking:
        request["thinking"] = settings.thinking
    if settings.reasoning_effort:
        request["reasoning_effort"] = settings.reasoning_effort
    capped = spending.cap_reached(s.state, stage.name, request)
    if capped:
        return stop_at_cap(s, capped)
    if s.state.error_type == CostCapReached.__name__:
        s.state.error_type = None  # resumed with a higher cap
    s.client.submit(request)
    conv.turn += 1
    s.state.awaiting = Awaiting(role=role, images=msg.images_in(sent), submitted=time.time())
    s._request_started = time.monotonic()
    return StepResult(
        StepKind.REQUEST,
        f"{stage.name} {role}: asking the model",
        images=s.state.awaiting.images,
    )


def stop_at_cap(s: SessionBase, reason: str) -> StepResult:
    """Stop before a request that would pass a cost cap: paused, resumable (exit code 5);
    the round under way restarts on resume, completed rounds stand."""
    s.restart_interrupted_round()
    s.state.status = RunStatus.PAUSED
    s.state.error_type = CostCapReached.__name__
    s.state.message = reason
    return StepResult(StepKind.PAUSED, reason, error_type=CostCapReached.__name__)


def poll(s: SessionBase) -> StepResult:
    reply = s.client.poll()
    if reply is None:
        return StepResult(StepKind.WAITING, "waiting for the model")
    awaiting = s.state.awaiting
    s.state.awaiting = None
    if s._request_started is not None:
        s.state.timing.model += time.monotonic() - s._request_started
    else:
        s.state.timing.model += time.time() - awaiting.submitted
    role = awaiting.role
    stage, ss = s.stage, s.stage_state
    if reply.error is not None:
        return request_failed(s, role, reply.error)
    response = reply.response
    usage = response.get("usage") or {}
    s.state.totals.add(usage, awaiting.images)
    ss.tokens.add(usage, awaiting.images)
    cost = float(response.get("cost_usd") or 0.0)
    s.state.totals.cost_usd += cost
    ss.cost_usd += cost
    parts: list[dict[str, Any]] = []
    if response.get("text"):
        parts.append(msg.text(response["text"]))
    calls = response.get("tool_calls") or []
    for call in calls:
        parts.append(
            {
                "type": "tool_call",
                "id": call["id"],
                "name": call["name"],
                "arguments": call.get("arguments") or {},
            }
        )
    s.state.conv.messages.append({"role": "assistant", "content": parts})
    if not calls:
        return request_failed(s, role, BadResponse("the model answered without a tool call"))
    s.state.pending = [ToolCall.from_json(c) for c in calls]
    s.state.results = []
    s.save()
    names = ", ".join(c["name"] for c in calls)
    return StepResult(
        StepKind.RESPONSE,
        f"{stage.name} {role}: model called {names}",
        usage=usage,
        cost_usd=cost,
    )


def request_failed(s: SessionBase, role: str, error: VigaError) -> StepResult:
    kind = type(error).__name__
    text = str(error) or "request failed"
    stage, ss = s.stage, s.stage_state
    s.state.error_type = kind
    if error.disposition is Disposition.FATAL:
        s.state.status = RunStatus.FAILED
        s.state.message = text
        s.restart_interrupted_round()
        return StepResult(StepKind.FAILED, text, error_type=kind)
    if error.disposition is Disposition.FAIL_ROUND:
        # the round fails cleanly; the run goes on
        if role == "generator":
            ss.round_failed = text
            s.state.pending = []
            s.state.results = []
            s.state.phase = Phase.ATTEMPT
        elif role == "selector":  # the ranking by coverage and metrics decides instead
            record_selection(s, fallback_selection(s, f"the selector failed: {text}"))
            s.state.pending = []
            s.state.results = []
            s.state.phase = Phase.STAGE_END
        else:
            record_verdict(s, Verdict(approved=False, note=f"verifier failed: {text}"))
            s.state.phase = Phase.ROUND_END
            s.host.call("reset_view", {})
        return StepResult(StepKind.ROUND_FAILED, f"{stage.name} {role}: {text}", error_type=kind)
    # rate limits, server errors, timeouts after the provider's own retries: pause, resumable
    s.restart_interrupted_round()
    s.state.status = RunStatus.PAUSED
    s.state.message = f"{kind}: {text} — paused; resume to retry this round"
    return StepResult(StepKind.PAUSED, s.state.message, error_type=kind)
