"""The attempt phase in short steps: the render comes back → the snapshot → PSNR/SSIM (off the
main thread) → the attempt is recorded → the verifier's comparison images (off the main thread)
→ the verifier starts.

Only the last step writes: every step before it is a waiting step (no state.json, no event), so
state.json holds either the round before its attempt or the attempt complete, and a crash or a
pause in between restarts the round as before (``restart_interrupted_round``). What the steps in
between hand on lives in ``Session.attempt_work``, in memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...common import metrics
from .. import selection
from ..runstore import write_json, write_text
from ..state import Attempt, Conversation, Phase, joined_code
from . import interaction
from .events import StepKind, StepResult
from .hostcalls import host_step, waiting
from .offthread import job_step, working
from .rounds import comparison_job, start_verifier

if TYPE_CHECKING:
    from .core import Session


@dataclass
class AttemptWork:
    """How far the attempt of ``round`` has come (in memory, between its steps)."""

    stage: str
    round: int
    render_ok: bool
    snapshot: bool = False  # taken
    recorded: bool = False  # the Attempt is in the stage's attempts


def compare_job(render: str, photo: str) -> tuple[dict[str, Any], float]:
    """PSNR/SSIM of ``render`` against ``photo`` as ``Session.compare`` gives them, and the
    seconds it took (a failure is no metrics, as a failed host call is)."""
    t0 = time.monotonic()
    try:
        result = metrics.compare(render, photo)
    except Exception:  # a metric bug must not take the run down
        result = {}
    keep = {k: result.get(k) for k in ("psnr", "ssim", "note") if result.get(k) is not None}
    return keep, time.monotonic() - t0


def attempt(s: Session) -> StepResult:
    stage, ss = s.stage, s.stage_state
    n = ss.round
    rdir = s.round_dir(n)
    work = s.attempt_work
    if work is None or (work.stage, work.round) != (stage.name, n):
        # the attempt is what the verifier judges: rendered big enough to judge
        settings = s.state.settings
        if interaction.active(s):  # the attempt is a bake: its frames and trajectories
            args = interaction.attempt_args(s)
            render = host_step(s, f"bake:{rdir}", "render", "bake_simulation", args)
            if render is None:
                return waiting(s, "bake")
            interaction.record_trajectories(s, render)
            if not render.get("ok"):
                ss.round_failed = f"the bake failed: {render.get('error')}"
        else:
            render = s.render(rdir / "render.png", max(settings.preview_size, settings.verify_size))
            if render is None:
                return waiting(s, "render")
        write_text(rdir / "code.py", joined_code(ss.code) + "\n")
        s.attempt_work = AttemptWork(stage.name, n, bool(render.get("ok")))
        return working(s, "snapshot")
    if not work.snapshot:
        s.snapshot(rdir / "snapshot.blend")
        work.snapshot = True
        if not work.render_ok or interaction.active(s):  # no pixel metrics for a bake
            return _record(s, work, {})
        job_step(s, _key(rdir, "metrics"), compare_job, str(rdir / "render.png"), _photo(s))
        return working(s, "metrics")
    if not work.recorded:
        done, value = job_step(
            s, _key(rdir, "metrics"), compare_job, str(rdir / "render.png"), _photo(s)
        )
        if not done:
            return working(s, "metrics")
        found, seconds = value
        s.state.timing.other_tools += seconds
        return _record(s, work, found)
    result = ss.attempts[-1]
    fn, args = comparison_job(s, result)
    done, parts = job_step(s, _key(rdir, "comparison"), fn, *args)
    if not done:
        return working(s, "comparison images")
    s.attempt_work = None
    start_verifier(s, result, comparison=parts)
    return StepResult(
        StepKind.ATTEMPT,
        f"{stage.name} round {n}: rendered, verifier next",
        stage=stage.name,
        round=n,
        metrics=result.metrics,
    )


def _record(s: Session, work: AttemptWork, found: dict) -> StepResult:
    """The attempt into the stage's attempts; a failed round ends here (a step that writes)."""
    stage, ss = s.stage, s.stage_state
    n = work.round
    rdir = s.round_dir(n)
    result = Attempt(
        round=n,
        snapshot=s.store.relative(rdir / "snapshot.blend"),
        render=s.store.relative(rdir / "render.png"),
        summary=ss.summary,
        failed=ss.round_failed,
    )
    ss.round_failed = None
    if work.render_ok:
        result.metrics = found
    if stage.rollouts:
        result.scene_graph = ss.scene_graph
        names = s.timed("other_tools", "object_names", {}).get("names", [])
        result.object_names = names
        result.coverage = selection.coverage(ss.scene_graph, names)
    ss.attempts.append(result)
    ss.hand_edit_base = None
    ss.generator_conv = s.state.conv
    write_json(rdir / "messages.json", {"generator": _conv_json(s.state.conv)})
    work.recorded = True
    if result.failed:
        s.attempt_work = None
        s.state.phase = Phase.ROUND_END
        return StepResult(
            StepKind.ATTEMPT, f"round {n} failed: {result.failed}", stage=stage.name, round=n
        )
    if interaction.active(s):
        s.attempt_work = None
        interaction.start_verifier(s, result)
        return StepResult(
            StepKind.ATTEMPT,
            f"{stage.name} round {n}: baked, verifier next",
            stage=stage.name,
            round=n,
        )
    fn, args = comparison_job(s, result)
    job_step(s, _key(rdir, "comparison"), fn, *args)
    return working(s, "comparison images")


def _key(rdir: Path, what: str) -> str:
    return f"{what}:{rdir}"


def _photo(s: Session) -> str:
    return str(s.store.reference)


def _conv_json(conv: Conversation | None) -> dict | None:
    return conv.to_json() if conv else None
