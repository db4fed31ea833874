"""The agent: pure Python, no bpy. Session state machine, providers, worker process, run store.

Everything here talks to Blender only through a *host*: ``host.call(tool_name, args) -> dict``.
"""
