"""Write scene.py: a standalone program that rebuilds the current Blender scene from nothing.

``write_scene_py(path)`` inspects ``bpy.context.scene`` and writes Python source that, run in a
fresh Blender (``blender -b --factory-startup --python scene.py`` or ``python scene.py`` with the
``bpy`` module), removes the startup data and recreates: collections; every object with its name,
type, parent, transform and visibility; mesh data as literal vertices/edges/faces with smooth
flags, per-face material indices, UV maps and other simple attributes; modifiers (type and simple
RNA properties; object/collection pointers resolved by name at the end); curves and text objects
(best effort); empties; lights; cameras and ``scene.camera``; material slots; materials, shader
node groups and the world with their node trees serialized generically; render settings and
colour management. Everything that cannot be set is caught and listed in one printed warning at
the end of the run; the program never stops half way. The physics set-up and the event
(rigid bodies, force fields, rigid-body constraints, keyframes) are rebuilt, not the bake. Things
that are not reproduced (drivers, object constraints, shape keys, vertex groups, geometry-node modifiers, packed images,
object types other than mesh/curve/text/empty/light/camera which become empties) are listed in
the ``skipped`` field of the result and in the docstring of scene.py.

The package:

runtime   the helper library scene.py calls (skip, block, set_props, add_node, link, new_mesh,
          ...): plain bpy code, copied verbatim into every scene.py
program   the whole program: header, embedded library, sections in order; the public API
output    the state one program is written into (lines, skipped items, deferred references)
objects   collections, objects, meshes, curves and text, modifiers
nodes     materials, shader node groups, node trees, images
world     world, light and camera data, render and colour-management settings
physics   the rigid-body world, rigid bodies, fields, constraints and keyframes (an interaction)
props     reading RNA: simple properties, changes from a new datablock, scratch defaults
literals  float32-exact literals and wrapped lists/dicts (pure Python)
"""

from __future__ import annotations

from .literals import lit, lit_dict
from .program import scene_py_source, write_scene_py
from .props import changed_props, simple_props

__all__ = [
    "changed_props",
    "lit",
    "lit_dict",
    "scene_py_source",
    "simple_props",
    "write_scene_py",
]
