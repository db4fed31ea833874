"""The report's interaction section: the prompt, the baked frames as a strip, the preview
animation and each moving object's trajectory (from the run folder's frames/, preview.gif and
trajectories.json)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

STRIP_FRAMES = 12  # frames shown in the strip, spread over the whole bake
CSS = """
.motion{display:flex;gap:6px;overflow-x:auto;padding-bottom:6px}
.motion figure{margin:0;flex:0 0 auto}.motion img{height:120px;border-radius:5px;display:block}
.preview img{max-width:380px;border:1px solid #e2e5ea;border-radius:8px}
"""


def strip_frames(frames: list[Path], count: int = STRIP_FRAMES) -> list[Path]:
    """``count`` of ``frames`` spread from the first to the last, both included."""
    if len(frames) <= count:
        return frames
    step = (len(frames) - 1) / (count - 1)
    return [frames[round(i * step)] for i in range(count)]


def motion_html(data: dict, images: Any) -> str:
    """The section, or "" for a run without an interaction's frames."""
    run_dir: Path = data["dir"]
    frames = sorted((run_dir / "frames").glob("frame_*.png"))
    if not frames:
        return ""
    state = data.get("state")
    prompt = state.settings.interaction if state is not None else None
    parts = [f"<style>{CSS}</style>", "<h2>Interaction</h2>"]
    if prompt:
        parts.append(f'<p class="note">Prompt: {escape(prompt)}</p>')
    parts.append('<div class="motion">')
    for path in strip_frames(frames):
        label = f"frame {int(path.stem.split('_')[-1])}"
        parts.append(f"<figure>{images.img(path, label)}<figcaption>{label}</figcaption></figure>")
    parts.append("</div>")
    preview = run_dir / "preview.gif"
    if preview.exists():
        parts.append(
            f'<figure class="preview">{images.img(preview, "preview.gif")}'
            "<figcaption>preview.gif (final.blend holds the baked simulation)</figcaption>"
            "</figure>"
        )
    parts.append(_trajectory_table(run_dir / "trajectories.json"))
    return "".join(parts)


def _trajectory_table(path: Path) -> str:
    try:
        paths = json.loads(path.read_text()).get("trajectories") or {}
    except (OSError, ValueError):
        return ""
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(str(t.get('start')))}</td>"
        f"<td>{escape(str(t.get('end')))}</td><td>{t.get('peak_speed_m_s')}</td>"
        f"<td>{t.get('tilt_deg')}</td></tr>"
        for name, t in paths.items()
    )
    if not rows:
        return ""
    return (
        "<table><tr><th>object</th><th>start (m)</th><th>end (m)</th><th>peak speed (m/s)</th>"
        f"<th>tilt at the end (°)</th></tr>{rows}</table>"
    )
