"""The RNA property walker: the simple properties of a Blender struct, to and from plain values.

One walker serves the scene fingerprint (tools/scene/fingerprint.py: modifiers, nodes, lights,
cameras, render settings) and the snapshot payload (tools/snapshot/store.py: render / Cycles / EEVEE /
colour-management settings saved as JSON and set back on restore).

- ``props(struct, ...)``: writable scalar / array / enum properties (raw values), optionally
  the writable ID pointers (as the ID) and nested non-ID structs (as dicts, up to a depth).
- ``to_dict(struct)`` / ``from_dict(struct, values, failures)``: the JSON form of a struct's
  settings and setting it back (the snapshot payload format: a nested struct is
  ``{"__struct__": {...}}``; this format is on disk in run folders, so it stays as it is).
- ``freeze(value)`` / ``freeze_tree(value)``: a value made comparable for a fingerprint (floats
  rounded to ``DIGITS``, arrays to tuples, IDs to ``("ID", name)``, enum-flag sets sorted).

Which properties a struct type has is looked up once per type and kept (``_plan``): walking
``bl_rna.properties`` is most of the cost of reading a small struct.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from collections.abc import Callable

import bpy

DIGITS = 4
MAX_DEPTH = 3
# Reading these prints "matches no enum" warnings on a factory scene and they are not settings
# the agent touches (and rna_type is the type itself); enums whose value this build lacks are
# found and left out by ``_plan``.
SKIP_SETTINGS = frozenset({"rna_type", "linear_colorspace_settings", "wireframe_color_type"})
DROP = object()  # what a ``leaf`` returns for a value to leave out

# (type(struct), number of properties) -> the properties worth reading, in RNA order, as
# (identifier, kind, hidden): kind VALUE is a writable scalar / array / enum, POINTER /
# READONLY_POINTER a pointer; hidden: the property is hidden from the UI. The count is in the key
# so properties registered later are seen.
VALUE, POINTER, READONLY_POINTER = 0, 1, 2
_PLANS: dict[tuple, tuple[tuple[str, int, bool], ...]] = {}


def _plan(struct) -> tuple[tuple[str, int, bool], ...]:
    properties = struct.bl_rna.properties
    key = (type(struct), len(properties))
    plan = _PLANS.get(key)
    if plan is None:
        entries = []
        for prop in properties:
            if prop.type == "COLLECTION":
                continue
            hidden = bool(getattr(prop, "is_hidden", False))
            if prop.type == "POINTER":
                kind = READONLY_POINTER if prop.is_readonly else POINTER
                entries.append((prop.identifier, kind, hidden))
            elif not prop.is_readonly:
                entries.append((prop.identifier, VALUE, hidden))
        unknown = _enums_without_their_value(struct, properties, entries)
        plan = _PLANS[key] = tuple(e for e in entries if e[0] not in unknown)
    return plan


ENUM_MISMATCH = b"matches no enum"


@contextlib.contextmanager
def _output_captured():
    """Blender's own output (file descriptors 1 and 2: its log goes to stderr in 4.x, stdout in
    5.x) into temporary files for the block; ``{fd: bytes written}`` once the block ends."""
    captured: dict[int, bytes] = {}
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    with contextlib.ExitStack() as stack:
        saved = {}
        for fd in (1, 2):
            tmp = stack.enter_context(tempfile.TemporaryFile())
            try:
                saved[fd] = (os.dup(fd), tmp)
            except OSError:  # no such stream (a Windows Blender without a console)
                continue
            os.dup2(tmp.fileno(), fd)
        try:
            yield captured
        finally:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
            for fd, (copy, tmp) in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
                tmp.seek(0)
                captured[fd] = tmp.read()


def _enums_without_their_value(struct, properties, entries) -> frozenset[str]:
    """Enum properties whose value this build has no item for (a Debian Blender without
    OpenImageDenoise: ``cycles.denoiser`` is '4'), found once per struct type. Blender prints a
    ``WARN (bpy.rna) … matches no enum`` line on every read of such a value, and the read gives
    '' (nothing to compare or restore), so the walker leaves them out. The one probing read is
    made with Blender's output captured; what else it printed is passed on."""
    enums = [
        pid
        for pid, kind, _hidden in entries
        if kind == VALUE
        and properties[pid].type == "ENUM"
        and not getattr(properties[pid], "is_enum_flag", False)
    ]
    if not enums:
        return frozenset()
    unknown = set()
    with _output_captured() as output:
        for pid in enums:
            try:
                if getattr(struct, pid) == "":
                    unknown.add(pid)
            except Exception:  # noqa: BLE001 - some properties need a context
                continue
    for fd, written in output.items():
        rest = b"".join(
            line for line in written.splitlines(keepends=True) if ENUM_MISMATCH not in line
        )
        if rest:
            os.write(fd, rest)
    return frozenset(unknown)


def _identity(value):
    return value


def props(
    struct,
    *,
    skip: frozenset[str] = frozenset(),
    ids: bool = False,
    depth: int = 0,
    leaf: Callable = _identity,
    hidden: bool = True,
) -> dict:
    """``{identifier: value}`` of ``struct``'s writable value properties not in ``skip``, in RNA
    order.

    ``ids``: also writable pointers whose value is an ID or None. ``depth``: how many levels of
    nested non-ID structs (readonly pointers too, e.g. ``render.image_settings``) to include,
    each as a dict (left out when empty). ``leaf(value)`` converts each value and ID pointer;
    a value for which it returns ``DROP`` is left out. ``hidden=False`` leaves out properties
    hidden from the UI. A property that cannot be read (some need a context) is left out.
    """
    with warnings.catch_warnings():  # reading a deprecated property (use_nodes) warns
        warnings.simplefilter("ignore", DeprecationWarning)
        return _props(struct, skip, ids, depth, leaf, hidden, 0)


def _props(struct, skip, ids, depth, leaf, hidden, level) -> dict:
    pointers = ids or level < depth
    out = {}
    for pid, kind, is_hidden in _plan(struct):
        if pid in skip or (kind != VALUE and not pointers) or (is_hidden and not hidden):
            continue
        try:
            value = getattr(struct, pid)
        except Exception:  # noqa: BLE001 - some properties need a context
            continue
        if kind == VALUE:
            value = leaf(value)
            if value is not DROP:
                out[pid] = value
        elif value is None or isinstance(value, bpy.types.ID):
            if ids and kind == POINTER:
                out[pid] = leaf(value)
        elif level < depth:
            nested = _props(value, skip, ids, depth, leaf, hidden, level + 1)
            if nested:
                out[pid] = nested
    return out


# ----------------------------------------------------------------------------- JSON form
def _jsonable(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, set):
        return sorted(value)
    try:
        return [_jsonable(v) for v in value]
    except TypeError:
        return None


def _json_leaf(value):
    converted = _jsonable(value)
    return DROP if converted is None else converted


def _wrap(values: dict) -> dict:
    return {k: {"__struct__": _wrap(v)} if isinstance(v, dict) else v for k, v in values.items()}


def to_dict(struct) -> dict:
    """Writable scalar / array / enum properties of an RNA struct as JSON values, nested structs
    (up to ``MAX_DEPTH``) as ``{"__struct__": {...}}``; the snapshot payload's settings."""
    return _wrap(props(struct, skip=SKIP_SETTINGS, depth=MAX_DEPTH, leaf=_json_leaf))


def _same(current, wanted) -> bool:
    current = _jsonable(current)
    if isinstance(current, float) and isinstance(wanted, (int, float)):
        return current == float(wanted)
    return current == wanted


def _safe_same(struct, pid: str, wanted) -> bool:
    try:
        return _same(getattr(struct, pid), wanted)
    except Exception:  # noqa: BLE001
        return True


def from_dict(struct, values: dict, failures: list, prefix: str = "") -> None:
    """Set properties from ``to_dict`` output, in up to three passes because some depend on
    others (e.g. view_settings.look only accepts values valid for the view_transform). What
    never takes is appended to ``failures`` as ``"<prefix><identifier>=<value>"``."""
    pending = dict(values)
    for _attempt in range(3):
        for pid, wanted in pending.items():
            if isinstance(wanted, dict) and "__struct__" in wanted:
                nested = getattr(struct, pid, None)
                if nested is not None:
                    from_dict(nested, wanted["__struct__"], failures, f"{prefix}{pid}.")
                continue
            if not hasattr(struct, pid):
                continue
            try:
                if _same(getattr(struct, pid), wanted):
                    continue
                prop = struct.bl_rna.properties[pid]
                value = set(wanted) if getattr(prop, "is_enum_flag", False) else wanted
                setattr(struct, pid, value)
            except Exception:  # noqa: BLE001 - retried below, reported if it never takes
                pass
        # A later property may have reset an earlier one: re-check everything that is scalar.
        pending = {
            pid: w
            for pid, w in values.items()
            if not (isinstance(w, dict) and "__struct__" in w)
            and hasattr(struct, pid)
            and not _safe_same(struct, pid, w)
        }
        if not pending:
            return
    for pid, wanted in pending.items():
        failures.append(f"{prefix}{pid}={wanted!r}")


# ----------------------------------------------------------------------------- comparable form
def freeze(value):
    """A comparable form of a property value: floats rounded to ``DIGITS`` (-0.0 made 0.0),
    arrays and vectors as tuples, an ID as ``("ID", name)``, an enum-flag set sorted."""
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return round(value, DIGITS) + 0.0
    if isinstance(value, bpy.types.ID):
        return ("ID", value.name)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(freeze(v) for v in value))
    try:
        return tuple(freeze(v) for v in value)
    except TypeError:
        return repr(value)


def freeze_tree(value):
    """``freeze`` through nested dicts and lists (dicts stay dicts, lists become tuples)."""
    if isinstance(value, dict):
        return {k: freeze_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(freeze_tree(v) for v in value)
    return freeze(value)


def sorted_items(values: dict) -> tuple:
    """A dict of frozen values as a sorted tuple of pairs (for a fingerprint entry)."""
    return tuple(sorted(values.items()))
