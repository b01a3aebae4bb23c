"""The v1 codec: ``reactor_wire.v1`` protobuf envelopes as binary frames (Part C §C.3).

Each message has its channel: commands, the model's messages and command answers on ``data``; everything
else (ping, schema, uploads, clips, track verbs, notices) on ``control``. A request carries its
``request_id`` and kind ``REQUEST``, an answer the same id and ``RESPONSE``, anything unsolicited an empty id
and ``NOTIFICATION``. A ``DataServerMessage`` with an id and no payload acknowledges a command.

Decoding refuses, with a :class:`~reactor_web.protocol.codec.WireError`: a text frame (``DECODE_FAILED``: a
v0 frame on a v1 connection), a frame over ``max_bytes`` (``MESSAGE_TOO_LARGE``), bytes protobuf cannot parse
as the channel's envelope, truncated ones included (``DECODE_FAILED``), and an envelope whose payload is a
field this schema does not know (``UNKNOWN_MESSAGE_TYPE``: a newer peer's message). Unknown fields inside a
known message are ignored, as protobuf's forward compatibility intends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError, Message

from reactor_web.protocol.codec import Encoded, WireError
from reactor_web.protocol.constants import Scope
from reactor_web.protocol.messages import (
    Ack,
    Channel,
    ClientMessage,
    ClientStats,
    ClipFailed,
    ClipReady,
    Command,
    FileUploaded,
    ModelMessage,
    ModelSchema,
    Moderation,
    Ping,
    PublishGranted,
    PublishTrack,
    Received,
    Refusal,
    RequestClip,
    RequestRecording,
    RequestSchema,
    RuntimeCommand,
    ServerMessage,
    SessionEnded,
    TrackVerb,
    WireVersion,
    event_payload,
)
from reactor_web.protocol.pb import common_pb2, control_pb2, data_pb2, model_pb2, platform_pb2, track_pb2
from reactor_web.protocol.struct_values import from_struct, to_struct

_REQUEST, _RESPONSE, _NOTIFICATION = (
    common_pb2.MESSAGE_KIND_REQUEST,
    common_pb2.MESSAGE_KIND_RESPONSE,
    common_pb2.MESSAGE_KIND_NOTIFICATION,
)
#: What v1 carries of the runtime-scope messages a caller may send by name (``send_command(..., "runtime")``).
_RUNTIME_BY_NAME: dict[str, Callable[[Any], ClientMessage]] = {
    "ping": lambda _d: Ping(),
    "requestSchema": lambda _d: RequestSchema(),
    "requestRecording": lambda _d: RequestRecording(),
    "requestClip": lambda d: RequestClip(float(d.get("duration_seconds", 0.0)) if isinstance(d, dict) else 0.0),
    "fileUploaded": lambda d: FileUploaded(
        str(d.get("upload_id", "")), str(d.get("name", "")), str(d.get("mime_type", "")), int(d.get("size", 0))
    ),
}


def _upload(ref: Mapping[str, Any], what: str) -> model_pb2.UploadReference:
    try:
        return model_pb2.UploadReference(
            upload_id=str(ref["upload_id"]), name=str(ref["name"]), mime_type=str(ref["mime_type"]), size=ref["size"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        message = f"{what} is not an upload reference {{upload_id,name,mime_type,size}}: {exc}"
        raise WireError("ENCODE_FAILED", message) from None


def _command(message: Command, request_id: str) -> data_pb2.DataClientMessage:
    what = f"command {message.name!r} data"
    wire = data_pb2.DataClientMessage(request_id=request_id, kind=_REQUEST if request_id else _NOTIFICATION)
    wire.command.type = message.name
    if message.data is not None:
        wire.command.data.CopyFrom(to_struct(message.data, what))
    for param, ref in (message.uploads or {}).items():
        wire.command.uploads[param].CopyFrom(_upload(ref, f"upload {param!r} of command {message.name!r}"))
    return wire


def _control(request_id: str, kind: int, **payload: Message) -> control_pb2.ControlClientMessage:
    return control_pb2.ControlClientMessage(request_id=request_id, kind=kind, **payload)  # type: ignore[arg-type]


def _client_frame(message: ClientMessage, request_id: str) -> Message | None:
    kind = _REQUEST if request_id else _NOTIFICATION
    if isinstance(message, Command):
        return _command(message, request_id)
    if isinstance(message, RuntimeCommand):
        build = _RUNTIME_BY_NAME.get(message.type)
        if build is None:
            raise WireError("ENCODE_FAILED", f"v1 has no frame for the runtime message {message.type[:80]!r}")
        try:
            typed = build(message.data)
        except (TypeError, ValueError) as exc:
            raise WireError("ENCODE_FAILED", f"runtime message {message.type!r}: {exc}") from None
        return _client_frame(typed, request_id)
    if isinstance(message, Ping):
        return _control(request_id, kind, ping=platform_pb2.Ping())
    if isinstance(message, RequestSchema):
        return _control(request_id, kind, request_schema=platform_pb2.RequestSchema())
    if isinstance(message, FileUploaded):
        uploaded = platform_pb2.FileUploaded(
            upload_id=message.upload_id, name=message.name, mime_type=message.mime_type, size=message.size
        )
        return _control(request_id, kind, file_uploaded=uploaded)
    if isinstance(message, RequestClip):
        return _control(request_id, kind, request_clip=platform_pb2.RequestClip(duration_seconds=message.duration_s))
    if isinstance(message, RequestRecording):
        return _control(request_id, kind, request_recording=platform_pb2.RequestRecording())
    if isinstance(message, PublishTrack):
        return _control(request_id, kind, publish_track=track_pb2.PublishTrack(name=message.name))
    if isinstance(message, TrackVerb):
        verb_type = {"pause_track": track_pb2.PauseTrack, "resume_track": track_pb2.ResumeTrack}
        verb = verb_type.get(message.verb, track_pb2.UnpublishTrack)(name=message.name)
        return _control(request_id, kind, **{message.verb: verb})
    if isinstance(message, ClientStats):
        return None  # telemetry this client does not send
    raise WireError("ENCODE_FAILED", f"v1 has no frame for {type(message).__name__}")


def _server_frame(message: ServerMessage | ClientMessage, request_id: str) -> Message:
    kind = _RESPONSE if request_id else _NOTIFICATION
    if isinstance(message, ModelMessage):
        wire = data_pb2.DataServerMessage(request_id=request_id, kind=kind)
        wire.message.type = message.type
        wire.message.data.CopyFrom(to_struct(message.data or {}, f"message {message.type!r} data"))
        return wire
    if isinstance(message, Ack):
        return data_pb2.DataServerMessage(request_id=request_id, kind=_RESPONSE)
    if isinstance(message, Refusal):
        envelope = data_pb2.DataServerMessage if message.channel == "data" else control_pb2.ControlServerMessage
        return envelope(
            request_id=request_id, kind=kind, error=common_pb2.Error(code=message.code, message=message.message)
        )
    wire_control = control_pb2.ControlServerMessage(request_id=request_id, kind=kind)
    if isinstance(message, ModelSchema):
        wire_control.model_schema.openapi.CopyFrom(to_struct(message.openapi, "the model's schema"))
    elif isinstance(message, ClipReady):
        wire_control.clip_ready.CopyFrom(platform_pb2.ClipReady(**message.to_dict()))
    elif isinstance(message, ClipFailed):
        wire_control.clip_failed.reason = message.reason
    elif isinstance(message, Moderation):
        wire_control.moderation.CopyFrom(platform_pb2.Moderation(**message.to_dict()))
    elif isinstance(message, SessionEnded):
        wire_control.session_ended.reason = message.reason
    elif isinstance(message, PublishGranted):
        wire_control.publish_track.name = message.name
    else:
        raise WireError("ENCODE_FAILED", f"v1 has no frame for {type(message).__name__}")
    return wire_control


_CLIENT_TYPES: dict[Channel, type[Message]] = {
    "data": data_pb2.DataClientMessage,
    "control": control_pb2.ControlClientMessage,
}
_SERVER_TYPES: dict[Channel, type[Message]] = {
    "data": data_pb2.DataServerMessage,
    "control": control_pb2.ControlServerMessage,
}


def _parse(frame: str | bytes, envelope: type[Message], max_bytes: int) -> Any:
    if isinstance(frame, str):
        raise WireError("DECODE_FAILED", "a text (v0 JSON) frame on a v1 connection: send binary protobuf frames")
    if len(frame) > max_bytes:
        raise WireError("MESSAGE_TOO_LARGE", f"frame is {len(frame)} bytes: the limit is {max_bytes}")
    try:
        return envelope.FromString(frame)
    except DecodeError as exc:
        raise WireError("DECODE_FAILED", f"not a {envelope.DESCRIPTOR.name}: {exc}") from None
    except RecursionError:  # the C parser stops at its depth limit; a Python fallback could recurse
        raise WireError("DECODE_FAILED", f"not a {envelope.DESCRIPTOR.name}: nested too deeply") from None


def _unknown_payload(wire: Any) -> WireError:
    unknown = unknown_fields.UnknownFieldSet(wire)
    numbers = sorted({unknown[i].field_number for i in range(len(unknown))})
    name = wire.DESCRIPTOR.name
    if numbers:
        return WireError("UNKNOWN_MESSAGE_TYPE", f"a {name} whose payload (field {numbers[0]}) this side does not know")
    return WireError("INVALID_MESSAGE", f"a {name} with no payload")


def _server_message(wire: Any, channel: Channel) -> ServerMessage:
    which = wire.WhichOneof("payload")
    if which == "error":
        # An answer on data refuses a command; anything else refuses a frame (the runtime's own scope).
        scope: Scope = "application" if channel == "data" and wire.request_id else "runtime"
        return Refusal(wire.error.code or "RUNTIME_ERROR", wire.error.message, None, scope, channel)
    if channel == "data":
        if which == "message":
            return ModelMessage(wire.message.type, from_struct(wire.message.data))
        if which is None and not unknown_fields.UnknownFieldSet(wire) and wire.request_id:
            return Ack()
        if which == "step_result":
            raise WireError("UNKNOWN_MESSAGE_TYPE", "a step_result: this client does not use stepped generation")
        raise _unknown_payload(wire)
    if which == "model_schema":
        return ModelSchema(from_struct(wire.model_schema.openapi))
    if which == "clip_ready":
        c = wire.clip_ready
        return ClipReady(
            c.session_id, c.kind, c.start_marker, c.end_marker, c.now_marker, c.predicted_ready_at_ms, c.playlist_url
        )
    if which == "clip_failed":
        return ClipFailed(wire.clip_failed.reason)
    if which == "moderation":
        m = wire.moderation
        return Moderation(m.action, m.message, m.input_kind, m.command, tuple(m.categories))
    if which == "session_ended":
        return SessionEnded(wire.session_ended.reason)
    if which == "publish_track":
        return PublishGranted(wire.publish_track.name)
    raise _unknown_payload(wire)


def _client_message(wire: Any, channel: Channel) -> ClientMessage | Refusal:
    which = wire.WhichOneof("payload")
    if which == "error":
        return Refusal(wire.error.code, wire.error.message, None, "runtime", channel)
    if channel == "data":
        if which == "command":
            command = wire.command
            uploads = {
                param: {"upload_id": r.upload_id, "name": r.name, "mime_type": r.mime_type, "size": r.size}
                for param, r in command.uploads.items()
            }
            data = from_struct(command.data) if command.HasField("data") else None
            return Command(command.type, data, uploads or None)
        if which == "request_step":
            raise WireError("UNKNOWN_MESSAGE_TYPE", "request_step: this runtime does not do stepped generation")
        raise _unknown_payload(wire)
    simple: dict[str, Callable[[Any], ClientMessage]] = {
        "ping": lambda _w: Ping(),
        "request_schema": lambda _w: RequestSchema(),
        "request_recording": lambda _w: RequestRecording(),
        "request_clip": lambda w: RequestClip(w.request_clip.duration_seconds),
        "file_uploaded": lambda w: FileUploaded(
            w.file_uploaded.upload_id, w.file_uploaded.name, w.file_uploaded.mime_type, w.file_uploaded.size
        ),
        "publish_track": lambda w: PublishTrack(w.publish_track.name),
        "pause_track": lambda w: TrackVerb("pause_track", w.pause_track.name),
        "resume_track": lambda w: TrackVerb("resume_track", w.resume_track.name),
        "unpublish_track": lambda w: TrackVerb("unpublish_track", w.unpublish_track.name),
        "client_stats": lambda w: ClientStats(tuple(t.track_name for t in w.client_stats.track_stats)),
    }
    if which in simple:
        return simple[which](wire)
    raise _unknown_payload(wire)


_CLIENT_CLASSES: Final = (
    Command,
    RuntimeCommand,
    Ping,
    RequestSchema,
    FileUploaded,
    RequestClip,
    RequestRecording,
    PublishTrack,
    TrackVerb,
    ClientStats,
)


class V1Codec:
    """The binary protobuf wire (see the module)."""

    version: WireVersion = "v1"
    answers_commands = True

    def encode(self, message: ClientMessage | ServerMessage, request_id: str = "") -> Encoded | None:
        """See :class:`~reactor_web.protocol.codec.Codec`; every value is checked before anything is built
        (:mod:`~reactor_web.protocol.struct_values`), so a refused message leaves nothing half-sent."""
        try:
            if isinstance(message, _CLIENT_CLASSES):
                wire = _client_frame(message, request_id)
            else:
                wire = _server_frame(message, request_id)
            if wire is None:
                return None
            payload = wire.SerializeToString()
        except (TypeError, ValueError) as exc:  # protobuf's own refusals (e.g. an int64 out of range)
            if isinstance(exc, WireError):
                raise
            raise WireError("ENCODE_FAILED", f"{type(message).__name__} cannot be written as v1: {exc}") from None
        on_data = isinstance(wire, data_pb2.DataClientMessage | data_pb2.DataServerMessage)
        channel: Channel = "data" if on_data else "control"
        return Encoded(channel, payload, len(payload))

    def decode_server(self, frame: str | bytes, channel: Channel, *, max_bytes: int) -> Received:
        """A runtime → client frame; its event payload is what v0 would have carried (``event_payload``)."""
        wire = _parse(frame, _SERVER_TYPES[channel], max_bytes)
        message = _server_message(wire, channel)
        event = event_payload(message)
        return Received(message, wire.request_id, event[1] if event is not None else None)

    def decode_client(self, frame: str | bytes, channel: Channel, *, max_bytes: int) -> Received:
        """A client → runtime frame (a client's ``error`` comes back as a :class:`Refusal` for the log)."""
        wire = _parse(frame, _CLIENT_TYPES[channel], max_bytes)
        return Received(_client_message(wire, channel), wire.request_id)


V1: Final = V1Codec()
