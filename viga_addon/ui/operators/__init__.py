"""Operators (``viga.*``). Each module exports ``CLASSES``; this package gathers them.

pump (run, resume, pause, step, cancel: the modal pump of Session.step), review (approve /
skip / open code), stages (revert / rerun / skip a stage), files (run folder, render, demo
photo), runs_root (the folder of all runs), refine (the panel's Refine button), match (Match
this scene to the photo, Put Back), panel_help (the "i" tooltips and popups, pick a photo,
open the preferences), physics (Check Physics in the render process, Apply Rigid Bodies),
interact (Make it Move: an interaction on the scene). May import bpy, ui.live, launch and agent/.
"""

from . import files, interact, match, panel_help, physics, pump, refine, review, runs_root, stages

CLASSES = (
    *runs_root.CLASSES,
    *pump.CLASSES,
    *stages.CLASSES,
    *review.CLASSES,
    *files.CLASSES,
    *refine.CLASSES,
    *match.CLASSES,
    *panel_help.CLASSES,
    *physics.CLASSES,
    *interact.CLASSES,
)


def register_extra():
    import bpy

    from .. import live

    for handler in (live.on_load_pre, physics.on_load_pre, refine.on_load_pre):
        if handler not in bpy.app.handlers.load_pre:
            bpy.app.handlers.load_pre.append(handler)


def unregister_extra():
    import bpy

    from .. import live

    live.shutdown_live_run("paused: the add-on was disabled")
    physics.shutdown()  # its jobs first: the render processes are refine's
    refine.shutdown()
    for handler in (live.on_load_pre, physics.on_load_pre, refine.on_load_pre):
        if handler in bpy.app.handlers.load_pre:
            bpy.app.handlers.load_pre.remove(handler)
