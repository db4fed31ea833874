"""The agent: pure Python, no bpy. The run's typed state, the Session state machine, providers,
the model worker process, the run store, the progress read model, the report and the metrics.

state, settings, progress   what a run is, what it uses, what a front end shows of it
session/                    Session: create / resume / step (phases, turns, controls, tools)
providers/, worker          model requests, in a separate process
runstore, report, plots     the run folder, report.html (report_motion: an interaction's frames)
metrics, selection, memory, messages, cost, photo   pure helpers

May import: the standard library, numpy, Pillow, the provider SDKs (only in their providers)
and ``stages/``; never bpy, tools/, the UI or the CLI. Everything here talks to Blender only
through a *host*: ``host.call(tool_name, args) -> dict`` (tools/host.py).
"""
