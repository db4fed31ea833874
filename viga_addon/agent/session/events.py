"""What one ``Session.step()`` did: a typed result, also written as a line of events.jsonl; and
``Wait``, what a phase's generator yields while a render or an off-thread job is under way."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class StepKind(StrEnum):
    WAITING = "waiting"  # a model request is still in flight
    REQUEST = "request"  # a request was sent to the model
    RESPONSE = "response"  # the model answered with tool calls
    TOOL = "tool"  # one tool call ran
    REVIEW = "review"  # generator code waits for the artist
    SETUP = "setup"  # the scene got the photo's aspect ratio
    STAGE_STARTED = "stage_started"
    ROUND_STARTED = "round_started"
    GENERATOR_DONE = "generator_done"  # end_round, or the generator's turns ran out
    ATTEMPT = "attempt"  # the attempt was rendered and snapshotted
    VERDICT = "verdict"  # the verifier gave its verdict (or ran out of turns)
    ROUND_FAILED = "round_failed"  # a request failed in a way that fails this round only
    ROUND_ENDED = "round_ended"
    SELECTED = "selected"  # init: the selector picked a rollout (or the ranking did)
    STAGE_ENDED = "stage_ended"
    DONE = "done"
    PAUSED = "paused"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: kinds after which a pump stops stepping (the run waits or is over)
STOPS = frozenset(
    {
        StepKind.WAITING,
        StepKind.PAUSED,
        StepKind.REVIEW,
        StepKind.DONE,
        StepKind.FAILED,
        StepKind.CANCELLED,
    }
)


@dataclass
class StepResult:
    kind: StepKind
    message: str = ""
    stage: str | None = None
    round: int | None = None
    tool: str | None = None
    is_error: bool | None = None  # the tool call failed
    approved: bool | None = None  # ROUND_ENDED: the verdict
    status: str | None = None  # STAGE_ENDED: the stage's status
    best: int | None = None  # STAGE_ENDED: the round kept
    metrics: dict | None = None
    error_type: str | None = None
    images: int | None = None
    usage: dict | None = None
    cost_usd: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def waiting(self) -> bool:
        return self.kind is StepKind.WAITING

    @property
    def stops(self) -> bool:
        return self.kind in STOPS

    def event(self) -> dict[str, Any]:
        """The fields that are set, for events.jsonl."""
        out: dict[str, Any] = {"kind": str(self.kind), "message": self.message[:300]}
        for f in fields(self):
            if f.name in ("kind", "message", "extra"):
                continue
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Wait:
    """Yielded by a phase that waits: ``what`` is under way (``rendering``: in the render
    process; else image work on the worker thread, or one short main-thread part of a longer
    phase, handing the step back to the pump). A waiting step writes nothing."""

    what: str
    rendering: bool = False


#: a phase that waits: yields ``Wait`` while it does, returns the step's result
Work = Generator[Wait, None, StepResult]
