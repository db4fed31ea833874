"""A stage snapshot's per-datablock digests, read on a worker thread after the snapshot is written.

The digests (tools/snapshot_blocks.py) are only needed by a later restore, and they depend on the
snapshot file alone, so ``snapshot`` writes the .blend and returns; one worker thread reads the
file and writes ``<name>.digests.json`` beside it: the digests and the blake2b digest of the exact
bytes they were read from. A restore takes them from there when that digest is the one the
snapshot's side-car records (waiting for the thread if it is still on that file), and otherwise
reads them from the snapshot file itself, on the spot: the result is the same, only later.
The thread touches files only, never bpy (the reading is pure Python and numpy).
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from . import delta as snapshot_delta

SUFFIX = ".digests.json"
_pool: ThreadPoolExecutor | None = None
_pending: dict[str, Future] = {}


def digests_path(blend: Path) -> Path:
    return blend.with_name(blend.stem + SUFFIX)


def start(blend: Path, types: tuple[str, ...]) -> None:
    """Read the digests of ``blend`` on the worker thread (see the module docstring)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="viga-digests")
    key = str(blend)
    _pending[key] = _pool.submit(_write_digests, Path(blend), types)
    _pending[key].add_done_callback(lambda job, k=key: _forget(k, job))


def _forget(key: str, job: Future) -> None:
    if _pending.get(key) is job:
        del _pending[key]


def _write_digests(blend: Path, types: tuple[str, ...]) -> None:
    try:
        data = blend.read_bytes()
        record = {
            "blend_digest": hashlib.blake2b(data, digest_size=16).hexdigest(),
            "digests": snapshot_delta.file_digests(data, types),
        }
        target = digests_path(blend)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, target)
    except (OSError, ValueError):
        pass  # a folder removed meanwhile, an unreadable file: a restore reads them itself


def wait(blend: Path) -> None:
    """Wait until the thread is done with ``blend`` (before a new snapshot replaces the file: a
    file open for reading cannot be replaced on Windows)."""
    job = _pending.get(str(blend))
    if job is not None:
        job.result()


def for_snapshot(blend: Path, blend_digest: str, types: tuple[str, ...]) -> dict:
    """The digests of the snapshot file ``blend``, whose side-car records ``blend_digest``."""
    wait(blend)
    try:
        record = json.loads(digests_path(blend).read_text(encoding="utf-8"))
        if record.get("blend_digest") == blend_digest and isinstance(record.get("digests"), dict):
            return record["digests"]
    except (OSError, ValueError):
        pass
    return snapshot_delta.file_digests(blend, types)


def settle() -> None:
    """Wait for the digests under way (tests, and before a snapshot folder is removed)."""
    for job in list(_pending.values()):
        job.result()
