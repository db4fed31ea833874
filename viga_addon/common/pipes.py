"""Reading a child process's pipe without ever blocking, and ending a child without waiting
for it: what the model worker and the render process client both use."""

from __future__ import annotations

import os
import select
import subprocess
import threading
from collections.abc import Callable
from typing import BinaryIO


def bytes_ready(fd: int) -> int:
    """How many bytes can be read from a pipe without blocking (0 if none; >0 at EOF too)."""
    if os.name == "nt":  # select() does not work on pipes on Windows
        import _winapi
        import msvcrt

        try:
            available, _ = _winapi.PeekNamedPipe(msvcrt.get_osfhandle(fd), 0)
        except OSError:
            return 1  # broken pipe: the read returns b"" (EOF)
        return available
    ready, _, _ = select.select([fd], [], [], 0)
    return 65536 if ready else 0


class LineReader:
    """Whole lines from a pipe, as far as they have arrived; a partial line waits in the buffer."""

    def __init__(self) -> None:
        self.buffer = b""

    def read(self, fd: int, max_reads: int = 64) -> list[bytes]:
        """The complete lines readable now (bounded: never spins on a flood)."""
        for _ in range(max_reads):
            size = bytes_ready(fd)
            if not size:
                break
            chunk = os.read(fd, size)
            if not chunk:
                break
            self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return lines


def file_tail(file: BinaryIO | None, limit: int) -> str:
    """The last ``limit`` bytes of a child's output file as text ("" when it cannot be read)."""
    if file is None:
        return ""
    try:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - limit))
        return file.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""


def end_process(
    proc: subprocess.Popen,
    grace: float,
    wait: bool = True,
    after: Callable[[], None] | None = None,
) -> None:
    """End ``proc``, which was asked to exit (EOF on its stdin, or a quit line): ``grace``
    seconds to do so, then it is killed; ``after()`` runs once it is gone. ``wait=False``: the
    waiting happens on a daemon thread, so the caller — Blender's main thread, at the end of a
    run in a window — never blocks on a child's exit."""

    def finish() -> None:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if after is not None:
            after()

    if wait:
        finish()
    else:
        threading.Thread(target=finish, name="viga-end-process", daemon=True).start()
