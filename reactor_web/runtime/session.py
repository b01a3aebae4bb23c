"""One runtime session: its model, its peer connection(s), its liveness watchdog and its uploads.

A session holds one or more *connections* (Part B §B.1 connection ids; the flat Part A routes use a
default one). Each connection owns at most one RTCPeerConnection at a time: a new offer (POST or PUT
``sdp_params``) closes the old peer connection and negotiates a fresh one, keeping the session id.

A session ends on ``stop_session``, when a peer connection fails, or when its liveness deadline passes:
``connect_timeout_s`` after creation or after an offer until a data channel opens, then
``ping_timeout_s`` after the latest runtime ``ping``. A peer connection the client closes (a
recoverable disconnect) does not end the session at once: the client may re-offer with PUT, and the
watchdog releases the session if it doesn't.

Media: every recvonly capability track of a connection gets its own output track (``tracks.py``; the video
ones share the session's :class:`~reactor_web.runtime.tracks.FrameClock`, so the model renders once per
frame for all of them), and every sendonly one is read into the model by name (``webcam``, ``microphone``)
when that connection may feed it (it holds the publisher slot, or it is the flat flow's and no registered
connection holds it). While a microphone feeds the model, the session broadcasts the model's
``state_update`` (with ``mic_level`` and ``mic_pitch_hz``) when what it hears changes (looked at every
:data:`MIC_REPORT_S`), and once more when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import uuid
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import av
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from av.frame import Frame

from reactor_web._aiortc import create_peer_connection, guarded, rtc_ice_servers
from reactor_web._media import drain
from reactor_web.protocol.capabilities import Capabilities, ProtocolError
from reactor_web.protocol.codec import Codec
from reactor_web.protocol.constants import (
    CONTROL_CHANNEL_LABEL,
    DATA_CHANNEL_LABEL,
    MAIN_AUDIO_TRACK,
    MICROPHONE_TRACK,
    WEBCAM_TRACK,
)
from reactor_web.protocol.messages import Channel, ModelMessage, ServerMessage, SessionEnded
from reactor_web.protocol.schemas import parse_sdp_offer
from reactor_web.runtime.channels import ChannelHandler, flush, send_message
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.model import EDGES_VIDEO_TRACK, DemoModel
from reactor_web.runtime.tracks import FrameClock, ModelAudioTrack, ModelVideoTrack, OutboundTrack, RenderedFrame

log = logging.getLogger(__name__)

#: While a microphone feeds the model, its level and pitch are looked at this often (seconds), and broadcast
#: (``state_update``) when they changed.
MIC_REPORT_S = 0.5


class SignallingError(Exception):
    """A client mistake in signalling; becomes a 4xx JSON error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Upload:
    presigned_id: str
    name: str
    size: int
    mime_type: str
    data: bytes | None = None


@dataclass
class Connection:
    """A connection slot; ``registered`` ones (Part B connections flow) start their outbound tracks paused and
    speak the wire version of their first frame (``codec``, None until then; the flat flow's speak v0)."""

    cid: int
    registered: bool
    pc: RTCPeerConnection | None = None
    answer: str | None = None
    error: SignallingError | None = None
    outbound: dict[str, OutboundTrack] = field(default_factory=dict)
    data_channels: list[RTCDataChannel] = field(default_factory=list)
    control_channels: list[RTCDataChannel] = field(default_factory=list)
    codec: Codec | None = None
    #: The latest v1 request ids it used (a repeat is refused; ``channels.REMEMBERED_REQUEST_IDS``).
    request_ids: OrderedDict[str, None] = field(default_factory=OrderedDict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def channel(self, label: Channel) -> RTCDataChannel | None:
        """The newest open channel labelled ``label``, or None."""
        channels = self.data_channels if label == "data" else self.control_channels
        return next((c for c in reversed(channels) if c.readyState == "open"), None)


class SessionListener(Protocol):
    """What a :class:`RuntimeSession` tells its owner (the session manager)."""

    def on_session_closed(self, session: RuntimeSession) -> None:
        """``session`` started closing (once): no client may find it any more."""


class RuntimeSession:
    """A model instance and everything that connects clients to it; ``listener`` hears when it closes."""

    def __init__(
        self,
        config: RuntimeConfig,
        capabilities: Capabilities,
        schema: dict[str, Any],
        listener: SessionListener,
    ) -> None:
        self.id = str(uuid.uuid4())
        self.config = config
        self.capabilities = capabilities
        self.schema = schema
        self.model = DemoModel(config.width, config.height, config.fps, stamp_frames=config.stamp_frames)
        self.frames = FrameClock(self.model, config.fps)
        self._mic_reporter: asyncio.Task[None] | None = None
        self.closed = False
        self.connections: dict[int, Connection] = {}
        self.uploads: dict[str, Upload] = {}
        #: Client-published track name → id of the connection holding its publisher slot.
        self.publishers: dict[str, int] = {}
        self._cids = itertools.count(1)
        self._flat_cid: int | None = None
        self._listener = listener
        self._channels = ChannelHandler(self)
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + config.connect_timeout_s
        self._deadline_reason = f"no data channel within {config.connect_timeout_s:g} s"
        self._rearm = asyncio.Event()
        self._watchdog = loop.create_task(self._watch())
        self._closer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ connections

    def new_connection(self, *, registered: bool) -> Connection:
        conn = Connection(next(self._cids), registered)
        self.connections[conn.cid] = conn
        return conn

    def flat_connection(self, *, create: bool) -> Connection | None:
        """The connection the flat Part A routes (``/transport/webrtc/sdp_params``) talk to."""
        if self._flat_cid is None or self._flat_cid not in self.connections:
            if not create:
                return None
            self._flat_cid = self.new_connection(registered=False).cid
        return self.connections[self._flat_cid]

    async def offer(self, conn: Connection, body: Any) -> None:
        """Apply an SDP offer to ``conn``: replace its peer connection and start building the answer.

        The remote description and track mapping are applied here so that a malformed offer is
        refused synchronously; the answer (which waits for ICE gathering) is built in the background.
        """
        try:
            sdp, mapping = parse_sdp_offer(body)
        except ProtocolError as exc:
            raise SignallingError(400, "INVALID_SDP_OFFER", str(exc)) from None
        async with conn.lock:
            if self.closed:
                raise SignallingError(404, "SESSION_NOT_FOUND", "the session has ended")
            await self._reset_connection(conn)
            servers = rtc_ice_servers(self.config.ice_servers)
            # An explicit (possibly empty) list: aiortc would otherwise gather against a public STUN server.
            pc = create_peer_connection(RTCConfiguration(iceServers=servers), self.config.peer_options)
            conn.pc = pc
            self._watch_peer(conn, pc)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
                if not pc.getTransceivers() and pc.sctp is None:
                    raise SignallingError(400, "INVALID_SDP_OFFER", "the SDP offer has no media or data section")
                self._attach_tracks(conn, pc, mapping)
            except SignallingError:
                await self._reset_connection(conn)
                raise
            except Exception as exc:  # aiortc raises assorted errors on bad SDP; all are client mistakes
                await self._reset_connection(conn)
                log.warning("session %s: refused SDP offer: %r", self.id, exc)
                raise SignallingError(400, "INVALID_SDP_OFFER", f"cannot apply SDP offer: {exc}") from None
            self.spawn(conn, self._answer(conn, pc))
            self._allow_connect()

    async def _answer(self, conn: Connection, pc: RTCPeerConnection) -> None:
        try:
            await pc.setLocalDescription(await pc.createAnswer())  # gathers every candidate (non-trickle)
        except Exception as exc:
            log.warning("session %s connection %d: cannot answer: %r", self.id, conn.cid, exc)
            if conn.pc is pc:
                conn.error = SignallingError(400, "NEGOTIATION_FAILED", f"cannot build an SDP answer: {exc}")
            return
        if conn.pc is pc:
            conn.answer = pc.localDescription.sdp

    def _attach_tracks(self, conn: Connection, pc: RTCPeerConnection, mapping: list[dict[str, str]]) -> None:
        by_mid = {t.mid: t for t in pc.getTransceivers() if t.mid is not None}
        used: set[str] = set()
        for entry in mapping or self._mapping_by_order(pc):
            spec = self.capabilities.track(entry["name"])
            if spec is None:
                raise SignallingError(400, "INVALID_TRACK_MAPPING", f"unknown track {entry['name']!r}")
            if spec.direction != entry["direction"] or spec.kind != entry["kind"]:
                raise SignallingError(
                    400, "INVALID_TRACK_MAPPING", f"track {spec.name!r} is {spec.kind} {spec.direction}"
                )
            transceiver = by_mid.get(entry["mid"])
            if transceiver is None or transceiver.kind != spec.kind:
                raise SignallingError(
                    400, "INVALID_TRACK_MAPPING", f"no {spec.kind} m-section with mid {entry['mid']!r} in the offer"
                )
            used.add(entry["mid"])
            if spec.direction == "recvonly":
                # Client receives: send the model's output on exactly this m-section (addTrack could pick another).
                track = self._output(spec.name, paused=conn.registered)
                transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendonly"
                conn.outbound[spec.name] = track
            elif transceiver.receiver.track is not None:
                sink = functools.partial(self._on_frame, conn, spec.name)
                self.spawn(conn, drain(transceiver.receiver.track, sink))
        for mid, transceiver in by_mid.items():
            if mid not in used and transceiver.receiver.track is not None:
                # Unmapped media is still read (and dropped) so aiortc's receive queue cannot grow.
                self.spawn(conn, drain(transceiver.receiver.track, lambda _f: None))

    def _output(self, name: str, *, paused: bool) -> OutboundTrack:
        """A new output track for the recvonly capability track ``name`` (its kind was checked)."""
        if name == MAIN_AUDIO_TRACK:
            return ModelAudioTrack(self.model, paused=paused)
        return ModelVideoTrack(self.frames, RenderedFrame.edges if name == EDGES_VIDEO_TRACK else None, paused=paused)

    def _mapping_by_order(self, pc: RTCPeerConnection) -> list[dict[str, str]]:
        """Without a ``track_mapping``, pair each capability track with the first m-section left of its kind
        and direction (one the client sends on, with a remote track, for a sendonly one); a track with no
        such m-section is not mapped."""
        transceivers: list[RTCRtpTransceiver] = list(pc.getTransceivers())
        mapping = []
        for spec in self.capabilities.tracks:
            client_sends = spec.direction == "sendonly"
            match = next(
                (
                    t
                    for t in transceivers
                    if t.kind == spec.kind and t.mid is not None and (t.receiver.track is not None) == client_sends
                ),
                None,
            )
            if match is None:
                continue
            transceivers.remove(match)
            mapping.append({"mid": str(match.mid), "name": spec.name, "kind": spec.kind, "direction": spec.direction})
        return mapping

    def _may_feed(self, conn: Connection, name: str) -> bool:
        """Whether ``conn``'s media on input ``name`` reaches the model: it holds the publisher slot, or it is
        the flat flow's (which has no control channel to claim one) and no registered connection holds it."""
        holder = self.publishers.get(name)
        return holder == conn.cid or (holder is None and not conn.registered)

    def _on_frame(self, conn: Connection, name: str, frame: Frame) -> None:
        if not self._may_feed(conn, name):
            return
        if name == WEBCAM_TRACK and isinstance(frame, av.VideoFrame):
            self.model.set_webcam_frame(frame)
        elif name == MICROPHONE_TRACK and isinstance(frame, av.AudioFrame) and self.model.feed_microphone(frame):
            self._hearing()

    def _hearing(self) -> None:
        """A microphone frame fed the model: report what it hears for as long as it keeps coming."""
        if self._mic_reporter is None and not self.closed:
            self._mic_reporter = asyncio.get_running_loop().create_task(self._report_microphone())

    async def _report_microphone(self) -> None:
        """Every :data:`MIC_REPORT_S` while a microphone feeds the model, broadcast the model's state when what it
        hears changed perceptibly (:func:`_heard`: a steady tone is reported once, not twice a second), and once
        more (``mic_level`` 0) after it stopped: unpublished, or silent for ``audio.MIC_STALE_S``."""
        last: tuple[float, float | None] | None = None
        try:
            while True:
                await asyncio.sleep(MIC_REPORT_S)  # the reporting cadence
                hearing = self.model.microphone_active
                message = self.model.state_message()
                heard = _heard(message.data)
                if heard != last or not hearing:
                    last = heard
                    self.broadcast(ModelMessage(message.type, message.data))
                if not hearing:
                    return
        finally:
            self._mic_reporter = None

    def _watch_peer(self, conn: Connection, pc: RTCPeerConnection) -> None:
        @pc.on("datachannel")
        @guarded
        def on_datachannel(channel: RTCDataChannel) -> None:
            if conn.pc is not pc:
                return
            if channel.label in (DATA_CHANNEL_LABEL, CONTROL_CHANNEL_LABEL):
                label: Channel = "data" if channel.label == DATA_CHANNEL_LABEL else "control"
                channels = conn.data_channels if label == "data" else conn.control_channels
                channels.append(channel)
                if label == "data":
                    self.alive()
                channel.on("close", lambda: channels.remove(channel) if channel in channels else None)
                handle = self._channels.on_frame
                channel.on("message", guarded(lambda m: handle(conn, channel, label, m), f"{label} frame"))
            else:
                log.info("session %s: ignoring data channel %r", self.id, channel.label)

        @pc.on("connectionstatechange")
        @guarded
        async def on_state() -> None:
            if conn.pc is not pc:
                return  # a peer connection we replaced or closed ourselves
            state = pc.connectionState
            log.info("session %s connection %d: peer connection %s", self.id, conn.cid, state)
            if state == "failed":
                self.close_soon("peer connection failed")
            elif state == "closed":
                # The client hung up; it may come back with a PUT offer before the watchdog fires.
                async with conn.lock:
                    if conn.pc is pc:
                        await self._reset_connection(conn)

    # --------------------------------------------------------------- messages

    def broadcast(self, message: ServerMessage) -> None:
        """Send ``message`` to every connection of the session, each in its own wire version."""
        for conn in self.connections.values():
            send_message(conn, message)

    def release_publisher(self, conn: Connection, name: str) -> None:
        """``conn`` stops publishing ``name`` (unpublished, or its peer connection went away): if it held the
        slot, the slot is free and the model forgets that input (back to its own scene; silence)."""
        if self.publishers.get(name) == conn.cid:
            del self.publishers[name]
            if name == WEBCAM_TRACK:
                self.model.clear_webcam()
            elif name == MICROPHONE_TRACK:
                self.model.clear_microphone()

    # --------------------------------------------------------------- liveness

    def alive(self) -> None:
        """A data channel opened or a runtime ``ping`` arrived: the next one is due within ``ping_timeout_s``."""
        deadline = asyncio.get_running_loop().time() + self.config.ping_timeout_s
        if deadline < self._deadline:
            self._rearm.set()  # the watchdog sleeps until the old, later deadline: wake it
        self._deadline = deadline
        self._deadline_reason = f"no ping for {self.config.ping_timeout_s:g} s"

    def _allow_connect(self) -> None:
        """A new offer gets ``connect_timeout_s`` to open its data channel (never shortening the deadline)."""
        deadline = asyncio.get_running_loop().time() + self.config.connect_timeout_s
        if deadline >= self._deadline:
            self._deadline = deadline
            self._deadline_reason = f"no data channel within {self.config.connect_timeout_s:g} s of the offer"

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        # Pings only push the deadline later (checked when the sleep ends); an earlier one re-arms the sleep.
        while (delay := self._deadline - loop.time()) > 0:
            self._rearm.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._rearm.wait()
        await self.close(self._deadline_reason)

    # ---------------------------------------------------------------- closing

    def close_soon(self, reason: str) -> None:
        """Close from an event callback, which must not await the teardown of its own emitter."""
        if self._closer is None and not self.closed:
            self._closer = asyncio.get_running_loop().create_task(self.close(reason))

    async def close(self, reason: str = "stopped") -> None:
        """Close every peer connection, cancel every task, drop uploads. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._listener.on_session_closed(self)  # unregister first: a client told "sessionEnded" must not still find it
        log.info("session %s stopped: %s", self.id, reason)
        self.broadcast(SessionEnded(reason))
        await flush([c for conn in self.connections.values() for c in (*conn.data_channels, *conn.control_channels)])
        for conn in list(self.connections.values()):
            await self._reset_connection(conn)
        self.connections.clear()
        if self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        if self._mic_reporter is not None:
            self._mic_reporter.cancel()
        self.frames.close()
        self.uploads.clear()
        self.model.clear_webcam()
        self.model.clear_microphone()

    def spawn(self, conn: Connection, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a task owned by ``conn``: cancelled when the connection resets or the session ends."""
        task = asyncio.get_running_loop().create_task(coro)
        conn.tasks.add(task)
        task.add_done_callback(conn.tasks.discard)

    async def _reset_connection(self, conn: Connection) -> None:
        """Close ``conn``'s peer connection and cancel its tasks; the connection id stays usable."""
        pc, conn.pc = conn.pc, None
        conn.answer = conn.error = None
        current = asyncio.current_task()
        tasks = [t for t in conn.tasks if t is not current]
        for task in tasks:
            task.cancel()
        for track in conn.outbound.values():
            track.stop()
        conn.outbound.clear()
        conn.data_channels.clear()
        conn.control_channels.clear()
        conn.codec = None  # a new peer connection says again which version it speaks
        conn.request_ids.clear()
        for name in [n for n, cid in self.publishers.items() if cid == conn.cid]:
            self.release_publisher(conn, name)
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _heard(state: dict[str, Any]) -> tuple[float, float | None]:
    """What the microphone report says, to the precision a listener notices: the level to 0.01, the pitch to 10 Hz."""
    pitch = state.get("mic_pitch_hz")
    return round(float(state.get("mic_level") or 0.0), 2), None if pitch is None else round(float(pitch) / 10) * 10
