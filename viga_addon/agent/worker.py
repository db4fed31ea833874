"""Model requests in a separate worker process, so Blender's main thread never blocks.

Python threads doing network I/O can crash Blender, and a blocking HTTP call would freeze the UI,
so every request runs in a child process that the main thread polls (a few microseconds per poll)
and that Cancel kills at once.

    worker = ModelWorker("anthropic", model=None, api_key=key, base_url=None, opts={})
    request_id = worker.submit(request)          # returns at once
    reply = worker.poll()                        # None while waiting, then a WorkerReply:
        reply.id == request_id
        reply.ok, reply.response                 # the neutral response (messages.py)
        reply.error                              # or a VigaError (agent/errors.py), e.g.
                                                 # RateLimited; WorkerError if the child died
    worker.cancel()                              # kill the child; the next submit starts afresh
    worker.close()

The API key is resolved in the parent (``providers.keys.resolve_key``) before any process
starts: a missing key raises AuthError at once.

The child is ``sys.executable worker_boot.py`` (inside Blender: its bundled Python, where the
bpy module is not available). ``worker_boot.py`` loads the add-on's folder as a standalone package by file path,
so it works whatever the add-on's package is called; the parent's ``sys.path`` is passed on in
PYTHONPATH so bundled wheels import. Protocol: JSON lines. The first stdin line is the config
(with the API key: never on the command line, never logged), then one line per request; stdout
carries results and ``{"notice": str}`` lines (retry messages, kept in ``last_notice``). A result
line is ``{"id", "ok": true, "response"}`` or ``{"id", "ok": false, "error_type", "message"}``
(``errors.to_wire``); ``poll`` turns it into a WorkerReply with a typed error (``from_wire``).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any

from ..common.pipes import LineReader, end_process, file_tail
from .errors import ConfigError, ProviderError, VigaError, WorkerError, from_wire, to_wire
from .providers.catalog import DEFAULT_MODELS, known_provider
from .providers.keys import resolve_key, scrub

BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker_boot.py")


@dataclass(frozen=True)
class WorkerReply:
    """The outcome of one request: its ``response``, or the ``error`` that ended it."""

    id: str
    response: dict | None = None
    error: VigaError | None = None

    @property
    def ok(self) -> bool:
        """True when the request got a response."""
        return self.error is None

    @property
    def error_type(self) -> str | None:
        """The error's class name (e.g. "RateLimited"), None when ok."""
        return None if self.error is None else type(self.error).__name__


class ModelWorker:
    """A child process that runs one provider; see the module docstring."""

    def __init__(
        self,
        provider_name: str,
        model: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        opts: dict | None = None,
    ) -> None:
        provider_name = known_provider(provider_name)  # ConfigError for an unknown name
        # Fail fast in the parent (AuthError) before any process or network call.
        key = resolve_key(provider_name, explicit=api_key, base_url=base_url).key
        self._key = key
        self._config = {
            "provider": provider_name,
            "model": model,
            "api_key": key,
            "base_url": base_url,
            "opts": dict(opts or {}),
        }
        try:  # options cross a pipe as JSON: fail here, not in the child
            json.dumps(self._config["opts"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"Worker options must be JSON-serialisable: {exc}") from None
        self.provider_name = provider_name
        self.model = model or DEFAULT_MODELS[provider_name]
        self.last_notice = ""
        self._proc: subprocess.Popen | None = None
        self._stderr = None
        self._lines = LineReader()
        self._pending: list[str] = []
        self._results: collections.deque[WorkerReply] = collections.deque()

    # -- public -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a submitted request has no result yet."""
        return bool(self._pending)

    def start(self) -> None:
        """Start the child now (optional): its SDK import (~1 s) then overlaps other work."""
        if self._proc is None or self._proc.poll() is not None:
            self._start()

    def submit(self, request: dict) -> str:
        """Queue a request for the child (started if needed); returns its id at once.

        If the child cannot start, the request's reply is that WorkerError (from ``poll``).
        """
        request_id = uuid.uuid4().hex[:12]
        try:
            self.start()
        except WorkerError as exc:
            self._results.append(WorkerReply(request_id, error=exc))
            return request_id
        self._pending.append(request_id)
        try:
            self._write({"id": request_id, "request": request})
        except OSError:
            pass  # the child died; poll() reports it
        return request_id

    def poll(self) -> WorkerReply | None:
        """The next finished request's reply, or None. Never blocks."""
        if not self._results and self._proc is not None:
            self._read_available()
            if not self._results and self._pending and self._proc.poll() is not None:
                self._report_crash()
        return self._results.popleft() if self._results else None

    def cancel(self) -> None:
        """Kill the child at once, dropping every unfinished request."""
        self._pending.clear()
        self._results.clear()
        self._stop(kill=True)

    def close(self, wait: bool = True) -> None:
        """End the child politely (EOF on stdin), killing it if it does not exit quickly;
        ``wait=False``: without waiting for it here (see pipes.end_process)."""
        self._pending.clear()
        self._stop(kill=False, wait=wait)

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of the child's stderr (for diagnostics; the key is scrubbed)."""
        return scrub(file_tail(self._stderr, limit), self._key)

    def __enter__(self) -> ModelWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._stop(kill=True)
        except Exception:
            pass

    # -- internals ----------------------------------------------------------------------------
    def _start(self) -> None:
        self._stop(kill=True)
        env = dict(os.environ)
        paths = [p for p in sys.path if p and os.path.exists(p)]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        env["PYTHONUNBUFFERED"] = "1"
        self._stderr = tempfile.TemporaryFile()
        self._lines = LineReader()
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flashing up on Windows
        try:
            self._proc = subprocess.Popen(
                [sys.executable, BOOTSTRAP],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=env,
                creationflags=flags,
            )
        except OSError as exc:
            raise WorkerError(
                f"Could not start the model worker with {sys.executable}: {exc}"
            ) from None
        try:
            self._write(self._config)
        except OSError:
            pass  # the child died at once; poll() reports it with its stderr

    def _write(self, message: dict) -> None:
        self._proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
        self._proc.stdin.flush()

    def _read_available(self) -> None:
        lines = self._lines
        for line in lines.read(self._proc.stdout.fileno()):
            if self._lines is not lines:
                break  # the child was restarted: the rest was the old one's
            self._handle_line(line)

    def _handle_line(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            return
        if "notice" in message:
            self.last_notice = str(message["notice"])
            return
        request_id = message.get("id")
        if request_id in self._pending:
            self._pending.remove(request_id)
            self._results.append(_reply_from_line(request_id, message))

    def _report_crash(self) -> None:
        self._read_available()
        if self._results:
            return
        code = self._proc.returncode
        tail = self.stderr_tail(600).strip()
        detail = f" Last output: {tail}" if tail else ""
        message = f"The model worker process stopped unexpectedly (exit code {code}).{detail}"
        for request_id in self._pending:
            self._results.append(WorkerReply(request_id, error=WorkerError(message)))
        self._pending.clear()
        self._stop(kill=True)

    def _stop(self, kill: bool, wait: bool = True) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if kill:
            proc.kill()
        else:
            try:
                proc.stdin.close()
            except OSError:
                proc.kill()
        end_process(proc, grace=2.0, wait=wait)


def _reply_from_line(request_id: str, message: dict[str, Any]) -> WorkerReply:
    """A result line of the child as a WorkerReply (a response without a dict is an error)."""
    if message.get("ok"):
        response = message.get("response")
        if isinstance(response, dict):
            return WorkerReply(request_id, response=response)
        return WorkerReply(request_id, error=WorkerError("The model worker sent no response."))
    return WorkerReply(request_id, error=from_wire(message))


# -- the child side ---------------------------------------------------------------------------
def setup_failure(provider: str, exc: Exception) -> str:
    """Why the provider's client could not be made, with the environment's part in it (an SDK
    reads SSL_CERT_FILE / SSL_CERT_DIR and fails on a path that does not exist)."""
    text = f"Could not set up the {provider} client: {type(exc).__name__}: {exc}"
    for name, exists in (("SSL_CERT_FILE", os.path.isfile), ("SSL_CERT_DIR", os.path.isdir)):
        value = os.environ.get(name)
        if value and not exists(value):
            text += f" ({name} is set to {value}, which does not exist: fix or unset it)"
    return text


def child_main() -> None:
    """Run in the worker process (started by worker_boot.py): serve requests from stdin."""
    import logging
    import traceback

    from .providers.registry import make_provider  # here: the parent never needs it

    # stdout is the protocol channel: anything else printed goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message: dict) -> None:
        out.write(json.dumps(message).encode("utf-8") + b"\n")
        out.flush()

    config = json.loads(sys.stdin.readline() or "{}")
    key = config.get("api_key")

    class NoticeHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                send({"notice": scrub(record.getMessage(), key)})
            except Exception:
                pass

    provider_log = logging.getLogger("viga.providers")
    provider_log.addHandler(NoticeHandler(logging.WARNING))
    provider_log.setLevel(logging.WARNING)

    provider = setup_error = None
    try:
        provider = make_provider(
            config.get("provider", ""),
            model=config.get("model"),
            api_key=key,
            base_url=config.get("base_url"),
            **(config.get("opts") or {}),
        )
    except VigaError as exc:
        setup_error = exc
    except Exception as exc:  # the SDK could not set itself up: say why, not a bare crash
        setup_error = ConfigError(scrub(setup_failure(config.get("provider", ""), exc), key))

    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        request_id = message.get("id")
        try:
            if setup_error is not None:
                raise setup_error
            send({"id": request_id, "ok": True, "response": provider.complete(message["request"])})
        except VigaError as exc:
            wire = to_wire(exc)
            send({"id": request_id, "ok": False, **wire, "message": scrub(wire["message"], key)})
        except Exception as exc:  # a bug, not a service failure: report it, keep serving
            print(scrub(traceback.format_exc(), key), file=sys.stderr)
            text = scrub(f"Unexpected error in the model worker: {type(exc).__name__}: {exc}", key)
            send({"id": request_id, "ok": False, **to_wire(ProviderError(text))})
