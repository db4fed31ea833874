"""The options of a run, declared once: ``reconstruct`` takes them, ``batch`` passes them on to
each of its ``reconstruct`` processes. Defaults come from ``agent.settings`` (not repeated)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any

from ..agent.errors import UsageError
from ..agent.settings import (
    DEFAULTS,
    ENGINES,
    MEMORY_POLICIES,
    MIN_THINKING,
    REASONING_EFFORTS,
    RENDER_DEVICES,
    TOOL_CHOICES,
    TOOL_PROTOCOLS,
)

PROVIDER_CHOICES = ("auto", "anthropic", "openai", "scripted")


@dataclass(frozen=True)
class RunOption:
    flag: str
    help: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    setting: str | None = None  # the Settings field it sets (None: not a setting)

    @property
    def dest(self) -> str:
        return self.flag[2:].replace("-", "_")


def _default(name: str) -> str:
    return f"default {getattr(DEFAULTS, name)}"


RUN_OPTIONS: tuple[RunOption, ...] = (
    RunOption(
        "--provider",
        "auto: anthropic if ANTHROPIC_API_KEY is set, else openai if OPENAI_API_KEY or "
        "--base-url is set",
        {"choices": PROVIDER_CHOICES},
    ),
    RunOption("--model", "model id (default per provider)", setting="model"),
    RunOption(
        "--base-url",
        "OpenAI-compatible server, e.g. http://localhost:11434/v1 for Ollama "
        "(default $OPENAI_BASE_URL)",
        setting="base_url",
    ),
    RunOption(
        "--script",
        "replies for --provider scripted (JSON); default: the bundled tabletop demo",
    ),
    RunOption("--stages", "comma-separated subset of stages to run"),
    RunOption("--budget", "rounds per stage, e.g. geometry=3,material=2"),
    RunOption(
        "--rollouts",
        f"init rollouts to sample ({_default('rollouts')})",
        {"type": int},
        "rollouts",
    ),
    RunOption(
        "--render-device",
        "Cycles picks a GPU backend (OptiX, CUDA, HIP, Metal, oneAPI) when one exists "
        f"({_default('render_device')})",
        {"choices": RENDER_DEVICES},
        "render_device",
    ),
    RunOption(
        "--engine",
        "render engine (default cycles)",
        {"choices": [e.lower() for e in ENGINES]},
    ),
    RunOption(
        "--preview-size",
        f"long side of preview renders in px ({_default('preview_size')})",
        {"type": int},
        "preview_size",
    ),
    RunOption(
        "--preview-samples",
        f"samples of preview renders ({_default('preview_samples')})",
        {"type": int},
        "preview_samples",
    ),
    RunOption(
        "--final-size",
        f"long side of final.png in px ({_default('final_size')})",
        {"type": int},
        "final_size",
    ),
    RunOption(
        "--final-samples",
        f"samples of final.png ({_default('final_samples')})",
        {"type": int},
        "final_samples",
    ),
    RunOption(
        "--verify-size",
        f"long side of the attempt render the verifier judges, px ({_default('verify_size')})",
        {"type": int},
        "verify_size",
    ),
    RunOption(
        "--image-size",
        "long side at most of images sent to the model, px (default: the provider's own limit, "
        "Claude 1568, OpenAI 2048)",
        {"type": int},
        "image_size",
    ),
    RunOption(
        "--memory",
        "compact (default): photo pinned, old renders dropped",
        {"choices": MEMORY_POLICIES},
        "memory",
    ),
    RunOption(
        "--max-tokens",
        "output tokens of one model reply, thinking / reasoning included; a reply cut at the "
        f"limit is asked again once with twice as many ({_default('max_tokens')})",
        {"type": int},
        "max_tokens",
    ),
    RunOption(
        "--thinking",
        f"Claude: extended thinking with a budget of N tokens (at least {MIN_THINKING}, inside "
        "--max-tokens); 0: off (default 0)",
        {"type": int, "metavar": "N"},
        "thinking",
    ),
    RunOption(
        "--reasoning-effort",
        "GPT-5 and o-series models: how hard they reason before answering (default: the "
        "model's own); other models do not get it",
        {"choices": [e for e in REASONING_EFFORTS if e]},
        "reasoning_effort",
    ),
    RunOption(
        "--tool-choice",
        "auto (default): the model may write its reasoning, then calls a tool; required: it "
        "must call one, for servers whose models only call tools when forced",
        {"choices": TOOL_CHOICES},
        "tool_choice",
    ),
    RunOption(
        "--tool-protocol",
        "auto (default): native tool calls, or a fenced json block in text when the server's "
        "preflight says it takes no tools (many Ollama vision models); native; text",
        {"choices": TOOL_PROTOCOLS},
        "tool_protocol",
    ),
    RunOption(
        "--note",
        'your own words about the photo for the model, e.g. "the table is oak; leave the '
        "background out\": sent to every stage's generator and verifier, kept in run.json",
        {"metavar": "TEXT"},
        "note",
    ),
    RunOption(
        "--max-cost",
        "USD the run may spend; it stops before a request that would pass it (exit 5, "
        "resumable with a higher --max-cost); 0: no cap (default 0)",
        {"type": float, "metavar": "USD"},
        "max_cost",
    ),
    RunOption(
        "--stage-max-cost",
        "USD per stage, e.g. geometry=0.30,material=0.15 (stops like --max-cost)",
        {"metavar": "STAGE=USD,…"},
    ),
)
# the interaction after the scene (reconstruct --interaction; interact sets them too)
INTERACTION_OPTIONS: tuple[RunOption, ...] = (
    RunOption(
        "--interaction",
        'a prompt for an event after the reconstruction, e.g. "roll the red ball into the '
        'yellow can": rigid-body physics, baked; frames/ and preview.gif in the run folder',
        {"metavar": "TEXT"},
        "interaction",
    ),
    RunOption(
        "--frames",
        f"frames the interaction may simulate: the cap of every bake ({_default('interaction_frames')})",
        {"type": int},
        "interaction_frames",
    ),
    RunOption(
        "--fps",
        f"frames per second of the interaction ({_default('interaction_fps')})",
        {"type": int},
        "interaction_fps",
    ),
    RunOption(
        "--bake-timeout",
        "seconds a bake with six of its frames rendered may take; past it the bake is stopped "
        f"with its process and reported ({_default('bake_timeout')})",
        {"type": float, "metavar": "S"},
        "bake_timeout",
    ),
)
RUN_OPTIONS = RUN_OPTIONS + INTERACTION_OPTIONS
RUN_FLAGS: tuple[RunOption, ...] = (
    RunOption(
        "--demo-if-no-key",
        "with --provider auto and no key set, run the scripted offline demo instead of failing",
        {"action": "store_true"},
    ),
)


def add_run_options(
    parser: argparse.ArgumentParser, passthrough: bool = False, skip: tuple[str, ...] = ()
) -> None:
    """The run options on ``parser`` (``passthrough``: batch, which hands them on) but the
    flags in ``skip`` (interact: its own --budget and --prompt)."""
    for option in RUN_OPTIONS:
        if option.flag in skip:
            continue
        kwargs = dict(option.kwargs)
        default = None
        if option.flag == "--provider" and not passthrough:
            default = "auto"
        if option.flag == "--base-url" and not passthrough:
            default = os.environ.get("OPENAI_BASE_URL")
        text = f"{option.help} (passed to each reconstruct run)" if passthrough else option.help
        parser.add_argument(option.flag, default=default, help=text, **kwargs)
    for option in RUN_FLAGS:
        parser.add_argument(option.flag, help=option.help, **option.kwargs)


def passthrough_args(args: argparse.Namespace) -> list[str]:
    """The run options set in ``args`` as command-line arguments again (batch → reconstruct)."""
    out: list[str] = []
    for option in RUN_OPTIONS:
        value = getattr(args, option.dest, None)
        if value is not None:
            out += [option.flag, str(value)]
    for option in RUN_FLAGS:
        if getattr(args, option.dest, False):
            out.append(option.flag)
    return out


def parse_budget(text: str | None) -> dict[str, int]:
    budgets: dict[str, int] = {}
    for item in filter(None, (text or "").split(",")):
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise UsageError(f"--budget expects stage=N[,stage=N…], got {item!r}")
        budgets[name.strip()] = int(value)
    return budgets


def parse_stage_costs(text: str) -> dict[str, float]:
    costs: dict[str, float] = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        try:
            costs[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise UsageError(f"--stage-max-cost expects stage=USD[,stage=USD…], got {item!r}")
    return costs


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line sets (overrides over the defaults or a resumed run's)."""
    settings: dict[str, Any] = {}
    if getattr(args, "stages", None):
        settings["stages"] = [s.strip() for s in args.stages.split(",") if s.strip()]
    if getattr(args, "budget", None):
        settings["budgets"] = parse_budget(args.budget)
    if getattr(args, "stage_max_cost", None):
        settings["stage_max_cost"] = parse_stage_costs(args.stage_max_cost)
    for option in RUN_OPTIONS:
        value = getattr(args, option.dest, None)
        if option.setting and value is not None:
            settings[option.setting] = value
    if args.engine:
        settings["engine"] = args.engine.upper()
    if getattr(args, "stop_after", None):
        settings["stop_after"] = args.stop_after
    try:  # the one set of bounds (agent/settings.py), before anything starts
        DEFAULTS.merged(settings).validate()
    except ValueError as e:
        raise UsageError(str(e)) from None
    return settings
