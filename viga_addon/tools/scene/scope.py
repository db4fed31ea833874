"""The scope table: which stage scope (``stages.base.SCOPES``) covers what, and the limits of a
run that edits an artist's scene (``EditLimits``).

The scene capture and its diff are fingerprint.py's (one capture serves the scope check and
execute_code's change report); each of its entries carries the scopes given here
(``owner_scopes``, ``transform_scopes``, ``DATABLOCK_SCOPES``, ``SETTINGS``). The check itself
(what model code changed against what its stage may change) is tools/code/scope_check.py.

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
  physics     the rigid-body world and its settings, rigid bodies, rigid-body constraints,
              force fields
  animation   animation data and keyframes (actions), the frame range
  new_objects objects, meshes, materials and modifiers created by the call itself (the
              interaction stage's thrown ball), never those that were there before
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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
    "actions": ("animation",),
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
PHYSICS_SCOPES = ("physics",)
ANIMATION_SCOPES = ("animation",)
# What "new_objects" allows: creating things of these scopes (not changing existing ones).
NEW_OBJECT_SCOPES = frozenset({"objects", "meshes", "materials", "modifiers"})
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


# ----------------------------------------------------------------------------- edit limits


@dataclass(frozen=True)
class EditLimits:
    """What a run that edits an artist's scene may not touch, whatever its stage's scope.

    ``locked``: report refs (``(kind, name)``, as fingerprint entries carry them: ("objects",
    "chair"), ("materials", "oak"), ("lights", ...), ("camera", ...), ("world", ...),
    ("render", ...)) of what lies outside the objects the artist opened for editing; a change
    that touches one is rolled back. ``allow_add_remove``: False keeps every object of the
    scene as it is in number and name (no object created, removed or renamed).
    """

    locked: frozenset[tuple[str, str]] = frozenset()
    allow_add_remove: bool = False
    editable: tuple[str, ...] | None = None  # the objects open for editing (None: all)

    def to_json(self) -> dict:
        return {
            "locked": sorted([kind, name] for kind, name in self.locked),
            "allow_add_remove": self.allow_add_remove,
            "editable": list(self.editable) if self.editable is not None else None,
        }

    @classmethod
    def from_json(cls, d: dict | None) -> EditLimits:
        d = d or {}
        editable = d.get("editable")
        return cls(
            locked=frozenset((str(k), str(n)) for k, n in d.get("locked") or ()),
            allow_add_remove=bool(d.get("allow_add_remove")),
            editable=tuple(editable) if editable is not None else None,
        )

    def locked_names(self, kind: str = "objects") -> list[str]:
        return sorted(name for k, name in self.locked if k == kind)


class LimitedScope(tuple):
    """A stage's scope names (it iterates as them) with the run's ``EditLimits``: what
    execute_code's scope check is given in a run that edits an artist's scene."""

    limits: EditLimits

    def __new__(cls, allowed: Iterable[str], limits: EditLimits) -> LimitedScope:
        out = super().__new__(cls, tuple(allowed))
        out.limits = limits
        return out
