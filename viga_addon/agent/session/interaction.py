"""The interaction stage inside the session: what the generator and the verifier are told of the
prompt, the bake_simulation tool, the attempt as a bake (a contact sheet of frames and each
object's trajectory instead of one render), and the final bake with its frames and preview.

The bake always runs through the host's ``bake_simulation`` (the render process: time limit,
frame cap, killed and reported like a render); model code cannot bake (tools/code/policy).
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

from ...stages import INTERACTION
from .. import messages as msg
from ..runstore import write_json
from ..state import Attempt, Conversation, Phase
from .base import SessionBase
from .events import Wait
from .rounds import last_checklist

Baking = Generator[Wait, None, dict]  # waits on the render process, returns the bake's result

SHEET = "render.png"  # an interaction attempt's contact sheet takes the render's place
TRAJECTORIES = "trajectories.json"
FRAMES = "frames"
PREVIEW = "preview.gif"


def active(s: SessionBase) -> bool:
    """Whether the current stage is the interaction."""
    return s.stage.name == INTERACTION


def prompt_text(s: SessionBase) -> str:
    """What the artist asked for, the frames and the rate, for both roles."""
    settings = s.state.settings
    frames, fps = settings.interaction_frames, settings.interaction_fps
    return (
        f"The interaction the artist asked for: {settings.interaction or '(none given)'}\n"
        f"The simulation runs from the scene's start frame for at most {frames} frames at "
        f"{fps} fps ({frames / fps:.1f} s); bake_simulation never bakes past that."
    )


def bake_args(s: SessionBase, out_dir: Path, sheet: Path | None, **extra: Any) -> dict:
    settings = s.state.settings
    return {
        "out_dir": str(out_dir),
        "frames": settings.interaction_frames,
        "cap": settings.interaction_frames,
        "sheet": str(sheet) if sheet else None,
        "long_side": settings.preview_size,
        "samples": settings.preview_samples,
        "device": settings.render_device,
        "engine": settings.engine,
        **extra,
    }


def tool_args(s: SessionBase, args: dict) -> dict:
    """The generator's bake_simulation call as the host's: its own folder in the round."""
    rdir = s.round_dir()
    k = len(list(rdir.glob("bake_*"))) if rdir.exists() else 0
    out = rdir / f"bake_{k + 1}"
    frames = args.get("frames") or s.state.settings.interaction_frames
    return {**bake_args(s, out, out / "sheet.png"), "frames": frames}


def attempt_args(s: SessionBase) -> dict:
    """The attempt's bake: frames into the round's frames/, the sheet as its render.png."""
    rdir = s.round_dir()
    return bake_args(s, rdir / FRAMES, rdir / SHEET)


def record_trajectories(s: SessionBase, result: dict) -> None:
    """The attempt's trajectories beside its sheet (the verifier's numbers)."""
    write_json(
        s.round_dir() / TRAJECTORIES,
        {
            "text": result.get("text", ""),
            "trajectories": result.get("trajectories") or {},
            "bake": result.get("bake"),
            "error": None if result.get("ok") else result.get("error"),
        },
    )


def start_verifier(s: SessionBase, attempt: Attempt) -> None:
    """The verifier's first message: the prompt, the start of the scene as the photo shows it,
    the labelled contact sheet of the attempt's frames and every moving object's trajectory."""
    stage = s.stage
    rdir = s.store.path(attempt.render).parent
    numbers = {}
    try:
        numbers = json.loads((rdir / TRAJECTORIES).read_text())
    except (OSError, ValueError):
        pass
    rounds = [a.round for a in s.stage_state.usable_attempts()]
    parts = [
        msg.text(prompt_text(s)),
        msg.text("The scene before the interaction (reference):"),
        msg.image(str(s.store.reference)),
        msg.text(f"Attempt of round {attempt.round} of {stage.budget}: frames of the bake"),
        msg.image(str(s.store.path(attempt.render))),
        msg.text(numbers.get("text") or "(no trajectories: the bake failed)"),
        msg.text(
            f"Rounds with attempts so far: {rounds}. Generator's summary: "
            f"{attempt.summary or '(none)'}"
        ),
    ]
    checklist = last_checklist(s, before_current=True)
    if checklist:
        parts.append(msg.text("Previous checklist:\n- " + "\n- ".join(checklist)))
    s.state.conv = Conversation(
        stage=stage.name,
        role="verifier",
        system=s.system_prompt("verifier"),
        messages=[msg.user(*parts)],
    )
    s.state.phase = Phase.VERIFIER


def final_args(s: SessionBase) -> dict:
    """The final bake: every frame into the run's frames/, the baked scene as final.blend."""
    d = s.store.dir
    return bake_args(
        s, d / FRAMES, None, sheet_frames="all", save=str(d / "final.blend"), samples=None
    )


def write_preview(frames: list, out: Path, fps: int) -> Path | None:
    """The frames as an animated GIF (Pillow), looping; None without frames."""
    from PIL import Image

    paths = [p for _f, p in frames]
    if not paths:
        return None
    images = []
    for path in paths:
        with Image.open(path) as im:
            images.append(im.convert("RGB").convert("P", palette=Image.ADAPTIVE))
    tmp = out.with_name(f".{out.name}.tmp.gif")
    images[0].save(
        tmp,
        save_all=True,
        append_images=images[1:],
        duration=max(20, round(1000 / max(1, fps))),
        loop=0,
    )
    tmp.replace(out)
    return out


def final_bake(s: SessionBase) -> Baking:
    """The run's final bake (every frame rendered into frames/, the baked scene as
    final.blend), waited for; then preview.gif, made off the main thread."""
    d = s.store.dir
    result = yield from s.host_wait("render", "bake_simulation", final_args(s))
    if result.get("ok"):
        fps = s.state.settings.interaction_fps
        gif = yield from s.offthread.run(
            "preview.gif", write_preview, result.get("frames") or [], d / PREVIEW, fps
        )
        result["preview"] = str(gif) if gif else None
        write_json(d / TRAJECTORIES, {k: result.get(k) for k in ("text", "trajectories", "bake")})
    else:
        s.warnings.append(f"the final bake failed: {result.get('error')}")
        s.store.append_event({"kind": "warning", "message": s.warnings[-1]})
    return result


def final_summary(result: dict | None) -> dict | None:
    """What metrics.json says of the final bake."""
    if not result:
        return None
    if not result.get("ok"):
        return {"ok": False, "error": result.get("error")}
    frames = result.get("frames") or []
    return {
        "ok": True,
        "prompt_frames": len(frames),
        "bake": result.get("bake"),
        "trajectories": result.get("trajectories"),
        "preview": PREVIEW if result.get("preview") else None,
    }
