"""Operators (``viga.*``). Each module exports ``CLASSES``; this package gathers them.

pump (run, resume, pause, step, cancel: the modal pump of Session.step), review (approve /
skip / open code), stages (revert / rerun / skip a stage), files (run folder, render, demo
photo), runs_root (the folder of all runs), refine (the panel's Refine button), match (Match
this scene to the photo, Put Back), interact (Make it Move: an interaction on the scene). May
import bpy, ui_runtime, launch and agent/.
"""

from . import files, interact, match, pump, refine, review, runs_root, stages

CLASSES = (
    *runs_root.CLASSES,
    *pump.CLASSES,
    *stages.CLASSES,
    *review.CLASSES,
    *files.CLASSES,
    *refine.CLASSES,
    *match.CLASSES,
    *interact.CLASSES,
)


def register_extra():
    import bpy

    from .. import live as ui_runtime

    for handler in (ui_runtime.on_load_pre, refine.on_load_pre):
        if handler not in bpy.app.handlers.load_pre:
            bpy.app.handlers.load_pre.append(handler)


def unregister_extra():
    import bpy

    from .. import live as ui_runtime

    ui_runtime.shutdown_live_run("paused: the add-on was disabled")
    refine.shutdown()
    for handler in (ui_runtime.on_load_pre, refine.on_load_pre):
        if handler in bpy.app.handlers.load_pre:
            bpy.app.handlers.load_pre.remove(handler)
