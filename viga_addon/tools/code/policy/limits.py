"""The limits while model code runs: a deadline watchdog and an address-space cap.

``Guard`` is the context model code runs in: it arms the audit hook for the calling thread, starts
a watchdog thread that raises ``ExecutionTimeout`` in it once the deadline passes (again every
``Guard.REPEAT`` seconds until the code is out), caps the address space on Linux with
``RLIMIT_AS`` (``DEFAULT_MEMORY_HEADROOM`` above what Blender uses), and undoes all of it on exit.
"""

from __future__ import annotations

import os
import sys
import threading

from .audit import install_audit_hook
from .state import active_thread, local

DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_HEADROOM = 2 << 30  # bytes of address space model code may add (Linux only)


class ExecutionTimeout(BaseException):
    """Raised in model code once its time is up (a BaseException so ``except Exception``
    does not swallow it)."""

    def __init__(self, *args):
        super().__init__(*(args or ("the code ran longer than its time limit and was stopped",)))


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _set_async_exc(thread_id: int, exc_type) -> int:
    import ctypes

    return ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc_type) if exc_type else None
    )


class Guard:
    """While active (``with Guard(...)``): audit hook armed for this thread, a watchdog that
    raises ExecutionTimeout in this thread after ``timeout`` seconds (again every
    ``REPEAT`` seconds until the guard exits), address space capped. ``refusals`` lists what the
    audit hook refused; ``timed_out`` tells whether the deadline fired.

    The watchdog uses PyThreadState_SetAsyncExc: the exception lands at the next bytecode
    boundary of this thread, so a loop in Python is stopped wherever it is, but a single long C
    call (one huge operator, ``sum`` over a huge range) only stops once it returns. Model code
    cannot swallow the exception: ``check_code`` turns bare ``except:`` and ``except
    BaseException`` into ``except Exception``, refuses ``__exit__`` methods, and the name
    BaseException is not in its builtins.
    """

    REPEAT = 0.25

    def __init__(
        self,
        timeout: float | None = DEFAULT_TIMEOUT,
        memory_headroom: int | None = DEFAULT_MEMORY_HEADROOM,
    ):
        self.timeout = timeout
        self.memory_headroom = memory_headroom
        self.refusals: list[str] = []
        self.timed_out = False
        self.suspended = False
        self._old_limit = None
        self._lock = threading.Lock()
        self._armed = False
        self._done = threading.Event()
        self._thread_id = None
        self._watchdog = None

    # deadline ------------------------------------------------------------------------------
    def _watch(self):
        if self._done.wait(float(self.timeout)):
            return
        while True:
            with self._lock:
                if not self._armed:
                    return
                self.timed_out = True
                _set_async_exc(self._thread_id, ExecutionTimeout)
            if self._done.wait(self.REPEAT):
                return

    def _disarm(self):
        with self._lock:
            was_armed = self._armed
            self._armed = False
            self._done.set()
            if was_armed and self.timed_out:
                _set_async_exc(self._thread_id, None)  # drop one that has not landed yet

    # memory --------------------------------------------------------------------------------
    def _cap_memory(self):
        if not self.memory_headroom or not sys.platform.startswith("linux"):
            return
        try:
            import resource
        except ImportError:
            return
        used = _address_space()
        if used is None:
            return
        old = resource.getrlimit(resource.RLIMIT_AS)
        wanted = used + int(self.memory_headroom)
        if old[1] != resource.RLIM_INFINITY and wanted > old[1]:
            return
        try:
            resource.setrlimit(resource.RLIMIT_AS, (wanted, old[1]))
            self._old_limit = old
        except (ValueError, OSError):
            pass

    def _uncap_memory(self):
        if self._old_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self._old_limit)
            self._old_limit = None

    # context -------------------------------------------------------------------------------
    def __enter__(self) -> Guard:
        install_audit_hook()
        if getattr(local, "guard", None) is not None:
            raise RuntimeError("model code is already running on this thread")
        self._thread_id = threading.get_ident()
        self._cap_memory()
        if self.timeout:
            self._armed = True
            self._watchdog = threading.Thread(
                target=self._watch, name="viga-code-watchdog", daemon=True
            )
            self._watchdog.start()
        # armed last: the set-up above raises audit events the hook would refuse
        local.guard = self
        active_thread[0] = self._thread_id
        return self

    def __exit__(self, *exc: object) -> bool:
        self.close()
        return False

    def close(self) -> None:
        """Disarm everything (idempotent; call again if a late timeout interrupted it)."""
        active_thread[0] = None
        local.guard = None
        local.offlimits = None
        self._disarm()
        self._uncap_memory()
