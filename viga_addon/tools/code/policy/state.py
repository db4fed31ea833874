"""What the thread running model code shares across the policy, and the run-time refusal.

``local`` is per thread: ``local.guard`` is the active ``Guard`` (set by ``limits``),
``local.offlimits`` the pointers of the other scenes' datablocks (set by ``runtime.namespace``),
``local.in_hook`` guards the audit hook against its own events. ``active_thread[0]`` is the
thread id the audit hook watches. ``violation()`` makes a ``PolicyViolation`` and records it on
the active guard. Imports nothing from the package, so every other module may import it.
"""

from __future__ import annotations

import threading

local = threading.local()
active_thread: list[int | None] = [None]


class PolicyViolation(PermissionError):
    """Raised in model code when it reaches for something the policy refuses."""


def violation(message: str) -> PolicyViolation:
    """A refusal at run time, recorded on the active guard so the call fails even when the
    model's code catches the exception."""
    guard = getattr(local, "guard", None)
    if guard is not None and message not in guard.refusals:
        guard.refusals.append(message)
    return PolicyViolation(message)
