"""The v1 wire (protobuf, Part C) between our client and our runtime over real aiortc peers: correlated
answers, bounded waits, and bad input in both directions; v0 on the flat routes as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiortc import RTCDataChannel
from aiortc.rtcsctptransport import WEBRTC_BINARY
from client_helpers import Recorder, connected
from runtime_peer import RuntimePeer
from test_hostile_frames import _flushes, runtime_channels

from reactor_web.client import ErrorCode, Reactor, ReactorError, RefusalError
from reactor_web.protocol.codec_v1 import V1
from reactor_web.protocol.constants import DEFAULT_MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE
from reactor_web.protocol.messages import (
    Ack,
    Command,
    ModelMessage,
    ModelSchema,
    Ping,
    PublishGranted,
    PublishTrack,
    Refusal,
    RequestSchema,
    TrackVerb,
)
from reactor_web.runtime import RuntimeConfig
from reactor_web.runtime.channels import ChannelHandler
from reactor_web.runtime.serve import serve_app
from reactor_web.runtime.server import create_app

WAIT_S = 15.0
#: An envelope with field 25 set: a payload this schema does not have (a newer peer's message).
UNKNOWN_PAYLOAD = b"\n\x013\x10\x01\xca\x01\x00"


@pytest.fixture
async def runtime() -> AsyncIterator[tuple[str, Any]]:
    app = create_app(RuntimeConfig(port=0))
    async with serve_app(app, "127.0.0.1", 0) as url:
        yield url, app


def send_unchecked(channel: RTCDataChannel, payload: str | bytes) -> None:
    """Send ``payload`` past aiortc's own size check (it refuses frames over the remote's max-message-size), as a
    hostile peer can: queued on the SCTP association directly."""
    if isinstance(payload, str):
        channel.send(payload)
        return
    sctp = channel.transport
    channel._addBufferedAmount(len(payload))
    sctp._data_channel_queue.append((channel, WEBRTC_BINARY, payload))
    _flushes.add(asyncio.ensure_future(sctp._data_channel_flush()))


def frame(message: Any, request_id: str = "") -> bytes:
    encoded = V1.encode(message, request_id)
    assert encoded is not None and isinstance(encoded.payload, bytes)
    return encoded.payload


def the_session(app: Any) -> Any:
    (session,) = app.state.manager.sessions.values()
    return session


# -- our client, v1 --------------------------------------------------------------------------------------------


async def test_commands_get_their_reply_an_ack_or_a_refusal(runtime: tuple[str, Any]) -> None:
    url, app = runtime
    reactor, recorder = await connected(url)
    try:
        assert reactor.signalling == "connections" and reactor.wire_version == "v1"
        reply = await reactor.send_command("ping", {})
        assert reply is not None and reply["type"] == "pong" and isinstance(reply["data"]["frame"], int)
        assert await reactor.send_command("set_brightness", {"value": 70}) is None  # acknowledged, no body
        update = await recorder.wait("message", lambda m: m.get("type") == "state_update")
        assert update[0]["data"]["brightness"] == 70  # the broadcast still arrives (and ints stay ints)

        def fail(*_args: Any) -> Any:
            raise RuntimeError("a model bug")

        the_session(app).model.handle_command = fail
        since = len(recorder.events)
        with pytest.raises(RefusalError) as refused:
            await reactor.send_command("ping", {})
        assert (refused.value.code, refused.value.command, refused.value.scope) == (
            "INTERNAL_ERROR",
            "ping",
            "application",
        )
        (event,) = await recorder.wait("error", lambda e: e.code == "INTERNAL_ERROR", since=since)
        assert event.command == "ping" and event.recoverable
        assert reactor.status == "ready"
        stats = await recorder.wait("stats_update")
        assert stats[0].protocol == "v1" and stats[0].to_dict()["protocol"] == "v1"
    finally:
        await reactor.aclose()


async def test_the_flat_routes_speak_v0_and_commands_return_once_sent(runtime: tuple[str, Any]) -> None:
    url, _app = runtime
    reactor, recorder = await connected(url, signalling="flat")
    try:
        assert reactor.wire_version == "v0"
        assert await reactor.send_command("ping", {}) is None
        await recorder.wait("message", lambda m: m.get("type") == "pong")
        assert (await recorder.wait("stats_update"))[0].protocol == "v0"
    finally:
        await reactor.aclose()


async def test_an_unanswered_command_times_out_and_the_session_goes_on(
    runtime: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _app = runtime
    reactor, recorder = await connected(url)
    try:
        answer = ChannelHandler._answer
        monkeypatch.setattr(ChannelHandler, "_answer", lambda *_a: None)  # the runtime never answers
        since = len(recorder.events)
        with pytest.raises(ReactorError) as timed_out:
            await reactor.send_command("ping", {}, timeout_s=0.5)
        assert timed_out.value.code == ErrorCode.REQUEST_TIMEOUT and "'ping'" in timed_out.value.message
        assert (await recorder.wait("error", since=since))[0] is timed_out.value
        monkeypatch.setattr(ChannelHandler, "_answer", answer)
        reply = await reactor.send_command("ping", {})
        assert reply is not None and reply["type"] == "pong" and reactor.status == "ready"
    finally:
        await reactor.aclose()


async def test_a_command_waiting_when_the_connection_closes_is_told(
    runtime: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _app = runtime
    reactor, _recorder = await connected(url)
    try:
        handled = asyncio.Event()
        monkeypatch.setattr(ChannelHandler, "_answer", lambda *_a: handled.set())  # handled, never answered
        waiting = asyncio.ensure_future(reactor.send_command("ping", {}))
        await asyncio.wait_for(handled.wait(), WAIT_S)
        await reactor.disconnect(recoverable=True)
        with pytest.raises(ReactorError) as closed:
            await waiting
        assert closed.value.code == ErrorCode.DISCONNECTED
    finally:
        await reactor.aclose()


async def test_values_v1_cannot_carry_are_refused_before_sending(runtime: tuple[str, Any]) -> None:
    url, app = runtime
    reactor, recorder = await connected(url)
    try:
        refused: list[ReactorError] = []
        for command, data, scope in [
            ("set_prompt", {"text": "a\ud800b"}, "application"),
            ("fileUploaded", {"upload_id": "u", "name": "a", "mime_type": "b", "size": 2**70}, "runtime"),
            ("note", {"text": "a runtime message v1 has no frame for"}, "runtime"),
        ]:
            with pytest.raises(ReactorError) as raised:
                await reactor.send_command(command, data, scope=scope)  # type: ignore[arg-type]
            refused.append(raised.value)
        assert [e.code for e in refused] == ["ENCODE_FAILED"] * 3
        assert "['text']" in refused[0].message and "surrogate" in refused[0].message
        assert "'note'" in refused[2].message
        assert [e for (e,) in recorder.args("error")] == refused  # each also an error event
        with pytest.raises(ReactorError) as too_large:
            await reactor.send_command("set_prompt", {"text": "x" * 200})  # fine
            await reactor.send_command("fileUploaded", {"upload_id": "x" * MAX_MESSAGE_SIZE}, scope="runtime")
        assert too_large.value.code == ErrorCode.MESSAGE_TOO_LARGE
        # Nothing half-sent reached the runtime: the next command is the only thing it answers.
        reply = await reactor.send_command("ping", {})
        assert reply is not None and the_session(app).model.prompt == "x" * 200
        assert not [m for (m,) in recorder.args("runtime_message") if m.get("type") == "error"]
    finally:
        await reactor.aclose()


async def test_the_client_survives_bad_v1_frames_from_the_runtime(runtime: tuple[str, Any]) -> None:
    url, app = runtime
    reactor, recorder = await connected(url)
    try:
        channels = runtime_channels(app)
        sent: list[str] = []
        for label, valid in [
            ("data", frame(ModelMessage("pong", {"frame": 1}), "1")),
            ("control", frame(PublishGranted("webcam"))),
        ]:
            channel = channels[label]
            for bad, code in [
                (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "DECODE_FAILED"),  # malformed
                (valid[:-2], "DECODE_FAILED"),  # truncated
                (b"\x10\x03" + b"\x00" * DEFAULT_MAX_MESSAGE_SIZE, "MESSAGE_TOO_LARGE"),  # oversized
                (UNKNOWN_PAYLOAD, "UNKNOWN_MESSAGE_TYPE"),  # a newer runtime's message
                ('{"scope":"application","data":{"type":"pong","data":{}}}', "DECODE_FAILED"),  # v0 after v1
            ]:
                send_unchecked(channel, bad)
                sent.append(code)
        # An answer to a request nothing waits for (never sent, or answered twice): still the model's message.
        channels["data"].send(frame(ModelMessage("late", {"n": 1}), "999"))
        await recorder.wait("message", lambda m: m.get("type") == "late")

        def bad_frames() -> list[str]:
            return [e.code for (e,) in recorder.args("error")]

        await recorder.wait("error", lambda _e: len(bad_frames()) >= len(sent))
        assert sorted(bad_frames()) == sorted(sent)
        reply = await reactor.send_command("ping", {})
        assert reply is not None and reactor.status == "ready"
    finally:
        await reactor.aclose()


# -- our runtime, from a raw v1 peer (as reactor-sdk speaks) -------------------------------------------------------


async def v1_peer(http: httpx.AsyncClient) -> RuntimePeer:
    response = await http.post("/start_session", json={})
    assert response.status_code == 200, response.text
    peer = RuntimePeer(http, response.json(), control=True)
    await peer.create_connection()
    await peer.connect()
    peer.control.send(frame(TrackVerb("resume_track", "main_video")))  # binary first: the connection is v1
    assert peer.video is not None
    await peer.video.wait_count(3)
    return peer


async def answer(peer: RuntimePeer, channel: str, request_id: str = "", since: int = 0) -> Any:
    """The next v1 message on ``channel`` (from item ``since``) answering ``request_id`` (or any, for "")."""
    inbox = peer.messages if channel == "data" else peer.control_messages

    def decoded(item: Any) -> Any:
        raw = item[1] if channel == "data" else item
        return V1.decode_server(raw, channel, max_bytes=DEFAULT_MAX_MESSAGE_SIZE) if isinstance(raw, bytes) else None  # type: ignore[arg-type]

    def matches(item: Any) -> bool:
        got = decoded(item)
        return item in inbox.items[since:] and got is not None and (not request_id or got.request_id == request_id)

    return decoded(await inbox.wait_for(matches, WAIT_S))


async def test_our_runtime_answers_a_v1_peer_in_v1(runtime: tuple[str, Any]) -> None:
    url, _app = runtime
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        peer = await v1_peer(http)
        try:
            peer.data.send(frame(Command("ping", {}), "d1"))
            pong = await answer(peer, "data", "d1")
            assert pong.message.type == "pong" and isinstance(pong.message.data["frame"], int)
            peer.data.send(frame(Command("set_brightness", {"value": 30}), "d2"))
            assert (await answer(peer, "data", "d2")).message == Ack()
            peer.data.send(frame(Command("fly_away", {}), "d3"))
            unknown = (await answer(peer, "data", "d3")).message
            assert isinstance(unknown, Refusal) and unknown.code == "UNKNOWN_COMMAND"
            peer.data.send(frame(Command("set_brightness", {"value": 800}), "d4"))
            invalid = (await answer(peer, "data", "d4")).message
            assert isinstance(invalid, Refusal) and invalid.code == "INVALID_COMMAND" and "value" in invalid.message
            peer.data.send(frame(Command("ping", {}), "d1"))  # an id used before
            mark = len(peer.messages.items)
            repeated = (await answer(peer, "data", "d1", since=mark - 1)).message
            assert isinstance(repeated, Refusal) and repeated.code == "DUPLICATE_REQUEST_ID"
            peer.control.send(frame(RequestSchema(), "c1"))
            schema = (await answer(peer, "control", "c1")).message
            assert isinstance(schema, ModelSchema) and "/events/ping" in schema.openapi["paths"]
            peer.control.send(frame(PublishTrack("webcam"), "c2"))
            assert (await answer(peer, "control", "c2")).message == PublishGranted("webcam")
            peer.control.send(frame(Ping()))  # liveness on control
        finally:
            await peer.close()


async def test_our_runtime_refuses_bad_v1_frames_and_goes_on(runtime: tuple[str, Any]) -> None:
    url, _app = runtime
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        peer = await v1_peer(http)
        try:
            for label, valid in [("data", frame(Command("ping", {}), "x")), ("control", frame(PublishTrack("a"), "y"))]:
                channel = peer.data if label == "data" else peer.control
                for bad, code in [
                    (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "DECODE_FAILED"),
                    (valid[:-2], "DECODE_FAILED"),
                    (b"\x10\x03" + b"\x00" * MAX_MESSAGE_SIZE, "MESSAGE_TOO_LARGE"),
                    (UNKNOWN_PAYLOAD, "UNKNOWN_MESSAGE_TYPE"),
                    ('{"scope":"runtime","data":{"type":"ping","data":{}}}', "DECODE_FAILED"),  # v0 after v1
                ]:
                    inbox = peer.messages if label == "data" else peer.control_messages
                    mark = len(inbox.items)
                    send_unchecked(channel, bad)
                    refusal = (await answer(peer, label, since=mark)).message
                    assert isinstance(refusal, Refusal) and refusal.code == code, (label, bad[:20], refusal)
            peer.data.send(frame(Command("ping", {}), "after"))
            assert (await answer(peer, "data", "after")).message.type == "pong"
            assert peer.video is not None
            await peer.video.wait_count(peer.video.count + 10)
        finally:
            await peer.close()


async def test_a_v0_connection_refuses_a_v1_frame_in_v0(runtime: tuple[str, Any]) -> None:
    url, _app = runtime
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.post("/start_session", json={})
        peer = RuntimePeer(http, response.json(), control=True)
        await peer.create_connection()
        await peer.connect()
        try:
            peer.notify("resume_track", "main_video")  # JSON first: the connection is v0
            peer.send_raw(frame(Command("ping", {}), "1"))
            refusal = await peer.messages.wait_for(
                lambda m: m[0] == "runtime" and m[1].get("type") == "error" and m[1]["data"]["code"] == "DECODE_FAILED"
            )
            assert "binary" in refusal[1]["data"]["message"]
            peer.send("application", "ping", {})
            await peer.messages.wait_for(lambda m: m[0] == "application" and m[1].get("type") == "pong")
        finally:
            await peer.close()


async def test_two_connections_of_one_session_each_get_their_own_codec(runtime: tuple[str, Any]) -> None:
    """A broadcast (the model's state_update) reaches a v1 and a v0 connection of one session, each in its own."""
    url, app = runtime
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        v1 = await v1_peer(http)
        session = (await http.get(f"/sessions/{v1.sid}")).json()
        v0 = RuntimePeer(http, session, control=True)
        await v0.create_connection()
        await v0.connect()
        try:
            v0.notify("resume_track", "main_video")
            v0.send("application", "set_brightness", {"value": 40})  # JSON first: this connection is v0
            await v0.messages.wait_for(lambda m: m[0] == "application" and m[1].get("type") == "state_update")
            update = await answer(v1, "data")
            assert update.message.type == "state_update" and update.message.data["brightness"] == 40
            assert len(the_session(app).connections) == 2
        finally:
            await v0.close()
            await v1.close()


async def test_reactor_error_events_for_v1_refusals_name_the_command(runtime: tuple[str, Any]) -> None:
    """What the dashboard's refusals UI keys on: a correlated refusal's error event carries its command."""
    url, _app = runtime
    reactor = Reactor("reactor-web-demo", local=True, api_url=url)
    recorder = Recorder(reactor)
    try:
        await reactor.connect()
        await recorder.wait_status("ready")
        ref = await reactor.upload_file(b"not a picture", name="x.png")
        with pytest.raises(RefusalError):
            await reactor.send_command("set_image", {"image": ref})
        (error,) = await recorder.wait("error", lambda e: e.code == "INVALID_IMAGE")
        assert error.command == "set_image" and error.scope == "application"
    finally:
        await reactor.aclose()
