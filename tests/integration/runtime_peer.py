"""A raw aiortc peer that talks to the runtime the way the JS SDK (flat flow) or reactor-sdk (connections) does.

Everything waits on events with a timeout; nothing sleeps for a fixed time to "let things happen".
"""

from __future__ import annotations

import asyncio
import fractions
import json
from collections.abc import Callable
from typing import Any

import av
import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from reactor_web._media import drain
from reactor_web.protocol.capabilities import TrackSpec
from reactor_web.protocol.constants import MAIN_VIDEO_TRACK
from reactor_web.protocol.control import control_notification, control_request
from reactor_web.protocol.envelope import decode_frame, encode_envelope
from reactor_web.protocol.schemas import sdp_offer_body, track_mapping_entry

TIMEOUT_S = 15.0


class SolidColorTrack(MediaStreamTrack):
    """A synthetic webcam: solid ``color`` frames at 30 fps."""

    kind = "video"

    def __init__(self, color: tuple[int, int, int], width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.color = color
        self._size = (height, width)
        self._pts = 0
        self._loop_start: float | None = None

    async def recv(self) -> av.VideoFrame:
        loop = asyncio.get_running_loop()
        if self._loop_start is None:
            self._loop_start = loop.time()
        self._pts += 3000
        delay = self._loop_start + self._pts / 90_000 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing like a camera, not a wait for an outcome
        image = np.empty((*self._size, 3), np.uint8)
        image[:] = self.color
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 90_000)
        return frame


class FrameSink:
    """Reads a received track continuously; tests wait for a frame that satisfies a predicate."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.latest: np.ndarray | None = None
        self.count = 0
        self._changed = asyncio.Condition()
        self._task = asyncio.get_running_loop().create_task(self._run(track))

    async def _run(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            image = frame.to_ndarray(format="rgb24")
            async with self._changed:
                self.latest = image
                self.count += 1
                self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[np.ndarray], bool] = lambda _f: True, limit_s: float = TIMEOUT_S
    ) -> np.ndarray:
        async with asyncio.timeout(limit_s), self._changed:
            await self._changed.wait_for(lambda: self.latest is not None and predicate(self.latest))
            assert self.latest is not None
            return self.latest

    async def wait_count(self, count: int, limit_s: float = TIMEOUT_S) -> None:
        async with asyncio.timeout(limit_s), self._changed:
            await self._changed.wait_for(lambda: self.count >= count)

    def stop(self) -> None:
        self._task.cancel()


class Inbox:
    """Frames received on a data channel, decoded; tests wait for one matching a predicate."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Condition()

    async def put(self, item: Any) -> None:
        async with self._changed:
            self.items.append(item)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Any], bool], limit_s: float = TIMEOUT_S) -> Any:
        """The first item (received before or after the call) that matches."""
        async with asyncio.timeout(limit_s), self._changed:
            await self._changed.wait_for(lambda: any(predicate(i) for i in self.items))
            return next(i for i in self.items if predicate(i))


def is_msg(scope: str, kind: str, **data: Any) -> Callable[[Any], bool]:
    """Predicate for a decoded envelope ``(scope, payload)`` of ``kind`` whose data contains ``data``."""

    def match(item: Any) -> bool:
        got_scope, payload = item
        if got_scope != scope or not isinstance(payload, dict) or payload.get("type") != kind:
            return False
        inner = payload.get("data") or {}
        return all(inner.get(k) == v for k, v in data.items())

    return match


class RuntimePeer:
    """One client peer connection to a runtime session."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        session: dict[str, Any],
        *,
        webcam_color: tuple[int, int, int] | None = None,
        control: bool = False,
    ) -> None:
        self.http = http
        self.session = session
        self.webcam_color = webcam_color
        self.use_control = control
        self.pc: RTCPeerConnection | None = None
        #: The received video tracks by capability name; received audio is read and dropped.
        self.sinks: dict[str, FrameSink] = {}
        self._audio: list[asyncio.Task[None]] = []
        self.messages = Inbox()
        self.control_messages = Inbox()
        self.connection_id: int | None = None
        self._request_ids = 0

    @property
    def video(self) -> FrameSink | None:
        """The ``main_video`` frames of the current peer connection."""
        return self.sinks.get(MAIN_VIDEO_TRACK)

    @property
    def sid(self) -> str:
        return str(self.session["session_id"])

    @property
    def transport(self) -> str:
        return f"/sessions/{self.sid}/transport/webrtc"

    async def create_connection(self) -> int:
        """Part B: register a connection (its outbound tracks start paused)."""
        response = await self.http.post(f"{self.transport}/connections", json={})
        assert response.status_code == 201, response.text
        self.connection_id = int(response.json()["connection_id"])
        return self.connection_id

    async def connect(self, *, method: str = "POST") -> None:
        """Build a fresh peer connection, offer it, poll the answer, wait for the data channel to open."""
        if self.pc is not None:
            await self.pc.close()
        self._stop_media()
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        data = pc.createDataChannel("data")
        opened = asyncio.Event()
        data.on("open", opened.set)
        data.on("message", lambda m: asyncio.ensure_future(self.messages.put(_decode(m))))
        self.data = data
        control_opened = asyncio.Event()
        if self.use_control:
            self.control = pc.createDataChannel("control")
            self.control.on("open", control_opened.set)
            # v0 frames decoded; v1 (binary) ones kept as bytes for the test to decode.
            self.control.on(
                "message",
                lambda m: asyncio.ensure_future(self.control_messages.put(json.loads(m) if isinstance(m, str) else m)),
            )
        tracks = [TrackSpec.parse(t) for t in self.session["capabilities"]["tracks"]]
        transceivers: dict[str, RTCRtpTransceiver] = {}
        for spec in tracks:
            transceiver = pc.addTransceiver(spec.kind, direction=spec.direction)
            if spec.direction == "sendonly" and spec.kind == "video" and self.webcam_color is not None:
                transceiver.sender.replaceTrack(SolidColorTrack(self.webcam_color))
            transceivers[spec.name] = transceiver

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            name = next((n for n, t in transceivers.items() if t.receiver.track is track), track.id)
            if track.kind == "video":
                self.sinks[name] = FrameSink(track)
            else:  # read, so that aiortc's unbounded receive queue stays empty
                self._audio.append(asyncio.get_running_loop().create_task(drain(track, lambda _f: None)))

        await pc.setLocalDescription(await pc.createOffer())
        mapping = [track_mapping_entry(str(transceivers[s.name].mid), s) for s in tracks]
        base = self.transport if self.connection_id is None else f"{self.transport}/connections/{self.connection_id}"
        response = await self.http.request(
            method, f"{base}/sdp_params", json=sdp_offer_body(pc.localDescription.sdp, mapping)
        )
        assert response.status_code == 202, response.text
        answer = await self.poll_answer(base)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        async with asyncio.timeout(TIMEOUT_S):
            await opened.wait()
            if self.use_control:
                await control_opened.wait()

    async def poll_answer(self, base: str) -> str:
        delay = 0.05
        async with asyncio.timeout(TIMEOUT_S):
            while True:
                response = await self.http.get(f"{base}/sdp_params")
                if response.status_code == 200:
                    return str(response.json()["sdp_answer"])
                assert response.status_code == 202, response.text
                await asyncio.sleep(delay)  # the answer is only observable by polling (as in the SDK)
                delay = min(delay * 2, 0.5)

    def send(self, scope: str, kind: str, data: Any = None) -> None:
        self.data.send(encode_envelope(scope, kind, {} if data is None else data))  # type: ignore[arg-type]

    def send_raw(self, frame: str | bytes) -> None:
        self.data.send(frame)

    def request(self, method: str, data: dict[str, Any]) -> int:
        self._request_ids += 1
        self.control.send(control_request(method, self._request_ids, data))
        return self._request_ids

    def notify(self, event: str, name: str) -> None:
        self.control.send(control_notification(event, name))  # type: ignore[arg-type]

    def _stop_media(self) -> None:
        for sink in self.sinks.values():
            sink.stop()
        self.sinks.clear()
        for task in self._audio:
            task.cancel()
        self._audio.clear()

    async def close(self) -> None:
        self._stop_media()
        if self.pc is not None:
            await self.pc.close()


def _decode(frame: str | bytes) -> tuple[str | None, Any]:
    envelope = decode_frame(frame)
    return envelope.scope, envelope.payload


def mean_rgb(image: np.ndarray) -> tuple[float, float, float]:
    r, g, b = image.reshape(-1, 3).mean(axis=0)
    return float(r), float(g), float(b)
