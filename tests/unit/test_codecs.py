"""The codec seam: v0 writes exactly the JSON it always did, v1 round-trips every message on its channel, and
both refuse bad input (in either direction) with a WireError code instead of an exception from below."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.protobuf import unknown_fields

from reactor_web.protocol.codec import WireError, sniff
from reactor_web.protocol.codec_v0 import V0
from reactor_web.protocol.codec_v1 import V1
from reactor_web.protocol.codecs import codec_for
from reactor_web.protocol.control import control_notification, control_request, control_response
from reactor_web.protocol.envelope import UNDEFINED, encode_envelope
from reactor_web.protocol.messages import (
    Ack,
    ClipFailed,
    ClipReady,
    Command,
    FileUploaded,
    ModelMessage,
    ModelSchema,
    Moderation,
    Opaque,
    Ping,
    PublishGranted,
    PublishTrack,
    Refusal,
    RequestClip,
    RequestRecording,
    RequestSchema,
    RuntimeCommand,
    RuntimeNotice,
    SessionEnded,
    TrackVerb,
    event_payload,
)
from reactor_web.protocol.pb import common_pb2, control_pb2, data_pb2

LIMIT = 65_536
UPLOAD = {"upload_id": "u1", "name": "cat.png", "mime_type": "image/png", "size": 12345}


def v0_text(message: Any, request_id: str = "") -> str:
    encoded = V0.encode(message, request_id)
    assert encoded is not None and isinstance(encoded.payload, str)
    assert encoded.size == len(encoded.payload.encode())
    return encoded.payload


# -- v0: the bytes of before -------------------------------------------------------------------------------


def test_v0_client_frames_are_the_legacy_bytes() -> None:
    assert v0_text(Command("set_image", {"strength": 0.5}, {"image": UPLOAD})) == encode_envelope(
        "application", "set_image", {"strength": 0.5}, {"image": UPLOAD}
    )
    assert v0_text(Command("ping")) == encode_envelope("application", "ping", UNDEFINED)
    assert v0_text(Ping()) == '{"scope":"runtime","data":{"type":"ping","data":{}}}'
    assert (
        v0_text(RuntimeCommand("requestSchema", {})) == '{"scope":"runtime","data":{"type":"requestSchema","data":{}}}'
    )
    assert v0_text(RuntimeCommand("fileUploaded", UPLOAD)) == encode_envelope("runtime", "fileUploaded", UPLOAD)
    assert v0_text(PublishTrack("webcam"), "1") == control_request("publish_track", 1, {"name": "webcam"})
    assert v0_text(TrackVerb("resume_track", "main_video")) == control_notification("resume_track", "main_video")
    assert V0.encode(PublishTrack("webcam"), "1").channel == "control"  # type: ignore[union-attr]


def test_v0_runtime_frames_are_the_legacy_bytes() -> None:
    assert v0_text(ModelMessage("pong", {"frame": 3})) == encode_envelope("application", "pong", {"frame": 3})
    refusal = Refusal("INVALID_IMAGE", "bad", "set_image", "application")
    assert v0_text(refusal, "7") == encode_envelope(
        "application", "error", {"code": "INVALID_IMAGE", "message": "bad", "command": "set_image"}
    )
    assert v0_text(Refusal("DECODE_FAILED", "no")) == encode_envelope(
        "runtime", "error", {"code": "DECODE_FAILED", "message": "no"}
    )
    taken = Refusal("PUBLISHER_SLOT_TAKEN", "taken", "publish_track", "runtime", "control")
    assert v0_text(taken, "4") == control_response(
        "publish_track", 4, error={"code": "PUBLISHER_SLOT_TAKEN", "message": "taken"}
    )
    assert v0_text(PublishGranted("webcam"), "4") == control_response("publish_track", 4)
    assert v0_text(SessionEnded("stopped")) == encode_envelope("runtime", "sessionEnded", {"reason": "stopped"})
    assert v0_text(ModelSchema({"openapi": "3.1.0"})) == encode_envelope("runtime", "modelSchema", {"openapi": "3.1.0"})
    assert V0.encode(Ack(), "7") is None  # v0 has no acknowledgements


def test_v0_decoding_keeps_the_js_sdk_payload() -> None:
    raw = '{"scope":"application","data":{"type":"pong","data":{"frame":3},"extra":1}}'
    received = V0.decode_server(raw, "data", max_bytes=LIMIT)
    assert received.message == ModelMessage("pong", {"frame": 3})
    assert received.payload == {"type": "pong", "data": {"frame": 3}, "extra": 1}
    deep = "[" * 5000 + "]" * 5000
    assert V0.decode_server(deep, "data", max_bytes=LIMIT).message == Opaque(deep)
    response = V0.decode_server('{"type":"response","request_id":"3","data":{}}', "control", max_bytes=LIMIT)
    assert (response.message, response.request_id) == (PublishGranted(""), "3")


# -- v1: every message, both ways ----------------------------------------------------------------------------

CLIENT_MESSAGES: list[tuple[Any, str, str]] = [
    (Command("set_image", {"strength": 0.5, "tags": ["a", None, True]}, {"image": UPLOAD}), "data", "1"),
    (Command("ping"), "data", "2"),
    (Ping(), "control", ""),
    (RequestSchema(), "control", ""),
    (FileUploaded("u1", "cat.png", "image/png", 12345), "control", ""),
    (RequestClip(2.5), "control", "3"),
    (RequestRecording(), "control", "4"),
    (PublishTrack("webcam"), "control", "5"),
    (TrackVerb("pause_track", "main_video"), "control", ""),
    (TrackVerb("resume_track", "main_video"), "control", ""),
    (TrackVerb("unpublish_track", "webcam"), "control", ""),
]
SERVER_MESSAGES: list[tuple[Any, str, str]] = [
    (ModelMessage("pong", {"seq": 7, "t": 1.5, "nested": {"list": [1, "x"]}}), "data", "1"),
    (ModelMessage("state_update", {"brightness": 50}), "data", ""),
    (Ack(), "data", "2"),
    (Refusal("quota_exceeded", "no credits", None, "application", "data"), "data", "3"),
    (Refusal("DECODE_FAILED", "no", None, "runtime", "control"), "control", ""),
    (ModelSchema({"openapi": "3.1.0", "paths": {}}), "control", "4"),
    (ClipReady("s", "snap", 1.0, 3.0, 3.5, 1_800_000_000_000, "http://x/clips"), "control", "5"),
    (ClipFailed("clips are not supported"), "control", "6"),
    (Moderation("warn", "careful", "video", "set_prompt", ("violence",)), "control", ""),
    (SessionEnded("stopped"), "control", ""),
    (PublishGranted("webcam"), "control", "7"),
]


@pytest.mark.parametrize(("message", "channel", "request_id"), CLIENT_MESSAGES)
def test_v1_client_messages_round_trip_on_their_channel(message: Any, channel: str, request_id: str) -> None:
    encoded = V1.encode(message, request_id)
    assert encoded is not None and encoded.channel == channel and isinstance(encoded.payload, bytes)
    received = V1.decode_client(encoded.payload, channel, max_bytes=LIMIT)  # type: ignore[arg-type]
    assert (received.message, received.request_id) == (message, request_id)
    assert sniff(encoded.payload) == "v1"


@pytest.mark.parametrize(("message", "channel", "request_id"), SERVER_MESSAGES)
def test_v1_runtime_messages_round_trip_with_the_v0_event_payload(message: Any, channel: str, request_id: str) -> None:
    encoded = V1.encode(message, request_id)
    assert encoded is not None and encoded.channel == channel
    received = V1.decode_server(encoded.payload, channel, max_bytes=LIMIT)  # type: ignore[arg-type]
    assert (received.message, received.request_id) == (message, request_id)
    event = event_payload(message)
    assert received.payload == (event[1] if event is not None else None)
    v0 = V0.encode(message, request_id)
    if event is not None and v0 is not None:  # the same event payload as the v0 frame gives
        assert V0.decode_server(v0.payload, v0.channel, max_bytes=LIMIT).payload == received.payload


def test_a_v1_ack_and_reply_carry_the_request_id_and_kind() -> None:
    ack = data_pb2.DataServerMessage.FromString(V1.encode(Ack(), "data_9").payload)  # type: ignore[union-attr,arg-type]
    assert (ack.request_id, ack.kind, ack.WhichOneof("payload")) == ("data_9", common_pb2.MESSAGE_KIND_RESPONSE, None)
    command = V1.encode(Command("ping", {}), "data_1")
    wire = data_pb2.DataClientMessage.FromString(command.payload)  # type: ignore[union-attr,arg-type]
    assert wire.kind == common_pb2.MESSAGE_KIND_REQUEST
    notice = control_pb2.ControlServerMessage.FromString(V1.encode(SessionEnded("x")).payload)  # type: ignore[union-attr,arg-type]
    assert (notice.request_id, notice.kind) == ("", common_pb2.MESSAGE_KIND_NOTIFICATION)


def test_v1_integral_numbers_come_back_as_ints_and_fractions_as_floats() -> None:
    encoded = V1.encode(ModelMessage("pong", {"seq": 7, "big": 2**53, "half": 0.5, "neg": -3.0}))
    data = V1.decode_server(encoded.payload, "data", max_bytes=LIMIT).message.data  # type: ignore[union-attr,arg-type]
    assert data == {"seq": 7, "big": 2**53, "half": 0.5, "neg": -3}
    assert isinstance(data["seq"], int) and isinstance(data["half"], float)


def test_a_runtime_message_v1_has_no_frame_for_is_refused_by_name() -> None:
    with pytest.raises(WireError) as raised:
        V1.encode(RuntimeCommand("note", {"text": "x"}))
    assert raised.value.code == "ENCODE_FAILED" and "'note'" in raised.value.message
    with pytest.raises(WireError):
        V1.encode(RuntimeNotice("mediaStats", {}))
    assert V1.encode(RuntimeCommand("requestSchema", {})).channel == "control"  # type: ignore[union-attr]


# -- v1: what the send side refuses ----------------------------------------------------------------------------


def nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


UNENCODABLE: list[tuple[Any, str]] = [
    ({"text": "a\ud800b"}, "lone UTF-16 surrogate"),
    ({"k\udc00": 1}, "lone UTF-16 surrogate"),
    ({"list": ["ok", {"deep": "\ud83d"}]}, "['list'][1]['deep'] holds a lone UTF-16 surrogate"),
    ({"x": math.nan}, "nan"),
    ({"x": [1, math.inf]}, "inf"),
    ({"x": -math.inf}, "-inf"),
    ({"id": 2**53 + 1}, "beyond ±2^53"),
    ({"id": 10**5000}, "beyond ±2^53"),
    ({1: "one"}, "the key 1"),
    ({"k": {(1, 2): 3}}, "the key (1, 2)"),
    ({"blob": b"\x00"}, "bytes"),
    ({"set": {1, 2}}, "set"),
    ({"when": object()}, "object"),
    (nested(40), "nests deeper than 32"),
    (["not", "an", "object"], "list"),
    ("text", "str"),
]


@pytest.mark.parametrize(("data", "named"), UNENCODABLE)
def test_v1_refuses_what_a_struct_cannot_carry_and_says_where(data: Any, named: str) -> None:
    with pytest.raises(WireError) as raised:
        V1.encode(Command("set_prompt", data), "1")
    assert raised.value.code == "ENCODE_FAILED"
    assert named in raised.value.message and "set_prompt" in raised.value.message


def test_v1_refuses_a_bad_upload_reference_and_v0_a_lone_surrogate() -> None:
    with pytest.raises(WireError) as raised:
        V1.encode(Command("set_image", {}, {"image": {"upload_id": "u"}}), "1")
    assert raised.value.code == "ENCODE_FAILED" and "'image'" in raised.value.message
    with pytest.raises(WireError) as raised:
        V0.encode(Command("set_prompt", {"text": "\udfff"}))
    assert raised.value.code == "ENCODE_FAILED" and "surrogate" in raised.value.message


# -- v1: what the receive side refuses, both directions, both channels -----------------------------------------

VALID = {
    ("client", "data"): V1.encode(Command("ping", {"seq": 1}), "1").payload,  # type: ignore[union-attr]
    ("client", "control"): V1.encode(PublishTrack("webcam"), "2").payload,  # type: ignore[union-attr]
    ("server", "data"): V1.encode(ModelMessage("pong", {"seq": 1}), "1").payload,  # type: ignore[union-attr]
    ("server", "control"): V1.encode(SessionEnded("stopped")).payload,  # type: ignore[union-attr]
}
#: An envelope with field 25 (length-delimited, empty): a payload this schema does not have.
UNKNOWN_PAYLOAD = b"\n\x013\x10\x01\xca\x01\x00"


def decode(side: str, frame: str | bytes, channel: str, max_bytes: int = LIMIT) -> Any:
    decoder = V1.decode_client if side == "client" else V1.decode_server
    return decoder(frame, channel, max_bytes=max_bytes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("side", "channel"), list(VALID))
def test_v1_bad_frames_get_a_code(side: str, channel: str) -> None:
    valid = VALID[(side, channel)]
    assert isinstance(valid, bytes)
    cases: list[tuple[str | bytes, int, str]] = [
        (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", LIMIT, "DECODE_FAILED"),  # malformed varint
        (valid[:-3], LIMIT, "DECODE_FAILED"),  # truncated
        (valid, len(valid) - 1, "MESSAGE_TOO_LARGE"),  # oversized
        ('{"scope":"runtime","data":{"type":"ping","data":{}}}', LIMIT, "DECODE_FAILED"),  # v0 on a v1 connection
        (UNKNOWN_PAYLOAD, LIMIT, "UNKNOWN_MESSAGE_TYPE"),  # a newer peer's message
    ]
    for frame, limit, code in cases:
        with pytest.raises(WireError) as raised:
            decode(side, frame, channel, limit)
        assert raised.value.code == code, (frame, raised.value.message)


def test_an_unknown_field_inside_a_known_message_is_ignored() -> None:
    """Forward compatibility: a newer peer's extra field in a command (field 9 of Command) changes nothing."""
    command = data_pb2.DataClientMessage.FromString(VALID[("client", "data")]).command  # type: ignore[arg-type]
    body = command.SerializeToString() + b"J\x01x"  # field 9 (length-delimited) "x"
    head = data_pb2.DataClientMessage(request_id="1", kind=common_pb2.MESSAGE_KIND_REQUEST).SerializeToString()
    extended = head + b"R" + bytes([len(body)]) + body  # field 10: the command
    parsed = data_pb2.DataClientMessage.FromString(extended)
    assert len(unknown_fields.UnknownFieldSet(parsed.command)) == 1
    assert decode("client", extended, "data").message == Command("ping", {"seq": 1})


def test_sniff_and_codec_for() -> None:
    assert sniff('{"scope":"runtime"}') == "v0" and sniff(b' {"a":1}') == "v0" and sniff(b"\n\x011") == "v1"
    assert codec_for("v1") is V1 and codec_for("v0") is V0
    assert V1.answers_commands and not V0.answers_commands
