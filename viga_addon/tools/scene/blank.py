"""An empty file to run in, for the headless front ends, without resetting Blender's session.

``wm.read_factory_settings`` would give one, but it also resets the preferences: the user's
extensions are disabled and Blender then deletes their wheels from the shared extensions
site-packages (ours and every other extension's). Instead a new scene with Blender's defaults
becomes the current one, and what the startup file brought (its scenes, objects, meshes,
materials, worlds, images …) is removed from memory. Preferences, extensions and files on disk
stay as they are.
"""

from __future__ import annotations

import bpy

# Data the startup file may hold that a run must not start with (the UI's own data — window
# managers, screens, workspaces, brushes, palettes — stays).
_CONTENT = (
    "objects",
    "collections",
    "meshes",
    "curves",
    "materials",
    "lights",
    "cameras",
    "worlds",
    "images",
    "textures",
    "node_groups",
    "actions",
    "grease_pencils",
    "lattices",
    "metaballs",
    "fonts",
    "particles",
    "volumes",
    "pointclouds",
    "hair_curves",
    "speakers",
    "lightprobes",
    "movieclips",
    "sounds",
    "libraries",
)


def empty_file(name: str = "Scene") -> bpy.types.Scene:
    """Make the current file an empty one: one new scene with default settings, nothing else."""
    old = list(bpy.data.scenes)
    scene = bpy.data.scenes.new(name)
    for window in bpy.context.window_manager.windows:
        window.scene = scene
    for previous in old:
        bpy.data.scenes.remove(previous)
    scene.name = name
    doomed = []
    for attr in _CONTENT:
        doomed.extend(getattr(bpy.data, attr, ()))
    if doomed:
        bpy.data.batch_remove(doomed)
    bpy.data.orphans_purge(do_local_ids=True, do_linked_ids=True, do_recursive=True)
    return scene
