"""A scene as a .blend of its own: the scene and everything it uses, nothing else. The file a
render job opens, and a run's final.blend.

Written with ``bpy.data.libraries.write`` rather than ``wm.save_as_mainfile(copy=True)``: in a
window the latter draws the file's thumbnail with OpenGL (150-190 ms on a software GL for the
demo scene, measured in Blender 4.3's window, 740 ms for final.blend's camera view; 1 ms without
the thumbnail) and writes the whole file (screens, the artist's other scenes). This takes about
a millisecond, and the file holds one scene, so it opens on it.
"""

from __future__ import annotations

import bpy


def write_scene(path: str, scene=None) -> None:
    """Write ``scene`` (the current one by default) and its data to ``path``."""
    scene = scene or bpy.context.scene
    bpy.data.libraries.write(
        str(path), {scene}, path_remap="ABSOLUTE", fake_user=True, compress=False
    )
