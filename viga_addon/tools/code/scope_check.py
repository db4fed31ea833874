"""The scope check: what a piece of model code changed (a ``fingerprint.diff``) against what
its stage may change (``stages.base.SCOPES``) and what an edit run locked (``EditLimits``).

``changes(diff)`` lists the scope-checked changes as ``[{"what": "created|removed|changed
<label>", "scopes": [...]}]``, ``out_of_scope(changes, allowed)`` those the stage may not make,
``describe`` says so to the model and ``scope_hint`` what to do instead (it never raises).
Which scope covers what is the scope table's (tools/scene/scope.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..scene.fingerprint import Diff
from ..scene.scope import NEW_OBJECT_SCOPES, EditLimits

# Aspects of an object or mesh: created or removed together with it, so they only count when
# the thing itself stays (or, for slots and modifiers, when a new object comes with some).
_ASPECTS = (
    "transform of ",
    "modifiers of ",
    "material slots of ",
    "material indices of ",
    "animation of ",
)
_CREATED_WITH_OWNER = ("transform of ", "material indices of ")


class _Found(dict):
    """A change as ``changes`` lists it, with the report refs of what it touched (``refs``:
    ``(kind, name)`` pairs) beside the dict, so it still compares equal to a plain one."""

    refs: tuple[tuple[str, str], ...] = ()
    label: str = ""
    verb: str = ""


def changes(found: Diff) -> list[dict]:
    """The scope-checked changes of a ``fingerprint.diff``:
    ``[{"what": "created|removed|changed <label>", "scopes": [...]}]``, sorted by label."""
    out = []
    for change in found.changes:
        label = change.label
        if change.scopes is None:  # only the change report reads it
            continue
        if change.verb == "created" and (
            label.startswith(_CREATED_WITH_OWNER)
            or (label.startswith(_ASPECTS) and change.value in ((), None))
        ):
            continue
        if change.verb == "removed" and label.startswith(_ASPECTS):
            continue
        item = _Found(what=f"{change.verb} {label}", scopes=list(change.scopes))
        item.refs, item.label, item.verb = tuple(change.refs), label, change.verb
        out.append(item)
    return out


_OBJECT_LABELS = ("object ", "light object ", "camera object ")


def _limit_violation(change: dict, limits: EditLimits) -> dict | None:
    refs = getattr(change, "refs", ())
    hit = sorted({name for ref in refs if ref in limits.locked for name in [ref[1]]})
    if hit:
        return {"what": change["what"], "scopes": list(change["scopes"]), "locked": hit}
    label, verb = getattr(change, "label", ""), getattr(change, "verb", "")
    adds = verb in ("created", "removed") and label.startswith(_OBJECT_LABELS)
    if adds and not limits.allow_add_remove:
        return {"what": change["what"], "scopes": list(change["scopes"]), "add_remove": True}
    return None


def out_of_scope(found: list[dict], allowed) -> list[dict]:
    """The changes none of whose scopes is in ``allowed``; with a ``LimitedScope`` also those
    that touch something locked, or add or remove an object when that is not allowed."""
    limits = getattr(allowed, "limits", None)
    allowed = set(allowed)
    out = []
    for c in found:
        if _new_object(c, allowed):
            continue
        if not allowed.intersection(c["scopes"]):
            out.append({"what": c["what"], "scopes": list(c["scopes"])})
        elif limits is not None:
            hit = _limit_violation(c, limits)
            if hit:
                out.append(hit)
    return out


def _new_object(change: dict, allowed: set) -> bool:
    """A creation the "new_objects" scope allows: something made by this very call."""
    return (
        "new_objects" in allowed
        and str(change.get("what", "")).startswith("created ")
        and bool(NEW_OBJECT_SCOPES.intersection(change["scopes"]))
    )


def describe(violations: list[dict], allowed, stage: str | None = None, limit: int = 8) -> str:
    """The message for the model: what was out of scope, what the stage may change."""
    limits = getattr(allowed, "limits", None)
    if limits is not None and any("locked" in v or "add_remove" in v for v in violations):
        return _describe_limits(violations, limits, limit)
    shown = [f"{v['what']} (needs scope {' or '.join(v['scopes'])})" for v in violations[:limit]]
    more = len(violations) - len(shown)
    if more > 0:
        shown.append(f"... and {more} more")
    who = f"the {stage} stage" if stage else "this stage"
    return (
        f"this code changed things outside what {who} may change "
        f"(allowed: {', '.join(sorted(allowed)) or 'nothing'}): "
        + "; ".join(shown)
        + ". The whole call was rolled back; change only what this stage allows."
    )


def _describe_limits(violations: list[dict], limits: EditLimits, limit: int) -> str:
    """The message for the model when the artist's edit limits rolled a call back."""
    locked = sorted({n for v in violations for n in v.get("locked", ())})
    shown = [v["what"] for v in violations[:limit]]
    if len(violations) > limit:
        shown.append(f"... and {len(violations) - limit} more")
    parts = [f"this code changed what the artist locked: {'; '.join(shown)}."]
    if locked:
        parts.append(f"Locked, leave as they are: {', '.join(locked)}.")
    if limits.editable is not None:
        parts.append(f"Only these objects may change: {', '.join(limits.editable) or 'none'}.")
    if any(v.get("add_remove") for v in violations):
        parts.append(
            "This run edits the artist's scene in place: no object may be added, removed or "
            "renamed; change the existing ones."
        )
    parts.append("The whole call was rolled back.")
    return " ".join(parts)


_REMOVES = re.compile(r"clear_scene\(|\.delete\(|\.remove\(|batch_remove\(")


def _quoted(what) -> str | None:
    """The name at the end of a change report line (``changed transform of 'cup'``)."""
    found = re.search(r"'([^']*)'$", str(what or ""))
    return found.group(1) if found else None


def scope_hint(code: str, out_of_scope: list[dict], allowed: Iterable[str]) -> str | None:
    """What to do when the stage's scope rolled the call back (``out_of_scope``: the changes it
    may not make, ``allowed``: the stage's scopes). Never raises."""
    try:
        parts = []
        # the artist's limits on this edit (locked objects, no adding or removing) ...
        locked = sorted({n for c in out_of_scope for n in c.get("locked", ())})
        if locked:
            parts.append(f"The artist locked {', '.join(locked)}: leave them as they are.")
        add_remove = [c for c in out_of_scope if c.get("add_remove")]
        if add_remove:
            parts.append("This edit may not add or remove objects.")
        # ... and what belongs to other stages (not what follows from an object added or
        # removed: the material slots of a renamed one)
        added_removed = {_quoted(c.get("what")) for c in add_remove} - {None}
        other = [
            c
            for c in out_of_scope
            if not c.get("locked")
            and not c.get("add_remove")
            and _quoted(c.get("what")) not in added_removed
        ]
        removed = any(str(c.get("what", "")).startswith("removed ") for c in other)
        if removed and _REMOVES.search(code or ""):
            parts.append(
                "This stage may not remove what earlier stages built: edit the existing objects "
                "in place (clear_scene() and deleting objects are for the init stage)."
            )
        scopes = sorted({s for c in other for s in c.get("scopes", ())})
        if other:
            parts.append(
                f"Send only the lines that change {', '.join(sorted(allowed)) or 'nothing'}; "
                f"{', '.join(scopes)} belong to other stages."
            )
        parts.append("One change that is not allowed rolls back the whole call.")
        return " ".join(parts)
    except Exception:  # noqa: BLE001
        return None
