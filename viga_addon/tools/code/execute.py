"""execute_code: run model-written bpy code, report what changed, put the scene back on error.

What changed comes from one ``fingerprint.capture`` before the code and one after: their diff
gives both the change report and the stage scope check (tools/scene/fingerprint.py, tools/code/scope_check.py).

The result's ``text`` is what the model reads first (the session puts it before the rest of the
result as JSON): the error (type and message), the failing line of the model's code, a hint for
the common cases (tools/hints.py), warnings, the change report, then the output as head and
tail, within ``TEXT_LIMIT`` characters so the error survives whatever the code printed. Reading
the model's exception runs the model's code (its ``__str__``, its objects' ``__repr__``), and so
does dropping its namespace (generators' ``finally``): both happen under a guard of their own.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import bpy

from ..scene import fingerprint
from ..snapshot import store as snapshot
from . import hints, policy
from . import scope_check as scopes

CODE_FILENAME = policy.CODE_FILENAME
DEFAULT_TIMEOUT = policy.DEFAULT_TIMEOUT
STDOUT_LIMIT = 4000  # characters of output kept (head and tail) in the result's "stdout"
TEXT_LIMIT = 4000  # characters of the model-facing summary, "text"
CHANGE_KEYS = fingerprint.REPORT_KEYS
_AFTER_TIMEOUT = 1.0  # seconds for reading the model's exception and dropping its namespace
# caps of the summary's sections, so the output always keeps some room
_ERROR_CHARS, _LINES_CHARS, _HINT_CHARS, _NOTES_CHARS, _CHANGES_CHARS = 1000, 400, 1200, 400, 600


# ----------------------------------------------------------------------------- helpers
def _namespace() -> dict:
    """Model code's namespace: guarded bpy and modules, restricted builtins (see policy)."""
    return policy.namespace()


def _type_name(value: object) -> str:
    """The name of ``value``'s class without asking the class (a class the model made may
    answer attribute lookups with its own code)."""
    return type.__dict__["__name__"].__get__(type(value))


def _is(failure: BaseException | None, kind: type) -> bool:
    """isinstance for the model's exception: ``issubclass`` on its type stays in C, where
    ``isinstance`` asks the object for ``__class__`` (the model's ``__getattribute__``)."""
    return failure is not None and issubclass(type(failure), kind)


class _CappedOutput(io.TextIOBase):
    """stdout/stderr of model code: keeps the first and the last ``limit // 2`` characters only,
    so printing in a loop until the deadline cannot fill memory."""

    def __init__(self, limit: int = STDOUT_LIMIT):
        self.limit = limit // 2
        self.head: list[str] = []
        self.head_len = 0
        self.tail = ""
        self.dropped = 0
        self.written = 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        written = len(text)
        self.written += written
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


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 2] + " …"


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
    return f"{_type_name(exc)}: {message}" if message else _type_name(exc)


def _model_traceback(exc: BaseException, lines: list[str]) -> str:
    """Traceback with only the frames of the model's code, each with its source line."""
    out = ["Traceback (most recent call last):"]
    walked = traceback.walk_tb(exc.__traceback__)
    stack = traceback.StackSummary.extract(walked, lookup_lines=False)
    frames = [f for f in stack if f.filename == CODE_FILENAME]
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
    # the last line as traceback writes it, without its "Did you mean" search: that imports a
    # module the first time, which the guard this runs under refuses
    message = str(exc)
    out.append(f"{_type_name(exc)}: {message}" if message else _type_name(exc))
    return "\n".join(out)


def _alive(scene):
    """The scene, or the context's scene if the code deleted it."""
    try:
        scene.name  # noqa: B018 - raises ReferenceError when the datablock was removed
        return scene
    except ReferenceError:
        return bpy.context.scene


def _contained(work: Callable[[], object], fallback: object) -> object:
    """``work()`` under a guard of its own (audit hook, a short time limit), ``fallback`` when
    it fails or runs out of time: for what may run the model's code after its own guard closed
    (its exception's ``__str__``, its generators' ``finally`` when its namespace is dropped)."""
    guard = policy.Guard(timeout=_AFTER_TIMEOUT)
    result = fallback
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            with guard:
                try:
                    result = work()
                except BaseException:  # noqa: BLE001 - the model's code may raise anything
                    result = fallback
    except BaseException:  # noqa: BLE001 - a timeout landing on the way out
        pass
    finally:
        for _attempt in range(20):
            try:
                guard.close()
                break
            except policy.ExecutionTimeout:
                continue
    return result


@dataclass
class _Failure:
    """What the model is told about an exception its code raised."""

    error: str
    traceback: str | None = None
    lines: list = field(default_factory=list)  # hints.failing_lines: innermost first
    hint: str | None = None
    message: str = ""  # str() of the exception


def _read_failure(exc: BaseException, code: str, lines: list[str]) -> _Failure:
    """The exception as the model reads it (run under ``_contained``: it formats model objects);
    the hint while the scene is still as the code left it, before any rollback."""
    hidden = policy.other_scene_ids(bpy.context.scene)
    return _Failure(
        _one_line(exc),
        _model_traceback(exc, lines),
        hints.failing_lines(exc, code),
        hints.explain(exc, code, hidden),
        str(exc),
    )


def _drop(namespace: dict | None, failure: BaseException | None) -> None:
    """Let go of the model's objects now, under a guard, rather than at some later garbage
    collection outside it (a generator's ``finally`` runs then): the namespace, and the frames,
    arguments and attributes of the exception and those chained to it."""
    if namespace is not None:
        namespace.clear()
    seen: set[int] = set()
    while failure is not None and id(failure) not in seen:
        seen.add(id(failure))
        traceback.clear_frames(failure.__traceback__)
        failure.args = ()
        failure.__dict__.clear()
        failure = failure.__cause__ or failure.__context__


def _warnings(caught: list, limit: int = 5) -> list[str]:
    """The model's own warnings (deprecations ...), one line each, with a note where known."""
    out: list[str] = []
    for item in caught:
        if item.filename != CODE_FILENAME:
            continue
        line = f"line {item.lineno}: {item.category.__name__}: {item.message}"
        note = hints.warning_note(str(item.message))
        line = f"{line} — {note}" if note else line
        if line not in out:
            out.append(_short(line, 300))
    return out[:limit]


def _pass_on(caught: list) -> None:
    """Warnings of other code caught while the model's code ran: shown as they would have been."""
    for item in caught:
        if item.filename != CODE_FILENAME:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


# ----------------------------------------------------------------------------- the summary
def _changes_text(report: dict, restored: bool) -> str:
    parts = []
    for verb in ("created", "changed", "removed"):
        kinds = [
            f"{kind} {', '.join(repr(n) for n in names[:12])}"
            + (f" +{len(names) - 12} more" if len(names) > 12 else "")
            for kind, names in (report.get(verb) or {}).items()
            if names
        ]
        if kinds:
            parts.append(f"{verb} " + "; ".join(kinds))
    if not parts:
        return (
            "Changes: none (the scene is as it was before this call)."
            if restored
            else "Changes: none."
        )
    lead = "Changes left after the restore: " if restored else "Changes: "
    return _short(lead + " | ".join(parts) + ".", _CHANGES_CHARS)


_REFUSED_LINE = re.compile(r"\bline (\d+):")


def _lines_text(failure: _Failure | None, error: str, lines: list[str]) -> str | None:
    """The model's lines the error went through ("Failing line 4 (in tint) of your code: …",
    then "called from line 5: …"), or the lines a refusal names."""
    found = list(failure.lines) if failure else []
    if not found and error.startswith("Refused:"):
        numbers = dict.fromkeys(int(n) for n in _REFUSED_LINE.findall(error))
        found = [(n, None, lines[n - 1].strip()) for n in numbers if 0 < n <= len(lines)][:3]
        if found:
            shown = "; ".join(f"line {n}: {text}" for n, _name, text in found)
            return _short(f"Refused code: {shown}", _LINES_CHARS)
    if not found:
        return None
    (lineno, name, text), callers = found[0], found[1:]
    where = f" (in {name})" if name else ""
    out = f"Failing line {lineno}{where} of your code: {text}"
    for lineno, _name, text in callers[:3]:
        out += f"\n  called from line {lineno}: {text}"
    if len(callers) > 3:
        out += f"\n  … and {len(callers) - 3} more calls"
    return _short(out, _LINES_CHARS)


def _excerpt(output: str, written: int, room: int) -> str | None:
    if not output:
        return None
    if len(output) <= room:
        cut = written > len(output)
        head = f"Output ({written:,} characters, cut):" if cut else "Output:"
        return f"{head}\n{output}"
    room = max(room, 200)
    first, last = room * 2 // 5, room * 3 // 5
    return (
        f"Output ({written:,} characters; the first {first} and the last {last} shown):\n"
        f"{output[:first]}\n[… cut …]\n{output[-last:]}"
    )


def _summary(
    result: dict, failure: _Failure | None, lines: list[str], written: int, hint: str | None
) -> str:
    """The model-facing text: error, failing line, hint, warnings, changes, then the output."""
    sections = []
    if result["ok"]:
        sections.append(f"OK: the code ran in {result['seconds']:.2f} s.")
    else:
        sections.append(_short(str(result["error"]), _ERROR_CHARS))
        if result.get("restore_error"):
            sections.append(_short(result["restore_error"], 300))
        where = _lines_text(failure, str(result["error"]), lines)
        if where:
            sections.append(where)
        hint = (failure.hint if failure else None) or hint
        if hint:
            sections.append(_short("Hint: " + hint.replace("\n", "\nHint: "), _HINT_CHARS))
    if result.get("warnings"):
        sections.append(_short("Warnings:\n" + "\n".join(result["warnings"]), _NOTES_CHARS))
    if "nothing was run" in str(result["error"]).lower():
        sections.append("Changes: none (nothing was run).")
    else:
        sections.append(_changes_text(result["changes"], bool(result.get("restored"))))
    text = "\n".join(sections)
    output = _excerpt(result.get("stdout") or "", written, TEXT_LIMIT - len(text) - 80)
    if output:
        text += "\n" + output
    return text[:TEXT_LIMIT]


def _result(
    ok,
    stdout="",
    error=None,
    tb=None,
    changes=None,
    start=0.0,
    restored=False,
    *,
    failure: _Failure | None = None,
    lines: list[str] | None = None,
    written: int | None = None,
    notes: list[str] | None = None,
    hint: str | None = None,
    **extra,
):
    stdout = _cap(stdout)
    result = {"ok": ok, "error": error, **extra, "restored": restored}
    result["changes"] = changes or fingerprint.empty_report()
    result["seconds"] = time.perf_counter() - start
    if notes:
        result["warnings"] = notes
    result["stdout"] = stdout  # long: last, so the JSON cut falls on it, not on the rest
    result["traceback"] = tb
    result["text"] = _summary(result, failure, lines or [], written or len(stdout), hint)
    return result


# ----------------------------------------------------------------------------- execute_code
def execute_code(
    code: str,
    *,
    checker: Callable[[str], str | None] | None = None,
    saved: snapshot.Checkpoint | None = None,
    scope: Iterable[str] | None = None,
    timeout: float | None = policy.DEFAULT_TIMEOUT,
    stage: str | None = None,
) -> dict:
    """Run model-written ``code`` under the policy on the calling (main) thread and report what
    it changed.

    The policy (tools/code/policy/) is always on: the code is checked before running (refused
    imports, builtins, attributes and operators run nothing) and runs with restricted builtins,
    a guarded bpy and guarded modules, an audit hook and a deadline of ``timeout`` seconds.
    The namespace has bpy, bmesh, mathutils, math, random, Vector, Matrix, Euler, Quaternion and
    Color, ``clear_scene()`` and ``__name__ == "__main__"``. Its output and warnings are captured.
    A syntax error runs nothing.
    When the code raises anything (SystemExit, KeyboardInterrupt, a refusal at run time and the
    time limit included) the scene is put back as it was before the call and "restored" is True.
    ``checker(code)`` may refuse the code by returning a message (checked before the policy).
    ``scope``: the stage scopes (stages.base.SCOPES names) the code may change; when given,
    a call that changed anything else is rolled back as a whole and reported ("out_of_scope").
    ``saved``: a checkpoint of the current state the caller already took (e.g. for its own
    undo stack); it is used for the restore instead of writing a second one, and the caller
    keeps ownership (it is not discarded here).

    Returns {"ok", "error", "restored", "changes", "seconds", "stdout", "traceback", "text"}
    where changes = {"created"|"changed"|"removed": {kind: [names]}} with kind one of objects,
    materials, lights, camera, world, render (``fingerprint.REPORT_KEYS``; render names the
    changed settings, e.g. "view_settings.exposure"); "text" is the summary for the model
    (error, failing line, hint, warnings, changes, output; at most ``TEXT_LIMIT`` characters);
    plus "refused": True for a policy refusal, "timed_out": True when the deadline fired,
    "out_of_scope": [{"what", "scopes"}] when the scope check rolled the call back,
    "warnings": [lines] when the code raised warnings.
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
        return _result(
            False,
            error=f"{_one_line(exc)} — nothing was run.",
            tb=tb,
            start=start,
            failure=_Failure("", lines=hints.failing_lines(exc, code)),
            lines=lines,
            hint=hints.explain(exc, code),
        )
    # after compiling: a policy that parses the code gets valid code, the model a syntax error
    refused = dict(start=start, lines=lines, refused=True)
    if checker is not None:
        try:
            refusal = checker(code)
        except Exception as exc:  # noqa: BLE001 - a broken policy must not let code through
            refusal = (
                f"the safety check itself failed ({type(exc).__name__}: {exc}); nothing was run"
            )
        if refusal:
            return _result(False, error=f"Refused: {refusal}", **refused)
    try:
        refusal = policy.check_code(code)
    except Exception as exc:  # noqa: BLE001 - a broken policy must not let code through
        refusal = f"the safety check itself failed ({type(exc).__name__}: {exc}); nothing was run"
    if refusal:
        return _result(False, error=f"Refused: {refusal}", **refused)
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
    caught: list = []
    try:
        namespace = _namespace()
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
        ):
            warnings.simplefilter("always")
            with guard:
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
    _pass_on(caught)
    notes = _warnings(caught)
    read = None
    if failure is not None:  # while the frames and the scene are as the code left them
        fallback = _Failure(f"{_type_name(failure)} (its message could not be read)")
        read = _contained(lambda: _read_failure(failure, code, lines), fallback)
    _contained(lambda ns=namespace: _drop(ns, failure), None)
    namespace = None
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
    out = dict(start=start, lines=lines, written=buffer.written, notes=notes)
    try:
        out_of_scope = None
        if failure is None:
            found = fingerprint.diff(before, fingerprint.capture(scene))
            if scope is not None:
                out_of_scope = scopes.out_of_scope(scopes.changes(found), scope)
            if not out_of_scope:
                return _result(True, buffer.getvalue(), changes=found.report, **out)
        extra = {}
        if out_of_scope:
            error = "Refused: " + scopes.describe(out_of_scope, scope, stage)
            tb = None
            extra = {"refused": True, "out_of_scope": out_of_scope}
            out["hint"] = scopes.scope_hint(code, out_of_scope, scope)
        else:
            if read is None:  # a refusal after the run: the policy's own message
                read = _Failure(_one_line(failure), message=str(failure))
            error, tb = read.error, read.traceback
            out["failure"] = read
            if _is(failure, policy.ExecutionTimeout):
                error = f"Timeout: {read.message}"
                extra = {"timed_out": True}
            elif _is(failure, policy.PolicyViolation) or guard.refusals:
                reason = read.message if _is(failure, policy.PolicyViolation) else guard.refusals[0]
                error = f"Refused: {reason}"
                extra = {"refused": True}
            elif _is(failure, MemoryError):
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
                restored=False,
                restore_error=f"The scene could NOT be restored: {restored['error']}",
                changes=fingerprint.diff(before, fingerprint.capture(scene)).report,
                **out,
                **extra,
            )
        if not out_of_scope:
            error += " — the scene was restored to its state before this code ran."
        return _result(
            False,
            buffer.getvalue(),
            error,
            tb,
            restored=True,
            changes=fingerprint.diff(before, fingerprint.capture(scene)).report,
            **out,
            **extra,
        )
    finally:
        if owned:
            saved.discard()
