"""Sidebar panels (3D Viewport › N-panel › VIGA). Each module exports ``CLASSES``.

main_panel    the VIGA panel and its sub-panels' classes: inputs, what is missing, run buttons
run_draw      controls, stages, progress and the verifier's checklist
look          the photo and the latest render side by side
text_fit      wrapping to the sidebar's width, tooltips
match_draw    its Match section and the planned stages before any run
refine_panel  the Refine sub-panel
physics_panel the Physics sub-panel: the settle check of the open scene and of the last run
interact_panel the Make it Move sub-panel: a prompt, the frames, the button

They only read (agent.progress through ui.live; the jobs of operators/refine.py and
operators/physics.py) and offer operators; may import bpy, ui.live, ui.preferences and
ui.operators.
"""

from . import interact_panel, main_panel, physics_panel, refine_panel

CLASSES = (
    *main_panel.CLASSES,
    *refine_panel.CLASSES,
    *physics_panel.CLASSES,
    *interact_panel.CLASSES,
)


def register_extra():
    main_panel.register_extra()


def unregister_extra():
    main_panel.unregister_extra()
