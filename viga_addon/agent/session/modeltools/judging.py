"""The tools that judge: the verifier's submit_verdict and init's selector's select_rollout
(one record each). Their control signal ends the conversation's turns."""

from __future__ import annotations

from ... import messages as msg
from ...state import ToolCall, Verdict
from ..base import SessionBase
from ..rounds import record_selection, record_verdict
from .record import Tool, ToolOutcome, error


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


def _submit_verdict(s: SessionBase, call: ToolCall, args: dict) -> ToolOutcome:
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


def _select_rollout(s: SessionBase, call: ToolCall, args: dict) -> ToolOutcome:
    rounds = [a.round for a in s.stage_state.usable_attempts()]
    if args["best"] not in rounds:
        return error(f"select_rollout 'best' must be one of the rollouts {rounds}")
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


TOOLS = (
    Tool(
        "submit_verdict",
        "Your judgement of this attempt for this stage only. analysis first: your reasoning. "
        "approved=true moves on to the next stage. checklist: concrete, actionable fixes for the "
        "generator (empty when approved). best_attempt: the round number of the best attempt so "
        "far.",
        {
            "analysis": {
                "type": "string",
                "description": "Write this first. For each item of the previous checklist (if "
                "any): fixed or not, and what you see. Then what still differs from the photo "
                "in this stage's factor, and why you approve or not.",
            },
            "approved": {"type": "boolean"},
            "checklist": {"type": "array", "items": {"type": "string"}},
            "best_attempt": {"type": "integer"},
            "score": {"type": "number", "description": "0-10 match for this stage's factor"},
        },
        required=["analysis", "approved", "checklist", "best_attempt"],
        category=None,
        handler=_submit_verdict,
        check=_check_verdict,
    ),
    Tool(
        "select_rollout",
        "Init only: pick the rollout whose scaffold is the best base for the later stages, "
        "having compared them all. analysis: what each rollout gets right and wrong; best: its "
        "round number; scores: a 0-10 score per rollout, keyed by round number; reason: one "
        "sentence on why best wins.",
        {
            "analysis": {"type": "string"},
            "best": {"type": "integer"},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "reason": {"type": "string"},
        },
        required=["analysis", "best", "scores", "reason"],
        category=None,
        handler=_select_rollout,
        check=_check_select,
    ),
)
