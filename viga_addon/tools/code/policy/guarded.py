"""The guarded stand-ins model code gets instead of bpy and the allowed modules.

``GuardedModule`` (no private or refused names, submodules only when allowed; bmesh.ops'
create_* functions sized by ``sizes``), ``GuardedBpy`` (only data, context, ops, types and app),
``GuardedOps`` (only allowed operators; the mesh primitives sized), ``GuardedApp`` (only version
facts), ``GuardedTypes``/``GuardedType`` (Blender classes read-only), and, when the file has
other scenes, ``GuardedData``/``GuardedIDCollection`` (the other scenes' datablocks are
off limits). Every refusal asks ``rules`` and is raised through ``state.violation``.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

from .rules import (
    ALLOWED_MODULES,
    MODULE_STATE_ADVICE,
    attribute_refusal,
    bpy_attribute_refusal,
    module_attr_refusal,
    module_refusal,
    operator_refusal,
    refusal,
)
from .sizes import sized_function, unwrap_sized
from .state import local, violation

if TYPE_CHECKING:
    import bpy


class _Guarded:
    """Base of the read-only stand-ins handed to model code."""

    __slots__ = ("_target", "_label")

    def __init__(self, target, label):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_label", label)

    def __setattr__(self, name, value):
        raise violation(
            refusal(
                f"changing {self._label}.{name}",
                "shared modules cannot be modified",
                MODULE_STATE_ADVICE,
            )
        )

    __delattr__ = __setattr__

    def __dir__(self):
        return [n for n in dir(self._target) if not n.startswith("_")]

    def __repr__(self):
        return f"<{self._label}>"


class GuardedModule(_Guarded):
    """An allowed module: no private names, no refused names, submodules only if allowed."""

    __slots__ = ()

    def __getattr__(self, name):
        label = self._label
        problem = attribute_refusal(name) or module_attr_refusal(label, name)
        if problem:
            raise violation(problem)
        value = getattr(self._target, name)
        if isinstance(value, types.ModuleType):
            sub = value.__name__
            if sub not in ALLOWED_MODULES and f"{label}.{name}" not in ALLOWED_MODULES:
                raise violation(module_refusal(f"{label}.{name}"))
            return guard_module(value, f"{label}.{name}" if sub not in ALLOWED_MODULES else sub)
        return sized_function(f"{label}.{name}", value)


class GuardedOps(_Guarded):
    """``bpy.ops`` and its categories: only allowed operators are handed out."""

    __slots__ = ()

    def __getattr__(self, name):
        category = self._label.split(".")[2] if self._label.count(".") >= 2 else None
        if category is None:
            problem = operator_refusal(name)
            if problem:
                raise violation(problem)
            return GuardedOps(getattr(self._target, name), f"bpy.ops.{name}")
        problem = operator_refusal(category, name)
        if problem:
            raise violation(problem)
        return sized_function(f"{category}.{name}", getattr(self._target, name))


class GuardedApp(_Guarded):
    __slots__ = ()

    def __getattr__(self, name):
        problem = bpy_attribute_refusal("app", name)
        if problem:
            raise violation(problem)
        return getattr(self._target, name)


class GuardedBpy(_Guarded):
    __slots__ = ()

    def __getattr__(self, name):
        problem = bpy_attribute_refusal(name)
        if problem:
            raise violation(problem)
        value = getattr(self._target, name)
        if name == "ops":
            return GuardedOps(value, "bpy.ops")
        if name == "app":
            return GuardedApp(value, "bpy.app")
        if name == "types":
            return GuardedTypes(value, "bpy.types")
        if name == "data":
            offlimits = getattr(local, "offlimits", None)
            if offlimits:
                return GuardedData(value, "bpy.data")
        return value


# ----------------------------------------------------------------------------- other scenes
def other_scene_ids(scene: bpy.types.Scene) -> frozenset[int]:
    """Pointers of the datablocks only other scenes of the file use (the artist's other
    work): model code may neither see, change nor remove them. Empty with one scene."""
    import bpy

    if len(bpy.data.scenes) < 2:
        return frozenset()
    uses: dict = {}
    for used, users in bpy.data.user_map().items():
        for user in users:
            uses.setdefault(user, set()).add(used)

    def reach(start):
        seen, stack = set(), [start]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(uses.get(current, ()))
        return seen

    mine = reach(scene)
    others = set()
    for other in bpy.data.scenes:
        if other != scene:
            others |= reach(other)
    return frozenset(i.as_pointer() for i in others - mine)


def _hidden(item) -> bool:
    offlimits = getattr(local, "offlimits", None) or ()
    pointer = getattr(item, "as_pointer", None)
    return bool(offlimits) and pointer is not None and pointer() in offlimits


def _other_scene_refusal(what) -> str:
    return refusal(
        what,
        "it belongs to another scene of the artist's file",
        "Work in bpy.context.scene only, with the data its objects use.",
    )


class GuardedIDCollection(_Guarded):
    """A ``bpy.data`` collection without the datablocks of the artist's other scenes."""

    __slots__ = ()

    def __getattr__(self, name):
        problem = attribute_refusal(name)
        if problem:
            raise violation(problem)
        if name == "remove":
            return self._remove
        if name in ("keys", "values", "items"):
            return getattr(self, "_" + name)
        if name == "get":
            return self._get
        return getattr(self._target, name)

    def _check(self, item, key):
        if _hidden(item):
            raise violation(_other_scene_refusal(f"{self._label}[{key!r}]"))
        return item

    def __getitem__(self, key):
        return self._check(self._target[key], key)

    def _get(self, key, default=None):
        item = self._target.get(key)
        return default if item is None else self._check(item, key)

    def __iter__(self):
        return (i for i in self._target if not _hidden(i))

    def __len__(self):
        return sum(1 for _ in self)

    def __bool__(self):
        return len(self) > 0

    def __contains__(self, key):
        item = self._target.get(key) if isinstance(key, str) else key
        return item is not None and item in self._target and not _hidden(item)

    def _keys(self):
        return [i.name for i in self]

    def _values(self):
        return list(self)

    def _items(self):
        return [(i.name, i) for i in self]

    def _remove(self, item, *args, **kwargs):
        self._check(item, getattr(item, "name", item))
        return self._target.remove(item, *args, **kwargs)


class GuardedData(_Guarded):
    """``bpy.data`` when the file has other scenes: their datablocks are off limits."""

    __slots__ = ()

    def __getattr__(self, name):
        problem = attribute_refusal(name)
        if problem:
            raise violation(problem)
        value = getattr(self._target, name)
        if name == "batch_remove":

            def batch_remove(ids):
                ids = list(ids)
                for item in ids:
                    if _hidden(item):
                        raise violation(_other_scene_refusal(f"removing {item.name!r}"))
                return value(ids)

            return batch_remove
        import bpy

        if isinstance(value, bpy.types.bpy_prop_collection):
            return GuardedIDCollection(value, f"bpy.data.{name}")
        return value


def is_blender_type(value: object) -> bool:
    """Whether ``value`` is a Blender class (a subclass of ``bpy.types.bpy_struct``)."""
    import bpy

    return isinstance(value, type) and issubclass(value, bpy.types.bpy_struct)


class GuardedType(_Guarded):
    """A Blender class (``bpy.types.Object``, ``type(obj)``): readable, usable in isinstance
    and issubclass, but not changeable. Blender's classes are shared with the add-on and their
    metaclass raises no audit event, so a method planted on one would run later, outside the
    policy."""

    __slots__ = ()

    def __getattr__(self, name):
        problem = attribute_refusal(name)
        if problem:
            raise violation(problem)
        return getattr(self._target, name)

    def __instancecheck__(self, instance):
        return isinstance(instance, self._target)

    def __subclasscheck__(self, cls):
        return issubclass(unwrap_type(cls), self._target)

    def __eq__(self, other):
        return self._target == unwrap_type(other)

    def __hash__(self):
        return hash(self._target)

    def __call__(self, *args, **kwargs):
        return self._target(*args, **kwargs)

    def __repr__(self):
        return repr(self._target)


def unwrap(value: object) -> object:
    """What a guarded stand-in stands for (the module, class or collection); anything else
    unchanged. For the add-on's own code (error hints), never handed to model code."""
    if isinstance(value, _Guarded):
        return object.__getattribute__(value, "_target")
    return unwrap_sized(value)


def unwrap_type(value: object) -> object:
    """The class a GuardedType stands for; anything else unchanged."""
    return object.__getattribute__(value, "_target") if isinstance(value, GuardedType) else value


class GuardedTypes(GuardedModule):
    """``bpy.types``: every class comes as a GuardedType."""

    __slots__ = ()

    def __getattr__(self, name):
        value = GuardedModule.__getattr__(self, name)
        return GuardedType(value, f"bpy.types.{name}") if is_blender_type(value) else value


def guard_module(module: types.ModuleType, label: str | None = None) -> _Guarded:
    """The guarded stand-in handed to model code for an allowed module."""
    label = label or module.__name__
    if label == "bpy.types":
        return GuardedTypes(module, "bpy.types")
    if label == "bpy":
        return GuardedBpy(module, "bpy")
    if label == "bpy.ops":
        return GuardedOps(module, "bpy.ops")
    return GuardedModule(module, label)
