"""Sidebar panels (3D Viewport › N-panel › VIGA). Each module exports ``CLASSES``.

main_panel (inputs, run controls, stages, progress), match_draw (Match), refine_panel (Refine),
physics_panel (Physics: the settle check of the open scene and of the last run's final scene).
They only read (agent.progress through ui_runtime; the jobs of operators/refine.py and
operators/physics.py) and offer operators; may import bpy, ui_runtime, preferences and
operators.refine / operators.physics.
"""

from . import main_panel, physics_panel, refine_panel

CLASSES = (*main_panel.CLASSES, *refine_panel.CLASSES, *physics_panel.CLASSES)


def register_extra():
    main_panel.register_extra()


def unregister_extra():
    main_panel.unregister_extra()
