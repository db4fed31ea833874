"""The tools that build and change the scene: make_plan, execute_code, get_scene_info,
revert_last, refine_parameters, end_round (one record each: schema, check, handler)."""

from __future__ import annotations

from ... import messages as msg
from ... import selection
from ...state import CodeRun, ToolCall
from ..base import SessionBase
from .record import OBJECTS, Tool, ToolOutcome, Waits, error, from_host


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


def _make_plan(s: SessionBase, call: ToolCall, args: dict) -> ToolOutcome:
    ss = s.stage_state
    ss.plan = args["plan"]
    if not s.stage.rollouts:
        return ToolOutcome([msg.text("Plan recorded.")])
    graph = args.get("scene_graph")
    problem = selection.validate_scene_graph(graph)
    if problem:
        return error(
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


def _execute_code(s: SessionBase, call: ToolCall, args: dict) -> ToolOutcome:
    code = args["code"]
    ss = s.stage_state
    if call.reviewed == "skipped":
        ss.code.append(CodeRun(code, "skipped by the artist"))
        return error("The artist skipped this code; it did not run.")
    result = s.timed("execute", "execute_code", {"code": code, "scope": list(s.stage.scope)})
    if result.get("ok") or not result.get("restored"):
        s.state.scene_at = None
    status = "ok" if result.get("ok") else "error"
    if call.reviewed == "edited":
        status += ", edited by the artist"
    ss.code.append(CodeRun(code, status))
    outcome = from_host(result)
    if call.reviewed == "edited":
        outcome.parts.insert(
            0, msg.text(f"The artist edited your code before it ran; this is what ran:\n{code}")
        )
    return outcome


def _revert_last(s: SessionBase, call: ToolCall, args: dict) -> ToolOutcome:
    result = s.timed("other_tools", "revert_last", {})
    if result.get("ok"):
        s.state.scene_at = None
    return from_host(result)


def _refine_parameters(s: SessionBase, call: ToolCall, args: dict) -> Waits:
    rdir = s.round_dir()
    k = len(list(rdir.glob("refine_*"))) if rdir.exists() else 0
    result = yield from s.host_wait(
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
    if result.get("ok") and result.get("improved"):
        s.state.scene_at = None
    return from_host(result)


def _end_round(s: SessionBase, call: ToolCall, args: dict) -> ToolOutcome:
    summary = args.get("summary")
    s.stage_state.summary = summary if isinstance(summary, str) else ""
    return ToolOutcome([msg.text("Attempt submitted to the verifier.")], control="end_round")


TOOLS = (
    Tool(
        "make_plan",
        "Record your plan for this round before writing code. In the init stage, pass the scene "
        'graph: a JSON object {"objects": [{"name", "parent", "description", "geometry", '
        '"material", "relations"}, ...]} whose leaves are parts buildable from primitives.',
        {
            "plan": {"type": "string", "description": "Short numbered plan."},
            "scene_graph": {"type": "object", "description": "Init stage only."},
        },
        required=["plan"],
        category=None,
        handler=_make_plan,
        check=_check_plan,
    ),
    Tool(
        "execute_code",
        "Run Blender Python (bpy) code in the live scene. bpy, bmesh, mathutils, math and random "
        "are imported. Returns stdout, errors with the failing line, and what changed. If the code "
        "raises, the scene is restored to how it was before the call.",
        {
            "intent": {
                "type": "string",
                "description": "Optional: one short sentence on what this code is for.",
            },
            "code": {"type": "string"},
        },
        required=["code"],
        category="execute",
        handler=_execute_code,
        check=_check_code,
    ),
    Tool(
        "get_scene_info",
        "Summary of objects, materials, lights, camera, world and render settings.",
        {},
        category="other_tools",
    ),
    Tool(
        "revert_last",
        "Undo the effect of your last successful execute_code call in this round.",
        {},
        category="other_tools",
        handler=_revert_last,
    ),
    Tool(
        "refine_parameters",
        "Fine-tune exact numbers by render-and-compare: renders small previews, compares them "
        "with the photo (SSIM + MSE) and keeps the best values found, never worse than now. Use "
        "once the structure is right. targets: groups this stage may edit (lighting, material, "
        "placement, camera) and/or names: light:NAME.energy|.color|.rotation|.location, "
        "world.color, world.strength, exposure, material:NAME.base_color|.roughness|.metallic, "
        "object:NAME.location|.rotation|.scale, camera.location|.rotation|.lens. objects: limit "
        "groups to these objects. budget: renders to spend (default 30; 0.1-0.4 s each).",
        {
            "targets": {"type": "array", "items": {"type": "string"}},
            "objects": OBJECTS,
            "budget": {"type": "integer", "minimum": 1, "maximum": 200},
        },
        required=["targets"],
        category="render",
        handler=_refine_parameters,
        check=_check_refine,
    ),
    Tool(
        "end_round",
        "Finish this attempt: the scene is rendered and handed to the verifier.",
        {"summary": {"type": "string", "description": "What you changed and why."}},
        required=["summary"],
        category=None,
        handler=_end_round,
    ),
)
