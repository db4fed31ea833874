"""The run's phases as a table: ``PHASES[phase](session)`` -> a ``StepResult``, or for a phase
that waits (a render, image work off the main thread) a generator that yields ``Wait`` and
returns the ``StepResult`` (``Session.step`` advances it one step at a time).

Per stage: stage_start → round_start → generator ⇄ (model, tools) → attempt → verifier ⇄
(model, tools) → round_end → (next round | stage_end) → … → final → done. Each handler does one
short unit of work (a snapshot, a render, a request) and moves ``state.phase`` on.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path

from .. import messages as msg
from .. import selection
from ..runstore import write_json
from ..state import Conversation, Phase, RunStatus, StageStatus
from . import editing, interaction, physics, turns
from .attempt import attempt, compare_job
from .base import SessionBase
from .events import StepKind, StepResult, Wait, Work
from .offthread import place_program_job
from .rounds import (
    last_checklist,
    round_history,
    selector_sheet_job,
    stage_failed,
    start_selector,
)


def begin(s: SessionBase) -> StepResult:
    failed = editing.begin_edit(s)
    if failed is not None:
        return failed
    ref = s.state.reference
    s.host.call(
        "setup_scene",
        {
            "width": ref["width"],
            "height": ref["height"],
            "final_size": s.state.settings.final_size,
        },
    )
    s.state.phase = Phase.STAGE_START
    return StepResult(StepKind.SETUP, f"scene set up for a {ref['width']}x{ref['height']} photo")


def stage_start(s: SessionBase) -> StepResult:
    stage, ss = s.stage, s.stage_state
    idx = s.state.stage_index
    if idx > 0 and s.state.scene_at is None:
        s.restore(s.store.stage_dir(s.state.stage_order[idx - 1]) / "snapshot.blend")
    elif idx == 0 and stage.rollouts:
        s.host.call("reset_scene", {})
    elif idx == 0 and s.state.scene_at is None and editing.start_scene_path(s):
        editing.restore_start(s)  # a resumed edit run: the artist's scene again
    if interaction.active(s):  # every mesh object gets a fitting rigid body first
        settings = s.state.settings
        prepared = s.host.call(
            "prepare_physics",
            {"frames": settings.interaction_frames, "fps": settings.interaction_fps},
        )
        if not prepared.get("ok"):
            raise RuntimeError(f"could not prepare the rigid bodies: {prepared.get('error')}")
    s.snapshot(s.store.stage_dir(stage.name) / "start.blend")
    ss.status = StageStatus.RUNNING
    ss.round = 1
    ss.started = time.time()
    s.state.phase = Phase.ROUND_START
    return StepResult(
        StepKind.STAGE_STARTED,
        f"{stage.title}: started ({stage.budget} rounds)",
        stage=stage.name,
    )


def _photo(s: SessionBase) -> str:
    return str(s.store.reference)


def _round_base(s: SessionBase) -> Path:
    stage, ss = s.stage, s.stage_state
    if ss.hand_edit_base:
        return s.store.path(ss.hand_edit_base)
    done = [a for a in ss.usable_attempts() if a.round < ss.round]
    if stage.rollouts or not done:
        return s.store.stage_dir(stage.name) / "start.blend"
    # the next round builds on the best attempt so far, not merely the last one
    best = selection.best_attempt(done) or done[-1]
    return s.store.path(best.snapshot)


def round_start(s: SessionBase) -> Work:
    stage, ss = s.stage, s.stage_state
    n = ss.round
    rdir = s.round_dir(n)
    before = rdir / "before.png"
    base = _round_base(s)
    if s.state.scene_at != s.store.relative(base):
        s.restore(base)
        if not before.exists():
            yield Wait("scene restored")  # the render starts on the next step
    rdir.mkdir(parents=True, exist_ok=True)
    if not before.exists():
        yield from s.render(before)
    # rollouts are independent: a rollout never sees another's checklist (it never saw its names)
    checklist = [] if stage.rollouts else last_checklist(s)
    intro = [msg.text(f"Round {n} of {stage.budget} of the {stage.name} stage.")]
    if checklist:
        intro.append(
            msg.text(
                "The verifier rejected the previous attempt. Fix these:\n- "
                + "\n- ".join(checklist)
            )
        )
        previous = next((a.verdict for a in reversed(ss.attempts) if a.verdict), None)
        if previous is not None and previous.analysis:
            intro.append(msg.text(f"The verifier's analysis: {previous.analysis}"))
        if ss.attempts and not stage.rollouts:
            best = selection.best_attempt([a for a in ss.attempts if a.round < n])
            if best is not None:
                intro.append(msg.text(f"This round starts from the scene of round {best.round}."))
    hand, ss.hand_edits = ss.hand_edits, None
    if hand:
        intro.append(
            msg.text(
                "The artist edited the scene by hand since the last round "
                f"(keep these edits): {json.dumps(hand)}"
            )
        )
    intro += [msg.text("Current render of the scene:"), msg.image(str(before))]
    # memory "compact": a fresh context each round (the photo, the scene graph, the scene now,
    # the checklist, one line per earlier round); "full": the whole earlier transcript
    carried = s.state.settings.memory == "full" and not stage.rollouts
    previous = ss.generator_conv if carried else None
    ss.generator_conv_before_round = copy.deepcopy(ss.generator_conv)
    if previous is None:
        info = s.timed("other_tools", "get_scene_info", {})
        first = [msg.text("Reference photo:"), msg.image(str(s.store.reference))]
        if s.state.edit is not None:
            first.append(msg.text(s.state.edit.brief()))
        if interaction.active(s):
            first.append(msg.text(interaction.prompt_text(s)))
        if s.state.scene_graph and not stage.rollouts:
            source = "of the artist's scene" if s.state.edit else "from initialization"
            first.append(msg.text(f"Scene graph {source}:\n" + json.dumps(s.state.scene_graph)))
        first.append(msg.text("Scene now:\n" + info.get("text", "")))
        first += round_history(s)
        s.state.conv = Conversation(
            stage=stage.name,
            role="generator",
            system=s.system_prompt("generator"),
            messages=[msg.user(*first, *intro)],
        )
    else:
        s.state.conv = copy.deepcopy(previous)
        s.state.conv.messages.append(msg.user(*intro))
    s.state.conv.turn = 0
    s.state.conv.control = None
    ss.code = []
    ss.summary = ""
    s.state.phase = Phase.GENERATOR
    return StepResult(
        StepKind.ROUND_STARTED,
        f"{stage.name} round {n}/{stage.budget}: generator",
        stage=stage.name,
        round=n,
    )


def round_end(s: SessionBase) -> StepResult:
    stage, ss = s.stage, s.stage_state
    n = ss.round
    last = ss.attempts[-1]
    verdict = last.verdict
    approved = bool(verdict and verdict.approved)
    write_json(
        s.round_dir(n) / "verdict.json",
        {
            **(verdict.to_json() if verdict else {}),
            "round": n,
            "metrics": last.metrics,
            "coverage": last.coverage,
            "failed": last.failed,
            **selection.pick_against_metrics(ss.attempts, verdict),
        },
    )
    if approved and not stage.rollouts:
        s.state.phase = Phase.STAGE_END
        ss.outcome = StageStatus.APPROVED
    elif n < stage.budget:
        ss.round = n + 1
        s.state.phase = Phase.ROUND_START
    else:
        # init with several usable rollouts: the selector compares them first
        many = stage.rollouts and len(ss.usable_attempts()) > 1
        s.state.phase = Phase.SELECT if many else Phase.STAGE_END
        ss.outcome = StageStatus.APPROVED if approved else StageStatus.BUDGET_SPENT
    if s.state.settings.pause_after == "round":
        s.pause(f"paused after {stage.name} round {n}")
    s.write_report(background=s.state.status is RunStatus.RUNNING)  # else the pump stops here
    word = "approved" if approved else "rejected"
    return StepResult(
        StepKind.ROUND_ENDED,
        f"{stage.name} round {n}: {word}",
        stage=stage.name,
        round=n,
        approved=approved,
    )


def stage_end(s: SessionBase) -> StepResult:
    stage, ss = s.stage, s.stage_state
    pick = (selection.best_rollout if stage.rollouts else selection.best_attempt)(ss.attempts)
    chosen = (ss.selection or {}).get("best")
    if stage.rollouts and chosen is not None:
        pick = next((a for a in ss.usable_attempts() if a.round == chosen), pick)
    hand_base, ss.hand_edit_base = ss.hand_edit_base, None
    if hand_base:
        # the artist edited the scene by hand after the last round: their scene is the result
        s.restore_unless_there(s.store.path(hand_base))
        ss.status = ss.outcome or StageStatus.BUDGET_SPENT
        ss.best = pick.round if pick else None
        message = f"{stage.title}: kept the artist's hand edits"
    elif pick is None:
        # a run is done only when every stage has a successful attempt: stop here, failed
        return stage_failed(s)
    else:
        s.restore_unless_there(s.store.path(pick.snapshot))
        ss.best = pick.round
        ss.status = ss.outcome or StageStatus.BUDGET_SPENT
        if stage.rollouts:
            approved = pick.verdict is not None and pick.verdict.approved
            ss.status = StageStatus.APPROVED if approved else StageStatus.BUDGET_SPENT
        message = f"{stage.title}: {ss.status.replace('_', ' ')}, kept round {pick.round}"
    ss.outcome = None
    if stage.rollouts and pick:
        s.state.scene_graph = pick.scene_graph
    ss.finished = time.time()
    s.snapshot(s.store.stage_dir(stage.name) / "snapshot.blend")
    s.goto_stage(s.state.stage_index + 1)
    settings = s.state.settings
    if settings.stop_after == stage.name:
        s.pause(f"stopped after {stage.name} as asked")
    elif settings.pause_after == "stage" and s.state.phase is not Phase.FINAL:
        s.pause(f"paused after {stage.name}")
    s.write_report(background=s.state.status is RunStatus.RUNNING)  # else the pump stops here
    return StepResult(
        StepKind.STAGE_ENDED,
        message,
        stage=stage.name,
        status=str(ss.status),
        best=ss.best,
    )


def select(s: SessionBase) -> Work:
    """Init's selection: start the selector's conversation, then take its turns."""
    if s.state.conv is None or s.state.conv.role != "selector":
        fn, args = selector_sheet_job(s)
        sheet = yield from s.offthread.run("sheet of rollouts", fn, *args)
        start_selector(s, sheet)
        return StepResult(
            StepKind.ROUND_STARTED,
            f"{s.stage.name}: the selector compares the rollouts",
            stage=s.stage.name,
        )
    return (yield from turns.conversation_step(s, "selector"))


def final(s: SessionBase) -> Work:
    last_name = s.state.stage_order[-1]
    last_stage = s.state.stages[last_name]
    hand_base, last_stage.hand_edit_base = last_stage.hand_edit_base, None
    last = s.store.path(hand_base) if hand_base else s.store.stage_dir(last_name) / "snapshot.blend"
    s.restore_unless_there(last)
    d = s.store.dir
    settings = s.state.settings
    # after the render, one short step each: final.blend, scene.py, the metrics (off the main
    # thread); a crash in between renders again on resume, as before
    r = yield from s.host_wait(
        "render",
        "render",
        {
            "preset": "final",
            "path": str(d / "final.png"),
            "long_side": settings.final_size,
            "samples": settings.final_samples,
            "device": settings.render_device,
            "engine": settings.engine,
        },
    )
    yield Wait("final render done")
    baked = None
    if interaction.INTERACTION in s.state.stage_order:  # final.blend holds the bake
        baked = yield from interaction.final_bake(s)
        yield Wait("final bake")
    if not (baked or {}).get("saved"):
        s.timed("other_tools", "save_blend", {"path": str(d / "final.blend")})
        yield Wait("final.blend")
    checked = None
    if baked is None:  # the settle check of the final scene (a scene set in motion is not)
        checked = yield from physics.final_check(s, d)
        yield Wait("settle check")
    written = d / ".scene.py.unchecked"
    r_py = s.timed("other_tools", "write_scene_py", {"path": str(written), "check": False})
    scene_py_error = None if r_py.get("ok") else r_py.get("error")
    if r_py.get("ok"):  # parsed off the main thread, then moved
        yield Wait("scene.py")
        scene_py_error = yield from s.offthread.run(
            "scene.py check", place_program_job, str(written), str(d / "scene.py")
        )
    if r.get("ok"):
        metrics, seconds = yield from s.offthread.run(
            "metrics", compare_job, str(d / "final.png"), _photo(s)
        )
        s.state.timing.other_tools += seconds
    else:
        metrics = {"error": r.get("error")}
    baked = interaction.final_summary(baked)
    write_json(
        d / "metrics.json",
        {
            "final": metrics,
            **({"physics": checked} if checked else {}),
            **({"scene_py_error": scene_py_error} if scene_py_error else {}),
            **({"interaction": baked} if baked else {}),
            "stages": {
                name: {
                    "status": str(ss.status),
                    "best": ss.best,
                    "rounds": len(ss.attempts),
                    "metrics": [a.metrics for a in ss.attempts],
                    "tokens": ss.tokens.to_json(),
                    "cost_usd": ss.cost_usd,
                }
                for name, ss in s.state.stages.items()
            },
            "totals": s.state.totals.to_json(),
            "timing": {**s.state.timing.to_json(), "elapsed": s.elapsed()},
        },
    )
    s.state.phase = Phase.DONE
    s.state.status = RunStatus.DONE
    if checked:
        physics.record_final(s, checked)
    s.state.message = " · ".join(
        filter(None, [f"done: {d / 'final.blend'}", physics.line(checked)])
    )
    s.write_report()
    return StepResult(
        StepKind.DONE,
        s.state.message,
        metrics=metrics,
        extra={"physics": checked} if checked else {},
    )


PHASES: dict[Phase, Callable[[SessionBase], StepResult | Work]] = {
    Phase.BEGIN: begin,
    Phase.STAGE_START: stage_start,
    Phase.ROUND_START: round_start,
    Phase.GENERATOR: lambda s: turns.conversation_step(s, "generator"),
    Phase.ATTEMPT: attempt,
    Phase.VERIFIER: lambda s: turns.conversation_step(s, "verifier"),
    Phase.ROUND_END: round_end,
    Phase.SELECT: select,
    Phase.STAGE_END: stage_end,
    Phase.FINAL: final,
}
