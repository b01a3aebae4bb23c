"""Advertised limits equal enforced ones and refusals reach the caller; every connect wait is bounded; our
peer settings stay on our peers."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import aioice.ice
import aiortc.rtcrtpreceiver
import httpx
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from client_helpers import Recorder, connected
from test_relay_peer import page_offer

from reactor_web._aiortc import pin_process_host_addresses
from reactor_web.client import Reactor, ReactorError, RefusalError
from reactor_web.jitter import MarkerBitJitterBuffer
from reactor_web.protocol.constants import MAX_MESSAGE_SIZE
from reactor_web.relay.peer import BrowserPeer
from reactor_web.runtime import RuntimeConfig, serve_runtime

PNG_THAT_IS_TEXT = b"this is a text file renamed corrupt.png"


@pytest.fixture
async def runtime_url() -> AsyncIterator[str]:
    async with serve_runtime(RuntimeConfig(port=0)) as url:
        yield url


def runtime_errors(recorder: Recorder, since: int = 0) -> list[Any]:
    return [m for (m,) in recorder.args("runtime_message", since) if isinstance(m, dict) and m.get("type") == "error"]


async def test_a_command_over_the_advertised_limit_is_refused_before_sending(runtime_url: str) -> None:
    # v0: a runtime message of the caller's own (``note``) has no v1 frame; v1's sizes: test_wire_v1.py.
    reactor, recorder = await connected(runtime_url, wire="v0")
    try:
        since = len(recorder.events)
        with pytest.raises(ReactorError) as refused:
            await reactor.send_command("note", {"blob": "x" * 100_000}, scope="runtime")  # the 100 KB
        assert refused.value.code == "MESSAGE_TOO_LARGE" and str(MAX_MESSAGE_SIZE) in refused.value.message
        assert reactor.get_last_error() is refused.value
        # Nothing was sent: the frames that follow get their answers, and the runtime never refused a frame.
        await reactor.send_command("ping", {})
        await recorder.wait("message", lambda m: isinstance(m, dict) and m.get("type") == "pong", since=since)
        assert runtime_errors(recorder, since) == []
        # Just under the limit is sent (and answered by the runtime as an unknown type, not as too large).
        await reactor.send_command("note", {"blob": "x" * (MAX_MESSAGE_SIZE - 200)}, scope="runtime")
        await recorder.wait("error", lambda e: e.code == "UNKNOWN_MESSAGE_TYPE", since=since)
        assert reactor.status == "ready"
    finally:
        await reactor.aclose()


async def test_a_runtime_refusal_reaches_the_caller_as_an_error_event(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        since = len(recorder.events)
        await reactor.send_command("fileUploaded", {"upload_id": "no-such-upload"}, scope="runtime")
        (error,) = await recorder.wait("error", lambda e: e.code == "UNKNOWN_UPLOAD", since=since)
        assert error.component == "gpu" and error.recoverable and error.command is None
        assert reactor.get_last_error() is error
        assert runtime_errors(recorder, since)[0]["data"]["code"] == "UNKNOWN_UPLOAD"  # still a message too
        assert reactor.status == "ready"  # the session goes on
    finally:
        await reactor.aclose()


async def test_a_model_refusal_names_the_refused_command(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        since = len(recorder.events)
        ref = await reactor.upload_file(PNG_THAT_IS_TEXT, name="corrupt.png")
        with pytest.raises(RefusalError) as raised:  # v1: the refusal answers the command
            await reactor.send_command("set_image", {"image": ref})
        assert raised.value.code == "INVALID_IMAGE" and raised.value.command == "set_image"
        (error,) = await recorder.wait("error", lambda e: e.code == "INVALID_IMAGE", since=since)
        assert error.command == "set_image" and error.to_dict()["command"] == "set_image"
        assert error.component == "gpu" and error.recoverable
        messages = [m for (m,) in recorder.args("message", since) if isinstance(m, dict) and m.get("type") == "error"]
        assert messages[0]["data"]["code"] == "INVALID_IMAGE"
        assert reactor.status == "ready"
    finally:
        await reactor.aclose()


async def test_an_upload_over_the_runtime_limit_is_refused_before_the_body(runtime_url: str) -> None:
    async with httpx.AsyncClient(base_url=runtime_url) as http:
        limit = (await http.get("/health")).json()["max_upload_bytes"]
    reactor, _recorder = await connected(runtime_url)
    try:
        with pytest.raises(ReactorError) as refused:
            await reactor.upload_file(b"x" * (limit + 1), name="big.bin")
        assert refused.value.code == "UPLOAD_TOO_LARGE" and str(limit) in refused.value.message
        assert reactor.status == "ready"
    finally:
        await reactor.aclose()


async def test_the_session_limit_the_runtime_reports_is_the_one_it_enforces() -> None:
    async with serve_runtime(RuntimeConfig(port=0, max_sessions=1)) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/health")).json()["max_sessions"] == 1
        first, _ = await connected(url)
        second = Reactor("reactor-web-demo", local=True, api_url=url)
        recorder = Recorder(second)
        try:
            with pytest.raises(ReactorError) as refused:
                await second.connect()
            assert refused.value.recoverable and "TOO_MANY_SESSIONS" in refused.value.message
            assert recorder.args("error")[0][0] is refused.value and second.status == "disconnected"
            assert first.status == "ready"
        finally:
            await second.aclose()
            await first.aclose()


class Blackhole(httpx.AsyncBaseTransport):
    """Rewrites the candidates of every SDP offer and answer to a UDP port that never answers: neither side
    can reach the other, so ICE cannot complete (as with host addresses nothing routes to)."""

    def __init__(self, port: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._port = port

    def _rewrite(self, body: bytes, key: str) -> bytes:
        message = json.loads(body)
        message[key] = re.sub(r"(a=candidate:\S+ \d+ udp \d+ \S+) \d+ typ", rf"\1 {self._port} typ", message[key])
        return json.dumps(message).encode()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sdp_params") and request.method in ("POST", "PUT"):
            body = self._rewrite(await request.aread(), "sdp_offer")
            headers = [(k, v) for k, v in request.headers.items() if k.lower() != "content-length"]
            request = httpx.Request(request.method, request.url, headers=headers, content=body)
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        if request.url.path.endswith("/sdp_params") and request.method == "GET" and response.status_code == 200:
            body = self._rewrite(body, "sdp_answer")
        dropped = ("content-length", "content-encoding")
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in dropped]
        return httpx.Response(response.status_code, headers=headers, content=body)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_media_connection_that_cannot_complete_ends_in_an_error_and_disconnected(runtime_url: str) -> None:
    # A UDP socket that is open (no ICMP "unreachable") and never answers: ICE waits, as with an address that
    # nothing routes to; the client's bound must end it.
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    transport = Blackhole(sink.getsockname()[1])
    reactor = Reactor("reactor-web-demo", local=True, api_url=runtime_url, ready_timeout_s=2, http_transport=transport)
    recorder = Recorder(reactor)
    try:
        await reactor.connect()
        (error,) = await recorder.wait("error", lambda e: e.code == "GPU_CONNECTION_ERROR")
        assert "media connection" in error.message and "2 s" in error.message
        await recorder.wait_status("disconnected", since=1)
        assert "ready" not in recorder.statuses()
        async with httpx.AsyncClient(base_url=runtime_url) as http:
            assert (await http.get("/health")).json()["sessions"] == 0  # the runtime session was stopped too
    finally:
        await reactor.aclose()
        await transport.aclose()
        sink.close()


async def test_our_peer_settings_do_not_reach_an_unrelated_peer(runtime_url: str) -> None:
    """The client, the runtime and the relay use the marker-bit buffer and the pinned host addresses on
    their own peers; an aiortc peer created afterwards in the same process gets aiortc's and aioice's own."""
    pin_process_host_addresses(None)  # the tests' process-wide opt-in is off for this test
    try:
        reactor, _recorder = await connected(runtime_url)
        relay = BrowserPeer(heartbeat_timeout_s=30)
        page = RTCPeerConnection()
        try:
            ours = reactor._transport.pc if reactor._transport is not None else None
            assert ours is not None
            video = [t.receiver for t in ours.getTransceivers() if t.kind == "video"]
            assert all(isinstance(r._RTCRtpReceiver__jitter_buffer, MarkerBitJitterBuffer) for r in video)
            assert {c.ip for c in local_candidates(ours)} == {"127.0.0.1"}  # REACTOR_ICE_HOST_ADDRESSES

            model = page.addTransceiver("video", direction="recvonly")
            page.addTransceiver("video", direction="sendonly")
            page.createDataChannel("relay")
            await page.setLocalDescription(await page.createOffer())
            answer = await relay.accept_offer(page_offer(page.localDescription.sdp, model.mid))
            await page.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            assert re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+)", answer) == ["127.0.0.1"] * len(
                re.findall("a=candidate", answer)
            )

            # The unrelated peer (the page above, and one more made now) is untouched.
            unrelated = RTCPeerConnection()
            try:
                unrelated.addTransceiver("video", direction="recvonly")
                await unrelated.setLocalDescription(await unrelated.createOffer())
                receiver = unrelated.getTransceivers()[0].receiver
                assert type(receiver._RTCRtpReceiver__jitter_buffer) is JitterBuffer
                assert type(page.getTransceivers()[1].receiver._RTCRtpReceiver__jitter_buffer) is JitterBuffer
                assert aiortc.rtcrtpreceiver.JitterBuffer is JitterBuffer
                stock = set(aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True))
                assert {c.ip for c in local_candidates(unrelated) if c.type == "host"} == stock
                assert "127.0.0.1" not in stock  # aioice's own rule: no loopback
            finally:
                await unrelated.close()
        finally:
            await relay.close()
            await page.close()
            await reactor.aclose()
    finally:
        pin_process_host_addresses(["127.0.0.1"])


def local_candidates(pc: RTCPeerConnection) -> list[Any]:
    transports = {t.receiver.transport.transport for t in pc.getTransceivers()}
    if pc.sctp is not None:
        transports.add(pc.sctp.transport.transport)
    return [c for t in transports for c in t.iceGatherer.getLocalCandidates()]
