"""The main thread's side of the render process: start it, send it a job, poll for the reply.

    process = RenderProcess(command)       # starts at once, without waiting for it
    job_id = process.submit(job, time_limit=300)
    reply = process.poll()                 # None while the job runs, then its reply dict
    process.progress                       # meanwhile: the job's latest progress line, or None
    process.close()

Nothing here blocks for long: ``submit`` writes a line to the child's stdin, ``poll`` reads what
the child has written so far. A job past its time limit is killed with its process, which then
starts again; a child that dies mid-job (a segfault, out of memory) fails that job with a clear
message and starts again too. ``start_error`` is set when the process cannot start (a missing
binary, a child that exits or stays silent before it is ready): the caller renders in-process.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import weakref

from ....common.pipes import LineReader, end_process, file_tail
from .worker import REPLY_PREFIX

WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
START_TIMEOUT = 120.0  # seconds for the child to import bpy and say it is ready
TIMEOUT_ADVICE = "fewer samples, a smaller size, or a simpler scene"

_live: weakref.WeakSet = weakref.WeakSet()


def worker_command(binary_path: str | None) -> list[str]:
    """The command of a render process: Blender's own binary in the background with factory
    settings (inside Blender), or this interpreter (the bpy module: ``binary_path`` is empty)."""
    if binary_path:
        return [binary_path, "-b", "--factory-startup", "--python", WORKER_SCRIPT]
    return [sys.executable, WORKER_SCRIPT]


RENDER_NICENESS = 10  # the render process's OS priority below Blender's


def lower_priority(command: list[str]) -> list[str]:
    """``command`` started at a lower OS priority (``nice`` on Linux and macOS; on Windows the
    BELOW_NORMAL priority class is a flag of the start): a render uses every core, and on a
    machine with few of them the artist's Blender would otherwise draw its window at half speed
    while one runs (measured in a real window on 2 cores: redraws of 360-400 ms instead of
    about 220 during a run). The render still gets every idle cycle."""
    nice = shutil.which("nice") if os.name == "posix" else None
    if not nice or shutil.which(command[0]) is None:  # a missing program fails to start, as is
        return list(command)
    return [nice, "-n", str(RENDER_NICENESS), *command]


class RenderProcess:
    """One persistent render process; see the module docstring."""

    def __init__(self, command: list[str], workdir: str | None = None):
        self.command = list(command)
        self._own_dir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="viga_render_jobs_")
        os.makedirs(self.workdir, exist_ok=True)
        self.start_error: str | None = None
        self.starts = 0  # processes started (the first, then one per restart)
        self.replies = 0  # jobs answered (by the process, or failed by a crash or time limit)
        self.pid: int | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None
        self._lines = LineReader()
        self._ready = False
        self._started_at = 0.0
        self._job: dict | None = None  # {"id", "time_limit", "since", "blend"}
        self._reply: dict | None = None
        # the latest progress line of the current (or last) job: a refinement's renders so far
        self.progress: dict | None = None
        _live.add(self)
        self.start()

    # -- public ---------------------------------------------------------------------------------
    @property
    def usable(self) -> bool:
        """False once the process could not start (the caller renders in-process instead)."""
        return self.start_error is None

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def ready(self) -> bool:
        return self._ready

    def job_path(self, name: str) -> str:
        """A fresh path in this process's folder for a job's scene file."""
        return os.path.join(self.workdir, f"{name}_{uuid.uuid4().hex[:8]}.blend")

    def submit(self, job: dict, time_limit: float | None = None) -> str:
        """Send ``job`` (it must name a ``blend`` this process may delete afterwards)."""
        if self._job is not None:
            raise RuntimeError("the render process is busy with another job")
        if self._proc is None or self._proc.poll() is not None:
            self.start()
        job = {**job, "id": job.get("id") or uuid.uuid4().hex[:12]}
        self._job = {
            "id": job["id"],
            "time_limit": time_limit,
            "since": time.monotonic() if self._ready else None,
            "blend": job.get("blend"),
            # what the job is and how to make it shorter, for the time limit's message
            "what": job.get("what") or "render",
            "advice": job.get("advice") or TIMEOUT_ADVICE,
        }
        self._reply = None
        self.progress = None
        self._truncate_log()
        try:
            self._proc.stdin.write(json.dumps(job).encode("utf-8") + b"\n")
            self._proc.stdin.flush()
        except OSError:
            pass  # the child is gone: poll() says how
        return job["id"]

    def poll(self) -> dict | None:
        """The current job's reply once it is there (errors are replies with ``ok`` False), or
        None while it runs. Never blocks."""
        if self._job is None:
            return self._take_reply()
        self._read_available()
        if self._reply is not None:
            return self._take_reply()
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self._read_available()
            if self._reply is not None:
                return self._take_reply()
            was_ready = proc is not None and self._ready
            message = self._crash_message(proc)
            if not was_ready:
                return self._fail(message, start_failed=True)
            return self._fail(message, crashed=True)
        now = time.monotonic()
        if not self._ready:
            if now - self._started_at > START_TIMEOUT:
                self.start_error = f"the render process did not start in {START_TIMEOUT:.0f} s"
                self._stop()
                return self._fail(self.start_error, start_failed=True)
            return None
        limit, since = self._job["time_limit"], self._job["since"]
        if limit and since is not None and now - since > limit:
            what, advice = self._job.get("what", "render"), self._job.get("advice", TIMEOUT_ADVICE)
            self._stop()
            self.start()
            return self._fail(
                f"the {what} took over {limit:g} s and was stopped: {advice}",
                timed_out=True,
            )
        return None

    def wait(self, timeout: float | None = None, interval: float = 0.01) -> dict | None:
        """Poll until the reply is there (for callers that may block, e.g. a headless tool)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            reply = self.poll()
            if reply is not None or (end is not None and time.monotonic() > end):
                return reply
            time.sleep(interval)

    def cancel(self) -> None:
        """Stop the current job (kills the process; the next job starts a fresh one)."""
        if self._job is not None:
            self._remove_blend(self._job)
            self._job = None
            self.progress = None
            self._stop()

    def close(self, wait: bool = True) -> None:
        """End the process (an idle one is asked to quit, a busy one killed) and remove its
        folder of job files; ``wait=False``: without waiting for its exit here (the folder goes
        once it has exited; see pipes.end_process)."""
        job, self._job = self._job, None
        proc, self._proc = self._proc, None
        ready, self._ready = self._ready, False
        _live.discard(self)
        folder = self.workdir if self._own_dir else None

        def remove_folder() -> None:
            if folder:
                shutil.rmtree(folder, ignore_errors=True)

        if proc is None or proc.poll() is not None:
            remove_folder()
            return
        try:
            if ready and job is None:
                proc.stdin.write(b'{"kind": "quit"}\n')
                proc.stdin.flush()
            else:
                proc.kill()  # busy or not started: nothing of it is wanted
        except OSError:
            proc.kill()
        end_process(proc, grace=2.0, wait=wait, after=remove_folder)

    def __del__(self) -> None:
        try:
            self._stop()
        except Exception:
            pass

    # -- internals ------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop()
        env = dict(os.environ)
        if self.command[0] != sys.executable:
            # Blender's binary: the parent's paths reach bundled wheels a factory-startup
            # Blender does not add. (The bpy module's own script folders must not be passed on:
            # there they shadow the bpy wheel.)
            paths = [p for p in sys.path if p and os.path.exists(p)]
            env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        env["PYTHONUNBUFFERED"] = "1"
        self._log = tempfile.TemporaryFile()
        self._lines = LineReader()
        self._ready = False
        self._started_at = time.monotonic()
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        flags |= getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0)  # Windows: see below
        try:
            self._proc = subprocess.Popen(
                lower_priority(self.command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env=env,
                creationflags=flags,
            )
        except OSError as exc:
            self._proc = None
            self.start_error = f"could not start {self.command[0]}: {exc}"
            return
        self.pid = self._proc.pid
        self.starts += 1

    def _read_available(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        lines = self._lines
        for line in lines.read(proc.stdout.fileno()):
            if self._lines is not lines:
                break  # the process was restarted: the rest was the old one's
            self._handle_line(line.decode("utf-8", "replace"))

    def _handle_line(self, line: str) -> None:
        if not line.startswith(REPLY_PREFIX):
            return  # Blender's startup output, before the worker took stdout over
        try:
            message = json.loads(line[len(REPLY_PREFIX) :])
        except json.JSONDecodeError:
            return
        if message.get("ready"):
            self._ready = True
            if self._job is not None and self._job["since"] is None:
                self._job["since"] = time.monotonic()
            return
        if self._job is not None and message.get("id") == self._job["id"]:
            if "progress" in message and "ok" not in message:
                self.progress = message["progress"]
            else:
                self._reply = message

    def _take_reply(self) -> dict | None:
        reply, self._reply = self._reply, None
        if reply is not None:
            self.replies += 1
        if reply is not None and self._job is not None:
            self._remove_blend(self._job)
            self._job = None
        return reply

    def _fail(self, error: str, **flags) -> dict:
        self._reply = {"id": self._job["id"], "ok": False, "error": error, **flags}
        if not flags.get("start_failed") and not flags.get("timed_out"):
            self.start()  # a crash: a fresh process for the next job, warming up already
        return self._take_reply()

    def _crash_message(self, proc: subprocess.Popen | None) -> str:
        if proc is None:
            return f"the render process could not start: {self.start_error}"
        code = proc.returncode
        how = f"exit code {code}"
        if code is not None and code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        if not self._ready:
            self.start_error = f"the render process exited before it was ready ({how})"
            tail = self.log_tail(400)
            return self.start_error + (f": {tail}" if tail else "")
        tail = self.log_tail(400)
        return (
            f"the render process stopped unexpectedly ({how}), e.g. a crash or out of memory "
            "while rendering this scene; it was restarted. Your scene in Blender is "
            "unchanged." + (f" Last output: {tail}" if tail else "")
        )

    def log_tail(self, limit: int = 2000) -> str:
        """The end of the process's own output (Blender's messages), for error reports."""
        return file_tail(self._log, limit).strip()

    def _truncate_log(self) -> None:
        try:
            if self._log is not None and self._log.tell() > (1 << 20):
                self._log.seek(0)
                self._log.truncate()
        except (OSError, ValueError):
            pass

    def _remove_blend(self, job: dict) -> None:
        blend = job.get("blend")
        if blend:
            for path in (blend, blend + "1"):
                try:
                    os.remove(path)
                except OSError:
                    pass

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        self._ready = False
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except (OSError, AttributeError):
                    pass


def close_all() -> None:
    """End every render process still open (at interpreter exit, and when Blender loads a
    file or quits)."""
    for process in list(_live):
        try:
            process.close()
        except Exception:
            pass


atexit.register(close_all)
