"""The one error tree: every error a run, the CLI and the panel raise, and what each does.

    VigaError                      disposition  exit
    ├── ProviderError              PAUSE        4     a provider failed (generic, also unknown)
    │   ├── AuthError              FATAL        3     no API key, or the key was refused
    │   ├── ConfigError            FATAL        2     unknown provider/model, bad option, script
    │   ├── RateLimited            RETRY        4     HTTP 429 (``retry_after`` seconds or None)
    │   ├── ServerError            RETRY        4     5xx, 529 overloaded, connection dropped
    │   ├── Timeout                RETRY        4     the request timed out
    │   ├── BadResponse            FAIL_ROUND   1     the model answered, but not usefully
    │   │   ├── MalformedToolCall  FAIL_ROUND   1     tool-call arguments not a JSON object
    │   │   └── TruncatedReply     FAIL_ROUND   1     the reply was cut at the output-token limit
    │   ├── InvalidRequest         FAIL_ROUND   1     HTTP 413, an unreadable image of ours
    │   │   └── RequestRefused     FATAL        2     HTTP 400/422: the server refused how we
    │   │                                             ask (model, options, tools): fix settings
    │   │       ├── ToolsUnsupported FATAL      2     "… does not support tools" (Ollama)
    │   │       └── ImagesUnsupported FATAL     2     the model takes no images
    │   ├── CostCapReached         PAUSE        5     the next request would pass --max-cost
    │   └── Cancelled              PAUSE        4     Cancel interrupted a retry wait
    ├── WorkerError                PAUSE        4     the model worker process died / did not start
    ├── DiskFull (an OSError too)  PAUSE        4     the disk filled up mid-step (the session)
    ├── StartSceneError            FATAL        1     an edit run's start scene cannot be used
    └── UsageError                 FATAL        2     bad input: options, a run folder, a file
        ├── PhotoError (a ValueError too) FATAL 2     the photo cannot be used
        └── SettingsError (a ValueError too)    2     a setting out of bounds, an unknown stage

``disposition`` says what the session does when the error reaches it: RETRY errors are retried
by the provider first and, if one still surfaces, pause the run like PAUSE (resumable);
FAIL_ROUND fails this round cleanly and the run goes on; FATAL fails the run. ``exit_code`` is
the CLI's exit status when a run stops on that error (a FAIL_ROUND error never stops one).

Errors cross the worker's pipe as ``to_wire(exc)`` (type name and message) and come back as
``from_wire(data)``; an unknown name becomes a plain ProviderError. ``str(error)`` is meant for
the artist. Standard library only: the session, the CLI, the panel and the worker child all
import this.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

EXIT_OK = 0
EXIT_FAILED = 1  # the run failed (no model-side error says more)
EXIT_BAD_INPUT = 2  # usage, photo, settings: fix the input
EXIT_AUTH = 3  # no API key, or a key the provider refused
EXIT_PAUSED = 4  # paused, resumable
EXIT_COST_CAP = 5  # stopped at the cost cap; resumable (with a higher cap)


class Disposition(enum.Enum):
    """What an error does to the run when it reaches the session."""

    RETRY = "retry"  # transient: the provider retries it; if it still surfaces, the run pauses
    PAUSE = "pause"  # the run pauses; resume retries the interrupted round
    FAIL_ROUND = "fail_round"  # this round fails cleanly; the run goes on
    FATAL = "fatal"  # the run fails: fix the settings or the key, then resume

    @property
    def pauses(self) -> bool:
        """True when the run pauses on this error (RETRY that survived the retries, or PAUSE)."""
        return self in (Disposition.RETRY, Disposition.PAUSE)


class VigaError(Exception):
    """Base of the tree; ``str(error)`` is meant for the artist."""

    disposition: ClassVar[Disposition] = Disposition.PAUSE
    exit_code: ClassVar[int] = EXIT_PAUSED

    @property
    def retryable(self) -> bool:
        """True when the provider retries this error itself (with backoff)."""
        return self.disposition is Disposition.RETRY


class ProviderError(VigaError):
    """A provider failed; the generic case (and any error name this side does not know)."""


class AuthError(ProviderError):
    """The API key is missing or was rejected."""

    disposition = Disposition.FATAL
    exit_code = EXIT_AUTH


class ConfigError(ProviderError):
    """Unknown provider or model, bad options, missing script: fix the settings."""

    disposition = Disposition.FATAL
    exit_code = EXIT_BAD_INPUT


class RateLimited(ProviderError):
    """HTTP 429; ``retry_after`` is the wait the service asked for (seconds), if any."""

    disposition = Disposition.RETRY

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(ProviderError):
    """5xx, 529 overloaded, or the connection dropped."""

    disposition = Disposition.RETRY


class Timeout(ProviderError):
    """The service did not answer in time."""

    disposition = Disposition.RETRY


class BadResponse(ProviderError):
    """The model answered, but not usefully (no tool call, malformed arguments)."""

    disposition = Disposition.FAIL_ROUND
    exit_code = EXIT_FAILED


class MalformedToolCall(BadResponse):
    """Tool-call arguments were not a JSON object; ``Provider.complete`` re-asks."""

    def __init__(self, message: str = "", partial: dict | None = None) -> None:
        super().__init__(message)
        self.partial = partial or {}


class TruncatedReply(BadResponse):
    """The reply was cut at its output-token limit (Anthropic ``stop_reason`` "max_tokens",
    OpenAI ``finish_reason`` "length"), tool calls included; ``Provider.complete`` asks once
    more with a larger limit, then raises it with a message that says which option to raise.

    ``limit`` is the output-token limit the cut reply had; ``partial`` its text and usage.
    """

    def __init__(self, message: str = "", limit: int = 0, partial: dict | None = None) -> None:
        super().__init__(message)
        self.limit = int(limit)
        self.partial = partial or {}


class InvalidRequest(ProviderError):
    """The service refused the request itself (HTTP 400/413/422, unreadable image)."""

    disposition = Disposition.FAIL_ROUND
    exit_code = EXIT_FAILED


class RequestRefused(InvalidRequest):
    """HTTP 400/422: the server refuses the request's form (a model it lacks, an option or
    tools it does not take). Every later request would be refused the same way, so the run
    stops at once with the server's own message instead of failing round after round."""

    disposition = Disposition.FATAL
    exit_code = EXIT_BAD_INPUT


class ToolsUnsupported(RequestRefused):
    """The server refuses any request with tools (many vision models on Ollama): with
    ``tool_protocol`` "auto" the provider falls back to the text protocol instead."""


class ImagesUnsupported(RequestRefused):
    """The model takes no images: nothing of a reconstruction can work; choose a vision model."""


class CostCapReached(ProviderError):
    """The next request would take the run (or a stage) past its cost cap: the run stops
    before sending it, resumable with a higher cap; no completed round is redone."""

    exit_code = EXIT_COST_CAP


class Cancelled(ProviderError):
    """Cancel interrupted a wait between retries."""


class WorkerError(VigaError):
    """The model worker process died or could not start (not the provider's fault)."""


class DiskFull(OSError, VigaError):
    """The disk filled up mid-step (the run store raises it for ENOSPC); the last complete
    state.json stands and the session pauses."""


class UsageError(VigaError):
    """Bad input the artist or the caller fixes: a command-line option, a run folder, a file."""

    disposition = Disposition.FATAL
    exit_code = EXIT_BAD_INPUT


class PhotoError(ValueError, UsageError):
    """The photo cannot be used (missing, a folder, not an image Pillow reads)."""


class SettingsError(ValueError, UsageError):
    """A setting out of its bounds or unknown (the message names it)."""


class StartSceneError(VigaError):
    """An edit run's start scene cannot be read or used (the run fails at its start)."""

    disposition = Disposition.FATAL
    exit_code = EXIT_FAILED


ERROR_TYPES: dict[str, type[VigaError]] = {
    cls.__name__: cls
    for cls in (
        VigaError,
        ProviderError,
        AuthError,
        ConfigError,
        RateLimited,
        ServerError,
        Timeout,
        BadResponse,
        MalformedToolCall,
        TruncatedReply,
        InvalidRequest,
        RequestRefused,
        ToolsUnsupported,
        ImagesUnsupported,
        CostCapReached,
        Cancelled,
        WorkerError,
        DiskFull,
        UsageError,
        PhotoError,
        SettingsError,
        StartSceneError,
    )
}


def error_class(name: str | None) -> type[VigaError]:
    """The class called ``name``; ProviderError for None or a name not in the tree."""
    return ERROR_TYPES.get(name or "", ProviderError)


def exit_code_for(name: str | None) -> int:
    """The CLI exit status of a run stopped by the error called ``name`` (None: 1, failed)."""
    if not name:
        return EXIT_FAILED
    return error_class(name).exit_code


def to_wire(exc: VigaError) -> dict[str, str]:
    """``{"error_type": class name, "message": str}``: what crosses a pipe as JSON."""
    return {"error_type": type(exc).__name__, "message": str(exc)}


def from_wire(data: Mapping[str, Any]) -> VigaError:
    """The error ``to_wire`` described; an unknown type name gives a plain ProviderError."""
    message = str(data.get("message") or "")
    cls = error_class(data.get("error_type"))
    try:
        return cls(message)
    except TypeError:  # a subclass that wants more than a message
        return ProviderError(message)
