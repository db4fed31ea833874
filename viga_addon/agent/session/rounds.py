"""The round in progress, as both roles see it: the verifier's checklist so far, the verifier's
first message, and recording its verdict (with the round's messages); a stage whose every
attempt failed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from ...common import sheets
from .. import messages as msg
from ..runstore import write_json
from ..state import Attempt, Conversation, Phase, RunStatus, StageStatus, Verdict
from .base import SessionBase
from .events import StepKind, StepResult


def last_checklist(s: SessionBase, before_current: bool = False) -> list[str]:
    attempts = s.stage_state.attempts
    if before_current:
        attempts = attempts[:-1]
    for a in reversed(attempts):
        if a.verdict is not None:
            return a.verdict.checklist
    return []


def round_history(s: SessionBase) -> list[dict]:
    """One line for each earlier round of the stage (its verdict, the verifier's first point,
    its metrics), for a generator that starts the round from a fresh context; [] in round 1."""
    ss = s.stage_state
    lines = []
    for a in ss.attempts:
        if a.round >= ss.round:
            continue
        if a.failed:
            lines.append(f"- round {a.round}: failed ({a.failed[:160]})")
            continue
        v = a.verdict
        word = "approved" if v and v.approved else "rejected"
        point = f"; first point: {v.checklist[0][:160]}" if v and v.checklist else ""
        m = a.metrics or {}
        metric = f"; PSNR {m['psnr']}, SSIM {m.get('ssim')}" if m.get("psnr") is not None else ""
        summary = f" — {a.summary[:160]}" if a.summary else ""
        lines.append(f"- round {a.round}: {word}{summary}{point}{metric}")
    if not lines:
        return []
    return [msg.text("Earlier rounds of this stage:\n" + "\n".join(lines))]


def comparison_job(s: SessionBase, attempt: Attempt) -> tuple[Callable[..., list[dict]], tuple]:
    """The verifier's comparison images of ``attempt`` as a job for a worker thread: its
    function and arguments (paths and labels only, read from the state here)."""
    usable = s.stage_state.usable_attempts()
    render = s.store.path(attempt.render)
    tiles = [
        sheets.Tile(s.store.path(a.render), sheets.metrics_label(f"round {a.round}", a.metrics))
        for a in usable
    ]
    label = f"attempt {attempt.round}"
    return comparison_parts, (s.store.reference, render, label, tiles if len(usable) > 1 else [])


def comparison_parts(
    reference: Path, render: Path, label: str, tiles: list[sheets.Tile]
) -> list[dict]:
    """The photo and the attempt side by side and, with ``tiles``, the labelled sheet of the
    stage's attempts (written beside ``render``), as message parts."""
    rdir = render.parent
    parts = []
    try:
        pair = sheets.side_by_side(reference, render, rdir / "compare.png", label)
        parts += [msg.text("The photo and the attempt side by side:"), msg.image(str(pair))]
        if tiles:
            sheet = sheets.contact_sheet(reference, tiles, rdir / "attempts.png")
            parts += [
                msg.text(
                    "Every attempt of this stage so far, with its PSNR/SSIM against the photo "
                    "(best_attempt is one of these rounds):"
                ),
                msg.image(str(sheet)),
            ]
    except OSError as e:  # an unreadable render: the verifier still sees the attempt itself
        parts.append(msg.text(f"(The comparison images could not be made: {e})"))
    return parts


def start_verifier(s: SessionBase, attempt: Attempt, comparison: list[dict] | None = None) -> None:
    """The verifier's conversation: its first message holds the photo, the attempt it judges,
    both side by side and (from the second attempt on) the labelled sheet of the stage's
    attempts to pick ``best_attempt`` from; the memory policy pins them all. ``comparison``:
    those images' parts when a worker thread made them (``comparison_job``)."""
    stage = s.stage
    rounds = [a.round for a in s.stage_state.usable_attempts()]
    render = s.store.path(attempt.render)
    if comparison is None:
        fn, args = comparison_job(s, attempt)
        comparison = fn(*args)
    parts = [
        msg.text("Reference photo:"),
        msg.image(str(s.store.reference)),
        msg.text(f"Attempt of round {attempt.round} of {stage.budget}:"),
        msg.image(str(render)),
        *comparison,
    ]
    parts.append(
        msg.text(
            f"Rounds with attempts so far: {rounds}. Generator's summary: "
            f"{attempt.summary or '(none)'}"
        )
    )
    if attempt.metrics:
        m = attempt.metrics
        parts.append(
            msg.text(f"Pixel metrics against the photo: PSNR {m.get('psnr')}, SSIM {m.get('ssim')}")
        )
    if stage.rollouts and attempt.scene_graph:
        parts.append(
            msg.text(
                "Scene graph of this rollout:\n"
                + json.dumps(attempt.scene_graph)
                + f"\nCoverage of its leaves: {attempt.coverage}"
            )
        )
    checklist = [] if stage.rollouts else last_checklist(s, before_current=True)
    if checklist:
        parts.append(msg.text("Previous checklist:\n- " + "\n- ".join(checklist)))
    s.state.conv = Conversation(
        stage=stage.name,
        role="verifier",
        system=s.system_prompt("verifier"),
        messages=[msg.user(*parts)],
    )
    s.state.phase = Phase.VERIFIER


def record_verdict(s: SessionBase, verdict: Verdict) -> None:
    ss = s.stage_state
    ss.attempts[-1].verdict = verdict
    write_json(
        s.round_dir() / "messages.json",
        {
            "generator": ss.generator_conv.to_json() if ss.generator_conv else None,
            "verifier": s.state.conv.to_json() if s.state.conv else None,
        },
    )


# ---------------------------------------------------------------------- init: the selector
def selector_sheet_job(s: SessionBase) -> tuple[Callable[..., list[dict]], tuple]:
    """The labelled sheet of every rollout for the selector, as a job for a worker thread."""
    tiles = [
        sheets.Tile(s.store.path(a.render), sheets.metrics_label(f"rollout {a.round}", a.metrics))
        for a in s.stage_state.usable_attempts()
    ]
    out = s.store.stage_dir(s.stage.name) / "rollouts.png"
    return selector_sheet_parts, (s.store.reference, tiles, out)


def selector_sheet_parts(reference: Path, tiles: list[sheets.Tile], out: Path) -> list[dict]:
    try:
        sheet = sheets.contact_sheet(reference, tiles, out)
        return [msg.text("Every rollout's scaffold (labelled):"), msg.image(str(sheet))]
    except OSError as e:
        return [msg.text(f"(The sheet of rollouts could not be made: {e})")]


def start_selector(s: SessionBase, sheet: list[dict] | None = None) -> None:
    """One comparative request over every rollout: the photo, a labelled sheet of their renders
    with metrics, and each rollout's scene graph, coverage and verdict. ``sheet``: the sheet's
    parts when a worker thread made them (``selector_sheet_job``)."""
    stage, ss = s.stage, s.stage_state
    usable = ss.usable_attempts()
    if sheet is None:
        fn, args = selector_sheet_job(s)
        sheet = fn(*args)
    parts = [msg.text("Reference photo:"), msg.image(str(s.store.reference)), *sheet]
    for a in usable:
        v = a.verdict
        parts.append(
            msg.text(
                f"Rollout {a.round}: coverage of its own leaves {a.coverage}, of every "
                f"rollout's leaves {a.joint_coverage}; objects {a.object_names}; verifier "
                f"{'approved' if v and v.approved else 'not approved'}"
                + (f" ({'; '.join(v.checklist)})" if v and v.checklist else "")
                + f"\nScene graph: {json.dumps(a.scene_graph)}"
            )
        )
    parts.append(msg.text(f"Call select_rollout with best one of {[a.round for a in usable]}."))
    s.state.conv = Conversation(
        stage=stage.name,
        role="selector",
        system=s.system_prompt("selector"),
        messages=[msg.user(*parts)],
    )


def fallback_selection(s: SessionBase, why: str) -> dict:
    """The selection when the selector gives none: the ranking by coverage, verdict, metrics."""
    from .. import selection

    pick = selection.best_rollout(s.stage_state.attempts)
    return {"best": pick.round if pick else None, "reason": why, "by": "ranking"}


def record_selection(s: SessionBase, choice: dict) -> None:
    """Keep the selector's choice (and every rollout's score) in the state and the run folder."""
    ss = s.stage_state
    rollouts = [
        {
            "round": a.round,
            "coverage": a.coverage,
            "joint_coverage": a.joint_coverage,
            "metrics": a.metrics,
            "approved": bool(a.verdict and a.verdict.approved),
            "score": (choice.get("scores") or {}).get(str(a.round)),
        }
        for a in ss.usable_attempts()
    ]
    ss.selection = {**choice, "rollouts": rollouts}
    write_json(
        s.store.stage_dir(s.stage.name) / "selection.json",
        {
            **ss.selection,
            "messages": s.state.conv.to_json() if s.state.conv else None,
        },
    )


def stage_failed(s: SessionBase) -> StepResult:
    """Every attempt of the stage failed: the run fails here, not "done".

    A run is done when every stage ended approved or with its budget spent, with at least one
    successful attempt; a stage without one would hand the next stage nothing (an empty scene
    after a run of failed rounds is not a result). The scene goes back to the stage's start;
    resume runs the stage again from there (its round folders stay on disk).
    """
    stage, ss = s.stage, s.stage_state
    failures = [a.failed for a in ss.attempts if a.failed]
    s.restore_unless_there(s.store.stage_dir(stage.name) / "start.blend")
    ss.status = StageStatus.FAILED
    ss.outcome = None
    ss.finished = time.time()
    ss.attempts = []
    ss.generator_conv = None
    s.state.phase = Phase.STAGE_START
    s.state.status = RunStatus.FAILED
    last = failures[-1] if failures else "no attempt was made"
    s.state.message = (
        f"{stage.title}: every attempt failed ({len(failures)} of {stage.budget}; the last: "
        f"{last}). The run is not done; fix the cause and resume to run {stage.name} again."
    )
    s.write_report()
    return StepResult(StepKind.FAILED, s.state.message, stage=stage.name)
