"""ReactorError, its codes, and how HTTP and transport failures map onto them.

The JS SDK 2.9 turns every failure into one generic code per operation and never sets ``retryAfter``
(Part A §10.3). This port keeps those codes and adds what a caller needs to decide what to do next:
``AUTHENTICATION_FAILED`` for 401/403, ``recoverable`` from the HTTP status, ``retry_after`` from
``Retry-After``, and ``component`` saying whether the control plane or the GPU side failed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Literal

from reactor_web.protocol.capabilities import ProtocolError
from reactor_web.protocol.constants import Scope
from reactor_web.protocol.messages import Refusal

Component = Literal["coordinator", "gpu"]


class ErrorCode(StrEnum):
    """The client's own error codes (a runtime's refusal keeps the runtime's code)."""

    CONNECTION_FAILED = "CONNECTION_FAILED"
    RECONNECTION_FAILED = "RECONNECTION_FAILED"
    GPU_CONNECTION_ERROR = "GPU_CONNECTION_ERROR"
    MESSAGE_SEND_FAILED = "MESSAGE_SEND_FAILED"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    TRACK_PUBLISH_FAILED = "TRACK_PUBLISH_FAILED"
    TRACK_UNPUBLISH_FAILED = "TRACK_UNPUBLISH_FAILED"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    #: A command the model does not declare, or data its schema refuses (checked before sending).
    INVALID_COMMAND = "INVALID_COMMAND"
    UPLOAD_FAILED = "UPLOAD_FAILED"
    #: The server refused the file's size (HTTP 413).
    UPLOAD_TOO_LARGE = "UPLOAD_TOO_LARGE"
    #: ``screenshot()``: no frame of that video track arrived (not connected, no such track, or none in time).
    NO_FRAME = "NO_FRAME"
    #: A v1 request (a command, a control request) got no answer in time.
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    #: A value the wire cannot carry (v1: NaN, an int past 2^53, a non-string key...); the message says where.
    ENCODE_FAILED = "ENCODE_FAILED"
    #: The connection closed while a request waited for its answer.
    DISCONNECTED = "DISCONNECTED"


class ReactorError(Exception):
    """An error raised by the client and the payload of its ``error`` event.

    ``code`` is an :class:`ErrorCode` or, for a refusal the runtime sent (``{"type":"error","data":{"code",
    "message","command"?}}``), the runtime's own code; ``component`` says which side failed
    (``coordinator`` or ``gpu``); ``recoverable`` whether trying again may help; ``retry_after`` the
    server's ``Retry-After`` in seconds; ``command`` the refused command, when the refusal names one.
    """

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        *,
        component: Component = "gpu",
        recoverable: bool = True,
        retry_after: float | None = None,
        command: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.component: Component = component
        self.recoverable = recoverable
        self.retry_after = retry_after
        #: The command the runtime or model refused, when a refusal names one (None otherwise).
        self.command = command
        self.timestamp = int(time.time() * 1000)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``code``, ``message``, ``component``, ``recoverable``, ``retry_after``,
        ``command`` and ``timestamp`` (milliseconds since the epoch)."""
        return {
            "code": self.code,
            "message": self.message,
            "component": self.component,
            "recoverable": self.recoverable,
            "retry_after": self.retry_after,
            "command": self.command,
            "timestamp": self.timestamp,
        }

    def __repr__(self) -> str:
        return f"ReactorError({self.code}, {self.message!r}, recoverable={self.recoverable})"


class ApiError(Exception):
    """A failed coordinator or signalling call. ``status`` is None for network errors and polling give-ups."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        retry_after: float | None = None,
        recoverable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self._recoverable = recoverable

    @property
    def recoverable(self) -> bool:
        """Whether trying again later may succeed: network errors, 408/409/429 and 5xx."""
        if self._recoverable is not None:
            return self._recoverable
        if self.status is None:
            return True
        # 501 means the server is too old for this client: waiting will not help.
        return self.status in (408, 409, 429) or (self.status >= 500 and self.status != 501)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def to_reactor_error(exc: BaseException, code: ErrorCode, context: str) -> ReactorError:
    """Classify a failure of an operation (``code``) as a ReactorError; ``context`` prefixes the message."""
    if isinstance(exc, ReactorError):
        return exc
    if isinstance(exc, ApiError):
        if exc.status in (401, 403):
            return ReactorError(
                ErrorCode.AUTHENTICATION_FAILED,
                f"{context}: {exc}",
                component="coordinator",
                recoverable=False,
            )
        return ReactorError(
            code,
            f"{context}: {exc}",
            component="coordinator",
            recoverable=exc.recoverable,
            retry_after=exc.retry_after,
        )
    if isinstance(exc, ProtocolError):
        # The server answered something this client cannot read: retrying will not change that.
        return ReactorError(code, f"{context}: {exc}", component="coordinator", recoverable=False)
    detail = str(exc) or type(exc).__name__
    return ReactorError(code, f"{context}: {detail}", component="gpu", recoverable=True)


class RefusalError(ReactorError):
    """The other side refused one message and the session goes on: the ``error`` event's payload for a
    ``{"type":"error","data":{"code","message","command"?}}`` frame from the runtime or the model.

    ``scope`` is ``"runtime"`` for a frame the runtime could not take (``MESSAGE_TOO_LARGE``,
    ``DECODE_FAILED``...) and ``"application"`` for one the model refused (``INVALID_IMAGE``...);
    ``command`` names the refused command when the refusal says it. Always recoverable, component ``gpu``.
    """

    def __init__(self, code: str, message: str, *, scope: Scope, command: str | None = None) -> None:
        super().__init__(code, message, component="gpu", recoverable=True, command=command)
        self.scope = scope


def refusal_error(refusal: Refusal) -> RefusalError:
    """The :class:`RefusalError` of a refusal the runtime or the model sent (either wire version)."""
    return RefusalError(refusal.code, refusal.message, scope=refusal.scope, command=refusal.command)
