"""Frames on a session's data channels: ``data`` and ``control``, in each connection's wire version.

A connection speaks the version of the first frame it sends (sniffed as reactor-runtime does, Part C §C.2: JSON
text is v0, other binary is v1); the flat Part A routes know only v0. Everything the runtime sends a connection
is written in its codec (v0 until its first frame). Commands are answered in v1: the model's reply, or a bodyless
acknowledgement, or a correlated refusal; v0 has no answers beyond the model's messages and its ``error`` ones.

A bad frame gets a runtime-scope refusal on the channel it came in on and never ends the session. Codes:
``MESSAGE_TOO_LARGE`` (over :data:`MAX_MESSAGE_SIZE` bytes, the size the runtime's SDP answer advertises),
``DECODE_FAILED`` (v0: binary, not UTF-8, not JSON, or refused by :mod:`reactor_web.protocol.json_safe`;
v1: not protobuf, truncated, text; either: a frame of the other version than the connection's),
``INVALID_MESSAGE`` (wrong shape), ``UNKNOWN_MESSAGE_TYPE``, ``UNKNOWN_UPLOAD``, ``DUPLICATE_REQUEST_ID`` (a v1
request id this connection already used), and ``INTERNAL_ERROR`` if handling a frame failed unexpectedly. A
refused command gets the model's application-scope refusal (``UNKNOWN_COMMAND``, ``INVALID_COMMAND``,
``INTERNAL_ERROR`` for a failing handler...), which names the ``command`` (v0) or answers its request (v1).

The handler sees its session through :class:`SessionView` only, so it does not depend on ``session.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, Final, Protocol

from aiortc import RTCDataChannel

from reactor_web.protocol.capabilities import Capabilities
from reactor_web.protocol.codec import Codec, WireError, sniff
from reactor_web.protocol.codec_v0 import V0
from reactor_web.protocol.codecs import codec_for
from reactor_web.protocol.constants import MAX_MESSAGE_SIZE
from reactor_web.protocol.messages import (
    Ack,
    Channel,
    ClientStats,
    ClipFailed,
    Command,
    FileUploaded,
    ModelCapabilities,
    ModelMessage,
    ModelSchema,
    Opaque,
    Ping,
    PublishGranted,
    PublishTrack,
    Received,
    Refusal,
    RequestCapabilities,
    RequestClip,
    RequestRecording,
    RequestSchema,
    RuntimeCommand,
    ServerMessage,
    TrackVerb,
)
from reactor_web.protocol.validation import merge_uploads

log = logging.getLogger(__name__)
#: How long a closing session waits for its goodbye frames to leave.
FLUSH_TIMEOUT_S = 0.5
#: How many of a connection's latest v1 request ids are remembered, to refuse one used again.
REMEMBERED_REQUEST_IDS: Final = 256


def send_frame(channel: RTCDataChannel, frame: str | bytes) -> None:
    """Send if the channel is open; a closing channel is not an error worth more than a debug line."""
    if channel.readyState != "open":
        return
    try:
        channel.send(frame)
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
    def registered(self) -> bool: ...
    @property
    def outbound(self) -> Mapping[str, PausableTrack]: ...
    @property
    def request_ids(self) -> OrderedDict[str, None]: ...

    #: The wire version it speaks, once its first frame told (None before).
    codec: Codec | None

    def channel(self, label: Channel) -> RTCDataChannel | None:
        """Its newest open channel of that label."""
        ...


def send_message(
    conn: ConnectionView, message: ServerMessage, request_id: str = "", via: RTCDataChannel | None = None
) -> None:
    """Send ``message`` to ``conn`` in its wire version (v0 until its first frame), on the channel the codec puts
    it on (``via``, the channel a frame came in on, when it is that one). Nothing to send (a v0 acknowledgement)
    and a message its codec refuses are logged, never raised."""
    try:
        encoded = (conn.codec or V0).encode(message, request_id)
    except WireError as exc:
        log.warning("connection %d: cannot send %s: %s", conn.cid, type(message).__name__, exc.message)
        return
    if encoded is None:
        return
    channel = via if via is not None and via.label == encoded.channel else conn.channel(encoded.channel)
    if channel is not None:
        send_frame(channel, encoded.payload)


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
    def broadcast(self, message: ServerMessage) -> None: ...
    def alive(self) -> None: ...
    def release_publisher(self, conn: Any, name: str) -> None: ...


class ChannelHandler:
    """Dispatches the frames of one session's channels; never raises into aiortc."""

    def __init__(self, session: SessionView) -> None:
        self._session = session
        #: Commands take effect one at a time, in the order they came (asyncio.Lock wakes waiters FIFO).
        self._command_order = asyncio.Lock()

    def on_frame(self, conn: ConnectionView, channel: RTCDataChannel, label: Channel, frame: str | bytes) -> None:
        """A frame on ``conn``'s ``data`` or ``control`` channel (``label``), in the connection's wire version."""
        try:
            self._on_frame(conn, channel, label, frame)
        except Exception:
            log.exception("session %s: handling a %s frame failed", self._session.id, label)
            self._refuse(conn, channel, "INTERNAL_ERROR", "the runtime could not handle this frame")

    def _on_frame(self, conn: ConnectionView, channel: RTCDataChannel, label: Channel, frame: str | bytes) -> None:
        if conn.codec is None:
            conn.codec = codec_for(sniff(frame)) if conn.registered else V0
        try:
            received = conn.codec.decode_client(frame, label, max_bytes=MAX_MESSAGE_SIZE)
        except WireError as exc:
            self._refuse(conn, channel, exc.code, exc.message)
            return
        self._dispatch(conn, channel, received)

    def _dispatch(self, conn: ConnectionView, channel: RTCDataChannel, received: Received) -> None:
        message, request_id, session = received.message, received.request_id, self._session
        if isinstance(message, Command):
            self._on_command(conn, channel, message, request_id)
        elif isinstance(message, Ping):
            session.alive()
        elif isinstance(message, RequestSchema):
            send_message(conn, ModelSchema(session.schema), request_id, channel)
        elif isinstance(message, RequestCapabilities):
            commands = [c.to_dict() for c in session.capabilities.commands]
            send_message(conn, ModelCapabilities(commands), request_id, channel)
        elif isinstance(message, FileUploaded):
            upload = session.uploads.get(message.upload_id)
            if upload is None or upload.data is None:
                text = f"no completed upload {message.upload_id!r} in this session"
                self._refuse(conn, channel, "UNKNOWN_UPLOAD", text, request_id)
            else:
                log.info("session %s: file uploaded: %s (%d bytes)", session.id, upload.name, upload.size)
        elif isinstance(message, RequestClip | RequestRecording):
            send_message(conn, ClipFailed("clips are not supported"), request_id, channel)
        elif isinstance(message, PublishTrack):
            send_message(conn, self._publish(conn, message.name), request_id, channel)
        elif isinstance(message, TrackVerb):
            if not self._track_verb(conn, message):
                log.info("session %s: ignored control notification %r for %r", session.id, message.verb, message.name)
        elif isinstance(message, RuntimeCommand) and channel.label == "control":
            text = f"unknown method {message.type[:80]!r}"
            refusal = Refusal("UNKNOWN_METHOD", text, message.type, "runtime", "control")
            send_message(conn, refusal, request_id, channel)
        elif isinstance(message, RuntimeCommand):
            self._refuse(conn, channel, "UNKNOWN_MESSAGE_TYPE", f"unknown runtime message {message.type[:80]!r}")
        elif isinstance(message, Refusal):
            log.info("session %s: the client refused a frame: %s: %s", session.id, message.code, message.message)
        elif isinstance(message, Opaque):
            log.info("session %s: ignored control frame %.200r", session.id, message.value)
        elif isinstance(message, ClientStats):
            log.debug("session %s: client stats for %s", session.id, ", ".join(message.track_names))

    # ------------------------------------------------------------------ commands

    def _on_command(self, conn: ConnectionView, channel: RTCDataChannel, command: Command, request_id: str) -> None:
        """Hand a command to the model with its ``uploads`` merged back into its data (where the model's schema
        validates them) and the bytes of this session's completed uploads they name. A v1 request id used
        before on this connection is refused (answered, so a client waiting on it learns why)."""
        if request_id:
            if request_id in conn.request_ids:
                text = f"request id {request_id[:80]!r} was already used on this connection"
                refusal = Refusal("DUPLICATE_REQUEST_ID", text, command.name, "application", "data")
                send_message(conn, refusal, request_id, channel)
                return
            conn.request_ids[request_id] = None
            while len(conn.request_ids) > REMEMBERED_REQUEST_IDS:
                conn.request_ids.popitem(last=False)
        files: dict[str, bytes] = {}
        for param, ref in (command.uploads or {}).items():
            upload_id = ref.get("upload_id") if isinstance(ref, Mapping) else None
            upload = self._session.uploads.get(upload_id) if isinstance(upload_id, str) else None
            if upload is not None and upload.data is not None:
                files[param] = upload.data
        data = merge_uploads(command.data, dict(command.uploads) if command.uploads else None)
        self._session.spawn(conn, self._run_command(conn, channel, command.name, data, files, request_id))

    async def _run_command(
        self,
        conn: ConnectionView,
        channel: RTCDataChannel,
        name: str,
        data: Any,
        files: dict[str, bytes],
        request_id: str,
    ) -> None:
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
                refusal = Refusal("INTERNAL_ERROR", "the model failed on this command", name, "application", "data")
                send_message(conn, refusal, request_id, channel)
                return
        self._answer(conn, channel, name, messages, request_id)

    def _answer(
        self,
        conn: ConnectionView,
        channel: RTCDataChannel,
        name: str,
        messages: Sequence[ModelMessageView],
        request_id: str,
    ) -> None:
        """The model's messages: an ``error`` one is the command's refusal, the first message to the sender its
        reply (both answer ``request_id``), broadcasts go to every connection; with no answer, an acknowledgement."""
        answered = False
        for message in messages:
            if message.broadcast:
                self._session.broadcast(ModelMessage(message.type, message.data))
                continue
            reply: ServerMessage = ModelMessage(message.type, message.data)
            if message.type == "error":
                code, text = message.data.get("code"), message.data.get("message")
                command = message.data.get("command")
                reply = Refusal(
                    str(code or "RUNTIME_ERROR"),
                    str(text or ""),
                    command if isinstance(command, str) else name,
                    "application",
                    "data",
                )
            send_message(conn, reply, "" if answered else request_id, channel)
            answered = True
        if not answered:
            send_message(conn, Ack(), request_id, channel)

    # --------------------------------------------------------------- control

    def _publish(self, conn: ConnectionView, name: str) -> ServerMessage:
        """Answer a publish request: the slot is granted or refused."""
        session = self._session
        spec = session.capabilities.track(name)
        if spec is None or spec.direction != "sendonly":
            text = f"{name!r} is not a track the client can publish"
            return Refusal("UNKNOWN_TRACK", text, "publish_track", "runtime", "control")
        holder = session.publishers.setdefault(spec.name, conn.cid)  # first publisher wins the slot
        if holder != conn.cid:
            text = f"another connection publishes {spec.name!r}"
            return Refusal("PUBLISHER_SLOT_TAKEN", text, "publish_track", "runtime", "control")
        log.info("session %s connection %d: publishes %s", session.id, conn.cid, spec.name)
        return PublishGranted(spec.name)

    def _track_verb(self, conn: ConnectionView, verb: TrackVerb) -> bool:
        if verb.verb in ("pause_track", "resume_track") and verb.name in conn.outbound:
            track = conn.outbound[verb.name]
            track.pause() if verb.verb == "pause_track" else track.resume()
            return True
        if verb.verb == "unpublish_track":
            self._session.release_publisher(conn, verb.name)
            return True
        return False

    # --------------------------------------------------------------- helpers

    def _refuse(
        self, conn: ConnectionView, channel: RTCDataChannel, code: str, message: str, request_id: str = ""
    ) -> None:
        log.warning("session %s: %s on %r: %s", self._session.id, code, channel.label, message)
        label: Channel = "control" if channel.label == "control" else "data"
        send_message(conn, Refusal(code, message, None, "runtime", label), request_id, channel)
