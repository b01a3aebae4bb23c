"""An in-test coordinator for the client's unit tests: routes on ``httpx.MockTransport``, and a real aiortc
peer behind the sdp_params routes (the peer is never mocked)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from reactor_web.client import Reactor

BASE = "http://coordinator.test"
SESSION_ID = "sess-1"
T = f"/sessions/{SESSION_ID}/transport/webrtc"
TRACKS = [
    {"name": "main_video", "kind": "video", "direction": "recvonly"},
    {"name": "webcam", "kind": "video", "direction": "sendonly"},
]

Route = Callable[[httpx.Request], Awaitable[httpx.Response]]


def descriptor(*, ready: bool = True, state: str = "ACTIVE", protocol: str = "webrtc") -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": SESSION_ID,
        "state": state,
        "cluster": "test",
        "model": {"name": "demo"},
        "server_info": {"server_version": "1"},
    }
    if ready:
        body["selected_transport"] = {"protocol": protocol, "version": "1.0"}
        body["capabilities"] = {"protocol_version": "v0", "tracks": TRACKS, "commands": []}
    return body


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Route:
    async def route(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return route


class FakeServer:
    """Answers requests from ``routes`` (404 otherwise) and records them; ``answering()`` wires the
    sdp_params routes to a real aiortc peer that sends video on ``main_video``."""

    def __init__(self, routes: dict[tuple[str, str], Route] | None = None) -> None:
        self.routes: dict[tuple[str, str], Route] = dict(routes or {})
        self.requests: list[httpx.Request] = []
        self.peers: list[RTCPeerConnection] = []
        self.channels: list[RTCDataChannel] = []
        self.received: list[tuple[str, str]] = []  # (channel label, frame)
        #: A control request → the response's extra fields ({} = success), or None for no response at all.
        self.control_replies: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda _req: {}
        self._answer: str | None = None
        self._received_event = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def reactor(self, **options: Any) -> Reactor:
        return Reactor("demo", api_url=BASE, http_transport=self.transport, **options)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        return await route(request) if route else httpx.Response(404, text="not found")

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def answering(self, sdp_path: str) -> None:
        """POST/PUT ``sdp_path`` → 202 while a peer answers; GET → 202 until the answer exists, then 200."""

        async def offer(request: httpx.Request) -> httpx.Response:
            self._answer = None
            self._tasks.add(asyncio.ensure_future(self._answer_offer(json.loads(request.content))))
            return httpx.Response(202, json={})

        async def poll(_request: httpx.Request) -> httpx.Response:
            if self._answer is None:
                return httpx.Response(202, json={"status": "pending"})
            return httpx.Response(200, json={"sdp_answer": self._answer})

        self.routes[("POST", sdp_path)] = offer
        self.routes[("PUT", sdp_path)] = offer
        self.routes[("GET", sdp_path)] = poll

    async def _answer_offer(self, body: dict[str, Any]) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.peers.append(pc)
        pc.on("datachannel", self._on_channel)
        await pc.setRemoteDescription(RTCSessionDescription(body["sdp_offer"], "offer"))
        mids = {entry["mid"]: entry["name"] for entry in body["track_mapping"]}
        for transceiver in pc.getTransceivers():
            if mids.get(transceiver.mid) == "main_video":
                transceiver.sender.replaceTrack(VideoStreamTrack())
                transceiver.direction = "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())
        self._answer = pc.localDescription.sdp

    def _on_channel(self, channel: RTCDataChannel) -> None:
        self.channels.append(channel)

        def on_message(message: str) -> None:
            self.received.append((channel.label, message))
            self._received_event.set()
            if channel.label == "control":
                request = json.loads(message)
                response = self.control_replies(request) if request.get("type") == "request" else None
                if response is not None:
                    # reactor-runtime 3.10 echoes request_id as a string (docs/interop-notes.md).
                    channel.send(json.dumps({"type": "response", "request_id": str(request["request_id"]), **response}))

        channel.on("message", on_message)

    async def frame_on(self, label: str, predicate: Callable[[str], bool] = lambda _f: True) -> str:
        """The first frame received on channel ``label`` matching ``predicate`` (waiting up to 10 s)."""
        async with asyncio.timeout(10):
            while True:
                hit = next((f for lbl, f in self.received if lbl == label and predicate(f)), None)
                if hit is not None:
                    return hit
                self._received_event.clear()
                await self._received_event.wait()

    async def close(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(pc.close() for pc in self.peers))


class TokenEvents:
    """A ``TokenListener`` handing each notification to the callable given for it."""

    def __init__(
        self,
        on_expiration: Callable[[float | None], Any] = lambda _exp: None,
        on_error: Callable[[Any], Any] = lambda _err: None,
    ) -> None:
        self._on_expiration, self._on_error = on_expiration, on_error

    def on_expiration(self, expiration: float | None) -> None:
        self._on_expiration(expiration)

    def on_renewal_failed(self, error: Any) -> None:
        self._on_error(error)
