"""Text that fits the sidebar: messages wrapped to the width the panel has, measured with the UI
font (``blf``) at the window's scale, so Blender never elides them ("Elaps…ed"); the "i"
button that carries an explanation too long for a label.

The width comes from ``context.region`` at each draw, so a resized sidebar re-wraps. Without a
region (a script drawing into a test layout) a sidebar of the default width is assumed.
"""

from __future__ import annotations

import bpy

DEFAULT_REGION_WIDTH = 290  # the sidebar's default width at resolution scale 1.0
# What a sidebar panel's column has less than its region (category tabs, panel margins, the
# layout's own space) and what a box takes of that, in pixels at scale 1.0, rounded up.
PANEL_MARGIN = 50
BOX_MARGIN = 14
ICON_WIDTH = 32  # an icon beside a label, with its padding


def ui_scale(context) -> float:
    prefs = getattr(context, "preferences", None) or bpy.context.preferences
    return float(getattr(prefs.system, "ui_scale", 1.0) or 1.0)


def text_width(text: str, scale: float) -> float:
    """The width of ``text`` in the UI font at ``scale`` (a rough estimate without blf)."""
    try:
        import blf

        points = bpy.context.preferences.ui_styles[0].widget.points
        blf.size(0, points * scale)
        return blf.dimensions(0, text)[0]
    except Exception:  # no font in this Blender (a bare bpy module): 7 px a character
        return len(text) * 7.0 * scale


def available(context, boxes: int = 0, icon: bool = False) -> float:
    """Pixels a label of a sidebar panel has for its text, ``boxes`` boxes deep."""
    scale = ui_scale(context)
    region = getattr(context, "region", None)
    width = getattr(region, "width", 0) or DEFAULT_REGION_WIDTH * scale
    return width - (PANEL_MARGIN + BOX_MARGIN * boxes + (ICON_WIDTH if icon else 8)) * scale


def wrap_lines(text: str, width: float, scale: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` pixels (a word longer than a line is
    cut into pieces that fit)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if text_width(candidate, scale) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while text_width(word, scale) > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and text_width(word[:cut], scale) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines or [""]


def wrap(layout, context, text: str, icon: str = "NONE", boxes: int = 0) -> None:
    """Labels for a message that must be read whole, wrapped to the panel's width."""
    has_icon = icon != "NONE"
    lines = wrap_lines(text, available(context, boxes, has_icon), ui_scale(context))
    col = layout.column(align=True)
    for i, line in enumerate(lines):
        col.label(text=line, icon=icon if i == 0 else "BLANK1" if has_icon else "NONE")


def info(layout, text: str) -> None:
    """An "i" button: ``text`` is its tooltip, and a popup when pressed."""
    op = layout.operator("viga.explain", text="", icon="INFO", emboss=False)
    op.text = text


def note(layout, words: str, explanation: str, icon: str = "NONE") -> None:
    """A few words, with their explanation in the tooltip (a borderless button, its text at the
    left as a label's)."""
    layout = layout.row(align=True)
    layout.alignment = "LEFT"
    op = layout.operator("viga.explain", text=words, icon=icon, emboss=False)
    op.text = explanation
