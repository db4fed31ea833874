"""A run that edits an existing scene toward the photo (no init stage): what it starts from and
what the artist allowed it to change. Stored in state.json under "edit"; None for a
reconstruction from an empty scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import SettingsError

#: the stages an edit run offers (init builds from an empty scene, so it never runs)
EDIT_STAGES = ("geometry", "material", "composition", "lighting", "camera")
#: the copy of the start scene in the run folder (the scene as the run found it)
START_SCENE = "start_scene.blend"


@dataclass
class SceneEdit:
    """``source``: the .blend the run starts from (None: the scene open in Blender, the panel's
    case); it is only read. ``lock_objects`` / ``lock_collection``: the only objects the run
    may change (None: all). ``allow_add_remove``: whether objects may be added or removed.
    Filled when the run begins: ``originals`` (the scene's object names) and ``limits`` (the
    locked things, ``tools.scene.scope.EditLimits.to_json``)."""

    source: str | None = None
    lock_objects: list[str] | None = None
    lock_collection: str | None = None
    allow_add_remove: bool = False
    originals: list[str] = field(default_factory=list)
    limits: dict[str, Any] | None = None

    @property
    def limited(self) -> bool:
        return self.lock_objects is not None or self.lock_collection is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "lock_objects": list(self.lock_objects) if self.lock_objects is not None else None,
            "lock_collection": self.lock_collection,
            "allow_add_remove": self.allow_add_remove,
            "originals": list(self.originals),
            "limits": self.limits,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> SceneEdit | None:
        if not isinstance(d, dict):
            return None
        lock = d.get("lock_objects")
        return cls(
            source=d.get("source"),
            lock_objects=[str(n) for n in lock] if lock is not None else None,
            lock_collection=d.get("lock_collection"),
            allow_add_remove=bool(d.get("allow_add_remove")),
            originals=[str(n) for n in d.get("originals") or []],
            limits=d.get("limits"),
        )

    def locked_objects(self) -> list[str]:
        """The objects the run may not change (names), once the run has begun."""
        return sorted(
            name for kind, name in (self.limits or {}).get("locked") or [] if kind == "objects"
        )

    def brief(self) -> str:
        """What the generator is told about the run's limits, in a few sentences."""
        parts = [
            "This run edits the artist's existing scene toward the photo (there was no init "
            "stage): change the objects in place and keep their names."
        ]
        if not self.allow_add_remove:
            parts.append("No object may be added, removed or renamed.")
        if self.limited:
            editable = (self.limits or {}).get("editable") or []
            parts.append(
                f"Only these objects may change: {', '.join(editable) or 'none'}; everything "
                "else (the other objects, their materials, the world and the render settings) "
                "is locked, and a call that changes it is rolled back."
            )
            locked = self.locked_objects()
            if locked:
                parts.append(f"Locked objects: {', '.join(locked)}.")
        return " ".join(parts)


def check_edit_stages(stages: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The stages of an edit run (default: every stage but init); ValueError naming init."""
    if not stages:
        return EDIT_STAGES
    if "init" in stages:
        raise SettingsError(
            "an edit run has no init stage (init builds a scene from nothing; this run starts "
            f"from the artist's scene): choose from {', '.join(EDIT_STAGES)}"
        )
    return tuple(stages)
