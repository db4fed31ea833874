"""Every model tool by name, what a request offers, and running one call."""

from __future__ import annotations

from ...state import ToolCall
from ..base import SessionBase
from . import building, judging, looking, moving, settling
from .record import Tool, ToolOutcome, Waits, error, from_host

REGISTRY: dict[str, Tool] = {
    t.name: t
    for t in (*building.TOOLS, *looking.TOOLS, *judging.TOOLS, *settling.TOOLS, *moving.TOOLS)
}


def specs(names: tuple[str, ...] | list[str]) -> list[dict]:
    """The schemas of ``names``, in that order (what a request offers the model)."""
    return [REGISTRY[n].schema for n in names]


def run_tool(s: SessionBase, role: str, call: ToolCall) -> Waits:
    """Run one tool call of ``role``: unknown or not offered → an error the model can act on.
    Waits (yields) while a render-type call runs in the render process."""
    stage = s.stage
    allowed = stage.tools_for(role)
    name, args = call.name, call.arguments
    if not isinstance(args, dict):
        return error(f"{name}: arguments must be a JSON object")
    tool = REGISTRY.get(name)
    if name not in allowed or tool is None:
        return error(f"Unknown tool {name!r} for the {role}; available: {', '.join(allowed)}")
    if tool.check is not None:
        checked = tool.check(args)
        if isinstance(checked, str):
            return error(checked)
        args = checked
    if tool.handler is not None:
        outcome = tool.handler(s, call, args)
        return outcome if isinstance(outcome, ToolOutcome) else (yield from outcome)
    if tool.views:
        args = {**args, "out_dir": str(s.round_dir() / "views")}
    if tool.category == "render":
        return from_host((yield from s.host_wait("render", name, args)))
    return from_host(s.timed(tool.category or "other_tools", name, args))
