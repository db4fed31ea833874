"""Reading RNA for scene.py: simple properties, changes from defaults, scratch default blocks.

scene.py lists only what differs from a new datablock, so the writers diff each block against a
fresh one made here (``Fresh``) and freed when the program text is done.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import bpy

from .. import rna

SIMPLE_TYPES = {"BOOLEAN", "INT", "FLOAT", "STRING", "ENUM"}
# Properties never written: identity/bookkeeping of IDs, UI state, values derived from others.
ALWAYS_SKIP = frozenset(
    {
        "rna_type",
        "name",
        "type",
        "use_fake_user",
        "use_extra_user",
        "is_runtime_data",
        "tag",
        "is_active",
        "show_expanded",
        "use_nodes",
        "select",
        "is_evaluated",
        "is_missing",
        "session_uid",
        "name_full",
        "id_type",
        "is_library_indirect",
        "is_embedded_data",
    }
)
FRESH_NAME = "__viga_fresh__"


def prop_value(owner: Any, prop: Any) -> Any:
    """The value of RNA property ``prop`` of ``owner`` as plain data (sets, tuples)."""
    value = getattr(owner, prop.identifier)
    if prop.type == "ENUM" and prop.is_enum_flag:
        return set(value)
    if prop.type in {"FLOAT", "INT", "BOOLEAN"} and getattr(prop, "array_length", 0) > 0:
        return tuple(value)
    return value


def _plain(value: Any) -> Any:
    """An RNA value as plain data: arrays (bpy arrays, vectors, colours) as tuples."""
    if isinstance(value, str | set | bool | int | float) or not hasattr(value, "__len__"):
        return value
    return tuple(value)


def simple_props(
    owner: Any, skip: Collection[str] = (), only: Collection[str] | None = None
) -> dict[str, Any]:
    """Writable simple RNA properties (bool/int/float/string/enum, arrays included), through the
    one RNA walker (tools/scene/rna.py); UI-hidden and bookkeeping properties left out."""
    values = rna.props(owner, skip=ALWAYS_SKIP | frozenset(skip), leaf=_plain, hidden=False)
    if only is not None:
        values = {k: v for k, v in values.items() if k in only}
    return values


def same(a: Any, b: Any) -> bool:
    """Equal, floats (also inside tuples) within float32 noise."""
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) <= 1e-7 * max(1.0, abs(float(a)))
        except (TypeError, ValueError):
            return False
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def changed_props(
    owner: Any, fresh: Any, keep: Collection[str] = (), skip: Collection[str] = ()
) -> dict[str, Any]:
    """Simple props of ``owner`` that differ from ``fresh`` (a new datablock), plus ``keep``."""
    mine = simple_props(owner, skip)
    base = simple_props(fresh, skip) if fresh is not None else {}
    return {k: v for k, v in mine.items() if k in keep or k not in base or not same(v, base[k])}


class Fresh:
    """New, default datablocks to diff against (so scene.py only lists what was changed)."""

    def __init__(self) -> None:
        self.made: list[tuple[Any, Any]] = []
        self.cache: dict[tuple, Any] = {}

    def get(self, kind: str, subtype: str | None = None) -> Any:
        """A new ``bpy.data.<kind>`` block (of ``subtype`` for lights and curves)."""
        key = (kind, subtype)
        if key not in self.cache:
            collection = getattr(bpy.data, kind)
            block = collection.new(FRESH_NAME, subtype) if subtype else collection.new(FRESH_NAME)
            self.made.append((collection, block))
            self.cache[key] = block
        return self.cache[key]

    def object_like(self, obj: bpy.types.Object) -> bpy.types.Object:
        """A new object with the same data: the defaults scene.py's new_object() starts from."""
        data = obj.data if obj.type in {"MESH", "CURVE", "FONT", "LIGHT", "CAMERA"} else None
        key = ("objects", data.name if data is not None else None, obj.type)
        if key not in self.cache:
            block = bpy.data.objects.new(FRESH_NAME, data)
            self.made.append((bpy.data.objects, block))
            self.cache[key] = block
        return self.cache[key]

    def modifier(self, kind: str) -> bpy.types.Modifier | None:
        """A new modifier of this type on a scratch mesh object (None if it cannot be made)."""
        key = ("modifier", kind)
        if key not in self.cache:
            holder = self.cache.get(("modifier-holder",))
            if holder is None:
                holder = bpy.data.objects.new(FRESH_NAME, self.get("meshes"))
                self.made.append((bpy.data.objects, holder))
                self.cache[("modifier-holder",)] = holder
            try:
                self.cache[key] = holder.modifiers.new("fresh", kind)
            except Exception:  # noqa: BLE001
                self.cache[key] = None
        return self.cache[key]

    def free(self) -> None:
        """Remove every block made here (newest first)."""
        for collection, block in reversed(self.made):
            try:
                collection.remove(block)
            except Exception:  # noqa: BLE001
                pass
        self.made.clear()
        self.cache.clear()
