"""Pathological frames on every data channel, both ways: a documented error, and the session goes on.

The issue's input: one text frame of 20,000 ``[`` then 20,000 ``]`` on the ``data`` channel used to raise
``RecursionError`` inside aiortc's receive loop and silently kill the session.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcsctptransport import WEBRTC_STRING
from client_helpers import connected
from runtime_peer import RuntimePeer, is_msg
from test_relay_peer import PeerEvents, page_offer

from reactor_web.protocol.constants import MAX_MESSAGE_SIZE
from reactor_web.relay.peer import BrowserPeer, OfferError, RelayOffer
from reactor_web.runtime import RuntimeConfig
from reactor_web.runtime.serve import serve_app
from reactor_web.runtime.server import create_app

DEEP = "[" * 20_000 + "]" * 20_000
#: (frame, the runtime's error code): the issue's input and its siblings.
HOSTILE: list[tuple[str | bytes, str]] = [
    (DEEP, "DECODE_FAILED"),
    ('{"scope":"application","data":{"type":"set_prompt","data":{"text":"\\ud800"}}}', "DECODE_FAILED"),
    ('{"scope":"application","data":{"type":"set_brightness","data":{"value":' + "9" * 60_000 + "}}}", "DECODE_FAILED"),
    ('{"scope":"application","data":{"type":"set_brightness","data":{"value":NaN}}}', "DECODE_FAILED"),
    ('{"scope":"application","data":{"type":"set_brightness","data":{"value":1e999}}}', "DECODE_FAILED"),
    (b"\xff\xfe\xfd not utf-8", "DECODE_FAILED"),
]


_flushes: set[asyncio.Future[None]] = set()


def send_text_bytes(channel: RTCDataChannel, payload: bytes) -> None:
    """Send ``payload`` as a *text* frame (string PPID) whatever its encoding, as a hostile peer can."""
    sctp = channel.transport
    channel._addBufferedAmount(len(payload))
    sctp._data_channel_queue.append((channel, WEBRTC_STRING, payload))
    _flushes.add(asyncio.ensure_future(sctp._data_channel_flush()))


@pytest.fixture
async def runtime() -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(RuntimeConfig(port=0))
    async with serve_app(app, "127.0.0.1", 0) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield http, app


async def streaming_peer(http: httpx.AsyncClient, *, control: bool = False) -> RuntimePeer:
    response = await http.post("/start_session", json={})
    assert response.status_code == 200, response.text
    peer = RuntimePeer(http, response.json(), control=control)
    if control:
        await peer.create_connection()
    await peer.connect()
    assert peer.video is not None
    if control:
        peer.notify("resume_track", "main_video")
    await peer.video.wait_count(3)
    return peer


async def assert_session_lives(peer: RuntimePeer) -> None:
    """A ``ping`` still gets its ``pong`` and video still streams."""
    before = len(peer.messages.items)
    peer.send("application", "ping", {})
    await peer.messages.wait_for(lambda m: m in peer.messages.items[before:] and is_msg("application", "pong")(m))
    assert peer.video is not None
    await peer.video.wait_count(peer.video.count + 10)


async def test_deeply_nested_frame_gets_an_error_and_the_session_goes_on(
    runtime: tuple[httpx.AsyncClient, Any],
) -> None:
    http, _ = runtime
    peer = await streaming_peer(http)
    try:
        peer.send_raw(DEEP)
        await peer.messages.wait_for(is_msg("runtime", "error", code="DECODE_FAILED"))
        await assert_session_lives(peer)
    finally:
        await peer.close()


@pytest.mark.parametrize(("frame", "code"), HOSTILE[1:], ids=["surrogate", "huge-int", "nan", "inf", "binary"])
async def test_every_hostile_data_frame_gets_its_error(
    runtime: tuple[httpx.AsyncClient, Any], frame: str | bytes, code: str
) -> None:
    http, _ = runtime
    peer = await streaming_peer(http)
    try:
        peer.send_raw(frame)
        await peer.messages.wait_for(is_msg("runtime", "error", code=code))
        await assert_session_lives(peer)
    finally:
        await peer.close()


async def test_a_text_frame_that_is_not_utf8_is_refused_not_fatal(runtime: tuple[httpx.AsyncClient, Any]) -> None:
    http, _ = runtime
    peer = await streaming_peer(http)
    try:
        send_text_bytes(peer.data, b'{"scope":"runtime","data":{"type":"\xff\xfe"}}')
        await peer.messages.wait_for(is_msg("runtime", "error", code="DECODE_FAILED"))
        await assert_session_lives(peer)
    finally:
        await peer.close()


async def test_hostile_control_frames_get_errors_and_the_session_goes_on(
    runtime: tuple[httpx.AsyncClient, Any],
) -> None:
    http, _ = runtime
    peer = await streaming_peer(http, control=True)
    try:
        for frame, code in HOSTILE:
            before = len(peer.control_messages.items)
            peer.control.send(frame)
            await peer.control_messages.wait_for(
                lambda m, n=before, c=code: (
                    m in peer.control_messages.items[n:]
                    and isinstance(m, dict)
                    and m.get("data", {}).get("type") == "error"
                    and m["data"]["data"]["code"] == c
                )
            )
        send_text_bytes(peer.control, b"\xc3\x28")
        await peer.control_messages.wait_for(
            lambda m: isinstance(m, dict) and m.get("data", {}).get("type") == "error" and "UTF-8" in str(m)
        )
        await assert_session_lives(peer)
    finally:
        await peer.close()


async def test_the_runtime_advertises_what_it_enforces(runtime: tuple[httpx.AsyncClient, Any]) -> None:
    http, _ = runtime
    peer = await streaming_peer(http)
    try:
        assert peer.pc is not None and peer.pc.remoteDescription is not None
        advertised = re.findall(r"a=max-message-size:(\d+)", peer.pc.remoteDescription.sdp)
        assert advertised == [str(MAX_MESSAGE_SIZE)]
        body = "x" * (MAX_MESSAGE_SIZE - 200)
        peer.send("runtime", "note", {"text": body})  # just under: accepted (an unknown type, not too large)
        await peer.messages.wait_for(is_msg("runtime", "error", code="UNKNOWN_MESSAGE_TYPE"))
    finally:
        await peer.close()


def runtime_channels(app: Any) -> dict[str, RTCDataChannel]:
    """The runtime's side of the only session's channels, by label: a runtime peer that turns hostile."""
    (session,) = app.state.manager.sessions.values()
    channels: dict[str, RTCDataChannel] = {}
    for conn in session.connections.values():
        if conn.pc is not None and conn.pc.sctp is not None:
            for channel in conn.pc.sctp._data_channels.values():
                channels[channel.label] = channel
    return channels


@pytest.mark.parametrize("flow", ["flat", "connections"])
async def test_the_client_survives_hostile_frames_from_the_runtime(
    runtime: tuple[httpx.AsyncClient, Any], flow: str
) -> None:
    http, app = runtime
    reactor, recorder = await connected(str(http.base_url), signalling=flow)
    try:
        channels = runtime_channels(app)
        targets = [channels["data"]] + ([channels["control"]] if flow == "connections" else [])
        for channel in targets:
            for frame, _code in HOSTILE:
                channel.send(frame)
            send_text_bytes(channel, b"\xed\xa0\x80")  # an encoded surrogate: not UTF-8
            channel.send('{"type":"response","request_id":' + "[" * 5000 + "]" * 5000 + "}")
        since = len(recorder.events)
        await reactor.send_command("ping", {})
        await recorder.wait("message", lambda m: isinstance(m, dict) and m.get("type") == "pong", since=since)
        assert reactor.status == "ready"
        if flow == "flat":
            # v0: the deep frame reached the caller as what it was (raw text, as the JS SDK keeps what JSON.parse
            # refuses), not as a crash.
            assert any(args[0] == DEEP for args in recorder.args("message"))
        else:
            # v1: every one of them (text, or binary that is not protobuf) is a DECODE_FAILED error event.
            sent = len(targets) * (len(HOSTILE) + 2)

            def decode_errors() -> list[Any]:
                return [e for (e,) in recorder.args("error") if e.code == "DECODE_FAILED"]

            await recorder.wait("error", lambda _e: len(decode_errors()) >= sent)
            assert len(decode_errors()) == sent and all(e.recoverable for e in decode_errors())
    finally:
        await reactor.aclose()


async def test_the_relay_survives_hostile_heartbeats() -> None:
    """The page's heartbeat channel: hostile beats are dropped, the beat still counts, stats still land."""
    seen: list[dict[str, Any]] = []
    landed = asyncio.Event()

    def on_stats(stats: dict[str, Any]) -> None:
        seen.append(stats)
        landed.set()

    relay = BrowserPeer(heartbeat_timeout_s=30, listener=PeerEvents(stats=on_stats))
    page = RTCPeerConnection()
    try:
        beat = page.createDataChannel("relay")
        opened = asyncio.Event()
        beat.on("open", opened.set)
        model = page.addTransceiver("video", direction="recvonly")
        await page.setLocalDescription(await page.createOffer())
        answer = await relay.accept_offer(page_offer(page.localDescription.sdp, model.mid))
        await page.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        async with asyncio.timeout(20):
            await opened.wait()
        for frame, _code in HOSTILE:
            beat.send(frame)
        beat.send('{"stats":' + "[" * 5000 + "]" * 5000 + "}")
        send_text_bytes(beat, b'{"stats": "\xff"}')
        beat.send('{"stats": {"fps": 30}}')
        async with asyncio.timeout(20):
            await landed.wait()
        assert seen == [{"fps": 30}]  # every hostile beat was dropped; the good one after them arrived
    finally:
        await relay.close()
        await page.close()


def test_relay_offers_are_parsed_by_the_hardened_decoder() -> None:
    for raw in [DEEP, '{"sdp": "v=0", "tracks": [{"name": "\\ud800"}]}', '{"sdp": NaN}', "[" * 100]:
        with pytest.raises(OfferError):
            RelayOffer.parse(raw)
