"""The Reactor's commands and track publishing (Part A §6.7, §7.1), kept apart from its connection logic."""

from __future__ import annotations

import json
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

from reactor_web.client.errors import ErrorCode, ReactorError
from reactor_web.client.transport import PeerTransport
from reactor_web.protocol.constants import Scope, Status
from reactor_web.protocol.envelope import UNDEFINED, encode_envelope


class CommandsMixin:
    """Needs the Reactor's ``_status``, ``_transport`` and ``_report``; every failure is reported, then raised."""

    _status: Status
    _transport: PeerTransport | None

    def _report(self, error: ReactorError) -> None:
        raise NotImplementedError

    async def send_command(self, command: str, data: Any = None, scope: Scope = "application") -> None:
        """Send ``{"scope","data":{"type":command,"data":data}}`` on the data channel (Part A §7.1).

        A string ``data`` is JSON-parsed first; None leaves ``data`` out. Unlike the JS SDK, which only
        logs, sending when not ready or over the channel's size limit raises (and emits) a ReactorError.
        """
        transport = self._transport
        if self._status != "ready" or transport is None:
            raise self._fail(ErrorCode.MESSAGE_SEND_FAILED, f"Cannot send {command!r}: status is {self._status!r}")
        try:
            payload = json.loads(data) if isinstance(data, str) else data
            frame = encode_envelope(scope, command, UNDEFINED if payload is None else payload)
        except (TypeError, ValueError) as exc:
            raise self._fail(ErrorCode.MESSAGE_SEND_FAILED, f"Cannot send {command!r}: {exc}", False) from exc
        size, limit = len(frame.encode()), transport.max_message_size
        if size > limit:
            raise self._fail(
                ErrorCode.MESSAGE_TOO_LARGE, f"Cannot send {command!r}: {size} bytes exceeds the {limit}-byte limit"
            )
        try:
            transport.send(frame)
        except Exception as exc:
            raise self._fail(ErrorCode.MESSAGE_SEND_FAILED, f"Failed to send message: {exc}") from exc

    async def publish_track(self, name: str, track: MediaStreamTrack) -> None:
        """Send ``track`` on the sendonly capability track ``name`` (requires ``ready``)."""
        transport = self._transport
        if self._status != "ready" or transport is None:
            raise self._fail(
                ErrorCode.TRACK_PUBLISH_FAILED, f'Failed to publish track "{name}": status is {self._status!r}'
            )
        try:
            await transport.publish(name, track)
        except Exception as exc:
            detail = str(exc) or type(exc).__name__
            raise self._fail(
                ErrorCode.TRACK_PUBLISH_FAILED,
                f'Failed to publish track "{name}": {detail}',
                not isinstance(exc, ValueError),  # a ValueError is a caller mistake: no retry will help
            ) from exc

    async def unpublish_track(self, name: str) -> None:
        """Stop sending on ``name``; a no-op when nothing is published there."""
        if self._transport is None:
            return
        try:
            self._transport.unpublish(name)
        except Exception as exc:
            raise self._fail(ErrorCode.TRACK_UNPUBLISH_FAILED, f'Failed to unpublish track "{name}": {exc}') from exc

    def _fail(self, code: ErrorCode, message: str, recoverable: bool = True) -> ReactorError:
        """Report a GPU-side error and return it for the caller to raise."""
        error = ReactorError(code, message, component="gpu", recoverable=recoverable)
        self._report(error)
        return error
