"""What model code runs with: restricted builtins and a namespace of guarded modules.

``safe_builtins`` is the ``__builtins__`` handed to model code: a safe ``__import__`` that only
returns guarded allowed modules, ``getattr``/``setattr``/``hasattr``/``delattr`` that apply the
attribute rules to dynamic names, ``type``/``isinstance``/``issubclass`` that hand out and accept
Blender classes read-only, and the refused builtins as functions that raise. ``namespace`` is a
fresh namespace with guarded ``bpy``, ``bmesh``, ``mathutils``, ``math`` and ``random``, the
helper ``clear_scene()`` (the safe way to start from an empty scene, offered where
``bpy.ops.wm.read_factory_settings`` is refused) and ``sizes.sized_attribute`` under
``SIZED_NAME`` (model code cannot name it: it starts with ``__``); it also records which
datablocks belong to the artist's other scenes (``state.local.offlimits``).
"""

from __future__ import annotations

import builtins as _builtins
import math
import sys

from .guarded import GuardedType, guard_module, is_blender_type, other_scene_ids, unwrap_type
from .rules import (
    ADVICE,
    REFUSED_BUILTINS,
    attribute_refusal,
    builtin_refusal,
    module_refusal,
    refusal,
)
from .sizes import SIZED_ATTRIBUTES, SIZED_NAME, sized_attribute
from .state import PolicyViolation, local, violation


def _safe_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
    if isinstance(fromlist, list):
        # PyImport_Import: C code (e.g. bpy registering a type on first use) importing while a
        # model frame is current; an import statement passes None or a tuple. The audit hook
        # still refuses loading a module that is neither loaded already nor allowed.
        return _builtins.__import__(name, globals, locals, fromlist, level)
    if level:
        raise violation(refusal("a relative import", "there is no package here", ADVICE))
    problem = module_refusal(name)
    if problem:
        raise violation(problem)
    import importlib

    module = importlib.import_module(name)
    if fromlist:
        return guard_module(module, name)
    root = name.split(".")[0]
    return guard_module(sys.modules[root], root)


def _safe_getattr(obj, name, *default):
    problem = attribute_refusal(name)
    if problem:
        raise violation(problem)
    if name in SIZED_ATTRIBUTES and hasattr(obj, name):
        return sized_attribute(obj, name)
    return getattr(obj, name, *default)


def _safe_hasattr(obj, name):
    if attribute_refusal(name):
        return False
    return hasattr(obj, name)


def _safe_setattr(obj, name, value):
    problem = attribute_refusal(name, store=True)
    if problem:
        raise violation(problem)
    setattr(obj, name, value)


def _safe_delattr(obj, name):
    problem = attribute_refusal(name, store=True)
    if problem:
        raise violation(problem)
    delattr(obj, name)


def _exit(code=None):
    raise SystemExit(code)


def _refused_builtin(name):
    def refused(*_args, **_kwargs):
        raise violation(builtin_refusal(name))

    refused.__name__ = name
    return refused


def _safe_type(*args):
    if len(args) == 1:
        result = type(args[0])
        return GuardedType(result, result.__name__) if is_blender_type(result) else result
    return type(*args)


def _safe_isinstance(obj, classes):
    return isinstance(obj, _unwrap_all(classes))


def _safe_issubclass(cls, classes):
    return issubclass(unwrap_type(cls), _unwrap_all(classes))


def _unwrap_all(classes):
    if isinstance(classes, tuple):
        return tuple(_unwrap_all(c) for c in classes)
    return unwrap_type(classes)


_SAFE_BUILTIN_NAMES = (
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "complex",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hash",
    "hex",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "oct",
    "ord",
    "pow",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "zip",
    "aiter",
    "anext",
    "__build_class__",
    "NotImplemented",
    "Ellipsis",
    "True",
    "False",
    "None",
    "SystemExit",
    "KeyboardInterrupt",
    "GeneratorExit",
)


def safe_builtins() -> dict:
    """The ``__builtins__`` handed to model code."""
    out = {
        name: getattr(_builtins, name) for name in _SAFE_BUILTIN_NAMES if hasattr(_builtins, name)
    }
    for name, value in vars(_builtins).items():  # every exception class
        if isinstance(value, type) and issubclass(value, Exception):
            out[name] = value
    out.update(
        {
            "__import__": _safe_import,
            "getattr": _safe_getattr,
            "hasattr": _safe_hasattr,
            "setattr": _safe_setattr,
            "delattr": _safe_delattr,
            "exit": _exit,
            "quit": _exit,
            "type": _safe_type,
            "isinstance": _safe_isinstance,
            "issubclass": _safe_issubclass,
            "PolicyViolation": PolicyViolation,
        }
    )
    for name in REFUSED_BUILTINS:
        if name != "__import__":
            out[name] = _refused_builtin(name)
    return out


def clear_scene() -> None:
    """Empty the current scene: remove its objects, then the object data (meshes, curves, lights,
    cameras ...) and the materials only they used, and its collections. Objects and collections
    the artist's other scenes also show are unlinked from this scene, not removed; the world,
    the render settings and the other scenes stay as they are. What it removes is checked
    against the stage's scope like any other change (removing objects needs the objects scope).
    """
    import bpy

    scene = bpy.context.scene
    others = [s for s in bpy.data.scenes if s != scene]
    shared_objects = {o.as_pointer() for s in others for o in s.objects}
    shared = {c.as_pointer() for s in others for c in s.collection.children_recursive}
    mine = [c for c in scene.collection.children_recursive if c.as_pointer() not in shared]
    data, materials = [], []
    for obj in list(scene.objects):
        materials.extend(slot.material for slot in obj.material_slots if slot.material)
        if obj.data is not None:
            data.append(obj.data)
            materials.extend(m for m in getattr(obj.data, "materials", ()) or () if m)
        if obj.as_pointer() in shared_objects:
            for collection in (scene.collection, *mine):
                if collection.objects.get(obj.name) == obj:
                    collection.objects.unlink(obj)
        else:
            bpy.data.objects.remove(obj, do_unlink=True)
    for collection in (scene.collection, *mine):
        for child in list(collection.children):
            if child.as_pointer() in shared:
                collection.children.unlink(child)
    for collection in reversed(mine):
        bpy.data.collections.remove(collection)
    _remove_unused(data)  # first the data, whose removal frees the materials
    _remove_unused(materials)


def _remove_unused(blocks: list) -> None:
    """Remove those of ``blocks`` nothing uses any more (never a fake-user one, never one only
    the artist's other scenes use)."""
    import bpy

    offlimits = getattr(local, "offlimits", None) or frozenset()
    seen, gone = set(), []
    for block in blocks:
        pointer = block.as_pointer()
        if pointer in seen or pointer in offlimits:
            continue
        seen.add(pointer)
        if block.users == 0 and not block.use_fake_user:
            gone.append(block)
    if gone:
        bpy.data.batch_remove(gone)


def namespace() -> dict:
    """A fresh namespace for model code: guarded bpy and modules, restricted builtins."""
    import bmesh
    import bpy
    import mathutils

    local.offlimits = other_scene_ids(bpy.context.scene)
    ns = {"__name__": "__main__", "__builtins__": safe_builtins()}
    for name, module in (
        ("bpy", bpy),
        ("bmesh", bmesh),
        ("mathutils", mathutils),
        ("math", math),
        ("random", sys.modules["random"]),
    ):
        ns[name] = guard_module(module, name)
    for name in ("Vector", "Matrix", "Euler", "Quaternion", "Color"):
        ns[name] = getattr(mathutils, name)
    ns["clear_scene"] = clear_scene
    ns[SIZED_NAME] = sized_attribute  # compile_guarded routes .add/.new/... reads through it
    return ns
