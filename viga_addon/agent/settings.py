"""The settings of a run, every default in one place.

The CLI, batch, the add-on preferences and the Session all read their defaults and bounds from
here; round budgets default to each stage's own (``stages/``). ``Settings`` is what run.json and
state.json store under "settings" (as a plain dict, no secrets: API keys never live here).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..stages import ALL_STAGE_NAMES, ALL_STAGES
from .errors import SettingsError

ENGINES = ("CYCLES", "EEVEE")
RENDER_DEVICES = ("auto", "cpu", "gpu")
MEMORY_POLICIES = ("compact", "full")
PAUSE_AFTER = (None, "round", "stage")
REASONING_EFFORTS = (None, "low", "medium", "high")
TOOL_CHOICES = ("auto", "required")
#: how tools reach the model: native tool calls, or a fenced json block in text (servers
#: without tools); auto: native unless the server's preflight says it takes none
TOOL_PROTOCOLS = ("auto", "native", "text")
#: Anthropic's smallest thinking budget, and the least a thinking budget leaves for the answer
MIN_THINKING = 1024
NOTE_LIMIT = 2000  # characters of the artist's note

#: a stage's default rounds (init: its rollouts), from the stage definitions
DEFAULT_BUDGETS: dict[str, int] = {s.name: s.budget for s in ALL_STAGES}

#: (min, max) of the numeric settings, for validation and the preferences' fields
LIMITS: dict[str, tuple[int, int]] = {
    "rollouts": (1, 20),
    "budget": (1, 20),
    "preview_size": (32, 2048),
    "preview_samples": (1, 4096),
    "final_size": (32, 8192),
    "final_samples": (1, 4096),
    "verify_size": (32, 2048),
    "image_size": (0, 4096),  # 0: the provider's own limit
    "max_tokens": (256, 200_000),
    "thinking": (0, 128_000),  # 0: off; else at least MIN_THINKING
    "interaction_frames": (1, 1000),  # the bake's frame cap (tools/physics/event.MAX_FRAMES)
    "interaction_fps": (1, 240),
}


@dataclass(frozen=True)
class Settings:
    """What a run uses. Construct with keywords, or ``Settings.from_dict`` for stored ones."""

    provider: str = "scripted"
    model: str | None = None  # None: the provider's default
    base_url: str | None = None  # an OpenAI-compatible server
    stages: tuple[str, ...] | None = None  # None: every stage
    budgets: dict[str, int] = field(default_factory=dict)  # rounds per stage, over the defaults
    rollouts: int = DEFAULT_BUDGETS["init"]
    render_device: str = "auto"
    engine: str = "CYCLES"
    preview_size: int = 256
    preview_samples: int = 16
    final_size: int = 512
    final_samples: int = 64
    verify_size: int = 512  # long side of the attempt render the verifier judges
    # long side at most of any image sent to the model; 0: the provider's own limit (Claude
    # 1568 px, OpenAI 2048 px), so the photo goes at the detail the service can use
    image_size: int = 0
    memory: str = "compact"
    # Output tokens of one reply, thinking / reasoning included (both services count them so).
    # 16k: a tool call with a scene script is 1-4k tokens; GPT-5 and o-series models reason
    # first, often several thousand tokens at medium effort, inside the same limit. 16,384 is
    # also GPT-4o's own ceiling; models with a lower one are capped (providers/models.py).
    # Tokens are billed as used, not as allowed; a reply cut at the limit is asked again once
    # with twice the room.
    max_tokens: int = 16_384
    thinking: int = 0  # Claude's extended-thinking budget in tokens (0: off), inside max_tokens
    reasoning_effort: str | None = None  # GPT-5 / o-series: "low" | "medium" | "high"
    tool_choice: str = "auto"  # "required": for servers whose models call tools only if forced
    tool_protocol: str = "auto"  # TOOL_PROTOCOLS
    # USD the run may spend (0: no cap); before a request that would pass it the run stops,
    # resumable with a higher cap. Per-stage caps likewise, for the stages named.
    max_cost: float = 0.0
    stage_max_cost: dict[str, float] = field(default_factory=dict)
    review_code: bool = False
    pause_after: str | None = None  # None | "round" | "stage"
    stop_after: str | None = None  # a stage name: pause after it (resumable)
    # the artist's own words about the photo ("the table is oak; leave the background out"),
    # sent to every stage's generator, verifier and selector (VIGA's --target-description)
    note: str = ""
    # the interaction stage: the artist's prompt ("roll the red ball into the yellow can"), the
    # frames it may simulate (the cap of every bake) and their rate
    interaction: str | None = None
    interaction_frames: int = 120
    interaction_fps: int = 24
    bake_timeout: float = 300.0  # seconds a bake (with six of its frames rendered) may take

    # ------------------------------------------------------------------ conversion
    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> Settings:
        """Settings from a plain dict (state.json, a caller's overrides); unknown keys raise."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        if values.get("stages") is not None:
            values["stages"] = tuple(values["stages"])
        values["budgets"] = dict(values.get("budgets") or {})
        values["stage_max_cost"] = {
            k: float(v) for k, v in (values.get("stage_max_cost") or {}).items()
        }
        if values.get("max_cost") is not None:
            values["max_cost"] = float(values["max_cost"])
        return cls(**values)

    @classmethod
    def coerce(cls, value: Settings | dict[str, Any] | None) -> Settings:
        return value if isinstance(value, Settings) else cls.from_dict(value)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["stages"] = list(self.stages) if self.stages is not None else None
        return out

    def merged(self, overrides: dict[str, Any] | None) -> Settings:
        """A copy with ``overrides`` applied (same keys as ``from_dict``)."""
        if not overrides:
            return self
        return Settings.from_dict({**self.to_dict(), **overrides})

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    # ------------------------------------------------------------------ derived
    def budget(self, stage: str) -> int:
        """Rounds of ``stage`` (init: its rollouts)."""
        if stage in self.budgets:
            return self.budgets[stage]
        if stage == "init":
            return self.rollouts
        return DEFAULT_BUDGETS[stage]

    def validate(self) -> None:
        """Raise SettingsError (errors.py) with a message for the user when a value is out of
        range or names an unknown stage."""
        for name in (
            "rollouts",
            "preview_size",
            "preview_samples",
            "final_size",
            "final_samples",
            "verify_size",
        ):
            low, _high = LIMITS[name]
            if getattr(self, name) < low:
                raise SettingsError(f"{name.replace('_', ' ')} must be at least {low}")
        if self.image_size and self.image_size < 64:
            raise SettingsError("image size must be 0 (the provider's own limit) or at least 64")
        checks = (
            ("engine", ENGINES),
            ("render_device", RENDER_DEVICES),
            ("memory", MEMORY_POLICIES),
            ("pause_after", PAUSE_AFTER),
            ("reasoning_effort", REASONING_EFFORTS),
            ("tool_choice", TOOL_CHOICES),
            ("tool_protocol", TOOL_PROTOCOLS),
        )
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise SettingsError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        self._validate_tokens()
        self._validate_caps()
        if len(self.note) > NOTE_LIMIT:
            raise SettingsError(f"the note is {len(self.note)} characters; at most {NOTE_LIMIT}")
        for name in ("interaction_frames", "interaction_fps"):
            low, high = LIMITS[name]
            if not low <= getattr(self, name) <= high:
                raise SettingsError(f"{name.replace('_', ' ')} must be from {low} to {high}")
        unknown = [n for n in (*(self.stages or ()), *self.budgets) if n not in ALL_STAGE_NAMES]
        if unknown:
            raise SettingsError(
                f"unknown stage(s) {', '.join(unknown)}; stages are {', '.join(ALL_STAGE_NAMES)}"
            )
        if self.stop_after is not None and self.stop_after not in ALL_STAGE_NAMES:
            raise SettingsError(
                f"stop after: unknown stage {self.stop_after!r}; stages are "
                f"{', '.join(ALL_STAGE_NAMES)}"
            )

    def _validate_caps(self) -> None:
        if not self.max_cost >= 0:
            raise SettingsError(f"max cost must be 0 (no cap) or more USD, not {self.max_cost}")
        for stage, cap in self.stage_max_cost.items():
            if stage not in ALL_STAGE_NAMES:
                raise SettingsError(
                    f"stage max cost: unknown stage {stage!r}; stages are {', '.join(ALL_STAGE_NAMES)}"
                )
            if not cap >= 0:
                raise SettingsError(f"max cost of {stage} must be 0 (no cap) or more USD")

    def _validate_tokens(self) -> None:
        low, high = LIMITS["max_tokens"]
        if not low <= self.max_tokens <= high:
            raise SettingsError(f"max tokens must be between {low} and {high}")
        if self.thinking and not MIN_THINKING <= self.thinking <= self.max_tokens - MIN_THINKING:
            raise SettingsError(
                f"a thinking budget is 0 (off) or at least {MIN_THINKING} tokens, and leaves "
                f"at least {MIN_THINKING} of max tokens ({self.max_tokens}) for the answer; "
                f"raise max tokens or lower thinking ({self.thinking})"
            )


DEFAULTS = Settings()
