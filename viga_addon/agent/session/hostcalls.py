"""Host calls that outlast a step — renders and refinements in the render process — started
once, then polled on the following steps, so ``Session.step()`` returns while they run.

``host_step(s, key, category, name, args)`` is the result when it is there, or None while the
call runs: the caller returns ``waiting(...)`` and, on the next step, asks again with the same
``key`` (its phase or tool call is re-entered; only the first ask starts the call). A host
without ``start`` (a test's fake) answers at once, as ``Session.timed`` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .events import StepKind, StepResult

if TYPE_CHECKING:
    from .core import Session


@dataclass
class PendingHostCall:
    """A started host call: what asked for it (``key``), its host token, when it started."""

    key: str
    name: str
    category: str  # the run's timing category it is counted in
    token: str
    started: float  # time.monotonic()


def host_step(s: Session, key: str, category: str, name: str, args: dict) -> dict | None:
    """The result of host tool ``name`` asked for by ``key``; None while it still runs."""
    pending = s.host_pending
    if pending is not None and pending.key == key:
        result = s.host.poll(pending.token)
        if result is None:
            return None
        s.host_pending = None
        _count(s, category, pending.started)
        _note_warnings(s)
        return result
    if pending is not None:  # a call nobody waits for any more (e.g. after a pause)
        cancel(s)
    start = getattr(s.host, "start", None)
    if start is None:
        return s.timed(category, name, args)
    started = time.monotonic()
    result = start(name, args)
    if isinstance(result, dict) and result.get("ok") and result.get("pending"):
        s.host_pending = PendingHostCall(key, name, category, str(result["pending"]), started)
        return None
    _count(s, category, started)
    _note_warnings(s)
    return result


def waiting(s: Session, name: str) -> StepResult:
    """The step's result while ``name`` runs in the render process."""
    return StepResult(
        StepKind.WAITING,
        f"{s.stage.name}: rendering ({name})",
        stage=s.stage.name,
        tool=name,
        extra={"host_call": name},
    )


def cancel(s: Session) -> None:
    """Stop the started call, if any (Cancel, a pause, the end of the run)."""
    if s.host_pending is None:
        return
    s.host_pending = None
    stop = getattr(s.host, "cancel", None)
    if stop is not None:
        stop()


def _count(s: Session, category: str, started: float) -> None:
    timing = s.state.timing
    setattr(timing, category, getattr(timing, category) + time.monotonic() - started)


def _note_warnings(s: Session) -> None:
    """The host's warnings (e.g. rendering in-process), each once in the run's events and in
    ``s.warnings`` for the panel and the CLI."""
    for warning in getattr(s.host, "warnings", None) or ():
        if warning not in s.warnings:
            s.warnings.append(warning)
            s.store.append_event({"kind": "warning", "message": warning})
