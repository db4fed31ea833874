"""The attempt phase in short steps: the render comes back → the snapshot → PSNR/SSIM (off the
main thread) → the attempt is recorded → the verifier's comparison images (off the main thread)
→ the verifier starts.

One generator: only its end writes (every step before it is a waiting step: no state.json, no
event), so state.json holds either the round before its attempt or the attempt complete, and a
crash or a pause in between restarts the round as before (``restart_interrupted_round``).
"""

from __future__ import annotations

import time
from typing import Any

from ...common import metrics
from .. import selection
from ..runstore import write_json, write_text
from ..state import Attempt, Conversation, Phase, joined_code
from . import interaction, physics
from .base import SessionBase
from .events import StepKind, StepResult, Wait, Work
from .rounds import comparison_job, start_verifier


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


def attempt(s: SessionBase) -> Work:
    stage, ss = s.stage, s.stage_state
    n = ss.round
    rdir = s.round_dir(n)
    baked = interaction.active(s)
    if baked:  # the attempt is a bake: a contact sheet of its frames and the trajectories
        render = yield from s.host_wait("render", "bake_simulation", interaction.attempt_args(s))
        interaction.record_trajectories(s, render)
        if not render.get("ok"):
            ss.round_failed = f"the bake failed: {render.get('error')}"
    else:  # the attempt is what the verifier judges: rendered big enough to judge
        settings = s.state.settings
        size = max(settings.preview_size, settings.verify_size)
        render = yield from s.render(rdir / "render.png", size)
    write_text(rdir / "code.py", joined_code(ss.code) + "\n")
    yield Wait("snapshot")
    s.snapshot(rdir / "snapshot.blend")
    found: dict[str, Any] = {}
    if render.get("ok") and not baked:  # no pixel metrics for a bake
        found, seconds = yield from s.offthread.run(
            "metrics", compare_job, str(rdir / "render.png"), _photo(s)
        )
        s.state.timing.other_tools += seconds
    result = _record(s, found if render.get("ok") else None)
    if result.failed:
        s.state.phase = Phase.ROUND_END
        return StepResult(
            StepKind.ATTEMPT, f"round {n} failed: {result.failed}", stage=stage.name, round=n
        )
    if baked:
        interaction.start_verifier(s, result)
        return StepResult(
            StepKind.ATTEMPT,
            f"{stage.name} round {n}: baked, verifier next",
            stage=stage.name,
            round=n,
        )
    fn, args = comparison_job(s, result)
    parts = yield from s.offthread.run("comparison images", fn, *args)
    start_verifier(s, result, comparison=parts)
    return StepResult(
        StepKind.ATTEMPT,
        f"{stage.name} round {n}: rendered, verifier next",
        stage=stage.name,
        round=n,
        metrics=result.metrics,
    )


def _record(s: SessionBase, found: dict | None) -> Attempt:
    """The attempt into the stage's attempts (``found``: its metrics; None: no render)."""
    ss = s.stage_state
    n = ss.round
    rdir = s.round_dir(n)
    result = Attempt(
        round=n,
        snapshot=s.store.relative(rdir / "snapshot.blend"),
        render=s.store.relative(rdir / "render.png"),
        summary=ss.summary,
        failed=ss.round_failed,
    )
    ss.round_failed = None
    if found is not None:
        result.metrics = found
        checked = physics.latest(rdir)  # the generator's last settle check of the round
        if checked:
            result.metrics = {**found, "physics": checked}
    if s.stage.rollouts:
        result.scene_graph = ss.scene_graph
        names = s.timed("other_tools", "object_names", {}).get("names", [])
        result.object_names = names
        result.coverage = selection.coverage(ss.scene_graph, names)
    ss.attempts.append(result)
    ss.hand_edit_base = None
    ss.generator_conv = s.state.conv
    write_json(rdir / "messages.json", {"generator": _conv_json(s.state.conv)})
    return result


def _photo(s: SessionBase) -> str:
    return str(s.store.reference)


def _conv_json(conv: Conversation | None) -> dict | None:
    return conv.to_json() if conv else None
