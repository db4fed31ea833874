"""Snapshot / restore of the scene state without undo and without reopening the file.

A snapshot is one .blend file written with ``bpy.data.libraries.write``: the scene's collections,
the objects linked straight to its master collection, its world and camera (everything they use
comes along), and a JSON payload in a side-car file ``<name>.snapshot.json`` (a checkpoint keeps
it in memory). A datablock as carrier inside the .blend would have to be created and removed on
every checkpoint, and that forces a full depsgraph relations rebuild (~200 ms at 2,000 objects);
bytes after the .blend's end block are read as garbage blocks by Blender 5.2. The payload holds
what is not a datablock of its own: render / Cycles / EEVEE / colour-management settings (read
and set back property by property with scene/rna.py), per-view-layer flags (excluded
collections, hidden and selected objects, the active object), which datablocks go back into the
master collection, and the names of every local datablock that existed when the snapshot was
taken.

``restore`` keeps the Scene datablock itself (so windows, a running modal operator and anything
holding ``context.scene`` stay valid) and copies the settings back. The content is brought back
in linear time: each datablock's digest as written to the file (blocks.py, read on a worker
thread: digests.py) is compared with the scene written once more as it is now; only the
datablocks whose digest differs, or that are gone, are appended (``libraries.load(link=False)``,
superlinear in what it appends), replacing the old versions under their exact names (delta.py);
what was created since is removed. Unchanged datablocks stay the same ones. Whenever the
changed-only path cannot be sure to be exact, the full restore runs: remove the scene's current
content, append all the saved content. The rigid-body world is in the payload (rigid.py).

Datablocks the scene does not use are left alone, with two exceptions, both about keeping names
exact and leaving nothing stale behind:
- a datablock whose name is taken by one in the snapshot is the old version of it and is replaced;
- a datablock created after the snapshot is removed when the scene uses it or nothing uses it
  (an orphan).  One created after the snapshot that only another scene uses, or that has a fake
  user, is kept.
A datablock outside the scene that existed at snapshot time keeps its current values even if it
was edited since (it is not in the file).  Not covered: the compositor and sequencer, the
scene's own custom properties, pixels of unsaved unpacked generated images. Image paths come back
absolute. An object also linked into another scene comes back in this scene only. Python
references to replaced datablocks die with them: look them up by name after a restore.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..scene import rna
from . import delta, digests, rigid

SIDECAR_SUFFIX = ".snapshot.json"
PAYLOAD_VERSION = 1

# bpy.data collections whose members are scene content: these are written, removed and appended.
_CONTENT_TYPES = (
    "objects",
    "collections",
    "meshes",
    "materials",
    "node_groups",
    "textures",
    "images",
    "lights",
    "cameras",
    "worlds",
    "curves",
    "metaballs",
    "lattices",
    "armatures",
    "grease_pencils",
    "annotations",
    "particles",
    "volumes",
    "pointclouds",
    "hair_curves",
    "speakers",
    "lightprobes",
    "fonts",
    "actions",
)
CONTENT_TYPES = tuple(t for t in _CONTENT_TYPES if hasattr(bpy.data, t))

# Scene sub-structs copied property by property (missing ones are skipped: cycles is an add-on).
_SETTINGS_STRUCTS = ("render", "cycles", "eevee", "view_settings", "display_settings", "display")
_SETTINGS_STRUCTS += ("unit_settings", "cycles_curves")
_SCENE_SCALARS = ("frame_start", "frame_end", "frame_current", "frame_step")


# ----------------------------------------------------------------------------- payload
def _view_layer_state(scene) -> dict:
    layers = {}
    for view_layer in scene.view_layers:
        collections = {}
        stack = list(view_layer.layer_collection.children)
        while stack:
            lc = stack.pop()
            collections[lc.collection.name] = {
                "exclude": lc.exclude,
                "hide_viewport": lc.hide_viewport,
                "holdout": lc.holdout,
                "indirect_only": lc.indirect_only,
            }
            stack.extend(lc.children)
        hidden, selected = [], []
        for obj in scene.objects:
            if obj.hide_get(view_layer=view_layer):
                hidden.append(obj.name)
            if obj.select_get(view_layer=view_layer):
                selected.append(obj.name)
        active = view_layer.objects.active
        layers[view_layer.name] = {
            "collections": collections,
            "hidden": hidden,
            "selected": selected,
            "active": active.name if active else None,
        }
    return layers


def _build_payload(scene) -> dict:
    settings = {}
    for attr in _SETTINGS_STRUCTS:
        struct = getattr(scene, attr, None)
        if struct is not None:
            settings[attr] = rna.to_dict(struct)
    settings["scene"] = {a: getattr(scene, a) for a in _SCENE_SCALARS if hasattr(scene, a)}
    existing = {
        t: [i.name for i in getattr(bpy.data, t) if i.library is None] for t in CONTENT_TYPES
    }
    existing["scenes"] = [s.name for s in bpy.data.scenes]
    return {
        "version": PAYLOAD_VERSION,
        "blender": bpy.app.version_string,
        "scene_name": scene.name,
        "master_collections": [c.name for c in scene.collection.children],
        "master_objects": [o.name for o in scene.collection.objects],
        "world": scene.world.name if scene.world else None,
        "camera": scene.camera.name if scene.camera else None,
        "settings": settings,
        "view_layers": _view_layer_state(scene),
        "existing": existing,
        "rigid_body_world": rigid.state(scene),
    }


def _scene_roots(scene) -> set:
    roots = set(scene.collection.children) | set(scene.collection.objects)
    if scene.world:
        roots.add(scene.world)
    if scene.camera:
        roots.add(scene.camera)
    return {r for r in roots if r.library is None}


# ----------------------------------------------------------------------------- snapshot
def _digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(blend: Path) -> Path:
    return blend.with_name(blend.stem + SIDECAR_SUFFIX)


def snapshot(name: str, directory: str | Path, scene=None) -> dict:
    """Write the scene state to ``<directory>/<name>.blend`` (+ ``<name>.snapshot.json``).

    Returns {"ok": True, "path": str, "seconds": float}. Both files are written under temporary
    names and moved into place; the side-car records the .blend's size and digest, so a pair
    left mismatched by a kill between the two moves is refused by ``restore``, never trusted.
    """
    start = time.perf_counter()
    scene = scene or bpy.context.scene
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{name}.blend"
    tmp = directory / f".{name}.{os.getpid()}.tmp.blend"
    tmp_json = directory / f".{name}.{os.getpid()}.tmp.json"
    try:
        payload = _write_blend(scene, tmp)
        payload["blend_size"] = tmp.stat().st_size
        payload["blend_digest"] = _digest(tmp)
        with open(tmp_json, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload))  # json.dump streams through the Python encoder
            handle.flush()
            os.fsync(handle.fileno())
        digests.wait(final)
        os.replace(tmp, final)
        os.replace(tmp_json, _sidecar(final))
    finally:
        tmp.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)
    digests.start(final, CONTENT_TYPES)
    return {"ok": True, "path": str(final), "seconds": time.perf_counter() - start}


def _write_blend(scene, path: Path) -> dict:
    """Write the scene's content to ``path`` and return the payload describing the rest (the
    datablocks' digests are read from the file later: snapshot_digests, rollback)."""
    payload = _build_payload(scene)
    _write_roots(scene, path)
    return payload


def _write_roots(scene, path: Path) -> None:
    roots = _scene_roots(scene)
    placeholder = None
    if not roots:  # libraries.write of nothing crashes Blender 4.2; an empty scene is cheap anyway
        placeholder = bpy.data.texts.new("viga_empty_snapshot")
        roots = {placeholder}
    try:
        bpy.data.libraries.write(
            str(path),
            roots,
            path_remap="ABSOLUTE",
            fake_user=False,
            compress=False,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        if placeholder is not None:
            bpy.data.texts.remove(placeholder)


# ----------------------------------------------------------------------------- restore
class SnapshotError(RuntimeError):
    """The snapshot file is missing, incomplete or not one of ours."""


def _resolve(name_or_path, directory) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".blend" or directory is None:
        return candidate if candidate.suffix == ".blend" else candidate.with_suffix(".blend")
    return Path(directory) / f"{name_or_path}.blend"


def _read_sidecar(path: Path) -> dict:
    sidecar = _sidecar(path)
    if not sidecar.is_file():
        raise SnapshotError(f"{path} is not a viga snapshot (no {sidecar.name} beside it)")
    try:
        payload = json.loads(sidecar.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SnapshotError(f"{sidecar} is damaged ({exc})") from exc
    if payload.get("version") != PAYLOAD_VERSION:
        raise SnapshotError(
            f"{path} is a snapshot of another format version "
            f"({payload.get('version')}, expected {PAYLOAD_VERSION})"
        )
    size, digest = payload.get("blend_size"), payload.get("blend_digest")
    if size != path.stat().st_size or digest != _digest(path):
        raise SnapshotError(f"{path} does not match {sidecar.name} (an interrupted snapshot?)")
    return payload


def _names_in_file(path: Path) -> dict:
    """The names of every content datablock in the file, per type."""
    with bpy.data.libraries.load(str(path), link=False) as (src, _dst):
        in_file = {t: set(getattr(src, t)) for t in CONTENT_TYPES if hasattr(src, t)}
    delta.drop_library(path)
    return in_file


def _remove_replaced(scene, payload: dict, in_file: dict) -> None:
    existing = {t: set(v) for t, v in payload["existing"].items()}
    doomed = []
    for t in CONTENT_TYPES:
        names = in_file.get(t, set())
        if names:
            doomed.extend(i for i in getattr(bpy.data, t) if i.library is None and i.name in names)
    # Scene content that is neither in the file nor outside data that predates the snapshot.
    for coll in scene.collection.children_recursive:
        if coll.library is None and coll.name not in existing["collections"]:
            doomed.append(coll)
    for obj in scene.objects:
        if obj.library is None and obj.name not in existing["objects"]:
            doomed.append(obj)
    bpy.data.batch_remove(set(doomed))
    # What is left in the scene predates the snapshot but was not in it: unlink, keep alive.
    for coll in list(scene.collection.children):
        if coll.name not in in_file.get("collections", ()):
            scene.collection.children.unlink(coll)
    for obj in list(scene.collection.objects):
        if obj.name not in in_file.get("objects", ()):
            scene.collection.objects.unlink(obj)


def _remove_new_orphans(payload: dict) -> None:
    existing = {t: set(v) for t, v in payload["existing"].items()}
    for _ in range(16):  # removing one orphan can orphan what it used (object -> mesh -> ...)
        orphans = [
            i
            for t in CONTENT_TYPES
            for i in getattr(bpy.data, t)
            if i.library is None and i.users == 0 and i.name not in existing.get(t, ())
        ]
        if not orphans:
            return
        bpy.data.batch_remove(orphans)


def _remove_new_scenes(scene, payload: dict) -> None:
    known = set(payload["existing"].get("scenes", ()))
    shown = (
        {w.scene for w in bpy.context.window_manager.windows}
        if bpy.context.window_manager
        else set()
    )
    for other in list(bpy.data.scenes):
        if (
            other != scene
            and other not in shown
            and other.name not in known
            and other.library is None
        ):
            bpy.data.scenes.remove(other)


def _append(scene, path: Path, payload: dict) -> None:
    before = delta.dragged_in_before()
    objects = list(payload["master_objects"])
    if payload["camera"] and payload["camera"] not in objects:
        objects.append(payload["camera"])
    with bpy.data.libraries.load(str(path), link=False) as (_src, dst):
        dst.collections = list(payload["master_collections"])
        dst.objects = objects
        dst.worlds = [payload["world"]] if payload["world"] else []
    delta.drop_library(path)
    delta.merge_dragged_in(scene, before, payload["scene_name"])
    for coll in dst.collections:
        if coll is not None:
            scene.collection.children.link(coll)
    by_name = {o.name: o for o in dst.objects if o is not None}
    for name in payload["master_objects"]:
        if name in by_name:
            scene.collection.objects.link(by_name[name])
    scene.world = dst.worlds[0] if dst.worlds else None
    camera = payload["camera"]
    scene.camera = (by_name.get(camera) or _local(bpy.data.objects, camera)) if camera else None


def _restore_changed(scene, path: Path, payload: dict) -> int:
    """Bring back only the datablocks that changed since the snapshot (delta.py);
    the number appended. Raises ``Fallback`` when that cannot be exact."""
    current = path.with_name(f".now.{os.getpid()}.{path.stem}.blend")
    try:
        _write_roots(scene, current)
        now = delta.file_digests(current, CONTENT_TYPES)
    finally:
        current.unlink(missing_ok=True)
    changes = delta.plan(payload["digests"], now, CONTENT_TYPES)
    existing = {t: set(v) for t, v in payload["existing"].items()}
    created = [
        c for c in scene.collection.children_recursive if c.name not in existing["collections"]
    ]
    created += [o for o in scene.objects if o.name not in existing["objects"]]
    bpy.data.batch_remove({i for i in created if i.library is None})
    appended = delta.bring_back(scene, path, changes, payload["scene_name"], CONTENT_TYPES)
    delta.link_master(scene, payload)
    return appended


def _local(collection, name):
    found = collection.get(name)
    return found if found is not None and found.library is None else None


def _apply_view_layers(scene, layers: dict) -> None:
    for view_layer in scene.view_layers:
        state = layers.get(view_layer.name)
        if state is None:
            continue
        stack = list(view_layer.layer_collection.children)
        while stack:
            lc = stack.pop()
            flags = state["collections"].get(lc.collection.name)
            if flags:
                for key, value in flags.items():
                    if getattr(lc, key) != value:
                        setattr(lc, key, value)
            stack.extend(lc.children)
        hidden, selected = set(state["hidden"]), set(state["selected"])
        for obj in scene.objects:
            try:  # each set re-syncs the view layer: only touch what differs
                want_hidden, want_selected = obj.name in hidden, obj.name in selected
                if obj.hide_get(view_layer=view_layer) != want_hidden:
                    obj.hide_set(want_hidden, view_layer=view_layer)
                if obj.select_get(view_layer=view_layer) != want_selected:
                    obj.select_set(want_selected, view_layer=view_layer)
            except RuntimeError:  # object in an excluded collection has no base here
                pass
        active = state["active"]
        view_layer.objects.active = view_layer.objects.get(active) if active else None


def _apply_settings(scene, settings: dict) -> list:
    failures = []
    for attr, values in settings.items():
        if attr == "scene":
            rna.from_dict(scene, values, failures, "scene.")
            continue
        struct = getattr(scene, attr, None)
        if struct is not None:
            rna.from_dict(struct, values, failures, f"scene.{attr}.")
    return failures


def ensure_object_mode() -> str | None:
    """Leave Edit/Sculpt/... mode so edit data is flushed and datablocks can be swapped safely.

    Returns the mode that was left, or None when already in Object Mode."""
    mode = bpy.context.mode
    if mode == "OBJECT":
        return None
    try:
        bpy.ops.object.mode_set(mode="OBJECT")
    except RuntimeError:
        pass  # no active object to switch: nothing is in edit mode then
    return mode


def restore(name_or_path, directory=None, scene=None) -> dict:
    """Make the scene exactly the state saved by ``snapshot`` again.

    ``name_or_path`` is a snapshot name looked up in ``directory`` or a path to the .blend.
    The Scene datablock is kept (its content is swapped), so this works headless and while a
    modal operator is running. Returns {"ok", "path", "seconds"} and, when some setting could
    not be set back, "unrestored_settings"; "appended": how many datablocks came back from the
    file ("all": the full restore ran). {"ok": False, "error"} when there is no usable
    snapshot (the scene is then left untouched).
    """
    start = time.perf_counter()
    path = _resolve(name_or_path, directory)
    if not path.is_file():
        return {"ok": False, "path": str(path), "error": f"No snapshot file at {path}"}
    try:
        payload = _read_sidecar(path)
    except SnapshotError as exc:
        return {"ok": False, "path": str(path), "error": str(exc)}
    return _restore(scene or bpy.context.scene, path, payload, start)


def _digests_of(path: Path, payload: dict) -> dict | None:
    """A snapshot's (snapshot_digests) or a checkpoint's datablock digests; None: unreadable."""
    try:
        if "blend_digest" in payload:
            return digests.for_snapshot(path, payload["blend_digest"], CONTENT_TYPES)
        return delta.file_digests(path, CONTENT_TYPES)
    except (OSError, ValueError):
        return None


def _restore(scene, path: Path, payload: dict, start: float) -> dict:
    if "digests" not in payload:
        payload["digests"] = _digests_of(path, payload)
    ensure_object_mode()
    appended = None
    if payload.get("digests"):
        try:
            appended = _restore_changed(scene, path, payload)
        except Exception:  # noqa: BLE001 - Fallback or anything unexpected: restore it all
            appended = None
    if appended is None:
        _remove_replaced(scene, payload, _names_in_file(path))
        _append(scene, path, payload)
    _remove_new_orphans(payload)
    _remove_new_scenes(scene, payload)
    _apply_view_layers(scene, payload["view_layers"])
    failures = _apply_settings(scene, payload["settings"])
    rigid.apply(scene, payload.get("rigid_body_world"))  # None in earlier releases' payloads
    if scene.name != payload["scene_name"] and payload["scene_name"] not in bpy.data.scenes:
        scene.name = payload["scene_name"]
    bpy.context.view_layer.update()
    result = {"ok": True, "path": str(path), "seconds": time.perf_counter() - start}
    result["appended"] = "all" if appended is None else appended
    if failures:
        result["unrestored_settings"] = failures
    return result


# ----------------------------------------------------------------------------- checkpoints
# Checkpoint files live in one folder per process, named with its pid: removed when its last
# checkpoint is discarded and when the process exits; folders of processes that died without
# (killed, crashed) are swept when the next process makes its first checkpoint.
CHECKPOINT_PREFIX = "viga_checkpoints_"
_counter = itertools.count()
_temp_dir: Path | None = None
_live: set[Path] = set()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process (or unknown): leave its folder alone
    return True


def sweep_stale_checkpoints(root: str | Path | None = None) -> list[Path]:
    """Remove the checkpoint folders under ``root`` (the system temp folder) whose process is
    no longer alive; the removed folders."""
    root = Path(root or tempfile.gettempdir())
    swept = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return swept
    for entry in entries:
        match = re.fullmatch(re.escape(CHECKPOINT_PREFIX) + r"(\d+)_\w+", entry.name)
        if not match or not entry.is_dir() or int(match.group(1)) == os.getpid():
            continue
        if not _pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            swept.append(entry)
    return swept


def _checkpoint_dir() -> Path:
    global _temp_dir
    if _temp_dir is None or not _temp_dir.is_dir():
        if _temp_dir is None:
            sweep_stale_checkpoints()
        _temp_dir = Path(tempfile.mkdtemp(prefix=f"{CHECKPOINT_PREFIX}{os.getpid()}_"))
    return _temp_dir


def remove_checkpoint_dir() -> None:
    """Delete this process's checkpoint folder and every checkpoint in it (at exit; a later
    checkpoint makes a new one)."""
    global _temp_dir
    if _temp_dir is not None:
        shutil.rmtree(_temp_dir, ignore_errors=True)
    _temp_dir = None
    _live.clear()


atexit.register(remove_checkpoint_dir)


@dataclass
class Checkpoint:
    """A scene state: content in a temporary .blend, the rest (settings ...) in memory.
    ``rollback`` restores it (as often as needed), ``discard`` deletes the file (and the
    process's checkpoint folder with the last one)."""

    path: Path
    payload: dict
    seconds: float

    def discard(self) -> None:
        """Delete the temporary file (safe to call twice)."""
        self.path.unlink(missing_ok=True)
        _live.discard(self.path)
        if not _live and _temp_dir is not None and self.path.parent == _temp_dir:
            remove_checkpoint_dir()


def checkpoint(scene=None) -> Checkpoint:
    """Save the scene state for a later ``rollback`` (the cheap path used by execute_code; its
    digests are read at the first rollback and kept: most checkpoints never roll back)."""
    start = time.perf_counter()
    path = _checkpoint_dir() / f"checkpoint_{os.getpid()}_{next(_counter)}.blend"
    _live.add(path)
    try:
        payload = _write_blend(scene or bpy.context.scene, path)
    except BaseException:
        _live.discard(path)
        raise
    return Checkpoint(path=path, payload=payload, seconds=time.perf_counter() - start)


def rollback(handle: Checkpoint, scene=None) -> dict:
    """Restore the state saved by ``checkpoint``; the checkpoint stays usable until discarded."""
    start = time.perf_counter()
    if not handle.path.is_file():
        return {
            "ok": False,
            "path": str(handle.path),
            "error": f"The checkpoint file {handle.path} is gone (discarded?)",
        }
    return _restore(scene or bpy.context.scene, handle.path, handle.payload, start)
