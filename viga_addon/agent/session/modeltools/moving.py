"""The interaction stage's tool: bake_simulation (the bake in the render process, its contact
sheet and the trajectories back; the scene is not changed)."""

from __future__ import annotations

from ...state import ToolCall
from .. import interaction
from ..base import SessionBase
from .record import Tool, Waits, from_host


def _check_bake(args: dict) -> str | dict:
    frames = args.get("frames")
    if frames is not None and (isinstance(frames, bool) or not isinstance(frames, int)):
        return "bake_simulation 'frames' is optional: a whole number of frames (the run's cap)"
    return args


def _bake_simulation(s: SessionBase, call: ToolCall, args: dict) -> Waits:
    return from_host(
        (yield from s.host_wait("render", "bake_simulation", interaction.tool_args(s, args)))
    )


TOOLS = (
    Tool(
        "bake_simulation",
        "Interaction stage: bake the rigid-body simulation as the scene is set up now (in a "
        "separate process, from the start frame, never past the run's frame cap) and see a "
        "labelled contact sheet of its frames and every moving object's trajectory (start, end, "
        "peak speed, final rotation, tilt from upright). The scene is not changed. frames: "
        "optional, fewer frames than the cap for a quick look.",
        {"frames": {"type": "integer", "minimum": 1}},
        category="render",
        handler=_bake_simulation,
        check=_check_bake,
    ),
)
