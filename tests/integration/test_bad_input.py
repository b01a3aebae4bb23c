"""Bad input everywhere, while another session streams: clear 4xx or error messages, never a 500, and the
other session never notices."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from aiortc.mediastreams import MediaStreamTrack
from client_helpers import Recorder
from runtime_peer import RuntimePeer, is_msg

from reactor_web.client import Reactor, ReactorError
from reactor_web.relay.peer import OfferError, RelayOffer
from reactor_web.relay.tab import TabSession, TabSettings
from reactor_web.runtime import RuntimeConfig, serve_runtime

JSON = {"content-type": "application/json"}
GARBAGE_BODIES: list[bytes] = [
    b"",
    b"{nope",
    b"\xff\xfe\x00",
    b"[]",
    b"null",
    b'{"sdp_offer": "v=0\\r\\nbogus"}',
    b'{"sdp": 5, "type": "offer"}',
    b'{"session_id": {"$gt": ""}}',
    b'{"candidate": "candidate:1 1 udp 1 999.1.1.1 1 typ host", "sdpMid": "0"}',
    json.dumps({"name": "x" * 5000, "size": -1}).encode(),
    b"{" * 10_000,
]


@pytest.fixture
async def runtime() -> AsyncIterator[httpx.AsyncClient]:
    async with serve_runtime(RuntimeConfig(port=0)) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield http


async def streaming_peer(http: httpx.AsyncClient) -> RuntimePeer:
    response = await http.post("/start_session", json={})
    assert response.status_code == 200, response.text
    peer = RuntimePeer(http, response.json())
    await peer.connect()
    assert peer.video is not None
    await peer.video.wait_count(3)
    return peer


class FrameCounter:
    """Counts frames a received track delivers; a test waits for more to arrive."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.count = 0
        self._arrived = asyncio.Condition()
        self._task = asyncio.get_running_loop().create_task(self._run(track))

    async def _run(self, track: MediaStreamTrack) -> None:
        while True:
            await track.recv()
            async with self._arrived:
                self.count += 1
                self._arrived.notify_all()

    async def wait_for_more(self, frames: int, within_s: float = 15.0) -> None:
        target = self.count + frames
        async with asyncio.timeout(within_s), self._arrived:
            await self._arrived.wait_for(lambda: self.count >= target)

    def stop(self) -> None:
        self._task.cancel()


def route_urls(sid: str, bogus: str) -> list[str]:
    """Every runtime route, with a real session id and with a bogus one."""
    urls: list[str] = ["/start_session", "/stop_session", "/health", "/schema", "/no/such/route"]
    for s in (sid, bogus):
        transport = f"/sessions/{s}/transport/webrtc"
        urls += [
            f"/sessions/{s}",
            f"/sessions/{s}/uploads",
            f"{transport}/ice_servers",
            f"{transport}/sdp_params",
            f"{transport}/connections",
            f"{transport}/connections/0/sdp_params",
            f"{transport}/connections/0/ice_candidates",
            f"{transport}/connections/{bogus}/sdp_params",
        ]
    return [*urls, f"/uploads/{bogus}", "/uploads/../health"]


async def test_garbage_to_every_runtime_route_is_a_clear_4xx_and_streaming_goes_on(
    runtime: httpx.AsyncClient,
) -> None:
    # The session everything else must not disturb: a real client, which pings as the protocol asks.
    victim = Reactor("reactor-web-demo", api_url=str(runtime.base_url), local=True)
    recorder = Recorder(victim)
    await victim.connect()
    await recorder.wait("status_changed", lambda status: status == "ready")
    frames = FrameCounter(victim.tracks["main_video"])
    other = (await runtime.post("/start_session", json={})).json()
    sid = other.get("session_id") or other["id"]
    failures: list[str] = []
    for url in route_urls(sid, "nope%00"):
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            for body in GARBAGE_BODIES if method in ("POST", "PUT", "PATCH") else [b""]:
                response = await runtime.request(method, url, content=body, headers=JSON)
                if response.status_code >= 500 or "Traceback" in response.text:
                    failures.append(f"{method} {url} {body[:30]!r} → {response.status_code} {response.text[:120]}")
                elif response.status_code >= 400:
                    error = response.json().get("error", {})
                    if not (error.get("code") and error.get("message")):
                        failures.append(f"{method} {url} → {response.status_code} without a coded error: {error}")
    assert not failures, "\n".join(failures[:20])

    await frames.wait_for_more(15)  # still streaming
    assert victim.status == "ready" and victim.get_last_error() is None
    await victim.aclose()
    frames.stop()


async def test_bad_data_channel_frames_get_errors_and_the_session_lives(runtime: httpx.AsyncClient) -> None:
    peer = await streaming_peer(runtime)
    for frame, code in [
        ("{not json", "DECODE_FAILED"),
        (b"\x00\x01binary", "DECODE_FAILED"),
        ('{"scope": "application"}', "INVALID_MESSAGE"),
        ('{"scope": "nowhere", "data": {"type": "x"}}', "INVALID_MESSAGE"),
        ("[" * 200_000, "MESSAGE_TOO_LARGE"),
    ]:
        assert peer.pc is not None and peer.pc.sctp is not None
        # The answer advertises 65536 bytes, so aiortc itself refuses the big frame: lift that to see the
        # runtime enforce what it advertises.
        peer.pc.sctp._remote_max_message_size = 0
        peer.send_raw(frame)
        await peer.messages.wait_for(is_msg("runtime", "error", code=code))
    peer.send("application", "fly_away", {})
    await peer.messages.wait_for(is_msg("application", "error", code="UNKNOWN_COMMAND"))
    peer.send("application", "set_brightness", {"value": "very"})
    await peer.messages.wait_for(is_msg("application", "error", code="INVALID_COMMAND"))
    assert peer.video is not None
    seen = peer.video.count
    await peer.video.wait_count(seen + 10)
    await peer.close()


async def test_the_client_refuses_what_would_be_lost(runtime: httpx.AsyncClient) -> None:
    async with Reactor("reactor-web-demo", api_url=str(runtime.base_url), local=True) as reactor:
        with pytest.raises(ReactorError) as not_ready:
            await reactor.send_command("ping")
        assert not_ready.value.code == "MESSAGE_SEND_FAILED"
        recorder = Recorder(reactor)
        await reactor.connect()
        await recorder.wait("status_changed", lambda status: status == "ready")
        with pytest.raises(ReactorError) as too_long:
            await reactor.send_command("set_prompt", {"text": "x" * 1_000_000})
        assert too_long.value.code == "INVALID_COMMAND" and "text" in too_long.value.message
        with pytest.raises(ReactorError) as too_large:
            ref = {"upload_id": "x" * 1_000_000, "name": "a.png", "mime_type": "image/png", "size": 1}
            await reactor.send_command("fileUploaded", ref, scope="runtime")  # a frame both wire versions carry
        assert too_large.value.code == "MESSAGE_TOO_LARGE" and "bytes" in too_large.value.message
        with pytest.raises(ReactorError) as unknown:
            await reactor.send_command("fly_away", {})
        assert unknown.value.code == "INVALID_COMMAND"
        assert reactor.status == "ready"  # refused, not disconnected


async def test_bad_relay_offers_are_refused_and_the_tab_keeps_its_session(runtime: httpx.AsyncClient) -> None:
    tab = TabSession(TabSettings(model_name="reactor-web-demo", api_url=str(runtime.base_url)))
    try:
        tab.connect()
        statuses = []
        tab.reactor.on("status_changed", statuses.append)
        await tab.inbox.next()  # the status updates start
        for raw in [
            "",
            "{}",
            "[1]",
            json.dumps(
                {
                    "sdp": "v=0\r\nbogus",
                    "tracks": [{"name": "main_video", "kind": "video", "direction": "recvonly", "mid": "0"}],
                }
            ),
        ]:
            with pytest.raises(OfferError):
                await tab.accept_offer(RelayOffer.parse(raw))
        with pytest.raises(ReactorError) as unknown:
            await tab.send_command("fly_away", {})
        assert unknown.value.code in {"MESSAGE_SEND_FAILED", "INVALID_COMMAND"}
    finally:
        await tab.close()
    assert (await runtime.get("/health")).json()["sessions"] == 0
