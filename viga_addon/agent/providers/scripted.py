"""ScriptedProvider: plays back canned responses. For tests and the offline demo ONLY.

No model is called: every response's ``model`` is "scripted-demo (no model was called)".

Script (a dict, or the path of a JSON file holding one)::

    {"<stage>": {"generator": [ROUND, ...], "verifier": [ROUND, ...]}, "*": {...}}

ROUND is a list of TURNs; a TURN is one of
    {"text": "...", "tool_calls": [{"name": "execute_code", "arguments": {...}}]}
    {"fault": "rate_limit" | "server" | "timeout" | "auth" | "empty" | "no_tool"
              | "malformed" | "cut" | "crash", "times": n}
    {"delay": seconds, ...rest of a turn}

The turn is chosen from ``request["meta"]``: stage, role, round (1-based; ``rollout`` is used
instead when present, for the init stage) and turn (0-based). A stage missing from the script
falls back to the "*" entry. Past the end of a list the last round / turn is reused. Picking by
meta makes playback stateless and safe to resume. The one exception is ``"times": n`` on a
fault: the fault is raised for the first n attempts at that meta in this provider instance, then
the rest of the turn is played (to demo retries); without "times" the fault is raised every time.
"cut" is a reply cut at the request's output-token limit (``Provider.complete`` asks again once
with a larger limit: give "times": 1 to let that second ask through). "crash" ends the process
at once (to exercise the worker's crash handling).
Tool-call ids are deterministic: ``call_<stage>_<role>_<round>_<turn>_<index>``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ..errors import (
    AuthError,
    ConfigError,
    MalformedToolCall,
    RateLimited,
    ServerError,
    Timeout,
    TruncatedReply,
)
from ..messages import images_in
from .base import Provider

SCRIPTED_MODEL = "scripted-demo (no model was called)"

_FAULTS = {
    "rate_limit": lambda: RateLimited("Scripted fault: rate limited (HTTP 429).", retry_after=0.0),
    "server": lambda: ServerError("Scripted fault: server error (HTTP 500)."),
    "timeout": lambda: Timeout("Scripted fault: request timed out."),
    "auth": lambda: AuthError("Scripted fault: API key rejected (HTTP 401)."),
}


class ScriptedProvider(Provider):
    """Plays a script (see module docstring). Defaults: no retries, no re-asks, so a scripted
    fault reaches the caller unchanged; pass max_retries / reask to exercise those loops."""

    name = "scripted"

    def __init__(
        self, script: dict | str | os.PathLike | None = None, model: str | None = None, **opts: Any
    ) -> None:
        opts.setdefault("max_retries", 0)
        opts.setdefault("reask", 0)
        opts.setdefault("base_delay", 0.0)
        super().__init__(SCRIPTED_MODEL, **opts)
        self.free = True
        self.script = load_script(script)
        self._attempts: dict[tuple, int] = {}
        print(
            "viga: scripted demo provider - responses are played back from a script, "
            "no model is called.",
            file=sys.stderr,
        )

    def _send(self, request: dict) -> dict:
        meta = request.get("meta") or {}
        stage = str(meta.get("stage", ""))
        role = str(meta.get("role", "generator"))
        round_no = int(meta.get("rollout") or meta.get("round") or 1)
        turn_no = int(meta.get("turn") or 0)
        turn = dict(self._pick(stage, role, round_no, turn_no))
        key = (stage, role, round_no, turn_no)
        attempt = self._attempts.get(key, 0)
        self._attempts[key] = attempt + 1
        if turn.get("delay"):
            self._sleep(float(turn["delay"]))
        usage = {"input_tokens": 0, "output_tokens": 0, "images": images_in(request["messages"])}
        fault = turn.get("fault")
        if fault and ("times" not in turn or attempt < int(turn["times"])):
            return self._fault(fault, turn, usage, int(request.get("max_tokens") or 0))
        calls = [
            {
                "id": f"call_{stage}_{role}_{round_no}_{turn_no}_{i}",
                "name": call["name"],
                "arguments": dict(call.get("arguments") or {}),
            }
            for i, call in enumerate(turn.get("tool_calls") or [])
        ]
        return {
            "text": str(turn.get("text", "")),
            "tool_calls": calls,
            "stop_reason": "tool_use" if calls else "end_turn",
            "model": SCRIPTED_MODEL,
            "usage": usage,
            "cost_usd": 0.0,
        }

    def _pick(self, stage: str, role: str, round_no: int, turn_no: int) -> dict:
        entry = self.script.get(stage) or self.script.get("*")
        if not entry:
            raise ConfigError(f"The demo script has no entry for stage {stage!r} (and no '*').")
        rounds = entry.get(role)
        if not rounds:
            raise ConfigError(f"The demo script has no {role!r} rounds for stage {stage!r}.")
        turns = rounds[min(max(round_no, 1), len(rounds)) - 1]
        if not turns:
            raise ConfigError(f"The demo script has an empty round for {stage}/{role}.")
        return turns[min(max(turn_no, 0), len(turns) - 1)]

    def _fault(self, fault: str, turn: dict, usage: dict, limit: int) -> dict:
        if fault in _FAULTS:
            raise _FAULTS[fault]()
        if fault == "cut":
            raise TruncatedReply(
                f"Scripted fault: the reply was cut at {limit} output tokens.",
                limit=limit,
                partial={"text": "", "usage": usage},
            )
        if fault == "crash":
            os._exit(70)
        if fault == "malformed":
            raise MalformedToolCall(
                "Scripted fault: tool-call arguments were not valid JSON.",
                partial={"text": "", "usage": usage},
            )
        if fault in ("empty", "no_tool"):
            text = (
                "" if fault == "empty" else str(turn.get("text") or "I think the scene looks fine.")
            )
            return {
                "text": text,
                "tool_calls": [],
                "stop_reason": "end_turn",
                "model": SCRIPTED_MODEL,
                "usage": usage,
                "cost_usd": 0.0,
            }
        raise ConfigError(f"Unknown scripted fault {fault!r}.")


def load_script(script: dict | str | os.PathLike | None) -> dict:
    """A script dict from a dict, a JSON file path, or the VIGA_SCRIPT environment variable."""
    if script is None:
        script = os.environ.get("VIGA_SCRIPT")
    if script is None:
        raise ConfigError(
            "The scripted demo provider needs a script (script=<dict or JSON path>, or VIGA_SCRIPT)."
        )
    if isinstance(script, dict):
        return script
    try:
        with open(script, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Cannot read the demo script {script}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"The demo script {script} must hold a JSON object.")
    return data
