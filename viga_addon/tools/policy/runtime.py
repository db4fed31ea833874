"""What model code runs with: restricted builtins and a namespace of guarded modules.

``safe_builtins`` is the ``__builtins__`` handed to model code: a safe ``__import__`` that only
returns guarded allowed modules, ``getattr``/``setattr``/``hasattr``/``delattr`` that apply the
attribute rules to dynamic names, ``type``/``isinstance``/``issubclass`` that hand out and accept
Blender classes read-only, and the refused builtins as functions that raise. ``namespace`` is a
fresh namespace with guarded ``bpy``, ``bmesh``, ``mathutils``, ``math`` and ``random``; it also
records which datablocks belong to the artist's other scenes (``state.local.offlimits``).
"""

from __future__ import annotations

import builtins as _builtins
import math
import sys

from .guarded import GuardedType, guard_module, is_blender_type, other_scene_ids, unwrap_type
from .rules import REFUSED_BUILTINS, attribute_refusal, module_refusal, refusal
from .state import PolicyViolation, local, violation


def _safe_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
    if isinstance(fromlist, list):
        # PyImport_Import: C code (e.g. bpy registering a type on first use) importing while a
        # model frame is current; an import statement passes None or a tuple. The audit hook
        # still refuses loading a module that is neither loaded already nor allowed.
        return _builtins.__import__(name, globals, locals, fromlist, level)
    if level:
        raise violation(refusal("a relative import", "there is no package here"))
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
        raise violation(refusal(f"{name!r}", REFUSED_BUILTINS[name]))

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
    return ns
