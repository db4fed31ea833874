"""Stage scopes: which scope covers what, and what a piece of model code changed compared with
what the stage may change (``stages.base.SCOPES``).

The scene capture and its diff are tools/fingerprint.py's (one capture serves the scope check
and execute_code's change report); each of its entries carries the scopes given here
(``owner_scopes``, ``transform_scopes``, ``DATABLOCK_SCOPES``, ``SETTINGS``).
``changes(diff)`` lists the scope-checked changes of a ``fingerprint.diff`` as
``[{"what": "created|removed|changed <label>", "scopes": [...]}]``, ``out_of_scope(changes,
allowed)`` those the stage may not make, ``describe`` says so to the model.

Which scope covers what:
  objects     objects created/removed/renamed, parenting, collections, visibility (not lights
              or cameras: those belong to their own scopes)
  meshes      mesh (and curve/metaball/font ...) data: vertices, faces, points
  modifiers   an object's modifier stack and its settings; geometry node groups
  materials   materials and their node trees, shader node groups, images/textures, material
              slots and per-face material indices
  transforms  location / rotation / scale / delta transforms of objects other than lights and
              cameras (animation actions too)
  camera      the scene camera, camera objects (creation, transform) and camera data
  lights      light objects (creation, transform, visibility) and light data
  world       the scene's world and world datablocks
  render      render, Cycles/EEVEE, colour management (exposure, view transform), frame range
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fingerprint import Diff

# Datablock types with no finer fingerprint: creating/removing one needs these scopes.
DATABLOCK_SCOPES = {
    "collections": ("objects",),
    "images": ("materials",),
    "textures": ("materials",),
    "curves": ("meshes",),
    "metaballs": ("meshes",),
    "lattices": ("meshes", "modifiers"),
    "armatures": ("objects",),
    "fonts": ("meshes",),
    "actions": ("transforms",),
    "grease_pencils": ("objects",),
    "volumes": ("meshes",),
    "pointclouds": ("meshes",),
    "hair_curves": ("meshes",),
    "particles": ("modifiers",),
    "speakers": ("objects",),
    "lightprobes": ("lights",),
    "texts": ("objects",),
    "scenes": ("objects",),
}
# Scene settings structs, all in the render scope.
SETTINGS = ("render", "cycles", "eevee", "view_settings", "display_settings", "unit_settings")


def owner_scopes(object_type: str) -> tuple[str, ...]:
    """Scopes of an object itself (creation, parenting, collections, visibility)."""
    if object_type == "LIGHT":
        return ("lights",)
    if object_type == "CAMERA":
        return ("camera",)
    return ("objects",)


def transform_scopes(object_type: str) -> tuple[str, ...]:
    """Scopes of an object's transform (and animation)."""
    if object_type == "LIGHT":
        return ("lights",)
    if object_type == "CAMERA":
        return ("camera",)
    return ("transforms",)


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
        out.append({"what": f"{change.verb} {label}", "scopes": list(change.scopes)})
    return out


def out_of_scope(found: list[dict], allowed) -> list[dict]:
    """The changes none of whose scopes is in ``allowed``."""
    allowed = set(allowed)
    return [c for c in found if not allowed.intersection(c["scopes"])]


def describe(violations: list[dict], allowed, stage: str | None = None, limit: int = 8) -> str:
    """The message for the model: what was out of scope, what the stage may change."""
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
