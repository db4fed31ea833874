"""Sidebar panels (3D Viewport › N-panel › VIGA). Each module exports ``CLASSES``.

main_panel (the VIGA panel and its sub-panels' classes), run_draw (controls, stages, progress,
checklist), look (photo and latest render side by side), text_fit (wrapping to the sidebar's
width, tooltips), match_draw (Match and the planned stages), refine_panel (Refine).

They only read (agent.progress through ui_runtime; the refine job of operators/refine.py) and
offer operators; may import bpy, ui_runtime, preferences and operators.refine.
"""

from . import main_panel, refine_panel

CLASSES = (*main_panel.CLASSES, *refine_panel.CLASSES)


def register_extra():
    main_panel.register_extra()


def unregister_extra():
    main_panel.unregister_extra()
