"""Frames on a session's data channels: the ``data`` envelope (Part A §7) and ``control`` (Part B §B.2).

A bad frame gets a runtime-scope ``{"type":"error","data":{"code","message"}}`` reply on the channel it came
in on and never ends the session. Codes: ``MESSAGE_TOO_LARGE`` (over :data:`MAX_MESSAGE_SIZE` bytes, the
size the runtime's SDP answer advertises), ``DECODE_FAILED`` (binary, not UTF-8, not JSON, or refused by
:mod:`reactor_web.protocol.json_safe`: nesting, huge numbers, NaN, lone surrogates), ``INVALID_MESSAGE``
(wrong shape), ``UNKNOWN_MESSAGE_TYPE``, ``UNKNOWN_UPLOAD``, and ``INTERNAL_ERROR`` if handling a frame
failed unexpectedly. A refused command gets the model's application-scope error (``UNKNOWN_COMMAND``,
``INVALID_COMMAND``...), which names the ``command``.

The handler sees its session through :class:`SessionView` only, so it does not depend on ``session.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, Protocol

from aiortc import RTCDataChannel

from reactor_web.protocol.capabilities import Capabilities
from reactor_web.protocol.constants import MAX_MESSAGE_SIZE
from reactor_web.protocol.control import control_response
from reactor_web.protocol.envelope import encode_envelope, envelope_of
from reactor_web.protocol.json_safe import JsonInputError, loads
from reactor_web.protocol.validation import merge_uploads

log = logging.getLogger(__name__)
#: How long a closing session waits for its goodbye frames to leave.
FLUSH_TIMEOUT_S = 0.5
_INVALID = object()


def send_text(channel: RTCDataChannel, text: str) -> None:
    """Send if the channel is open; a closing channel is not an error worth more than a debug line."""
    if channel.readyState != "open":
        return
    try:
        channel.send(text)
    except Exception as exc:
        log.debug("send on %r failed: %r", channel.label, exc)


async def flush(channels: list[RTCDataChannel], limit_s: float = FLUSH_TIMEOUT_S) -> None:
    """Wait (bounded) until queued frames have been handed to the network, e.g. before closing the peer."""
    waiting = []
    for channel in channels:
        if channel.readyState == "open" and channel.bufferedAmount > channel.bufferedAmountLowThreshold:
            drained = asyncio.Event()
            channel.once("bufferedamountlow", drained.set)
            waiting.append(drained.wait())
    if waiting:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit_s):
                await asyncio.gather(*waiting)


class ModelMessageView(Protocol):
    """What the handler reads of a model's reply (``model.ModelMessage``)."""

    @property
    def type(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def broadcast(self) -> bool: ...


class ModelView(Protocol):
    """The model's command entry point (``model.DemoModel.handle_command``)."""

    def handle_command(
        self, name: str, data: Any, files: Mapping[str, bytes] | None = None
    ) -> Sequence[ModelMessageView]: ...


class UploadView(Protocol):
    """A completed (or pending) upload of the session (``session.Upload``)."""

    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def data(self) -> bytes | None: ...


class PausableTrack(Protocol):
    """An outbound track the client can pause (``tracks.OutboundTrack``)."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...


class ConnectionView(Protocol):
    """One client connection of the session (``session.Connection``)."""

    @property
    def cid(self) -> int: ...
    @property
    def outbound(self) -> Mapping[str, PausableTrack]: ...


class SessionView(Protocol):
    """The members of a runtime session the channel handler uses (``session.RuntimeSession``)."""

    @property
    def id(self) -> str: ...
    @property
    def capabilities(self) -> Capabilities: ...
    @property
    def schema(self) -> dict[str, Any]: ...
    @property
    def model(self) -> ModelView: ...
    @property
    def uploads(self) -> Mapping[str, UploadView]: ...
    @property
    def publishers(self) -> dict[str, int]: ...

    def spawn(self, conn: Any, coro: Coroutine[Any, Any, None]) -> None: ...
    def broadcast(self, text: str) -> None: ...
    def alive(self) -> None: ...
    def release_publisher(self, conn: Any, name: str) -> None: ...


class ChannelHandler:
    """Dispatches the frames of one session's channels; never raises into aiortc."""

    def __init__(self, session: SessionView) -> None:
        self._session = session
        #: Commands take effect one at a time, in the order they came (asyncio.Lock wakes waiters FIFO).
        self._command_order = asyncio.Lock()

    # ------------------------------------------------------------------ data

    def on_data(self, conn: ConnectionView, channel: RTCDataChannel, frame: str | bytes) -> None:
        """A ``data`` channel frame: a command (application scope) or a runtime message."""
        try:
            self._on_data(conn, channel, frame)
        except Exception:
            log.exception("session %s: handling a data frame failed", self._session.id)
            self._error(channel, "INTERNAL_ERROR", "the runtime could not handle this frame")

    def _on_data(self, conn: ConnectionView, channel: RTCDataChannel, frame: str | bytes) -> None:
        value = self._parse(channel, frame)
        if value is _INVALID:
            return
        envelope = envelope_of(value)
        if envelope.scope is None or envelope.type is None:
            self._error(channel, "INVALID_MESSAGE", 'expected {"scope":"application"|"runtime","data":{"type":...}}')
            return
        if envelope.scope == "application":
            self._on_command(conn, channel, envelope.type, envelope.data, envelope.payload.get("uploads"))
        else:
            self._on_runtime(channel, envelope.type, envelope.data)

    def _on_command(self, conn: ConnectionView, channel: RTCDataChannel, name: str, data: Any, uploads: Any) -> None:
        """Hand a command to the model with the envelope's ``uploads`` merged back into its data (where the
        model's schema validates them) and the bytes of this session's completed uploads they name."""
        files: dict[str, bytes] = {}
        if isinstance(uploads, dict):
            for param, ref in uploads.items():
                upload_id = ref.get("upload_id") if isinstance(ref, dict) else None
                upload = self._session.uploads.get(upload_id) if isinstance(upload_id, str) else None
                if upload is not None and upload.data is not None:
                    files[param] = upload.data
        self._session.spawn(conn, self._run_command(channel, name, merge_uploads(data, uploads), files))

    async def _run_command(self, channel: RTCDataChannel, name: str, data: Any, files: dict[str, bytes]) -> None:
        model = self._session.model
        async with self._command_order:
            try:
                if files:
                    # Decoding an image can take a while: off the event loop, which every session's media needs.
                    messages = await asyncio.to_thread(model.handle_command, name, data, files)
                else:
                    messages = model.handle_command(name, data, files)
            except Exception:
                log.exception("session %s: command %r failed", self._session.id, name[:80])
                error = {"code": "INTERNAL_ERROR", "message": "the model failed on this command", "command": name}
                send_text(channel, encode_envelope("application", "error", error))
                return
        for message in messages:
            text = encode_envelope("application", message.type, message.data)
            if message.broadcast:
                self._session.broadcast(text)
            else:
                send_text(channel, text)

    def _on_runtime(self, channel: RTCDataChannel, kind: str, data: Any) -> None:
        session = self._session
        if kind == "ping":
            session.alive()
        elif kind == "requestCapabilities":
            commands = [c.to_dict() for c in session.capabilities.commands]
            send_text(channel, encode_envelope("runtime", "modelCapabilities", {"commands": commands}))
        elif kind == "requestSchema":
            send_text(channel, encode_envelope("runtime", "modelSchema", session.schema))
        elif kind == "fileUploaded":
            upload_id = data.get("upload_id") if isinstance(data, dict) else None
            upload = session.uploads.get(upload_id) if isinstance(upload_id, str) else None
            if upload is None or upload.data is None:
                self._error(channel, "UNKNOWN_UPLOAD", f"no completed upload {upload_id!r} in this session")
            else:
                log.info("session %s: file uploaded: %s (%d bytes)", session.id, upload.name, upload.size)
        elif kind == "requestClip":
            send_text(channel, encode_envelope("runtime", "clipFailed", {"reason": "clips are not supported"}))
        else:
            self._error(channel, "UNKNOWN_MESSAGE_TYPE", f"unknown runtime message {kind[:80]!r}")

    # --------------------------------------------------------------- control

    def on_control(self, conn: ConnectionView, channel: RTCDataChannel, frame: str | bytes) -> None:
        """A ``control`` channel frame (Part B §B.2): a request (answered) or a notification."""
        try:
            self._on_control(conn, channel, frame)
        except Exception:
            log.exception("session %s: handling a control frame failed", self._session.id)
            self._error(channel, "INTERNAL_ERROR", "the runtime could not handle this frame")

    def _on_control(self, conn: ConnectionView, channel: RTCDataChannel, frame: str | bytes) -> None:
        value = self._parse(channel, frame)
        if value is _INVALID:
            return
        kind = value.get("type") if isinstance(value, dict) else None
        payload = value.get("data") if isinstance(value, dict) else None
        name = payload.get("name") if isinstance(payload, dict) else None
        if kind == "request":
            method, request_id = value.get("method"), value.get("request_id")
            if not isinstance(method, str) or not isinstance(request_id, int) or isinstance(request_id, bool):
                self._error(
                    channel, "INVALID_MESSAGE", "a control request needs a string method and an integer request_id"
                )
                return
            error = self._control_request(conn, method, name)
            send_text(channel, control_response(method, request_id, error=error))
        elif kind == "notification":
            event = value.get("event")
            if not isinstance(name, str) or not self._control_notification(conn, event, name):
                log.info("session %s: ignored control notification %r for %r", self._session.id, event, name)
        else:
            self._error(channel, "INVALID_MESSAGE", 'expected a control frame with "type" request or notification')

    def _control_request(self, conn: ConnectionView, method: str, name: Any) -> dict[str, str] | None:
        """Handle a request; returns the response's ``error`` or None on success."""
        session = self._session
        if method != "publish_track":
            return {"code": "UNKNOWN_METHOD", "message": f"unknown method {method[:80]!r}"}
        spec = session.capabilities.track(name) if isinstance(name, str) else None
        if spec is None or spec.direction != "sendonly":
            return {"code": "UNKNOWN_TRACK", "message": f"{name!r} is not a track the client can publish"}
        holder = session.publishers.setdefault(spec.name, conn.cid)  # first publisher wins the slot
        if holder != conn.cid:
            return {"code": "PUBLISHER_SLOT_TAKEN", "message": f"another connection publishes {spec.name!r}"}
        log.info("session %s connection %d: publishes %s", session.id, conn.cid, spec.name)
        return None

    def _control_notification(self, conn: ConnectionView, event: Any, name: str) -> bool:
        if event in ("pause_track", "resume_track") and name in conn.outbound:
            track = conn.outbound[name]
            track.pause() if event == "pause_track" else track.resume()
            return True
        if event == "unpublish_track":
            self._session.release_publisher(conn, name)
            return True
        return False

    # --------------------------------------------------------------- helpers

    def _parse(self, channel: RTCDataChannel, frame: str | bytes) -> Any:
        """Decode a text frame with the hardened decoder, or reply with its error and return ``_INVALID``."""
        if isinstance(frame, bytes):
            try:
                frame.decode("utf-8")
                detail = "binary frames are not supported: send JSON text (protocol v0)"
            except UnicodeDecodeError:  # also a text frame that was not UTF-8 (``_aiortc`` delivers it as binary)
                detail = "the frame is not UTF-8 text: send JSON text (protocol v0)"
            self._error(channel, "DECODE_FAILED", detail)
            return _INVALID
        try:
            return loads(frame, max_bytes=MAX_MESSAGE_SIZE, what="frame")
        except JsonInputError as exc:
            self._error(channel, exc.code, exc.message)
            return _INVALID

    def _error(self, channel: RTCDataChannel, code: str, message: str) -> None:
        log.warning("session %s: %s on %r: %s", self._session.id, code, channel.label, message)
        send_text(channel, encode_envelope("runtime", "error", {"code": code, "message": message}))
