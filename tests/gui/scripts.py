"""Demo scripts for the real-window tests: the bundled offline demo with model "thinking" time
added where a test must see the panel in a phase (the scripted provider's ``delay``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from viga_addon.demo import tabletop

TINY_PREFS = {
    "preview_size": 48,
    "preview_samples": 2,
    "final_size": 64,
    "final_samples": 2,
    "verify_size": 48,
    "budget_init": 2,  # the demo script's two rollouts
    "render_device": "CPU",
}


def demo_script(delays: dict[tuple[str, str], float] | None = None, think: float = 0.0) -> dict:
    """The demo script; ``think``: seconds every reply takes (a model thinking), so a test can
    act while a run goes; ``delays``: {(stage, role): seconds} for the replies of one role."""
    script = copy.deepcopy(tabletop.SCRIPT)
    for stage, roles in script.items():
        for role, rounds in roles.items():
            seconds = (delays or {}).get((stage, role), think)
            for turns in rounds:
                for turn in turns:
                    if seconds:
                        turn["delay"] = seconds
    return script


def write(folder: Path, script: dict, name: str = "demo_script.json") -> str:
    path = folder / name
    path.write_text(json.dumps(script))
    return str(path)
