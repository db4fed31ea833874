"""A fake model for the fake server: it answers each request with the demo script's reply for
the stage, role, round and turn the request itself shows (not a FIFO queue), so a run can be
stopped, resumed and asked again from any point. ``usage`` fixes each reply's token counts."""

import copy
import json
import re

from fake_model_server import system_text

_ROLE = re.compile(r"Stage: (\w+) — (\w+)")
_ROUND = re.compile(r"(?:Round|Attempt of round) (\d+) of")


def script_responder(script=None, usage=None, seen=None):
    """``server.respond_with(script_responder(...))``; ``seen`` collects (stage, role, round)
    of every request answered."""
    if script is None:
        from pipeline_helpers import demo_script  # imports bpy: only when no script is given

        script = demo_script()

    def respond(wire, body):
        found = _ROLE.match(system_text(body))
        if not found:
            return None
        stage, role = found.group(1), found.group(2).lower()
        first = json.dumps(body["messages"][:2])
        rounds = _ROUND.search(first)
        n = int(rounds.group(1)) if rounds else 1
        turn = sum(1 for m in body["messages"] if m.get("role") == "assistant")
        entry = script[stage][role]
        turns = entry[min(n - 1, len(entry) - 1)]
        reply = copy.deepcopy(turns[min(turn, len(turns) - 1)])
        if usage:
            reply["usage"] = dict(usage)
        if seen is not None:
            seen.append((stage, role, n))
        return reply

    return respond
