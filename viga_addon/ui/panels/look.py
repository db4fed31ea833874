"""Look, don't read: the photo and the run's latest render side by side in the panel, with the
render's PSNR; *Full Size* opens both in an Image Editor (viga.show_render).

Thumbnails are previews (``bpy.utils.previews``), loaded by path and modification time, so a
new attempt render shows as soon as the round has written it; a datablock image uses its own
preview. Guarded: without a window (a bare bpy module) there are no previews and nothing shows.
"""

from __future__ import annotations

from pathlib import Path

import bpy

_previews = None
THUMB_SCALE = 5.0


def register_extra():
    global _previews
    try:
        import bpy.utils.previews

        _previews = bpy.utils.previews.new()
    except Exception:
        _previews = None


def unregister_extra():
    global _previews
    if _previews is not None:
        import bpy.utils.previews

        bpy.utils.previews.remove(_previews)
    _previews = None


def _file_icon(path: str) -> int:
    if not path or _previews is None or not Path(path).is_file():
        return 0
    key = f"{path}:{Path(path).stat().st_mtime}"
    preview = _previews.get(key) or _previews.load(key, path, "IMAGE")
    return preview.icon_id


def photo_icon(props) -> int:
    """The icon id of the reference's thumbnail (0: none)."""
    try:
        if props.photo_source == "IMAGE":
            image = props.photo_image
            if image is None:
                return 0
            image.preview_ensure()
            return image.preview.icon_id
        return _file_icon(bpy.path.abspath(props.photo_path) if props.photo_path else "")
    except Exception:  # no GPU/preview system (headless)
        return 0


def render_icon(path: Path | None) -> int:
    try:
        return _file_icon(str(path)) if path else 0
    except Exception:
        return 0


def latest_psnr(progress) -> float | None:
    """The PSNR of the newest attempt with metrics (the current stage's, else an earlier one)."""
    if progress is None:
        return None
    value = None
    for row in progress.stages:
        if row.psnr is not None:
            value = row.psnr
        if row.name == progress.stage:
            break
    return value


def draw_photo_and_render(layout, context, props, live, progress, choice) -> None:
    photo = photo_icon(props)
    render_path = progress.latest_render if progress is not None else None
    render = render_icon(render_path)
    if not photo and not render:
        if choice.photo_label:
            layout.label(text=choice.photo_label, icon="IMAGE_DATA")
        return
    grid = layout.grid_flow(row_major=True, columns=2, even_columns=True, align=True)
    for icon in (photo, render):
        cell = grid.column(align=True)
        if icon:
            cell.template_icon(icon_value=icon, scale=THUMB_SCALE)
        else:
            cell.label(text="No render yet")
    grid.label(text="Photo")
    psnr = latest_psnr(progress)
    grid.label(text=f"{psnr:.1f} dB" if psnr is not None else "Render" if render else "")
    if render:
        row = layout.row()
        row.enabled = live is not None
        row.operator("viga.show_render", text="Full Size", icon="FULLSCREEN_ENTER")
