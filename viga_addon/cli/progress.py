"""The CLI's progress on stderr: one updating line on a terminal, one line per step otherwise.

On a terminal the line is rewritten in place (carriage return, erase to end of line) and a
stage's end, a pause or the end of the run leave their line standing; when stderr is a file or a
pipe (batch logs, CI) every step that is not a mere wait is one line.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from ..agent.progress import RunProgress
from ..agent.session import StepKind, StepResult

_KEEP = frozenset(
    {
        StepKind.STAGE_ENDED,
        StepKind.DONE,
        StepKind.PAUSED,
        StepKind.FAILED,
        StepKind.CANCELLED,
        StepKind.REVIEW,
    }
)


def progress_line(result: StepResult, p: RunProgress, width: int = 90) -> str:
    minutes, seconds = divmod(int(p.elapsed), 60)
    demo = "[scripted demo] " if p.scripted else ""
    return (
        f"{demo}[{minutes:02d}:{seconds:02d}] {p.stage:<11} round {p.round}/{p.budget}  "
        f"{result.message[:width]:<{width}}  {p.tokens / 1000:.1f}k tok "
        f"({p.totals.cache_read_tokens / 1000:.1f}k cached)  ${p.cost_usd:.3f}"
    )


class ProgressReporter:
    """``report(result, progress)`` after every step; ``close()`` before printing anything else."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty())
        self._open = False  # a live line is on screen without its newline

    def report(self, result: StepResult, progress: RunProgress) -> None:
        if self.quiet or result.waiting:
            return
        if not self.live:
            print(progress_line(result, progress), file=self.stream, flush=True)
            return
        columns = shutil.get_terminal_size((120, 24)).columns
        line = progress_line(result, progress, width=max(20, columns - 45)).rstrip()
        self.stream.write("\r\x1b[K" + line[: columns - 1])
        self._open = True
        if result.kind in _KEEP:
            self.stream.write("\n")
            self._open = False
        self.stream.flush()

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
