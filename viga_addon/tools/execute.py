"""execute_code: run model-written bpy code, report what changed, put the scene back on error.

What changed comes from one ``fingerprint.capture`` before the code and one after: their diff
gives both the change report and the stage scope check (tools/fingerprint.py, tools/scope.py).
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
import traceback

import bpy

from . import fingerprint, policy, snapshot
from . import scope as scopes

CODE_FILENAME = policy.CODE_FILENAME
DEFAULT_TIMEOUT = policy.DEFAULT_TIMEOUT
STDOUT_LIMIT = 4000
CHANGE_KEYS = fingerprint.REPORT_KEYS


# ----------------------------------------------------------------------------- helpers
def _namespace() -> dict:
    """Model code's namespace: guarded bpy and modules, restricted builtins (see policy)."""
    return policy.namespace()


class _CappedOutput(io.TextIOBase):
    """stdout/stderr of model code: keeps the first and the last ``limit // 2`` characters only,
    so printing in a loop until the deadline cannot fill memory."""

    def __init__(self, limit: int = STDOUT_LIMIT):
        self.limit = limit // 2
        self.head: list[str] = []
        self.head_len = 0
        self.tail = ""
        self.dropped = 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        written = len(text)
        if self.head_len < self.limit:
            take = text[: self.limit - self.head_len]
            self.head.append(take)
            self.head_len += len(take)
            text = text[len(take) :]
        if text:
            joined = self.tail + text
            if len(joined) > self.limit:
                self.dropped += len(joined) - self.limit
                joined = joined[-self.limit :]
            self.tail = joined
        return written

    def getvalue(self) -> str:
        head = "".join(self.head)
        if not self.dropped:
            return head + self.tail
        return f"{head}\n[... output cut: {self.dropped} characters left out ...]\n{self.tail}"


def _cap(text: str, limit: int = STDOUT_LIMIT) -> str:
    if len(text) <= limit or "[... output cut:" in text[: limit + 200]:
        return text
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[... output cut: {cut} characters left out ...]\n{text[-half:]}"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno}" + (f", column {exc.offset})" if exc.offset else ")")
        source = f": {exc.text.strip()}" if exc.text else ""
        return f"SyntaxError: {exc.msg}{where}{source}"
    message = str(exc).strip().replace("\n", " ")
    if isinstance(exc, SystemExit):
        message = (
            f"the code called exit({exc.code!r})"
            if exc.code is not None
            else "the code called exit()"
        )
    elif isinstance(exc, KeyboardInterrupt):
        message = message or "interrupted"
    if len(message) > 500:
        message = message[:500] + " …"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _model_traceback(exc: BaseException, lines: list[str]) -> str:
    """Traceback with only the frames of the model's code, each with its source line."""
    out = ["Traceback (most recent call last):"]
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == CODE_FILENAME]
    if len(frames) > 12:  # deep recursion: the first and last frames say enough
        skipped = len(frames) - 10
        frames = frames[:4] + [None] + frames[-6:]
    for frame in frames:
        if frame is None:
            out.append(f"  ... {skipped} more frames of your code ...")
            continue
        out.append(f'  File "{CODE_FILENAME}", line {frame.lineno}, in {frame.name}')
        if frame.lineno and 0 < frame.lineno <= len(lines):
            out.append(f"    {lines[frame.lineno - 1].strip()}")
    out.extend(line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc))
    return "\n".join(out)


def _alive(scene):
    """The scene, or the context's scene if the code deleted it."""
    try:
        scene.name  # noqa: B018 - raises ReferenceError when the datablock was removed
        return scene
    except ReferenceError:
        return bpy.context.scene


def _result(ok, stdout="", error=None, tb=None, changes=None, start=0.0, restored=False, **extra):
    result = {
        "ok": ok,
        "stdout": _cap(stdout),
        "error": error,
        "traceback": tb,
        "changes": changes or fingerprint.empty_report(),
        "seconds": time.perf_counter() - start,
        "restored": restored,
    }
    result.update(extra)
    return result


# ----------------------------------------------------------------------------- execute_code
def execute_code(
    code: str,
    *,
    checker=None,
    saved: snapshot.Checkpoint | None = None,
    scope=None,
    timeout: float | None = policy.DEFAULT_TIMEOUT,
    stage: str | None = None,
) -> dict:
    """Run model-written ``code`` under the policy on the calling (main) thread and report what
    it changed.

    The policy (tools/policy.py) is always on: the code is checked before running (refused
    imports, builtins, attributes and operators run nothing) and runs with restricted builtins,
    a guarded bpy and guarded modules, an audit hook and a deadline of ``timeout`` seconds.
    The namespace has bpy, bmesh, mathutils, math, random, Vector, Matrix, Euler, Quaternion and
    Color and ``__name__ == "__main__"``. Its output is captured. A syntax error runs nothing.
    When the code raises anything (SystemExit, KeyboardInterrupt, a refusal at run time and the
    time limit included) the scene is put back as it was before the call and "restored" is True.
    ``checker(code)`` may refuse the code by returning a message (checked before the policy).
    ``scope``: the stage scopes (stages.base.SCOPES names) the code may change; when given,
    a call that changed anything else is rolled back as a whole and reported ("out_of_scope").
    ``saved``: a checkpoint of the current state the caller already took (e.g. for its own
    undo stack); it is used for the restore instead of writing a second one, and the caller
    keeps ownership (it is not discarded here).

    Returns {"ok", "stdout", "error", "traceback", "changes", "seconds", "restored"} where
    changes = {"created"|"changed"|"removed": {kind: [names]}} with kind one of objects,
    materials, lights, camera, world, render (``fingerprint.REPORT_KEYS``; render names the
    changed settings, e.g. "view_settings.exposure");
    plus "refused": True for a policy refusal, "timed_out": True when the deadline fired,
    "out_of_scope": [{"what", "scopes"}] when the scope check rolled the call back.
    """
    start = time.perf_counter()
    if not isinstance(code, str) or not code.strip():
        return _result(
            False,
            error="Empty code: nothing was run. Send Python code that uses bpy "
            "to change the scene.",
            start=start,
        )
    if threading.current_thread() is not threading.main_thread():
        return _result(
            False,
            error="execute_code must be called on Blender's main thread; nothing was run.",
            start=start,
        )
    lines = code.splitlines()
    try:
        compiled = compile(code, CODE_FILENAME, "exec")
    except (SyntaxError, ValueError) as exc:
        tb = "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
        return _result(False, error=f"{_one_line(exc)} — nothing was run.", tb=tb, start=start)
    # after compiling: a policy that parses the code gets valid code, the model a syntax error
    if checker is not None:
        try:
            refusal = checker(code)
        except Exception as exc:  # noqa: BLE001 - a broken policy must not let code through
            refusal = (
                f"the safety check itself failed ({type(exc).__name__}: {exc}); nothing was run"
            )
        if refusal:
            return _result(False, error=f"Refused: {refusal}", start=start, refused=True)
    try:
        refusal = policy.check_code(code)
    except Exception as exc:  # noqa: BLE001 - a broken policy must not let code through
        refusal = f"the safety check itself failed ({type(exc).__name__}: {exc}); nothing was run"
    if refusal:
        return _result(False, error=f"Refused: {refusal}", start=start, refused=True)
    compiled = policy.compile_guarded(code)

    scene = bpy.context.scene
    before = fingerprint.capture(scene)
    owned = saved is None
    try:
        if owned:
            saved = snapshot.checkpoint(scene)
    except Exception as exc:  # noqa: BLE001 - without a checkpoint an error could not be undone
        return _result(
            False,
            error=f"Could not save the scene before running ({type(exc).__name__}: "
            f"{exc}); nothing was run.",
            start=start,
        )
    buffer = _CappedOutput()
    failure = None
    guard = policy.Guard(timeout=timeout)
    namespace = None
    try:
        namespace = _namespace()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer), guard:
            try:
                exec(compiled, namespace)
            except BaseException as exc:  # noqa: BLE001 - model code may raise anything
                failure = exc
        if failure is None and guard.refusals:
            # the code caught a refusal and went on: what it asked for did not happen, but the
            # call still fails so the model hears about it
            failure = policy.PolicyViolation(guard.refusals[0])
    except BaseException as exc:  # noqa: BLE001 - set-up or tear-down of the guard failed
        failure = failure or exc
    finally:
        for _attempt in range(20):  # a timeout landing late may interrupt the first close()
            try:
                guard.close()
                break
            except policy.ExecutionTimeout:
                failure = failure or policy.ExecutionTimeout()
    del namespace
    scene = _alive(scene)
    left_mode = snapshot.ensure_object_mode()
    if failure is None:
        # before anything evaluates the scene (the capture below updates the depsgraph)
        heavy = policy.heavy_geometry(scene)
        if heavy:
            failure = policy.PolicyViolation(heavy)
    if left_mode:
        buffer.write(
            f"\n[note: the code left the scene in {left_mode} mode; it was switched back "
            "to Object Mode so the edits are applied and renders see them]\n"
        )
    try:
        out_of_scope = None
        if failure is None:
            found = fingerprint.diff(before, fingerprint.capture(scene))
            if scope is not None:
                out_of_scope = scopes.out_of_scope(scopes.changes(found), scope)
            if not out_of_scope:
                return _result(True, buffer.getvalue(), changes=found.report, start=start)
        extra = {}
        if out_of_scope:
            error = "Refused: " + scopes.describe(out_of_scope, scope, stage)
            tb = None
            extra = {"out_of_scope": out_of_scope, "refused": True}
        else:
            error = _one_line(failure)
            tb = _model_traceback(failure, lines)
            if isinstance(failure, policy.ExecutionTimeout):
                error = f"Timeout: {failure}"
                extra = {"timed_out": True}
            elif isinstance(failure, policy.PolicyViolation) or guard.refusals:
                reason = (
                    str(failure)
                    if isinstance(failure, policy.PolicyViolation)
                    else guard.refusals[0]
                )
                error = f"Refused: {reason}"
                extra = {"refused": True}
            elif isinstance(failure, MemoryError):
                error = (
                    "MemoryError: the code tried to use more memory than scene code may "
                    "(about 2 GB more); build less at once"
                )
        try:
            restored = snapshot.rollback(saved, scene=scene)
        except Exception as exc:  # noqa: BLE001 - report rather than lose the original error
            restored = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        if not restored["ok"]:
            return _result(
                False,
                buffer.getvalue(),
                error,
                tb,
                start=start,
                restored=False,
                restore_error=f"The scene could NOT be restored: {restored['error']}",
                changes=fingerprint.diff(before, fingerprint.capture(scene)).report,
                **extra,
            )
        if not out_of_scope:
            error += " — the scene was restored to its state before this code ran."
        return _result(
            False,
            buffer.getvalue(),
            error,
            tb,
            start=start,
            restored=True,
            changes=fingerprint.diff(before, fingerprint.capture(scene)).report,
            **extra,
        )
    finally:
        if owned:
            saved.discard()
