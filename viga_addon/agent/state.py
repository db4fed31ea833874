"""The run's state, typed: what state.json holds, with its statuses defined once.

``RunState`` is the whole resumable state of a run; ``StageState`` one stage of it; ``Attempt``
one round's result and ``Verdict`` the verifier's judgement of it. Each converts to and from the
plain JSON of state.json (``to_json`` / ``from_json``). Paths inside are relative to the run
folder, so a run folder can be moved and still resumes.

state.json carries ``version``; ``RunState.from_json`` reads every version written so far
(version 1: the untyped dict of earlier releases, with absolute paths).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from .scene_edit import SceneEdit
from .settings import Settings

STATE_VERSION = 2


class RunStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # by the user, a stop_after, a service error or a full disk: resumable
    REVIEW = "review"  # generator code waits for the artist's Approve / Skip
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StageStatus(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    APPROVED = "approved"
    BUDGET_SPENT = "budget_spent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Phase(StrEnum):
    """Where a run is. Per stage: stage_start → round_start → generator ⇄ tools → attempt →
    verifier ⇄ tools → round_end → (round_start | stage_end) → … → final → done."""

    BEGIN = "begin"
    STAGE_START = "stage_start"
    ROUND_START = "round_start"
    GENERATOR = "generator"
    ATTEMPT = "attempt"
    VERIFIER = "verifier"
    ROUND_END = "round_end"
    SELECT = "select"  # init: the selector compares every rollout in one request
    STAGE_END = "stage_end"
    FINAL = "final"
    DONE = "done"


STAGE_FINISHED = frozenset(
    {StageStatus.APPROVED, StageStatus.BUDGET_SPENT, StageStatus.FAILED, StageStatus.SKIPPED}
)
RUN_ENDED = frozenset({RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED})
RUN_HELD = frozenset({RunStatus.PAUSED, RunStatus.REVIEW})  # waits for the user
#: phases in which a round is under way (a resume restarts it from its snapshot)
IN_ROUND = frozenset({Phase.GENERATOR, Phase.ATTEMPT, Phase.VERIFIER})


def _opt_number(value: Any) -> float | None:
    """A number as it was (an int stays an int: files rewritten on resume stay byte-identical),
    or None for anything else."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class Verdict:
    approved: bool
    checklist: list[str] = field(default_factory=list)
    best_attempt: int | None = None
    score: float | None = None
    note: str | None = None
    analysis: str = ""  # the verifier's reasoning, item by item (verdicts before it: "")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "analysis": self.analysis,
            "approved": self.approved,
            "checklist": list(self.checklist),
            "best_attempt": self.best_attempt,
            "score": self.score,
        }
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Verdict:
        best = d.get("best_attempt")
        checklist = d.get("checklist") or []
        if isinstance(checklist, str):
            checklist = [checklist]
        return cls(
            approved=bool(d.get("approved")),
            checklist=[str(c) for c in checklist],
            best_attempt=best if isinstance(best, int) and not isinstance(best, bool) else None,
            score=_opt_number(d.get("score")),
            note=d.get("note"),
            analysis=str(d.get("analysis") or ""),
        )


@dataclass
class Attempt:
    """One round's result: the scene it left (snapshot), its render, metrics and verdict."""

    round: int
    snapshot: str  # relative to the run folder
    render: str
    summary: str = ""
    failed: str | None = None  # why the round failed, if it did
    metrics: dict[str, Any] | None = None  # {"psnr", "ssim", "note"} against the photo
    scene_graph: dict | None = None  # init rollouts: the rollout's own graph
    object_names: list[str] | None = None
    coverage: float | None = None
    joint_coverage: float | None = None
    verdict: Verdict | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "round": self.round,
            "snapshot": self.snapshot,
            "render": self.render,
            "summary": self.summary,
            "failed": self.failed,
        }
        for name in ("metrics", "scene_graph", "object_names", "coverage", "joint_coverage"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.verdict is not None:
            out["verdict"] = self.verdict.to_json()
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attempt:
        verdict = d.get("verdict")
        return cls(
            round=int(d["round"]),
            snapshot=str(d.get("snapshot") or ""),
            render=str(d.get("render") or ""),
            summary=d.get("summary") or "",
            failed=d.get("failed"),
            metrics=d.get("metrics"),
            scene_graph=d.get("scene_graph"),
            object_names=d.get("object_names"),
            coverage=_opt_number(d.get("coverage")),
            joint_coverage=_opt_number(d.get("joint_coverage")),
            verdict=Verdict.from_json(verdict) if isinstance(verdict, dict) else None,
        )


@dataclass
class CodeRun:
    """One execute_code call of the round in progress and how it went."""

    code: str
    status: str  # "ok" | "error" | "…, edited by the artist" | "skipped by the artist"

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "status": self.status}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CodeRun:
        return cls(code=str(d.get("code", "")), status=str(d.get("status", "")))


def joined_code(runs: list[CodeRun]) -> str:
    """A round's code as one program (code.py, the panel's Code button): the one format."""
    return "\n\n".join(
        f"# --- execute_code #{i + 1} ({run.status})\n{run.code}" for i, run in enumerate(runs)
    )


@dataclass
class Conversation:
    """One role's conversation in the current round (messages as in messages.py)."""

    stage: str
    role: str  # "generator" | "verifier"
    system: str
    messages: list[dict] = field(default_factory=list)
    turn: int = 0
    control: str | None = None  # "end_round" | "verdict": a tool asked the turn loop to stop

    def to_json(self) -> dict[str, Any]:
        out = {
            "stage": self.stage,
            "role": self.role,
            "system": self.system,
            "messages": self.messages,
            "turn": self.turn,
        }
        if self.control:
            out["control"] = self.control
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Conversation:
        return cls(
            stage=d.get("stage", ""),
            role=d.get("role", "generator"),
            system=d.get("system", ""),
            messages=list(d.get("messages") or []),
            turn=int(d.get("turn") or 0),
            control=d.get("control"),
        )


def _conv(d: Any) -> Conversation | None:
    return Conversation.from_json(d) if isinstance(d, dict) else None


@dataclass
class ToolCall:
    """A tool call of the model's last reply, waiting to run (or under the artist's review)."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    reviewed: str | None = None  # None | "approved" | "edited" | "skipped"

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "name": self.name, "arguments": self.arguments}
        if self.reviewed:
            out["reviewed"] = self.reviewed
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ToolCall:
        args = d.get("arguments")
        return cls(
            id=str(d.get("id", "")),
            name=str(d.get("name", "")),
            arguments=args if isinstance(args, dict) else {},
            reviewed=d.get("reviewed"),
        )


@dataclass
class Usage:
    """Tokens and requests (per stage, and for the run with its cost). ``input_tokens`` is the
    uncached input; cache writes and reads are counted apart (priced apart: cost.py)."""

    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    requests: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    def add(self, usage: dict[str, Any], images: int) -> None:
        self.input_tokens += int(usage.get("input_tokens") or 0)
        self.output_tokens += int(usage.get("output_tokens") or 0)
        self.cache_write_tokens += int(usage.get("cache_write_tokens") or 0)
        self.cache_read_tokens += int(usage.get("cache_read_tokens") or 0)
        self.images += int(usage.get("images", images) or 0)
        self.requests += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "images": self.images,
            "requests": self.requests,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Usage:
        d = d or {}
        return cls(**{k: int(d.get(k) or 0) for k in cls.__dataclass_fields__})


@dataclass
class Totals(Usage):
    cost_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "cost_usd": self.cost_usd}

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Totals:
        d = d or {}
        usage = Usage.from_json(d)
        return cls(**usage.to_json(), cost_usd=float(d.get("cost_usd") or 0.0))


@dataclass
class Timing:
    """Seconds spent, by kind of work."""

    model: float = 0.0
    execute: float = 0.0
    render: float = 0.0
    other_tools: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Timing:
        d = d or {}
        return cls(**{k: float(d.get(k) or 0.0) for k in cls.__dataclass_fields__})


@dataclass
class StageState:
    """One stage of the run: its status, rounds and attempts, and the round in progress."""

    budget: int
    status: StageStatus = StageStatus.WAITING
    round: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    best: int | None = None
    tokens: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    started: float | None = None
    finished: float | None = None
    outcome: StageStatus | None = None  # the status the stage ends with, decided at round end
    # init: the selector's choice {"best", "scores", "reason", "analysis"} (or its fallback)
    selection: dict | None = None
    # the round in progress
    plan: str | None = None
    scene_graph: dict | None = None  # init: the graph of the rollout in progress
    code: list[CodeRun] = field(default_factory=list)
    summary: str = ""
    round_failed: str | None = None
    generator_conv: Conversation | None = None  # kept across rounds (not for rollouts)
    generator_conv_before_round: Conversation | None = None
    # the artist's edits while paused: the scene they left is the next round's base
    hand_edit_base: str | None = None
    hand_edits: dict | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": str(self.status),
            "round": self.round,
            "budget": self.budget,
            "attempts": [a.to_json() for a in self.attempts],
            "best": self.best,
            "tokens": self.tokens.to_json(),
            "cost_usd": self.cost_usd,
            "started": self.started,
            "finished": self.finished,
            "outcome": str(self.outcome) if self.outcome else None,
            "selection": self.selection,
            "plan": self.plan,
            "scene_graph": self.scene_graph,
            "code": [c.to_json() for c in self.code],
            "summary": self.summary,
            "round_failed": self.round_failed,
            "generator_conv": self.generator_conv.to_json() if self.generator_conv else None,
            "generator_conv_before_round": (
                self.generator_conv_before_round.to_json()
                if self.generator_conv_before_round
                else None
            ),
            "hand_edit_base": self.hand_edit_base,
            "hand_edits": self.hand_edits,
        }
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StageState:
        outcome = d.get("outcome")
        return cls(
            budget=int(d.get("budget") or 1),
            status=StageStatus(d.get("status", "waiting")),
            round=int(d.get("round") or 0),
            attempts=[Attempt.from_json(a) for a in d.get("attempts") or []],
            best=d.get("best"),
            tokens=Usage.from_json(d.get("tokens")),
            cost_usd=float(d.get("cost_usd") or 0.0),
            started=d.get("started"),
            finished=d.get("finished"),
            outcome=StageStatus(outcome) if outcome else None,
            selection=d.get("selection"),
            plan=d.get("plan"),
            scene_graph=d.get("scene_graph"),
            code=[CodeRun.from_json(c) for c in d.get("code") or []],
            summary=d.get("summary") or "",
            round_failed=d.get("round_failed"),
            generator_conv=_conv(d.get("generator_conv")),
            generator_conv_before_round=_conv(d.get("generator_conv_before_round")),
            hand_edit_base=d.get("hand_edit_base"),
            hand_edits=d.get("hand_edits"),
        )

    def selection_text(self) -> str:
        """The selection in words (for the step's message)."""
        if not self.selection:
            return "no rollout selected"
        by = self.selection.get("by", "selector")
        return f"rollout {self.selection.get('best')} selected by the {by}"

    def usable_attempts(self) -> list[Attempt]:
        return [a for a in self.attempts if not a.failed]

    def latest_metrics(self) -> dict[str, Any] | None:
        for attempt in reversed(self.attempts):
            if attempt.metrics:
                return attempt.metrics
        return None


@dataclass
class Awaiting:
    """A model request in flight."""

    role: str
    images: int
    submitted: float

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "images": self.images, "submitted": self.submitted}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Awaiting:
        return cls(d.get("role", "generator"), int(d.get("images") or 0), d.get("submitted", 0.0))


@dataclass
class Review:
    """Generator code waiting for the artist."""

    code: str
    call_id: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "call_id": self.call_id}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Review:
        return cls(str(d.get("code", "")), str(d.get("call_id", "")))


@dataclass
class RunState:
    """Everything a run needs to go on after a crash; rewritten to state.json after each step."""

    settings: Settings
    reference: dict[str, Any]  # the photo as the run sees it: width, height, notes
    stage_order: list[str]
    stages: dict[str, StageState]
    status: RunStatus = RunStatus.RUNNING
    message: str = ""
    error_type: str | None = None  # the class name of the error that stopped or paused the run
    stage_index: int = 0
    phase: Phase = Phase.BEGIN
    scene_graph: dict | None = None  # chosen at the end of init (an edit run: the scene's)
    edit: SceneEdit | None = None  # a run that edits an existing scene (None: from empty)
    conv: Conversation | None = None  # the conversation in progress
    pending: list[ToolCall] = field(default_factory=list)  # tool calls still to run
    results: list[dict] = field(default_factory=list)  # tool results of this reply so far
    awaiting: Awaiting | None = None
    review: Review | None = None
    scene_at: str | None = None  # the snapshot the scene is known to equal (relative), if any
    totals: Totals = field(default_factory=Totals)
    timing: Timing = field(default_factory=Timing)
    started: float = field(default_factory=time.time)  # when this process took the run up
    elapsed_before: float = 0.0  # run time before that
    elapsed: float = 0.0

    # ------------------------------------------------------------------ derived
    @property
    def ended(self) -> bool:
        return self.status in RUN_ENDED

    @property
    def held(self) -> bool:
        return self.status in RUN_HELD

    @property
    def current_stage(self) -> str:
        """The stage in progress (or the last one, once the run is past it); "" with none."""
        if not self.stage_order:
            return ""
        return self.stage_order[min(self.stage_index, len(self.stage_order) - 1)]

    def stage(self, name: str | None = None) -> StageState:
        return self.stages[name or self.current_stage]

    def last_verdict(self) -> tuple[str, int, Verdict] | None:
        """(stage, round, verdict) of the verifier's most recent verdict in the run."""
        for name in reversed(self.stage_order):
            for attempt in reversed(self.stages[name].attempts):
                if attempt.verdict is not None:
                    return name, attempt.round, attempt.verdict
        return None

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "status": str(self.status),
            "message": self.message,
            "error_type": self.error_type,
            "settings": self.settings.to_dict(),
            "reference": self.reference,
            "stage_order": list(self.stage_order),
            "stage_index": self.stage_index,
            "phase": str(self.phase),
            "stages": {name: ss.to_json() for name, ss in self.stages.items()},
            "scene_graph": self.scene_graph,
            "edit": self.edit.to_json() if self.edit else None,
            "conv": self.conv.to_json() if self.conv else None,
            "pending": [c.to_json() for c in self.pending],
            "results": self.results,
            "awaiting": self.awaiting.to_json() if self.awaiting else None,
            "review": self.review.to_json() if self.review else None,
            "scene_at": self.scene_at,
            "totals": self.totals.to_json(),
            "timing": self.timing.to_json(),
            "started": self.started,
            "elapsed_before": self.elapsed_before,
            "elapsed": self.elapsed,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunState:
        """A state of any version written so far (see the module docstring)."""
        version = int(d.get("version") or 1)
        if version > STATE_VERSION:
            raise ValueError(
                f"state.json version {version} was written by a newer viga_addon "
                f"(this one reads up to {STATE_VERSION}); update the add-on to resume it"
            )
        if version == 1:
            d = migrate_v1(d)
        awaiting, review = d.get("awaiting"), d.get("review")
        stages = {name: StageState.from_json(ss) for name, ss in (d.get("stages") or {}).items()}
        return cls(
            settings=Settings.from_dict(d.get("settings")),
            reference=dict(d.get("reference") or {}),
            stage_order=list(d.get("stage_order") or stages),
            stages=stages,
            status=RunStatus(d.get("status", "running")),
            message=d.get("message") or "",
            error_type=d.get("error_type"),
            stage_index=int(d.get("stage_index") or 0),
            phase=Phase(d.get("phase", "begin")),
            scene_graph=d.get("scene_graph"),
            edit=SceneEdit.from_json(d.get("edit")),
            conv=_conv(d.get("conv")),
            pending=[ToolCall.from_json(c) for c in d.get("pending") or []],
            results=list(d.get("results") or []),
            awaiting=Awaiting.from_json(awaiting) if isinstance(awaiting, dict) else None,
            review=Review.from_json(review) if isinstance(review, dict) else None,
            scene_at=d.get("scene_at"),
            totals=Totals.from_json(d.get("totals")),
            timing=Timing.from_json(d.get("timing")),
            started=float(d.get("started") or time.time()),
            elapsed_before=float(d.get("elapsed_before") or 0.0),
            elapsed=float(d.get("elapsed") or 0.0),
        )


# ---------------------------------------------------------------------- earlier versions
_V1_STAGE_KEYS = {"status_pending": "outcome", "base_override": "hand_edit_base"}
_V1_SETTINGS_DROPPED = ()


def run_relative(path: Any) -> Any:
    """A path of a version-1 state (absolute, on the machine that wrote it) relative to its run
    folder: the part from "stages/" (or the file name, for files at the top of the folder)."""
    if not isinstance(path, str) or not path:
        return path
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if "stages" in parts:
        return str(PurePosixPath(*parts[parts.index("stages") :]))
    return parts[-1]


def migrate_v1(d: dict[str, Any]) -> dict[str, Any]:
    """Version 1 → 2: renamed stage keys, paths relative to the run folder."""
    d = copy.deepcopy(d)
    d["scene_at"] = run_relative(d.get("scene_at"))
    for ss in (d.get("stages") or {}).values():
        for old, new in _V1_STAGE_KEYS.items():
            if old in ss:
                ss[new] = ss.pop(old)
        ss["hand_edit_base"] = run_relative(ss.get("hand_edit_base"))
        for attempt in ss.get("attempts") or []:
            attempt["snapshot"] = run_relative(attempt.get("snapshot"))
            attempt["render"] = run_relative(attempt.get("render"))
    d["version"] = STATE_VERSION
    return d
