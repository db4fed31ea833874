"""Sidebar panels (3D Viewport › N-panel › VIGA). Each module exports ``CLASSES``.

main_panel (run, watch, step), refine_panel (Refine), interact_panel (a prompt and Make it
Move). They only read (agent.progress through ui_runtime; the refine job of operators/refine.py)
and offer operators; may import bpy, ui_runtime, preferences and operators.refine.
"""

from . import interact_panel, main_panel, refine_panel

CLASSES = (*main_panel.CLASSES, *refine_panel.CLASSES, *interact_panel.CLASSES)


def register_extra():
    main_panel.register_extra()


def unregister_extra():
    main_panel.unregister_extra()
