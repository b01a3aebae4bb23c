"""The client's WebRTC side against a real aiortc peer behind an in-test coordinator: offer body and
track_mapping, data-channel bytes, the control channel, received tracks, reconnect."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import pytest
from aiortc import VideoStreamTrack
from client_fakes import SESSION_ID, FakeServer, T, descriptor, reply

from reactor_web.client import ErrorCode, Reactor, ReactorError
from reactor_web.client import transport as transport_module
from reactor_web.protocol.capabilities import CommandSpec, commands_to_openapi

CONNECTION_ID = 7
CONN = f"{T}/connections/{CONNECTION_ID}"


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    fake = FakeServer(
        {
            ("POST", "/start_session"): reply(200, descriptor()),
            ("GET", f"{T}/ice_servers"): reply(200, {"ice_servers": []}),
            ("POST", "/stop_session"): reply(200, {}),
        }
    )
    yield fake
    await fake.close()


async def until(reactor: Reactor, status: str) -> None:
    reached = asyncio.Event()
    reactor.on("status_changed", lambda s: reached.set() if s == status else None)
    if reactor.status != status:
        await asyncio.wait_for(reached.wait(), 10)


def sections(sdp: str) -> dict[str, str]:
    """mid → the text of its m-section."""
    out = {}
    for section in re.split(r"\r\n(?=m=)", sdp)[1:]:
        mid = re.search(r"a=mid:(\S+)", section)
        if mid:
            out[mid.group(1)] = section
    return out


async def test_flat_flow_offer_envelopes_and_received_tracks(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport_module, "PING_INTERVAL_S", 0.05)
    server.answering(f"{T}/sdp_params")  # no connections routes: the client must fall back to flat
    reactor = server.reactor(local=True)
    messages: list[object] = []
    runtime_messages: list[object] = []
    tracks: list[tuple[str, object]] = []
    three_messages = asyncio.Event()

    def on_message(payload: object) -> None:
        messages.append(payload)
        if len(messages) == 3:
            three_messages.set()

    reactor.on("message", on_message)
    reactor.on("runtimeMessage", runtime_messages.append)
    reactor.on("trackReceived", lambda name, track: tracks.append((name, track)))
    await reactor.connect()
    await until(reactor, "ready")
    try:
        assert reactor.signalling == "flat"
        offer = server.sent("POST", f"{T}/sdp_params")[0]
        assert offer.headers["Authorization"] == "Bearer local" and offer.headers["Reactor-WebRTC-Version"] == "1.0"
        assert "Reactor-API-Version" not in offer.headers  # Part A §5: none on flat transport calls
        body = json.loads(offer.content)
        assert list(body) == ["sdp_offer", "client_info", "track_mapping"]
        assert body["client_info"] == {"sdk_version": "0.1.0", "sdk_type": "python"}
        mapping = body["track_mapping"]
        assert [list(e) for e in mapping] == [["mid", "name", "kind", "direction"]] * 2
        assert [(e["name"], e["kind"], e["direction"]) for e in mapping] == [
            ("main_video", "video", "recvonly"),
            ("webcam", "video", "sendonly"),
        ]
        by_mid = sections(body["sdp_offer"])
        for entry in mapping:  # each mid names the m-section with that track's kind and direction
            assert by_mid[entry["mid"]].startswith("m=video") and f"a={entry['direction']}" in by_mid[entry["mid"]]
        assert [c.label for c in server.channels] == ["data"]

        # Received media is named by transceiver and readable.
        assert [name for name, _ in tracks] == ["main_video"] and reactor.tracks["main_video"] is tracks[0][1]
        frame = await asyncio.wait_for(reactor.tracks["main_video"].recv(), 10)
        assert frame.width > 0

        # Envelope bytes, as JSON.stringify would write them.
        assert await server.frame_on("data") == '{"scope":"runtime","data":{"type":"ping","data":{}}}'
        await reactor.send_command("set_prompt", {"text": "héllo ✓", "w": 1.0, "n": None})
        await reactor.send_command("ping")
        await reactor.send_command("custom", '{"a": [1, 2.5]}', scope="runtime")
        expected = [
            '{"scope":"application","data":{"type":"set_prompt","data":{"text":"héllo ✓","w":1,"n":null}}}',
            '{"scope":"application","data":{"type":"ping"}}',
            '{"scope":"runtime","data":{"type":"custom","data":{"a":[1,2.5]}}}',
        ]
        await server.frame_on("data", lambda f: '"custom"' in f)
        assert [f for label, f in server.received if label == "data" and '"ping","data":{}' not in f] == expected

        with pytest.raises(ReactorError) as raised:
            await reactor.send_command("set_prompt", "{not json")
        assert raised.value.code == ErrorCode.MESSAGE_SEND_FAILED
        with pytest.raises(ReactorError) as raised:
            await reactor.send_command("big", {"blob": "x" * 300_000})
        assert raised.value.code == ErrorCode.MESSAGE_TOO_LARGE and "262144" in raised.value.message

        # Incoming frames: scope picks the event; anything without an envelope is a whole ``message``.
        channel = server.channels[0]
        channel.send('{"scope":"application","data":{"type":"state_update","data":{"x":1}}}')
        channel.send('{"scope":"runtime","data":{"type":"sessionEnded","data":{}}}')
        channel.send("not json")
        channel.send('{"foo":1}')
        await asyncio.wait_for(three_messages.wait(), 10)
        assert messages == [{"type": "state_update", "data": {"x": 1}}, "not json", {"foo": 1}]
        assert runtime_messages == [{"type": "sessionEnded", "data": {}}]

        with pytest.raises(ReactorError, match="Already connected"):
            await reactor.connect()
    finally:
        await reactor.disconnect()
    assert json.loads(server.sent("POST", "/stop_session")[0].content) == {"session_id": SESSION_ID}

    # The instance remembers the server speaks flat: a new connect does not probe connections again.
    await reactor.connect()
    await until(reactor, "ready")
    await reactor.aclose()
    assert len(server.sent("POST", f"{T}/connections")) == 1


async def test_connections_flow_control_channel_publish_and_reconnect(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport_module, "CONTROL_REQUEST_TIMEOUT_S", 0.2)
    brightness = CommandSpec("set_brightness", "", {"value": {"type": "integer", "minimum": 0, "required": True}})
    schema = commands_to_openapi([brightness], [], title="demo", version="1")
    server.routes[("GET", "/schema")] = reply(200, schema)
    server.routes[("POST", f"{T}/connections")] = reply(201, {"connection_id": CONNECTION_ID, "track_map": {}})
    server.routes[("POST", f"{CONN}/ice_candidates")] = reply(202, {})
    server.answering(f"{CONN}/sdp_params")
    # The v0 JSON bytes of the control channel (Part B §B.2); the v1 ones: tests/unit/test_client_v1.py.
    reactor = server.reactor(local=True, wire="v0")
    statuses: list[str] = []
    reactor.on("status_changed", statuses.append)
    await reactor.connect()
    await until(reactor, "ready")
    try:
        assert reactor.signalling == "connections" and reactor.wire_version == "v0"
        paths = [(r.method, r.url.path) for r in server.requests]
        assert paths == [
            ("POST", "/start_session"),
            ("GET", "/schema"),  # the descriptor lists no commands: they come from the OpenAPI document
            ("POST", f"{T}/connections"),
            ("GET", f"{T}/ice_servers"),
            ("POST", f"{CONN}/sdp_params"),
            ("POST", f"{CONN}/ice_candidates"),
            *[("GET", f"{CONN}/sdp_params")] * (len(paths) - 6),
        ]
        capabilities = reactor.get_capabilities()
        assert capabilities is not None and capabilities.command("set_brightness") == brightness
        final = server.sent("POST", f"{CONN}/ice_candidates")[0]
        assert (
            final.content
            == b'{"candidates":[],"is_final":true,"client_info":{"sdk_version":"0.1.0","sdk_type":"python"}}'
        )
        assert final.headers["Reactor-API-Version"] == "1" and final.headers["Authorization"] == "Bearer local"
        assert [c.label for c in server.channels] == ["data", "control"]
        resume = '{"type":"notification","event":"resume_track","data":{"name":"main_video"}}'
        assert await server.frame_on("control") == resume

        await reactor.publish_track("webcam", VideoStreamTrack())
        request = '{"type":"request","method":"publish_track","request_id":1,"data":{"name":"webcam"}}'
        assert await server.frame_on("control", lambda f: "publish_track" in f) == request
        assert reactor._transport is not None
        sender = reactor._transport.transceivers["webcam"].sender
        assert sender.track is not None
        await reactor.unpublish_track("webcam")
        unpublish = '{"type":"notification","event":"unpublish_track","data":{"name":"webcam"}}'
        assert await server.frame_on("control", lambda f: "unpublish" in f) == unpublish
        assert sender.track is None

        server.control_replies = lambda _r: {"error": {"code": "PUBLISHER_SLOT_TAKEN", "message": "taken"}}
        with pytest.raises(ReactorError, match="PUBLISHER_SLOT_TAKEN") as raised:
            await reactor.publish_track("webcam", VideoStreamTrack())
        assert raised.value.code == ErrorCode.TRACK_PUBLISH_FAILED and sender.track is None
        with pytest.raises(ReactorError) as raised:
            await reactor.publish_track("nope", VideoStreamTrack())
        assert raised.value.code == ErrorCode.TRACK_PUBLISH_FAILED and not raised.value.recoverable
        # An unanswered claim keeps the track: 3.10 feeds inbound media to the model regardless.
        server.control_replies = lambda _r: None
        await reactor.publish_track("webcam", VideoStreamTrack())
        assert sender.track is not None

        # Reconnect: same connection, PUT, a fresh peer connection, tracks resumed again.
        await reactor.disconnect(recoverable=True)
        assert server.sent("POST", "/stop_session") == []
        await reactor.reconnect()
        await until(reactor, "ready")
        assert statuses == ["connecting", "waiting", "ready", "disconnected", "connecting", "ready"]
        assert len(server.sent("PUT", f"{CONN}/sdp_params")) == 1
        assert len(server.sent("POST", f"{T}/connections")) == 1
        assert reactor.get_session_id() == SESSION_ID
        await server.frame_on("control", lambda f: server.received.count(("control", resume)) == 2)
    finally:
        await reactor.aclose()
    assert reactor._transport is None and len(reactor._tasks) == 0
