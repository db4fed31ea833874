"""The backstop: a process-wide audit hook (PEP 578) armed while model code runs.

Installed once (``install_audit_hook``, which also imports every allowed module first so model
code never triggers an import that reads files) and active only on the thread whose id is
``state.active_thread[0]`` while a ``Guard`` is set and not suspended. It refuses file opens
(except reading Python's and Blender's own install files), sockets, processes, ctypes, file-system
changes, imports outside the allow list, changes to shared classes, and ``exec``/``compile``
called straight from the model's frames. Refusals are raised through ``state.violation``.
"""

from __future__ import annotations

import os
import sys
import threading

from .rules import (
    ALLOWED_MODULES,
    CODE_FILENAME,
    CODEGEN_ADVICE,
    FILES_ADVICE,
    INTERNALS_ADVICE,
    module_refusal,
    refusal,
)
from .state import active_thread, local, violation

_hook_installed = [False]
_READ_ROOTS: tuple[str, ...] = ()

# Event name prefixes refused while model code runs.
_REFUSED_EVENTS = (
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "os.remove",
    "os.unlink",
    "os.rename",
    "os.replace",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.chdir",
    "os.truncate",
    "os.symlink",
    "os.link",
    "os.listdir",
    "os.scandir",
    "os.putenv",
    "os.unsetenv",
    "os.startfile",
    "os.walk",
    "os.utime",
    "subprocess.",
    "socket.",
    "ctypes.",
    "urllib.",
    "http.",
    "ftplib.",
    "smtplib.",
    "webbrowser.",
    "shutil.",
    "glob.",
    "tempfile.",
    "sqlite3.",
    "mmap.",
    "pty.",
    "fcntl.",
    "resource.setrlimit",
    "sys.settrace",
    "sys.setprofile",
    "sys.addaudithook",
    "sys._current_frames",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "marshal.load",
    "pickle.find_class",
    "code.__new__",
    "function.__new__",
    "builtins.input",
    "builtins.breakpoint",
    "cpython.run_",
    "cpython.remote_debugger_script",
    "winreg.",
    "msvcrt.",
)


def _read_roots() -> tuple[str, ...]:
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            roots.add(sysconfig.get_path(key))
        except KeyError:
            pass
    import bpy

    roots.add(os.path.dirname(os.path.dirname(bpy.__file__)))
    return tuple(os.path.realpath(r) + os.sep for r in roots if r)


def _audit(event: str, args) -> None:
    if active_thread[0] != threading.get_ident():
        return
    guard = getattr(local, "guard", None)
    if guard is None or guard.suspended or getattr(local, "in_hook", False):
        return
    local.in_hook = True  # the checks below may raise audit events of their own
    try:
        problem = _audit_refusal(event, args)
    finally:
        local.in_hook = False
    if problem:
        raise violation(problem)


def _audit_refusal(event: str, args) -> str | None:
    if event == "open":
        path, mode = args[0], args[1] if len(args) > 1 else "r"
        if isinstance(path, int):
            return refusal("opening a file descriptor", "file access is blocked", FILES_ADVICE)
        writing = isinstance(mode, str) and any(c in mode for c in "wax+")
        if isinstance(mode, int):  # os.open flags
            writing = bool(mode & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND))
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            real = ""
        if not writing and real.startswith(_READ_ROOTS):
            return None
        return refusal(
            f"opening {os.fsdecode(path) if real else path!r}",
            "file access is blocked",
            FILES_ADVICE,
        )
    if event == "import":
        name = args[0]
        if name in sys.modules or name in ALLOWED_MODULES:
            return None
        return module_refusal(name)
    if event in ("object.__setattr__", "object.__delattr__"):
        # raised for attribute changes on classes: Blender's types and library classes are
        # shared with the add-on; a method planted there would run later, outside the policy
        target, name = args[0], args[1] if len(args) > 1 else ""
        if (
            isinstance(target, type)
            and name != "__module__"
            and target.__dict__.get("__module__") != "__main__"
        ):
            return refusal(
                f"changing the class {target.__name__!r}",
                "classes shared with Blender and the add-on cannot be modified",
                "Define your own class, or a function that takes the object.",
            )
        return None
    if event in ("exec", "compile"):
        caller = sys._getframe(2) if _frame_depth_ok() else None
        if caller is not None and caller.f_code.co_filename == CODE_FILENAME:
            return refusal(f"{event}()", "running generated code is blocked", CODEGEN_ADVICE)
        return None
    for prefix in _REFUSED_EVENTS:
        if event.startswith(prefix):
            why = _event_why(event)
            advice = INTERNALS_ADVICE if why.startswith("raw memory") else FILES_ADVICE
            return refusal(f"the operation {event!r}", why, advice)
    return None


def _frame_depth_ok() -> bool:
    try:
        sys._getframe(2)
        return True
    except ValueError:
        return False


def _event_why(event: str) -> str:
    if event.startswith(("socket.", "urllib.", "http.", "ftplib.", "smtplib.", "webbrowser.")):
        return "network access is blocked"
    if event.startswith(
        ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "subprocess.", "pty.")
    ):
        return "starting processes is blocked"
    if event.startswith("ctypes.") or event.startswith("mmap."):
        return "raw memory access is blocked"
    return "file, process and interpreter access are blocked"


def _preload_allowed() -> None:
    """Import every allowed module now, so model code never triggers a file read to import."""
    import importlib

    for name in sorted(ALLOWED_MODULES):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def install_audit_hook() -> None:
    """Install the process-wide audit hook once (it cannot be removed; it is a no-op unless a
    Guard is active on the calling thread)."""
    global _READ_ROOTS
    if _hook_installed[0]:
        return
    _READ_ROOTS = _read_roots()
    _preload_allowed()
    sys.addaudithook(_audit)
    _hook_installed[0] = True
