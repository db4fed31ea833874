"""The settle check as a model tool: check_physics (the composition stage's generator and
verifier); its results kept in the round's attempt by ``session/physics.py``."""

from __future__ import annotations

from ...state import ToolCall
from .. import physics
from ..base import SessionBase
from .record import Tool, Waits, from_host


def _check_physics(s: SessionBase, call: ToolCall, args: dict) -> Waits:
    return from_host((yield from physics.run_tool(s)))


TOOLS = (
    Tool(
        "check_physics",
        "The settle check: gives every mesh object a rigid body (passive for what supports, "
        "active for what rests on it), lets the scene fall for 2 s under gravity with nothing "
        "pushing, and says per object how far it moved (cm), how far it turned (degrees) and a "
        "verdict: rests, floats (started above its support and fell), sunk (started inside "
        "another object and was pushed out), slides, tips, rolls. Returns a picture of frames 0 "
        "and 48. The scene is not changed. Physics-ready: no active object moves over 1 cm or "
        "turns over 2 degrees.",
        {},
        category="render",
        handler=_check_physics,
    ),
)
