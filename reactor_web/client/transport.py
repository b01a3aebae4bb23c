"""The aiortc side of a connection: peer connection, data channels, ping, track mapping (Part A §6-§7).

Frames go through the transport's :class:`~reactor_web.protocol.codec.Codec` (v0 JSON or v1 protobuf): the
transport sends and receives the message vocabulary, matches answers to requests by ``request_id`` (a bounded
wait, then ``TimeoutError``) and hands every decoded message to the Reactor.

One :class:`PeerTransport` lives for one peer connection; a reconnect builds a new one. It owns the
peer connection, the ping task, the received-track feeds and the views it sends published media from,
and :meth:`PeerTransport.close` ends them all. It never holds a caller's track: a sender gets its own
view of the caller's :class:`FrameHub`, so the sender's end (which stops its track) cannot end the
caller's. It reports to its owner (the Reactor) through the :class:`TransportListener` it is created with.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import re
import time
from dataclasses import replace
from typing import Any, Protocol

from aiortc import RTCConfiguration, RTCDataChannel, RTCRtpTransceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from reactor_web._aiortc import (
    PeerOptions,
    create_peer_connection,
    guarded,
    negotiated_codec,
    on_keyframe_request,
    rtc_ice_servers,
    tap_encoded_frames,
)
from reactor_web._encoded import RelayMode, SwitchedTrack, relay_mode
from reactor_web._media import EncodedHub, FrameHub
from reactor_web.client.tracks import ReceivedTrack, TrackFeed
from reactor_web.protocol.capabilities import TrackSpec
from reactor_web.protocol.codec import Codec, Encoded, WireError
from reactor_web.protocol.codec_v0 import V0
from reactor_web.protocol.constants import (
    CONTROL_CHANNEL_LABEL,
    DATA_CHANNEL_LABEL,
    DEFAULT_MAX_MESSAGE_SIZE,
    PING_INTERVAL_S,
)
from reactor_web.protocol.messages import (
    Channel,
    ClientMessage,
    Opaque,
    Ping,
    PublishTrack,
    Received,
    Refusal,
    ServerMessage,
    TrackVerb,
    TrackVerbName,
)
from reactor_web.protocol.schemas import IceServer, track_mapping_entry

logger = logging.getLogger(__name__)

#: How long a ``publish_track`` request on the control channel may wait for its response.
CONTROL_REQUEST_TIMEOUT_S = 5.0
#: What aiortc assumes when the remote SDP has no ``a=max-message-size`` (RFC 8841's default).
_SDP_DEFAULT_MAX_MESSAGE_SIZE = 65_536
_MAX_MESSAGE_SIZE_RE = re.compile(r"^a=max-message-size:(\d+)", re.MULTILINE)


class TransportListener(Protocol):
    """What a transport tells its owner; none of it after :meth:`PeerTransport.close`."""

    def on_ready(self, transport: PeerTransport) -> None:
        """The peer connection is connected and its channels are open (Part A §6.2)."""

    def on_connection_lost(self, transport: PeerTransport, state: str) -> None:
        """The peer connection went ``disconnected``, ``closed`` or ``failed`` (``state``)."""

    def on_message(self, transport: PeerTransport, received: Received) -> None:
        """A decoded runtime → client message, answers included (a correlated refusal names its command)."""

    def on_track(self, transport: PeerTransport, name: str, track: ReceivedTrack) -> None:
        """A track was received, named as the capabilities name it (Part A §6.5)."""

    def on_bad_frame(self, transport: PeerTransport, channel: Channel, error: WireError) -> None:
        """A frame the codec could not decode arrived on ``channel``; the connection goes on."""


class ConnectionClosed(ConnectionError):
    """The transport closed while a request waited for its answer."""


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class Published(SwitchedTrack):
    """What a sendonly transceiver sends for a publication: a view of the caller's hub, or of the same
    media's encoded frames when :func:`~reactor_web._encoded.relay_mode` says the transceiver's codec takes
    them as they are (``passthrough``)."""

    def __init__(self, source: FrameHub, encoded: EncodedHub | None, codec: str | None) -> None:
        super().__init__(source.kind)
        self.source, self.encoded = source, encoded
        self.mode = relay_mode(encoded.codec, codec) if encoded is not None else RelayMode.TRANSCODE
        self.switch(encoded.subscribe() if encoded is not None and self.passthrough else source.subscribe())

    @property
    def passthrough(self) -> bool:
        """Whether the encoded frames are sent as they are."""
        return self.mode is RelayMode.PASSTHROUGH


class PeerTransport:
    """A peer connection built exactly as the JS SDK builds it, plus the 3.x ``control`` channel."""

    def __init__(
        self,
        tracks: tuple[TrackSpec, ...],
        ice_servers: list[IceServer],
        listener: TransportListener,
        *,
        control: bool,
        peer_options: PeerOptions | None = None,
        reoffer: bool = False,
        codec: Codec = V0,
    ) -> None:
        """``reoffer``: this peer connection replaces an earlier one of the same runtime connection (a
        reconnect), which may still hold claims on published tracks. ``codec``: the wire version spoken on
        both channels from the first frame on (the runtime sniffs it, Part C §C.2)."""
        self.tracks = tracks
        self.codec = codec
        self._listener = listener
        config = RTCConfiguration(iceServers=rtc_ice_servers(ice_servers))
        self.pc = create_peer_connection(config, peer_options or PeerOptions())
        # One transceiver per capability track, in capabilities order, direction verbatim.
        self.transceivers: dict[str, RTCRtpTransceiver] = {
            t.name: self.pc.addTransceiver(t.kind, direction=t.direction) for t in tracks
        }
        # The data channel, with no init (label "data", ordered, reliable, DCEP): Part A §6.1. The JS SDK creates
        # it first; aiortc writes its m-section last either way, and created after the transceivers it shares
        # their bundled transport (created first, aiortc's BUNDLE handling would stop that transport).
        self.data: RTCDataChannel = self.pc.createDataChannel(DATA_CHANNEL_LABEL)
        self.control: RTCDataChannel | None = self.pc.createDataChannel(CONTROL_CHANNEL_LABEL) if control else None
        self.feeds: dict[str, TrackFeed] = {}
        for name, transceiver in self.transceivers.items():
            if transceiver.direction != "recvonly" and transceiver.kind == "video":
                on_keyframe_request(transceiver.sender, functools.partial(self._keyframe_requested, name))
        #: The view each published name sends from; this transport owns (and stops) these views.
        self.published: dict[str, Published] = {}
        self.ready = False
        #: When the transport became ready (monotonic), for the connection timings.
        self.ready_at: float | None = None
        self._closed = False
        self._pc_connected = False
        self._ping_task: asyncio.Task[None] | None = None
        self._request_ids = itertools.count(1)
        # Names whose claim an earlier peer connection of the same runtime connection may still hold.
        self._stale_claims: set[str] = {t.name for t in tracks if t.direction == "sendonly"} if reoffer else set()
        # Keyed by str(request_id): reactor-runtime 3.10 echoes the id as a string. Each holds what it asked
        # (a command's name, a method), to name it in a refusal that only carries the id.
        self._pending: dict[str, tuple[asyncio.Future[Any], str]] = {}

        self.pc.on("connectionstatechange", guarded(self._on_connection_state))
        self.pc.on("track", guarded(self._on_track))
        self.pc.on("datachannel", guarded(self._on_remote_channel))
        self._watch_data_channel(self.data)
        if self.control is not None:
            self._watch_control_channel(self.control)

    # -- signalling ----------------------------------------------------------------------------------

    async def create_offer(self) -> tuple[str, list[dict[str, str]]]:
        """The offer SDP (aiortc gathers every candidate inside setLocalDescription) and track_mapping."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        mapping = []
        for spec in self.tracks:
            mid = self.transceivers[spec.name].mid
            if mid is None:
                raise RuntimeError(f"Cannot build track mapping: transceiver {spec.name!r} has no MID")
            mapping.append(track_mapping_entry(mid, spec))
        return self.pc.localDescription.sdp, mapping

    async def apply_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    # -- sending -------------------------------------------------------------------------------------

    @property
    def max_message_size(self) -> int:
        """The largest frame the remote accepts: min(ours, its ``a=max-message-size``), as
        ``pc.sctp.maxMessageSize`` is in a browser; 262144 before the answer is known."""
        remote = self.pc.remoteDescription
        if remote is None:
            return DEFAULT_MAX_MESSAGE_SIZE
        match = _MAX_MESSAGE_SIZE_RE.search(remote.sdp)
        size = int(match.group(1)) if match else _SDP_DEFAULT_MAX_MESSAGE_SIZE
        return DEFAULT_MAX_MESSAGE_SIZE if size == 0 else min(size, DEFAULT_MAX_MESSAGE_SIZE)

    def encode(self, message: ClientMessage, request_id: str = "") -> Encoded | None:
        """``message`` in this transport's codec; raises :class:`WireError` (``ENCODE_FAILED``: a value the wire
        cannot carry; ``MESSAGE_TOO_LARGE``: over :attr:`max_message_size`) before anything is sent."""
        encoded = self.codec.encode(message, request_id)
        if encoded is not None and encoded.size > self.max_message_size:
            limit = self.max_message_size
            raise WireError("MESSAGE_TOO_LARGE", f"{encoded.size} bytes exceeds the {limit}-byte limit")
        return encoded

    def send(self, encoded: Encoded) -> None:
        """Send an encoded frame on its channel; raises RuntimeError when that channel is not open."""
        channel = self.data if encoded.channel == "data" else self.control
        if channel is None or channel.readyState != "open":
            state = "missing" if channel is None else channel.readyState
            raise RuntimeError(f"{encoded.channel} channel is {state}")
        channel.send(encoded.payload)

    def next_request_id(self) -> str:
        """A fresh request id (digits: v0 writes them as integers; unique on this transport)."""
        return str(next(self._request_ids))

    async def request(
        self, message: ClientMessage, what: str, timeout_s: float, *, request_id: str | None = None
    ) -> ServerMessage:
        """Send ``message`` as a request and return its answer: a reply, an ``Ack``, a grant, or a
        :class:`Refusal` naming ``what`` (a command's answer also reaches the listener; a control request's only
        its requester). Raises :class:`WireError` when it cannot be encoded, RuntimeError when its channel is not
        open, TimeoutError when no answer comes within ``timeout_s`` seconds, :class:`ConnectionClosed` when the
        transport closes first."""
        request_id = request_id or self.next_request_id()
        encoded = self.encode(message, request_id)
        if encoded is None:
            raise WireError("ENCODE_FAILED", f"{what}: this wire version has no frame for it")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ServerMessage] = loop.create_future()
        self._pending[request_id] = (future, what)
        # A timer on the future rather than asyncio.wait_for, whose task machinery cost more than the whole v1
        # codec per command (bench/command_codecs.py).
        timer = loop.call_later(timeout_s, _expire, future)
        try:
            self.send(encoded)
            return await future
        finally:
            timer.cancel()
            self._pending.pop(request_id, None)

    async def publish(self, name: str, source: FrameHub, encoded: EncodedHub | None = None) -> None:
        """Send a view of ``source`` on the named sendonly transceiver (no renegotiation); on 3.x also claim
        the slot. With ``encoded`` (the same media as encoded frames) in the codec this transceiver
        negotiated, those frames are sent as they are instead (passthrough), and the runtime's keyframe
        requests are passed on to their encoder. A no-op when ``source`` is already attached there; another
        hub's view is replaced. Raises ValueError for a name that cannot be published, RuntimeError for a
        refused claim."""
        transceiver = self.transceivers.get(name)
        if transceiver is None:
            raise ValueError(f'no transceiver for track "{name}" (was it declared in capabilities?)')
        if transceiver.direction == "recvonly":
            raise ValueError(f'track "{name}" is recvonly: it is received, not published')
        previous = self.published.get(name)
        if (
            previous is not None
            and previous.source is source
            and previous.encoded is encoded
            and previous.readyState == "live"
        ):
            return
        view = Published(source, encoded, negotiated_codec(transceiver))
        transceiver.sender.replaceTrack(view)
        self.published[name] = view
        if previous is not None:
            previous.stop()
        if self.control is None:
            return
        if name in self._stale_claims:
            # reactor-runtime 3.10 keeps a connection's claim across a re-offer and refuses a second one from
            # the same connection ("publish_refused"): release it first (only its holder can).
            self._stale_claims.discard(name)
            self._notify("unpublish_track", name)
        try:
            answer = await self.request(PublishTrack(name), "publish_track", CONTROL_REQUEST_TIMEOUT_S)
            if isinstance(answer, Refusal):
                raise RuntimeError(f"{answer.code}: {answer.message}".rstrip(": "))
        except TimeoutError:
            # reactor-runtime 3.10 feeds inbound media to the model whether or not the claim is answered
            # (docs/interop-notes.md): an unanswered claim is no reason to stop sending.
            logger.warning("publish_track %r: no answer on the control channel; keeping the track", name)
        except BaseException:
            if self.published.get(name) is view:
                transceiver.sender.replaceTrack(None)
                del self.published[name]
            view.stop()
            raise

    def _keyframe_requested(self, name: str) -> None:
        # The runtime lost (or needs) a picture of a track we forward encoded: only its encoder can make one.
        published = self.published.get(name)
        if published is not None and published.passthrough and published.encoded is not None:
            published.encoded.request_keyframe()

    def unpublish(self, name: str) -> None:
        """Detach a published track; a no-op for a track that is not published."""
        view = self.published.pop(name, None)
        if view is None:
            return
        self.transceivers[name].sender.replaceTrack(None)
        view.stop()
        self._notify("unpublish_track", name)

    # -- teardown ------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the ping, detach and end the published views, end the received tracks, close the channels
        and the peer connection. Fires no listener callbacks."""
        if self._closed:
            return
        self._closed = True
        self.ready = False
        self._stop_ping()
        for future, _what in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionClosed("the connection closed before the answer came"))
        self._pending.clear()
        for name, view in self.published.items():
            self.transceivers[name].sender.replaceTrack(None)
            view.stop()
        self.published.clear()
        await asyncio.gather(*(feed.close() for feed in self.feeds.values()))
        self.feeds.clear()
        self.data.close()
        if self.control is not None:
            self.control.close()
        await self.pc.close()

    # -- peer connection events ----------------------------------------------------------------------

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        if self._closed:
            return
        logger.debug("peer connection %s", state)
        if state == "connected":
            self._pc_connected = True
            self._check_ready()
        elif state in ("disconnected", "closed", "failed"):
            self.ready = False
            self._listener.on_connection_lost(self, state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        """Name a received track by transceiver identity, else its mid, else ``unknown-<id>`` (Part A §6.5)."""
        transceiver = next((t for t in self.pc.getTransceivers() if t.receiver.track is track), None)
        name = next((n for n, t in self.transceivers.items() if t is transceiver), None)
        if name is None:
            name = (transceiver.mid if transceiver is not None else None) or f"unknown-{track.id}"
        if self._closed:
            return
        codec = negotiated_codec(transceiver) if transceiver is not None else None
        feed = TrackFeed(name, track, codec)
        if transceiver is not None:
            # Decoded only while someone reads the pixels; the encoded frames go to feed.encoded regardless.
            feed.tap = tap_encoded_frames(transceiver, feed.encoded, feed.demanded)
        self.feeds[name] = feed
        self._listener.on_track(self, name, feed.track)

    def _on_remote_channel(self, channel: RTCDataChannel) -> None:
        """A channel the runtime opened: listen on it; a non-control one becomes the outgoing data channel,
        as in the JS SDK (Part A §6.6)."""
        if channel.label == CONTROL_CHANNEL_LABEL:
            channel.on("message", guarded(self._on_control_message))
            return
        self.data = channel
        channel.on("message", guarded(self._on_data_message))

    def _watch_data_channel(self, channel: RTCDataChannel) -> None:
        channel.on("open", guarded(self._on_data_open))
        channel.on("close", guarded(self._stop_ping))
        channel.on("message", guarded(self._on_data_message))

    def _watch_control_channel(self, channel: RTCDataChannel) -> None:
        channel.on("open", guarded(self._check_ready))
        channel.on("message", guarded(self._on_control_message))

    def _on_data_open(self) -> None:
        if self._closed:
            return
        self._ping_task = asyncio.ensure_future(self._ping())
        self._check_ready()

    def _check_ready(self) -> None:
        """Ready = peer connection connected and our channels open (Part A §6.2). On 3.x the runtime holds
        recvonly tracks paused until the client resumes them (Part B §B.2), so resume them first."""
        channels_open = self.data.readyState == "open" and (self.control is None or self.control.readyState == "open")
        if self._closed or self.ready or not (self._pc_connected and channels_open):
            return
        self.ready = True
        self.ready_at = time.monotonic()
        for spec in self.tracks:
            if spec.direction == "recvonly":
                self._notify("resume_track", spec.name)
        self._listener.on_ready(self)

    def _on_data_message(self, message: str | bytes) -> None:
        self._receive("data", message)

    def _on_control_message(self, message: str | bytes) -> None:
        self._receive("control", message)

    def _receive(self, channel: Channel, frame: str | bytes) -> None:
        """Decode a frame, hand it to the listener, then settle the request it answers (if one waits)."""
        if self._closed:
            return
        try:
            received = self.codec.decode_server(frame, channel, max_bytes=DEFAULT_MAX_MESSAGE_SIZE)
        except WireError as exc:
            logger.warning("%s channel: %s: %s", channel, exc.code, exc.message)
            self._listener.on_bad_frame(self, channel, exc)
            return
        if isinstance(received.message, Opaque) and channel == "control":
            logger.debug("control channel: %r", received.message.value)
            return
        pending = self._pending.pop(received.request_id, None) if received.request_id else None
        if pending is not None and isinstance(received.message, Refusal):
            received = replace(received, message=replace(received.message, command=pending[1]))
        elif received.request_id and pending is None:
            # A second answer to one id, or one to an id never sent (or already given up on).
            logger.warning("%s channel: an answer to request %r, which nothing waits for", channel, received.request_id)
        if pending is None or channel == "data":
            # A command's answer is also the model's message (or refusal) for everyone listening; a control
            # request's answer (a publish claim) is its requester's alone, who reports what it means.
            self._listener.on_message(self, received)
        if pending is not None and not pending[0].done():
            pending[0].set_result(received.message)

    # -- ping and control ----------------------------------------------------------------------------

    async def _ping(self) -> None:
        """Runtime ``ping`` every 5 s while the channel is open, first one 5 s after open (Part A §7.2; in v1 on
        ``control``)."""
        frame = self.codec.encode(Ping())
        while frame is not None:
            await asyncio.sleep(PING_INTERVAL_S)
            with contextlib.suppress(RuntimeError):  # a channel closing: the close handler stops the ping
                self.send(frame)

    def _stop_ping(self) -> None:
        if self._ping_task is not None:
            self._ping_task.cancel()
            self._ping_task = None

    def _notify(self, verb: TrackVerbName, name: str) -> None:
        """A track verb on ``control`` (when there is one and it is open); never raises."""
        if self.control is None or self.control.readyState != "open":
            return
        frame = self.codec.encode(TrackVerb(verb, name))
        if frame is not None:
            self.send(frame)
