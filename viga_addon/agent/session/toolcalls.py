"""The tool registry: per tool its schema, argument check, timing category and handler.

A handler gets the session and the call's arguments (already checked) and returns a
``ToolOutcome``: the result parts the model sees, whether it failed, and an optional control
signal ("end_round", "verdict") that ends the conversation's turns. Tools without a handler of
their own go to the host (``host.call(name, args)``) as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import messages as msg
from .. import selection
from ..state import CodeRun, ToolCall, Verdict
from . import interaction
from .hostcalls import host_step
from .rounds import record_selection, record_verdict
from .toolspecs import SCHEMAS

if TYPE_CHECKING:
    from .core import Session

RESULT_TEXT_LIMIT = 4000  # characters of a host result's JSON the model sees


@dataclass
class ToolOutcome:
    parts: list[dict]
    is_error: bool = False
    control: str | None = None  # "end_round" | "verdict"
    waiting: bool = False  # the call runs in the render process: run this tool again next step


def _error(text: str) -> ToolOutcome:
    return ToolOutcome([msg.text(text)], is_error=True)


def _from_host(result: dict | None) -> ToolOutcome:
    if result is None:
        return ToolOutcome([], waiting=True)
    return ToolOutcome(result_parts(result), is_error=not result.get("ok", False))


def _started(s: Session, call: ToolCall, category: str, name: str, args: dict) -> dict | None:
    """A render-type host call: started on the first ask, its result on a later one."""
    return host_step(s, f"tool:{call.id}", category, name, args)


Check = Callable[[dict[str, Any]], str | dict[str, Any]]  # an error message, or the arguments
Handler = Callable[["Session", ToolCall, dict[str, Any]], ToolOutcome]


@dataclass(frozen=True)
class Tool:
    name: str
    category: str | None  # timing: "render" | "execute" | "other_tools"; None: no host call
    handler: Handler | None = None  # None: host.call(name, args)
    check: Check | None = None
    views: bool = False  # the host writes images into the round's views/ folder

    @property
    def schema(self) -> dict:
        return SCHEMAS[self.name]


# ---------------------------------------------------------------------- checks
def _check_plan(args: dict) -> str | dict:
    if not isinstance(args.get("plan"), str):
        return "make_plan needs 'plan' (a string)"
    return args


def _check_code(args: dict) -> str | dict:
    if not isinstance(args.get("code"), str):
        return "execute_code needs 'code' (a string of Python)"
    if args.get("intent") is not None and not isinstance(args["intent"], str):
        return "execute_code 'intent' is optional: one short sentence (a string), or leave it out"
    return args


def _check_refine(args: dict) -> str | dict:
    targets = args.get("targets")
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        return (
            "refine_parameters needs 'targets': a list of groups or parameter names, e.g. "
            '["lighting"] or ["light:Sun.energy"]'
        )
    budget = args.get("budget", 30)
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= 200:
        return "refine_parameters 'budget' must be a whole number of renders between 1 and 200"
    return {**args, "targets": targets, "budget": budget}


RENDER_VIEW_ARGS = ("view", "azimuth", "elevation", "distance", "around", "isolate")


def _check_render_view(args: dict) -> str | dict:
    """Only the viewpoint arguments reach the host (never a path or render settings); a name
    given as a string is a list of one. Their values are the host's to check."""
    unknown = sorted(set(args) - set(RENDER_VIEW_ARGS))
    if unknown:
        return (
            f"render_view has no argument {', '.join(repr(u) for u in unknown)}; it takes "
            f"{', '.join(RENDER_VIEW_ARGS)} (all optional: no arguments renders the photo's camera)"
        )
    checked = {k: v for k, v in args.items() if v is not None}
    for key in ("around", "isolate"):
        if isinstance(checked.get(key), str):
            checked[key] = [checked[key]]
    return checked


def _check_verdict(args: dict) -> str | dict:
    analysis = args.get("analysis")
    if not isinstance(analysis, str) or not analysis.strip():
        return (
            "submit_verdict needs 'analysis' (a non-empty string, written first): for each item "
            "of the previous checklist, whether it is fixed, then what still differs from the "
            "photo. Call submit_verdict again with it."
        )
    if not isinstance(args.get("approved"), bool):
        return "submit_verdict needs 'approved' (true or false)"
    checklist = args.get("checklist", [])
    if isinstance(checklist, str):
        checklist = [checklist]
    if not isinstance(checklist, list) or not all(isinstance(c, str) for c in checklist):
        return "submit_verdict 'checklist' must be a list of strings"
    return {**args, "checklist": checklist}


# ---------------------------------------------------------------------- handlers
def _make_plan(s: Session, call: ToolCall, args: dict) -> ToolOutcome:
    ss = s.stage_state
    ss.plan = args["plan"]
    if not s.stage.rollouts:
        return ToolOutcome([msg.text("Plan recorded.")])
    graph = args.get("scene_graph")
    problem = selection.validate_scene_graph(graph)
    if problem:
        return _error(
            f"Plan recorded, but the scene graph is unusable: {problem}. "
            "Call make_plan again with a valid scene_graph."
        )
    ss.scene_graph = graph
    leaves = selection.scene_graph_leaves(graph)
    return ToolOutcome(
        [
            msg.text(
                f"Plan and scene graph recorded ({len(leaves)} leaf parts: "
                f"{', '.join(leaves)}). Create one object per leaf, named exactly."
            )
        ]
    )


def _execute_code(s: Session, call: ToolCall, args: dict) -> ToolOutcome:
    code = args["code"]
    ss = s.stage_state
    if call.reviewed == "skipped":
        ss.code.append(CodeRun(code, "skipped by the artist"))
        return _error("The artist skipped this code; it did not run.")
    result = s.timed("execute", "execute_code", {"code": code, "scope": list(s.stage.scope)})
    if result.get("ok") or not result.get("restored"):
        s.state.scene_at = None
    status = "ok" if result.get("ok") else "error"
    if call.reviewed == "edited":
        status += ", edited by the artist"
    ss.code.append(CodeRun(code, status))
    outcome = _from_host(result)
    if call.reviewed == "edited":
        outcome.parts.insert(
            0, msg.text(f"The artist edited your code before it ran; this is what ran:\n{code}")
        )
    return outcome


def _render_view(s: Session, call: ToolCall, args: dict) -> ToolOutcome:
    """A preview from the viewpoint asked for (the photo's camera by default), at the session's
    preview settings, into the round's views/ folder; the result text gives the camera pose."""
    views = s.round_dir() / "views"
    k = len(list(views.glob("view_*.png"))) if views.exists() else 0
    settings = s.state.settings
    request = {
        **args,
        "path": str(views / f"view_{k + 1}.png"),
        "long_side": settings.preview_size,
        "samples": settings.preview_samples,
        "device": settings.render_device,
        "engine": settings.engine,
    }
    return _from_host(_started(s, call, "render", "render_view", request))


def _revert_last(s: Session, call: ToolCall, args: dict) -> ToolOutcome:
    result = s.timed("other_tools", "revert_last", {})
    if result.get("ok"):
        s.state.scene_at = None
    return _from_host(result)


def _refine_parameters(s: Session, call: ToolCall, args: dict) -> ToolOutcome:
    rdir = s.round_dir()
    k = len(list(rdir.glob("refine_*"))) if rdir.exists() else 0
    result = _started(
        s,
        call,
        "render",
        "refine_parameters",
        {
            "targets": args["targets"],
            "budget": args["budget"],
            "photo": str(s.store.reference),
            "objects": args.get("objects"),
            "allowed_groups": list(s.stage.refine_groups),
            "out_dir": str(rdir / f"refine_{k + 1}"),
        },
    )
    if result is not None and result.get("ok") and result.get("improved"):
        s.state.scene_at = None
    return _from_host(result)


def _bake_simulation(s: Session, call: ToolCall, args: dict) -> ToolOutcome:
    """The interaction stage's bake in the render process, its sheet and trajectories back."""
    return _from_host(
        _started(s, call, "render", "bake_simulation", interaction.tool_args(s, args))
    )


def _end_round(s: Session, call: ToolCall, args: dict) -> ToolOutcome:
    summary = args.get("summary")
    s.stage_state.summary = summary if isinstance(summary, str) else ""
    return ToolOutcome([msg.text("Attempt submitted to the verifier.")], control="end_round")


def _submit_verdict(s: Session, call: ToolCall, args: dict) -> ToolOutcome:
    rounds = [a.round for a in s.stage_state.attempts]
    best = args.get("best_attempt")
    note = None
    if not isinstance(best, int) or isinstance(best, bool) or best not in rounds:
        note = f"best_attempt {best!r} is not one of the rounds {rounds}; using {rounds[-1]}"
        best = rounds[-1]
    score = args.get("score")
    verdict = Verdict(
        analysis=args["analysis"].strip(),
        approved=args["approved"],
        checklist=args["checklist"],
        best_attempt=best,
        score=score if isinstance(score, int | float) and not isinstance(score, bool) else None,
        note=note,
    )
    record_verdict(s, verdict)
    return ToolOutcome(
        [msg.text("Verdict recorded." + (f" Note: {note}" if note else ""))], control="verdict"
    )


def _check_select(args: dict) -> str | dict:
    analysis, reason = args.get("analysis"), args.get("reason")
    if not isinstance(analysis, str) or not analysis.strip():
        return "select_rollout needs 'analysis': what each rollout gets right and wrong"
    best = args.get("best")
    if not isinstance(best, int) or isinstance(best, bool):
        return "select_rollout needs 'best': the round number of the rollout you pick"
    scores = args.get("scores")
    if not isinstance(scores, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values()
    ):
        return "select_rollout needs 'scores': {round number: 0-10} for every rollout"
    clean = {}
    for key, value in scores.items():
        try:
            clean[int(key)] = float(value)
        except (TypeError, ValueError):
            return f"select_rollout 'scores' keys are round numbers, not {key!r}"
    return {**args, "scores": clean, "reason": reason if isinstance(reason, str) else ""}


def _select_rollout(s: Session, call: ToolCall, args: dict) -> ToolOutcome:
    rounds = [a.round for a in s.stage_state.usable_attempts()]
    if args["best"] not in rounds:
        return _error(f"select_rollout 'best' must be one of the rollouts {rounds}")
    record_selection(
        s,
        {
            "best": args["best"],
            "scores": {str(k): v for k, v in sorted(args["scores"].items())},
            "reason": args["reason"],
            "analysis": args["analysis"].strip(),
            "by": "selector",
        },
    )
    return ToolOutcome([msg.text(f"Rollout {args['best']} selected.")], control="selected")


REGISTRY: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("make_plan", None, _make_plan, _check_plan),
        Tool("execute_code", "execute", _execute_code, _check_code),
        Tool("get_scene_info", "other_tools"),
        Tool("render_view", "render", _render_view, _check_render_view),
        Tool("revert_last", "other_tools", _revert_last),
        Tool("refine_parameters", "render", _refine_parameters, _check_refine),
        Tool("end_round", None, _end_round),
        Tool("bake_simulation", "render", _bake_simulation, interaction.check_bake),
        Tool("initialize_viewpoint", "render", views=True),
        Tool("set_camera", "render", views=True),
        Tool("investigate", "render", views=True),
        Tool("set_visibility", "other_tools"),
        Tool("submit_verdict", None, _submit_verdict, _check_verdict),
        Tool("select_rollout", None, _select_rollout, _check_select),
    )
}


def specs(names: tuple[str, ...] | list[str]) -> list[dict]:
    """The schemas of ``names``, in that order (what a request offers the model)."""
    return [REGISTRY[n].schema for n in names]


def run_tool(s: Session, role: str, call: ToolCall) -> ToolOutcome:
    """Run one tool call of ``role``: unknown or not offered → an error the model can act on."""
    stage = s.stage
    allowed = stage.tools_for(role)
    name, args = call.name, call.arguments
    if not isinstance(args, dict):
        return _error(f"{name}: arguments must be a JSON object")
    tool = REGISTRY.get(name)
    if name not in allowed or tool is None:
        return _error(f"Unknown tool {name!r} for the {role}; available: {', '.join(allowed)}")
    if tool.check is not None:
        checked = tool.check(args)
        if isinstance(checked, str):
            return _error(checked)
        args = checked
    if tool.handler is not None:
        return tool.handler(s, call, args)
    if tool.views:
        args = {**args, "out_dir": str(s.round_dir() / "views")}
    if tool.category == "render":
        return _from_host(_started(s, call, "render", name, args))
    return _from_host(s.timed(tool.category or "other_tools", name, args))


# what a host result repeats of its own ``text`` (execute_code's text leads with the error, the
# failing line and the output's head and tail): left out of the JSON part
_SAID_IN_TEXT = ("stdout", "traceback", "detail")


def result_parts(result: dict) -> list[dict]:
    """A host result as message parts: its text first, then the rest as compact JSON, then its
    images as image parts, each view's camera pose said in the text."""
    result = dict(result)
    images, poses = [], []
    if result.get("path") and str(result["path"]).endswith(".png"):
        images.append(result.pop("path"))
    for item in result.pop("images", []) or []:
        if isinstance(item, dict) and item.get("path"):
            images.append(item["path"])
            if item.get("camera"):
                poses.append(f"image {len(images)}: camera {json.dumps(item['camera'])}")
        elif isinstance(item, str):
            images.append(item)
    text = result.pop("text", None)
    if text:
        for key in _SAID_IN_TEXT:
            result.pop(key, None)
    body = json.dumps(result, default=str)
    if len(body) > RESULT_TEXT_LIMIT:
        body = body[:RESULT_TEXT_LIMIT] + " …[cut]"
    lines = [line for line in (text, body, "\n".join(poses)) if line]
    parts = [msg.text("\n".join(lines))]
    parts += [msg.image(p) for p in images]
    return parts
