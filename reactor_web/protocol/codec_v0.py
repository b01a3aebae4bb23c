"""The v0 codec: the JSON envelope of Part A §7 on ``data`` and the control JSON of Part B §B.2 on ``control``.

What it encodes is byte for byte what the client and the runtime sent before the codec seam (``encode_envelope``,
``control_*``, both through ``encode_json``). v0 has no command answers: a refusal is an ``error`` message the
model or the runtime sends, and an acknowledgement is nothing. Only ``publish_track`` is correlated, by an integer
``request_id`` (the vocabulary's ids are strings of digits).

Decoding follows Part A §7.3 on the client's side (a frame without an envelope is kept whole, never refused)
and the hardened decoder (:mod:`~reactor_web.protocol.json_safe`) on the runtime's, with its error codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from reactor_web.protocol.codec import Encoded, WireError
from reactor_web.protocol.constants import Scope
from reactor_web.protocol.control import control_notification, control_request, control_response
from reactor_web.protocol.envelope import UNDEFINED, Envelope, decode_frame, encode_envelope, encode_json, envelope_of
from reactor_web.protocol.json_safe import JsonInputError, loads
from reactor_web.protocol.messages import (
    Ack,
    Channel,
    ClientMessage,
    ClientStats,
    ClipFailed,
    ClipReady,
    Command,
    FileUploaded,
    ModelCapabilities,
    ModelMessage,
    ModelSchema,
    Moderation,
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
    RuntimeNotice,
    ServerMessage,
    SessionEnded,
    TrackVerb,
    WireVersion,
)

_INVALID_ENVELOPE: Final = 'expected {"scope":"application"|"runtime","data":{"type":...}}'


def _wire_id(request_id: str) -> int | str:
    """v0 peers write request ids as JSON integers."""
    return int(request_id) if request_id.isascii() and request_id.isdigit() else request_id


def _data(value: Any) -> Any:
    return UNDEFINED if value is None else value


def _runtime(kind: str, data: Any) -> tuple[Channel, str]:
    return "data", encode_envelope("runtime", kind, data)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class V0Codec:
    """The legacy JSON wire (see the module)."""

    version: WireVersion = "v0"
    answers_commands = False

    # -- encode ---------------------------------------------------------------------------------------

    def encode(self, message: ClientMessage | ServerMessage, request_id: str = "") -> Encoded | None:
        """See :class:`~reactor_web.protocol.codec.Codec`; raises :class:`WireError` ``ENCODE_FAILED`` for a
        value JSON cannot carry (and for a message v0 has no frame for)."""
        try:
            framed = self._frame(message, request_id)
            if framed is None:
                return None
            channel, text = framed
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise WireError(
                "ENCODE_FAILED", "the message holds a lone UTF-16 surrogate (not a Unicode character)"
            ) from None
        except (TypeError, ValueError, RecursionError) as exc:
            raise WireError("ENCODE_FAILED", f"the message cannot be written as JSON: {exc}") from None
        return Encoded(channel, text, size)

    def _frame(self, message: ClientMessage | ServerMessage, request_id: str) -> tuple[Channel, str] | None:
        if isinstance(message, Command):
            return "data", encode_envelope("application", message.name, _data(message.data), _uploads(message))
        if isinstance(message, RuntimeCommand):
            return "data", encode_envelope("runtime", message.type, _data(message.data), _uploads(message))
        if isinstance(message, ModelMessage):
            return "data", encode_envelope("application", message.type, _data(message.data))
        if isinstance(message, Refusal):
            return self._refusal(message, request_id)
        if isinstance(message, PublishTrack):
            return "control", control_request("publish_track", _wire_id(request_id), {"name": message.name})
        if isinstance(message, TrackVerb):
            return "control", control_notification(message.verb, message.name)
        if isinstance(message, PublishGranted):
            return "control", control_response("publish_track", _wire_id(request_id))
        if isinstance(message, Opaque):
            return "data", encode_json(message.value)
        if isinstance(message, Ack | ClientStats):
            return None  # v0 has neither
        build = _RUNTIME_FRAMES.get(type(message))
        if build is None:
            raise WireError("ENCODE_FAILED", f"v0 has no frame for {type(message).__name__}")
        return _runtime(*build(message))

    @staticmethod
    def _refusal(refusal: Refusal, request_id: str) -> tuple[Channel, str]:
        error: dict[str, Any] = {"code": refusal.code, "message": refusal.message}
        if refusal.channel == "control" and request_id:
            method = refusal.command or "publish_track"
            return "control", control_response(method, _wire_id(request_id), error=error)
        if refusal.command is not None:
            error["command"] = refusal.command
        return refusal.channel, encode_envelope(refusal.scope, "error", error)

    # -- decode (client side) -------------------------------------------------------------------------

    def decode_server(self, frame: str | bytes, channel: Channel, *, max_bytes: int) -> Received:
        """Part A §7.3 on ``data`` (never raises: what is not an envelope is kept whole as :class:`Opaque`);
        on ``control`` the responses to requests, and runtime-scope envelopes as on ``data``."""
        if channel == "data":
            return _server_envelope(decode_frame(frame, max_bytes=max_bytes), "data")
        try:
            value = loads(frame, max_bytes=max_bytes, what="control frame")
        except JsonInputError as exc:
            raise WireError(exc.code, exc.message) from None
        if isinstance(value, dict) and value.get("type") == "response":
            return _control_response(value)
        envelope = envelope_of(value)
        return _server_envelope(envelope, "control") if envelope.scope is not None else Received(Opaque(value))

    # -- decode (runtime side) ------------------------------------------------------------------------

    def decode_client(self, frame: str | bytes, channel: Channel, *, max_bytes: int) -> Received:
        """A client's frame, with the hardened decoder's error codes (see :class:`WireError`)."""
        if isinstance(frame, bytes):
            try:
                frame.decode("utf-8")
                detail = "binary frames are not supported: send JSON text (protocol v0)"
            except UnicodeDecodeError:  # also a text frame that was not UTF-8 (``_aiortc`` delivers it as binary)
                detail = "the frame is not UTF-8 text: send JSON text (protocol v0)"
            raise WireError("DECODE_FAILED", detail)
        try:
            value = loads(frame, max_bytes=max_bytes, what="frame")
        except JsonInputError as exc:
            raise WireError(exc.code, exc.message) from None
        return _client_data(value) if channel == "data" else _client_control(value)


def _uploads(message: Command | RuntimeCommand) -> dict[str, Any] | None:
    return dict(message.uploads) if message.uploads else None


_RUNTIME_FRAMES: dict[type, Callable[[Any], tuple[str, Any]]] = {
    Ping: lambda _m: ("ping", {}),
    RequestSchema: lambda _m: ("requestSchema", {}),
    RequestCapabilities: lambda _m: ("requestCapabilities", {}),
    FileUploaded: lambda m: (
        "fileUploaded",
        {"upload_id": m.upload_id, "name": m.name, "mime_type": m.mime_type, "size": m.size},
    ),
    RequestClip: lambda m: ("requestClip", {"duration_seconds": m.duration_s}),
    RequestRecording: lambda _m: ("requestRecording", {}),
    ModelSchema: lambda m: ("modelSchema", dict(m.openapi)),
    ModelCapabilities: lambda m: ("modelCapabilities", {"commands": m.commands}),
    ClipReady: lambda m: ("clipReady", m.to_dict()),
    ClipFailed: lambda m: ("clipFailed", {"reason": m.reason}),
    Moderation: lambda m: ("moderation", m.to_dict()),
    SessionEnded: lambda m: ("sessionEnded", {"reason": m.reason}),
    RuntimeNotice: lambda m: (m.type, _data(m.data)),
}


def _refusal_of(data: Any, scope: Scope, channel: Channel) -> Refusal:
    """A refusal frame's ``{"code","message","command"?}``, read leniently (as ``client.errors`` always did)."""
    data = data if isinstance(data, dict) else {}
    code, message, command = data.get("code"), data.get("message"), data.get("command")
    return Refusal(
        code if isinstance(code, str) and code else "RUNTIME_ERROR",
        message if isinstance(message, str) else f"the runtime refused a {scope} message",
        command if isinstance(command, str) else None,
        scope,
        channel,
    )


def _runtime_message(kind: str, data: Any) -> ServerMessage:
    """A runtime-scope message as its typed form when its data has the expected shape, else passed on as is."""
    body = data if isinstance(data, dict) else None
    if kind == "modelSchema" and body is not None:
        return ModelSchema(body)
    if kind == "modelCapabilities" and body is not None and isinstance(body.get("commands"), list):
        return ModelCapabilities(body["commands"])
    if kind == "clipFailed" and body is not None:
        return ClipFailed(_text(body.get("reason")))
    if kind == "sessionEnded" and body is not None:
        return SessionEnded(_text(body.get("reason")))
    if kind == "moderation" and body is not None:
        categories = body.get("categories")
        return Moderation(
            _text(body.get("action")),
            _text(body.get("message")),
            _text(body.get("input_kind")),
            _text(body.get("command")),
            tuple(c for c in categories if isinstance(c, str)) if isinstance(categories, list) else (),
        )
    if kind == "clipReady" and body is not None:
        at = body.get("predicted_ready_at_ms")
        return ClipReady(
            _text(body.get("session_id")),
            _text(body.get("kind")),
            _number(body.get("start_marker")),
            _number(body.get("end_marker")),
            _number(body.get("now_marker")),
            int(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0,
            _text(body.get("playlist_url")),
        )
    return RuntimeNotice(kind, data)


def _server_envelope(envelope: Envelope, channel: Channel) -> Received:
    kind, scope = envelope.type, envelope.scope
    if scope is None or kind is None:
        return Received(Opaque(envelope.payload, scope), payload=envelope.payload)
    if kind == "error":
        return Received(_refusal_of(envelope.data, scope, channel), payload=envelope.payload)
    if scope == "application":
        return Received(ModelMessage(kind, envelope.data), payload=envelope.payload)
    return Received(_runtime_message(kind, envelope.data), payload=envelope.payload)


def _control_response(value: dict[str, Any]) -> Received:
    request_id = str(value.get("request_id"))
    method = value.get("method")
    error = value.get("error")
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        refusal = Refusal(
            code if isinstance(code, str) and code else "ERROR",
            message if isinstance(message, str) else "",
            method if isinstance(method, str) else None,
            "runtime",
            "control",
        )
        return Received(refusal, request_id)
    data = value.get("data")
    name = data.get("name") if isinstance(data, dict) else None
    return Received(PublishGranted(name if isinstance(name, str) else ""), request_id)


def _client_data(value: Any) -> Received:
    envelope = envelope_of(value)
    kind = envelope.type
    if envelope.scope is None or kind is None:
        raise WireError("INVALID_MESSAGE", _INVALID_ENVELOPE)
    data = envelope.data
    if envelope.scope == "application":
        uploads = envelope.payload.get("uploads")
        return Received(Command(kind, data, uploads if isinstance(uploads, dict) else None))
    body = data if isinstance(data, dict) else {}
    simple: dict[str, ClientMessage] = {
        "ping": Ping(),
        "requestCapabilities": RequestCapabilities(),
        "requestSchema": RequestSchema(),
        "requestRecording": RequestRecording(),
    }
    if kind in simple:
        return Received(simple[kind])
    if kind == "fileUploaded":
        size = body.get("size")
        return Received(
            FileUploaded(
                _text(body.get("upload_id")),
                _text(body.get("name")),
                _text(body.get("mime_type")),
                size if isinstance(size, int) and not isinstance(size, bool) else 0,
            )
        )
    if kind == "requestClip":
        return Received(RequestClip(_number(body.get("duration_seconds"))))
    return Received(RuntimeCommand(kind, data))


def _client_control(value: Any) -> Received:
    kind = value.get("type") if isinstance(value, dict) else None
    payload = value.get("data") if isinstance(value, dict) else None
    name = payload.get("name") if isinstance(payload, dict) else None
    if kind == "request":
        method, request_id = value.get("method"), value.get("request_id")
        if not isinstance(method, str) or not isinstance(request_id, int) or isinstance(request_id, bool):
            raise WireError("INVALID_MESSAGE", "a control request needs a string method and an integer request_id")
        if method == "publish_track":
            return Received(PublishTrack(name if isinstance(name, str) else ""), str(request_id))
        return Received(RuntimeCommand(method, payload), str(request_id))
    if kind == "notification":
        event = value.get("event")
        if event in ("pause_track", "resume_track", "unpublish_track") and isinstance(name, str):
            return Received(TrackVerb(event, name))
        return Received(Opaque(value))
    raise WireError("INVALID_MESSAGE", 'expected a control frame with "type" request or notification')


V0: Final = V0Codec()
