"""The start of a run that edits an existing scene: load it (from a .blend, or the scene open in
Blender), keep a copy in the run folder, read its scene graph and lock what the artist locked.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StartSceneError
from ..scene_edit import START_SCENE
from ..state import RunStatus
from .base import SessionBase
from .events import StepKind, StepResult


def begin_edit(s: SessionBase) -> StepResult | None:
    """Load and record the start scene; a failed run's StepResult when it cannot be used."""
    edit = s.state.edit
    if edit is None:
        return None
    if edit.source:
        loaded = s.host.call("load_start_scene", {"path": edit.source})
        if not loaded.get("ok"):
            return _failed(s, f"cannot open the start scene {edit.source}: {loaded.get('error')}")
    # the scene as the run found it: the record, and what reverting the first stage restores
    s.snapshot(s.store.dir / START_SCENE)
    found = s.host.call(
        "describe_start_scene",
        {
            "lock_objects": edit.lock_objects,
            "lock_collection": edit.lock_collection,
            "allow_add_remove": edit.allow_add_remove,
        },
    )
    if not found.get("ok"):
        return _failed(s, f"cannot use the start scene: {found.get('error')}")
    s.state.scene_graph = found["scene_graph"]
    edit.originals = list(found["originals"])
    edit.limits = found["limits"]
    s.apply_edit_limits()
    s.store.append_event(
        {
            "kind": "start_scene",
            "source": edit.source or "the scene open in Blender",
            "objects": len(edit.originals),
            "locked": edit.locked_objects(),
        }
    )
    return None


def _failed(s: SessionBase, message: str) -> StepResult:
    s.state.status = RunStatus.FAILED
    s.state.message = message
    s.state.error_type = StartSceneError.__name__
    return StepResult(StepKind.FAILED, message)


def start_scene_path(s: SessionBase) -> Path | None:
    """The run folder's copy of the start scene, for a first stage that starts cold."""
    if s.state.edit is None:
        return None
    path = s.store.dir / START_SCENE
    return path if path.exists() else None


def restore_start(s: SessionBase) -> None:
    """The scene as the run found it, with the photo's aspect ratio again (as ``begin`` set)."""
    path = start_scene_path(s)
    if path is None:
        raise FileNotFoundError(f"{START_SCENE} is missing from {s.store.dir}")
    s.restore(path)
    ref = s.state.reference
    s.host.call(
        "setup_scene",
        {"width": ref["width"], "height": ref["height"], "final_size": s.state.settings.final_size},
    )
