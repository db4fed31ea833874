"""Reading a child process's pipe without ever blocking: what the model worker and the render
process client both poll their child with."""

from __future__ import annotations

import os
import select
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
