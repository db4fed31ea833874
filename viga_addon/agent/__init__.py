"""The agent: pure Python, no bpy. The run's typed state, the Session state machine, providers,
the model worker process, the run store, the progress read model, the report and the metrics.

state, settings, progress   what a run is, what it uses, what a front end shows of it
errors                      the one error tree: each error's disposition and exit code
session/                    Session: create / resume / step (phases, turns, controls, tools)
providers/, worker          model requests, in a separate process (worker_boot: its entry)
runstore, report, report_data, plots   the run folder, report.html (report_motion: an
                            interaction's frames)
scene_edit                  a run that edits an existing scene: its start scene and limits
selection, messages, photo  which attempt or rollout is kept; neutral messages; the photo
cost, spending              prices and token counts; the cost cap
dependencies                which modules the add-on needs that this Python lacks

May import: the standard library, numpy, Pillow, the provider SDKs (only in their providers)
and ``stages/``; never bpy, tools/, the UI or the CLI. Everything here talks to Blender only
through a *host*: ``host.call(tool_name, args) -> dict`` (tools/host.py).
"""
