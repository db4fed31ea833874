"""The run folder: everything a run produces, written as it happens.

runs/<timestamp>-<name>/
  run.json            inputs, provider, model, settings (never secrets)
  state.json          the session's resumable state, rewritten after every step
  events.jsonl        one line per step, flushed before the next step
  reference.png       the photo as the run sees it
  stages/<stage>/round_<n>/{code.py, render.png, verdict.json, messages.json, snapshot.blend}
  stages/<stage>/snapshot.blend     state at the stage boundary
  scene.py, final.blend, final.png, metrics.json
Files are written to a temporary name and renamed, so a kill never leaves a half file taken as good.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from .errors import DiskFull
from .state import RunState, run_relative

SECRET_KEYS = ("api_key", "apikey", "key", "token", "authorization", "secret", "password")


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.errno == 28:  # ENOSPC
            raise DiskFull(
                28, f"disk full while writing {path}; free space and resume the run"
            ) from e
        raise


def write_json(path: Path, obj: Any) -> None:
    _write_bytes_atomic(Path(path), json.dumps(obj, indent=2, default=str).encode())


def write_text(path: Path, text: str) -> None:
    _write_bytes_atomic(Path(path), text.encode())


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return default


def scrub(obj: Any) -> Any:
    """Drop anything that looks like a secret from a settings dict before it is written."""
    if isinstance(obj, dict):
        return {
            k: scrub(v)
            for k, v in obj.items()
            if not any(s == k.lower() or k.lower().endswith("_" + s) for s in SECRET_KEYS)
        }
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj


def new_run_dir(root: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "run"
    path = Path(root) / f"{stamp}-{safe}"
    n = 1
    while path.exists():
        n += 1
        path = Path(root) / f"{stamp}-{safe}-{n}"
    path.mkdir(parents=True)
    return path


class RunStore:
    def __init__(self, run_dir: Path):
        self.dir = Path(run_dir)

    # --- layout -----------------------------------------------------------------------------
    def stage_dir(self, stage: str) -> Path:
        return self.dir / "stages" / stage

    def round_dir(self, stage: str, n: int) -> Path:
        return self.stage_dir(stage) / f"round_{n}"

    @property
    def reference(self) -> Path:
        return self.dir / "reference.png"

    # --- files ------------------------------------------------------------------------------
    def write_run_info(self, info: dict) -> None:
        write_json(self.dir / "run.json", scrub(info))

    def run_info(self) -> dict:
        return read_json(self.dir / "run.json", {})

    def save_state(self, state: RunState) -> None:
        write_json(self.dir / "state.json", state.to_json())

    def load_state(self) -> RunState | None:
        """The run's state (any state.json version), or None when the folder has none."""
        data = read_json(self.dir / "state.json")
        return RunState.from_json(data) if data is not None else None

    # --- paths in the state: relative to the run folder -------------------------------------
    def path(self, relative: str) -> Path:
        return self.dir / relative

    def relative(self, path: str | Path) -> str:
        """``path`` (inside the run folder) as the state stores it: relative, with slashes."""
        return Path(path).resolve().relative_to(self.dir.resolve()).as_posix()

    def rebase_images(self, state: RunState) -> int:
        """Point the image parts of the state's conversations that lie outside this folder (it
        was moved, or copied) at the same files under it; returns how many were moved. Every
        image a run sends (the photo, its renders) is a file of its own run folder."""
        moved = 0
        here = self.dir.resolve()
        convs = [state.conv] + [
            c
            for ss in state.stages.values()
            for c in (ss.generator_conv, ss.generator_conv_before_round)
        ]
        messages = [m for c in convs if c is not None for m in c.messages]
        parts = [p for m in messages for p in m["content"]] + list(state.results)
        for part in parts:
            for item in [part, *(part.get("content") or [])] if isinstance(part, dict) else []:
                if not isinstance(item, dict) or item.get("type") != "image":
                    continue
                old = item.get("path") or ""
                if Path(old).resolve().is_relative_to(here):
                    continue
                item["path"] = str(self.dir / run_relative(old))
                moved += 1
        return moved

    def append_event(self, event: dict) -> None:
        event = {"t": round(time.time(), 3), **event}
        line = json.dumps(event, default=str) + "\n"
        try:
            with open(self.dir / "events.jsonl", "a") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            if e.errno == 28:
                raise DiskFull(28, "disk full while writing events.jsonl") from e
            raise

    def events(self) -> list[dict]:
        path = self.dir / "events.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a torn last line after a kill
        return out
