"""The Blender UI: what registers in a window (and headless, for the tests), never imported by
agent/, stages/ or tools/.

preferences   the add-on's preferences (provider, model, keys, budgets, review and pause)
properties    the scene's run inputs (photo, stages) and the per-scene run record
live          the live-run registry: a window's running Session, its processes, the panel's inputs
operators/    Run, Pause, Step, Cancel, Review, stage Revert/Rerun/Skip, Match, Refine; the pump
panels/       the N-panel (3D Viewport › VIGA) and its sub-panels; they only read
needs_panel   registered alone when the Python running Blender lacks a module we need
"""
