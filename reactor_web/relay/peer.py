"""The browser leg: one aiortc peer connection per tab, between the page and this backend.

The page offers one m-section per model track it wants (``RelayOffer.tracks``: the model's outputs it
receives, its camera and microphone it sends, video or audio, named as the model's capabilities name
them), plus a ``relay`` data channel carrying a heartbeat. The peer holds hubs that outlive its peer
connections, one per track name: for each model output (:meth:`BrowserPeer.set_source`) the GPU
session's frames, decoded and (video) as encoded there; for each page input (:meth:`BrowserPeer.input`)
the page's frames, decoded and (video) as the browser encoded them, for the tab's GPU session to
publish. Each peer connection sends its own views, owned by the peer and ended with that connection, so
a re-offer (a page reload, or a page that now wants another track) closing the old connection leaves
the hubs, and the next connection's media, untouched.

**Relay mode.** For each output, when the GPU's codec is the one the page's connection negotiated for it
(VP8 or H.264 video, Opus audio: :func:`~reactor_web._encoded.relay_mode`, the rule the client's publications
follow too), the connection sends a view of its encoded hub: the GPU's frames as they were encoded, never decoded
here (``passthrough``). For video, the
page's keyframe requests (PLI/FIR), a new page connection and a GPU reconnect each ask the GPU for a
keyframe. Otherwise (another codec, or no encoded source) it sends a view of the decoded hub, encoded again
(``transcode``), and only then is that hub's source read, so the client's decoder runs only for it. Chosen
per track and connection, and again on every source change; :attr:`BrowserPeer.relay_modes` says which for
video. An audio view, encoded or decoded, holds at most :data:`~reactor_web._media.AUDIO_MAX_FRAMES` frames,
so it cannot fall further behind than that. The page's microphone is relayed decoded.

The peer reports to its owner (the tab) through the :class:`PeerListener` it is created with.

A tab that stops beating is declared dead long before ICE consent would notice (field lesson 11); a tab
whose relay never comes up (a page closed while connecting, an offer that never arrived) is released too,
after ``RELAY_CONNECT_TIMEOUT_S``: the watchdog runs from the peer's creation, so nothing holds a GPU
session for a page that is gone. A beat carrying ``"ws": false`` says the page's Reflex websocket is down:
a page whose events connection stays away for longer than the same timeout is released too (it could
neither send commands nor see the session). The ``relay`` channel also carries, when the backend ends the
relay, a goodbye ``{"type": "bye", "reason": "..."}`` (backend → page), so that the page says why and
re-offers at once.

**Two clocks.** The backend answers every beat ``{"t": page ms}`` with ``{"type": "clock", "t", "at": backend
ms}``, from which the page estimates its clock's offset (``reactor_web/relay/timeline.py``); the page reports a
connect's moments as ``{"type": "connect_marks", ...}`` (:class:`~reactor_web.relay.timeline.PageMarks`), and
:meth:`BrowserPeer.time_next_frame` says when the relay hands an output's next frame to the page's sender.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

from reactor_web._aiortc import (
    PeerOptions,
    create_peer_connection,
    default_peer_options,
    guarded,
    negotiated_codec,
    on_keyframe_request,
    tap_encoded_frames,
)
from reactor_web._encoded import EncodedTap, RelayMode, SwitchedTrack, relay_mode
from reactor_web._media import DECODED, ENCODED, EncodedHub, FrameHub, MediaHub
from reactor_web.protocol.constants import DEFAULT_MAX_MESSAGE_SIZE, MAX_JSON_BODY_BYTES, TrackDirection, TrackKind
from reactor_web.protocol.json_safe import JsonInputError, loads
from reactor_web.relay.timeline import PageMarks, finite

logger = logging.getLogger(__name__)

HEARTBEAT_CHANNEL = "relay"
#: A tab whose heartbeat stops is released after this long (``REACTOR_HEARTBEAT_TIMEOUT_S``).
DEFAULT_HEARTBEAT_TIMEOUT_S = 5.0
#: How long a relay has, from the tab's first event or the page's latest offer, to open its ``relay`` channel
#: (ICE, DTLS and SCTP on a loaded machine); the heartbeat timeout applies once it is open.
RELAY_CONNECT_TIMEOUT_S = 15.0
#: How long closing waits for the goodbye to leave before the peer connection goes.
BYE_FLUSH_TIMEOUT_S = 0.5
#: The most m-sections one page offer may name (each costs the backend a sender or a receiver).
MAX_RELAY_TRACKS = 16
# Host candidates hidden behind mDNS names cannot be resolved by the backend; the browser still
# reaches the backend's own candidates, and the backend learns its address as peer-reflexive.
_MDNS_CANDIDATE = re.compile(r"^a=candidate:.* [0-9a-f-]+\.local .*$\r?\n?", re.MULTILINE | re.IGNORECASE)
_TRACK_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class OfferError(ValueError):
    """The page sent an offer the relay cannot use."""


@dataclass(frozen=True, slots=True)
class RelayTrack:
    """One m-section of the page's offer: model track ``name``, ``kind`` ``"video"`` or ``"audio"``, and
    ``direction`` as the model's capabilities say it, from the receiving client's side: ``"recvonly"`` (the
    page receives the model's output) or ``"sendonly"`` (the page sends its camera or microphone); ``mid``
    is the m-section's id in the page's SDP."""

    name: str
    kind: TrackKind
    direction: TrackDirection
    mid: str

    @classmethod
    def parse(cls, raw: Any) -> RelayTrack:
        """Read ``{"name", "kind", "direction", "mid"}``; raises :class:`OfferError` for anything else."""
        if not isinstance(raw, dict):
            raise OfferError("relay offer: each of 'tracks' must be an object")
        name, kind, direction, mid = (raw.get(k) for k in ("name", "kind", "direction", "mid"))
        if not isinstance(name, str) or not _TRACK_NAME.match(name):
            raise OfferError("relay offer: a track name must be 1-64 letters, digits or _.:-")
        if kind not in ("video", "audio"):
            raise OfferError(f"relay offer: track {name!r} has kind {str(kind)[:20]!r}, not 'video' or 'audio'")
        if direction not in ("recvonly", "sendonly"):
            raise OfferError(f"relay offer: track {name!r} has direction {str(direction)[:20]!r}")
        if not isinstance(mid, str) or not _MID.match(mid):
            raise OfferError(f"relay offer: track {name!r} has no usable 'mid'")
        return cls(name, kind, direction, mid)


@dataclass(frozen=True, slots=True)
class RelayOffer:
    """What the page sends: its SDP and which model track each of its m-sections carries."""

    sdp: str
    tracks: tuple[RelayTrack, ...]
    #: The page's number for this offer, echoed in the answer (None when absent or not a number/string).
    id: int | str | None = None

    @classmethod
    def parse(cls, raw: str | dict[str, Any]) -> RelayOffer:
        """Read the page's offer ``{"id"?, "sdp", "tracks": [RelayTrack...]}`` (JSON text or its object).

        Raises :class:`OfferError` for anything else (the hardened decoder's refusals included): at most
        :data:`MAX_RELAY_TRACKS` tracks, no name or mid twice."""
        try:
            obj = loads(raw, max_bytes=MAX_JSON_BODY_BYTES, what="relay offer") if isinstance(raw, str) else raw
            sdp, offer_id = obj["sdp"], obj.get("id")
            listed = obj["tracks"]
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # JsonInputError is a ValueError
            raise OfferError(f"relay offer must be JSON with 'sdp' and 'tracks': {exc}") from exc
        if not isinstance(sdp, str) or not sdp.startswith("v=0"):
            raise OfferError("relay offer: 'sdp' is not an SDP document")
        if not isinstance(listed, list) or len(listed) > MAX_RELAY_TRACKS:
            raise OfferError(f"relay offer: 'tracks' must be a list of at most {MAX_RELAY_TRACKS}")
        tracks = tuple(RelayTrack.parse(t) for t in listed)
        for what, values in (("track", [t.name for t in tracks]), ("mid", [t.mid for t in tracks])):
            if len(set(values)) != len(values):
                raise OfferError(f"relay offer: a {what} is named twice")
        if isinstance(offer_id, bool) or not isinstance(offer_id, int | str):
            offer_id = None
        return cls(sdp, tracks, offer_id)


class RelayHubs:
    """The hubs of one relayed track, outliving the page's connections: ``frames`` decoded, and ``encoded``
    (every model output; a page input's video; None for the microphone).

    For a model output (the tab sets their sources), ``frames`` is read only while a connection transcodes, and
    ``encoded`` holds the GPU's frames as encoded there, forwarded in passthrough. For a page input (camera,
    microphone), ``frames`` reads the browser's track itself (so it stamps frames on the media clock:
    ``restamp``) and decodes its video only while a view of it is read; ``encoded`` holds the video as the
    browser encoded it, for the GPU session to forward in passthrough."""

    def __init__(self, name: str, kind: TrackKind, *, restamp: bool, encoded: bool) -> None:
        self.name = name
        self.kind = kind
        self.frames: FrameHub = MediaHub(kind, DECODED, name=name, restamp=restamp)
        self.encoded: EncodedHub | None = MediaHub(kind, ENCODED, name=name) if encoded else None

    async def close(self) -> None:
        if self.encoded is not None:
            await self.encoded.close()
        await self.frames.close()


class PeerListener(Protocol):
    """What a :class:`BrowserPeer` tells its owner (the tab)."""

    def on_relay_mode(self, mode: str) -> None:
        """:attr:`BrowserPeer.relay_mode` changed to ``mode``."""

    def on_inputs_offered(self, inputs: dict[str, RelayHubs]) -> None:
        """The page's latest offer sends ``inputs`` (:attr:`BrowserPeer.offered_inputs`)."""

    def on_browser_stats(self, stats: dict[str, Any]) -> None:
        """The page's ``getStats`` summary, as a beat carried it."""

    def on_page_marks(self, marks: PageMarks) -> None:
        """What the page reports of a connect (its ``connect_marks``)."""

    def on_frame_sent(self, name: str, at: float) -> None:
        """The next frame of output ``name`` went to the page's sender at ``at`` (ms since the epoch), once per
        :meth:`BrowserPeer.time_next_frame`."""

    async def on_dead(self, reason: str) -> None:
        """The page is gone (``reason``): the owner ends the relay (:meth:`BrowserPeer.close`)."""


class _Sender:
    """What the current connection sends on one output's m-section: it owns ``track``, and is the track's
    listener (for :meth:`BrowserPeer.time_next_frame`)."""

    __slots__ = ("codec", "mode", "name", "output", "peer", "track")

    def __init__(self, peer: BrowserPeer, name: str, output: RelayHubs, codec: str | None) -> None:
        self.peer, self.name, self.output, self.codec = peer, name, output, codec
        self.mode = RelayMode.NONE
        self.track = SwitchedTrack(output.kind, self)

    def next_frame_sent(self, track: SwitchedTrack) -> None:
        self.peer._frame_sent(self)


class BrowserPeer:
    """Owns the tab's browser-leg peer connection, the hubs of every track it relays (model outputs, page
    inputs), the taps of the page's video on the current connection, and the tracks its senders own.

    Created inside a running event loop (its watchdog starts at once): ``heartbeat_timeout_s`` (seconds) of
    silence on an open ``relay`` channel, or ``connect_timeout_s`` (seconds, at least the heartbeat timeout)
    without the channel opening, ends the relay with ``listener.on_dead(reason)`` (or :meth:`close` without a
    listener, which then hears nothing)."""

    def __init__(
        self,
        *,
        ice_servers: list[RTCIceServer] | None = None,
        heartbeat_timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S,
        connect_timeout_s: float = RELAY_CONNECT_TIMEOUT_S,
        listener: PeerListener | None = None,
        peer_options: PeerOptions | None = None,
    ) -> None:
        # By (name, kind): a model may reuse a name for the other kind, and a hub in use is never swapped out.
        self._outputs: dict[tuple[str, TrackKind], RelayHubs] = {}
        self._inputs: dict[tuple[str, TrackKind], RelayHubs] = {}
        self._listener = listener
        self._senders: dict[str, _Sender] = {}
        self._taps: list[EncodedTap] = []
        self._offered_inputs: dict[str, RelayHubs] = {}
        self._mode: str = RelayMode.NONE
        self._ice_servers = ice_servers or []
        self._peer_options = peer_options or default_peer_options()
        self._heartbeat_timeout_s = heartbeat_timeout_s
        self._connect_timeout_s = max(connect_timeout_s, heartbeat_timeout_s)
        self._pc: RTCPeerConnection | None = None
        self._channel: Any = None  # the page's ``relay`` channel on the current peer connection
        self._last_beat = time.monotonic()
        #: When the page's beats started saying its Reflex websocket is down (None: it is up).
        self._events_away_since: float | None = None
        self._closed = False
        self.browser_stats: dict[str, Any] = {}
        self._timed: set[str] = set()  # outputs whose next sent frame is timed
        self._watchdog: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            self._watch(), name="relay-heartbeat"
        )

    @property
    def connection_state(self) -> str:
        return self._pc.connectionState if self._pc is not None else "new"

    @property
    def relay_modes(self) -> dict[str, RelayMode]:
        """How the current connection sends each model video output, by track name: ``"passthrough"`` (the
        GPU's encoded frames) or ``"transcode"`` (decoded and encoded again); empty without a connection."""
        return {name: s.mode for name, s in self._senders.items() if s.output.kind == "video" and s.mode}

    @property
    def relay_mode(self) -> str:
        """:attr:`relay_modes` in one word when every video output is sent the same way (``"passthrough"`` or
        ``"transcode"``), else ``"main_video: passthrough, edges_video: transcode"``; ``""`` without any."""
        return self._mode

    @property
    def offered_inputs(self) -> dict[str, RelayHubs]:
        """The inputs (camera, microphone) the page's current connection sends, by name (a copy)."""
        return dict(self._offered_inputs)

    def output(self, name: str, kind: TrackKind) -> RelayHubs:
        """The hubs of model output ``name`` of ``kind`` (created on first use, kept for the peer's life)."""
        return self._hubs(self._outputs, name, kind, restamp=False, encoded=True)

    def input(self, name: str, kind: TrackKind) -> RelayHubs:
        """The hubs of page input ``name`` of ``kind`` (created on first use, kept for the peer's life)."""
        # The microphone is relayed decoded (its encoded frames are not tapped).
        return self._hubs(self._inputs, name, kind, restamp=True, encoded=kind == "video")

    @staticmethod
    def _hubs(
        table: dict[tuple[str, TrackKind], RelayHubs], name: str, kind: TrackKind, *, restamp: bool, encoded: bool
    ) -> RelayHubs:
        hubs = table.get((name, kind))
        if hubs is None:
            hubs = table[name, kind] = RelayHubs(name, kind, restamp=restamp, encoded=encoded)
        return hubs

    def set_source(
        self, name: str, kind: TrackKind, pixels: FrameHub | MediaStreamTrack | None, encoded: EncodedHub | None = None
    ) -> None:
        """The GPU session's output ``name``: decoded (``pixels``, a hub or a track, read only while a connection
        transcodes; see :meth:`~reactor_web._media.MediaHub.set_source`) and encoded (``encoded``, forwarded in
        passthrough); None for both when the session has none now. The caller owns both."""
        output = self.output(name, kind)
        output.frames.set_source(pixels)
        if output.encoded is not None:
            output.encoded.set_source(encoded)
        self._choose_modes()

    def time_next_frame(self, name: str) -> None:
        """Tell the listener (``on_frame_sent``) when the next frame of output ``name`` goes to the page's sender
        (on this connection, or the page's next one)."""
        self._timed.add(name)
        sender = self._senders.get(name)
        if sender is not None:
            sender.track.time_next_frame()

    def _frame_sent(self, sender: _Sender) -> None:
        name = sender.name
        if name in self._timed and self._senders.get(name) is sender:
            self._timed.discard(name)
            if self._listener is not None:
                self._listener.on_frame_sent(name, time.time() * 1000)

    async def accept_offer(self, offer: RelayOffer) -> str:
        """Answer a (re-)offer from the page with a fresh peer connection; returns the answer SDP.

        Raises :class:`OfferError` when the offer cannot be used (its SDP, or a track naming no m-section of
        its kind)."""
        if self._closed:
            raise OfferError("this tab's relay is closed")
        await self._close_pc()
        pc = create_peer_connection(RTCConfiguration(iceServers=self._ice_servers), self._peer_options)
        self._pc = pc

        @pc.on("datachannel")
        @guarded
        def on_datachannel(channel: Any) -> None:
            if channel.label == HEARTBEAT_CHANNEL and pc is self._pc:
                self._channel = channel
                self._last_beat = time.monotonic()  # open: the page beats from now on
                channel.on("message", guarded(self._on_heartbeat))

        @pc.on("connectionstatechange")
        @guarded
        async def on_state() -> None:
            logger.info("relay peer %s", pc.connectionState)

        try:
            await self._negotiate(pc, offer)
        except OfferError:
            await self._close_pc()
            raise
        except Exception as exc:  # aiortc raises ValueError and others on malformed SDP, at any step
            await self._close_pc()
            raise OfferError(f"malformed relay offer: {exc}") from exc
        self._last_beat = time.monotonic()  # the new connection's time to open its channel starts now
        self._events_away_since = None
        if self._listener is not None:
            self._listener.on_inputs_offered(self.offered_inputs)
        return pc.localDescription.sdp

    async def _negotiate(self, pc: RTCPeerConnection, offer: RelayOffer) -> None:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=_MDNS_CANDIDATE.sub("", offer.sdp), type="offer"))
        by_mid = {t.mid: t for t in pc.getTransceivers()}
        placed: list[tuple[RelayTrack, RTCRtpTransceiver]] = []
        for track in offer.tracks:
            transceiver = by_mid.get(track.mid)
            if transceiver is None or transceiver.kind != track.kind:
                raise OfferError(f"relay offer has no {track.kind} m-section with mid {track.mid!r} ({track.name})")
            if track.direction == "recvonly":
                transceiver.direction = "sendonly"
            placed.append((track, transceiver))
        await pc.setLocalDescription(await pc.createAnswer())
        for track, transceiver in placed:
            if track.direction == "recvonly":
                self._send_output(track, transceiver)
            else:
                self._receive_input(track, transceiver)
        self._offered_inputs = {t.name: self.input(t.name, t.kind) for t, _ in placed if t.direction == "sendonly"}
        self._choose_modes()

    def _send_output(self, track: RelayTrack, transceiver: RTCRtpTransceiver) -> None:
        output = self.output(track.name, track.kind)
        sender = self._senders[track.name] = _Sender(self, track.name, output, negotiated_codec(transceiver))
        transceiver.sender.replaceTrack(sender.track)
        if track.name in self._timed:
            sender.track.time_next_frame()
        if track.kind == "video":
            on_keyframe_request(transceiver.sender, lambda: self._forward_keyframe_request(track.name))

    def _receive_input(self, track: RelayTrack, transceiver: RTCRtpTransceiver) -> None:
        """Read the page's input on this connection; its video is tapped encoded (the jitter buffer exists from
        the answer on) and decoded only while its ``frames`` are read."""
        found = self.input(track.name, track.kind)
        found.frames.set_source(transceiver.receiver.track)
        if found.encoded is not None:
            found.encoded.codec = negotiated_codec(transceiver)
            found.encoded.lost()  # another connection, another encoder: views restart at a keyframe
            tap = tap_encoded_frames(transceiver, found.encoded, found.frames.demanded)
            if tap is not None:
                self._taps.append(tap)

    def _choose_modes(self) -> None:
        """Send each output the GPU's encoded frames when the connection's codec allows, else transcode."""
        for sender in self._senders.values():
            output, encoded = sender.output, sender.output.encoded
            if encoded is None:
                continue  # every output has one (``output``); only the microphone's input hubs lack it
            source, pixels = encoded.source, output.frames.source
            if source is None and pixels is None and sender.mode:
                mode = sender.mode  # no GPU video now: keep the way it was sent until a source comes
            elif source is not None or pixels is None:
                # Without any source yet, the page's codec stands for the GPU's: the GPU leg negotiates the same.
                mode = relay_mode(encoded.codec if source is not None else sender.codec, sender.codec)
            else:
                mode = RelayMode.TRANSCODE  # frames reads its source only while this connection reads it
            if mode != sender.mode or sender.track.view is None:
                passthrough = mode is RelayMode.PASSTHROUGH
                sender.track.switch(encoded.subscribe() if passthrough else output.frames.subscribe())
                sender.mode = mode
                logger.info("relay: %s by %s (GPU %s, page %s)", output.name, mode, encoded.codec, sender.codec)
        self._report_mode()

    def _report_mode(self) -> None:
        modes = self.relay_modes
        distinct = set(modes.values())
        mode = distinct.pop() if len(distinct) == 1 else ", ".join(f"{n}: {m}" for n, m in sorted(modes.items()))
        if mode != self._mode:
            self._mode = mode
            if self._listener is not None:
                self._listener.on_relay_mode(mode)

    def _forward_keyframe_request(self, name: str) -> None:
        # The page lost a frame (or joined): in passthrough only the GPU's encoder can make a keyframe.
        sender = self._senders.get(name)
        if sender is not None and sender.mode is RelayMode.PASSTHROUGH and sender.output.encoded is not None:
            sender.output.encoded.request_keyframe()

    def _on_heartbeat(self, message: str | bytes) -> None:
        self._last_beat = time.monotonic()
        beat: Any = None
        if isinstance(message, str) and message.startswith("{"):
            try:
                beat = loads(message, max_bytes=DEFAULT_MAX_MESSAGE_SIZE, what="heartbeat")
            except JsonInputError as exc:
                logger.warning("relay heartbeat: %s: %s", exc.code, exc.message)
                return
        if not isinstance(beat, dict):
            self._events_away_since = None
            return
        if beat.get("type") == "connect_marks":
            self._on_marks(beat)  # not a beat: it says nothing of the page's websocket
            return
        if beat.get("ws") is not False:
            self._events_away_since = None
        elif self._events_away_since is None:
            self._events_away_since = self._last_beat
        # Only every other beat carries the page's getStats: a bare beat must not blank them.
        stats = beat.get("stats")
        if isinstance(stats, dict) and self._listener is not None:
            self._listener.on_browser_stats(stats)
        self._answer_clock(beat.get("t"))

    def _answer_clock(self, sent_at: Any) -> None:
        """Answer a beat sent at ``sent_at`` (the page's ms) with this clock's time, for the page's offset
        estimate; a beat without a time is not answered."""
        channel = self._channel
        if finite(sent_at) is not None and channel is not None and channel.readyState == "open":
            channel.send(json.dumps({"type": "clock", "t": sent_at, "at": time.time() * 1000}))

    def _on_marks(self, raw: dict[str, Any]) -> None:
        marks = PageMarks.parse(raw)
        if marks is None:
            logger.warning("relay: malformed connect_marks from the page ignored")
        elif self._listener is not None:
            self._listener.on_page_marks(marks)

    async def _watch(self) -> None:
        period = self._heartbeat_timeout_s / 4
        while not self._closed:
            slept_from = time.monotonic()
            await asyncio.sleep(period)
            if time.monotonic() - slept_from > 2 * period:
                # This event loop itself stalled (a busy backend): beats that arrived meanwhile are still
                # queued behind this check, so look again once they have been read.
                continue
            reason = self._why_dead(time.monotonic())
            if reason is not None:
                self._watchdog = None
                logger.info("relay: %s", reason)
                if self._listener is not None:
                    await self._listener.on_dead(reason)
                else:
                    await self.close(reason)
                return

    def _why_dead(self, now: float) -> str | None:
        """Why the page counts as gone at ``now`` (monotonic seconds), or None while it is alive."""
        if self._channel is None:
            if now - self._last_beat > self._connect_timeout_s:
                return f"released after {self._connect_timeout_s:g} s without the page's relay connecting"
            return None
        if now - self._last_beat > self._heartbeat_timeout_s:
            return f"released after {self._heartbeat_timeout_s:g} s without a heartbeat from the page"
        away = self._events_away_since
        if away is not None and now - away > self._heartbeat_timeout_s:
            return (
                f"released after {self._heartbeat_timeout_s:g} s without the page's connection to the backend "
                "(its websocket)"
            )
        return None

    async def _close_pc(self) -> None:
        pc, self._pc, self._channel = self._pc, None, None
        senders, self._senders = self._senders, {}
        taps, self._taps = self._taps, []
        self._offered_inputs = {}
        for tap in taps:
            tap.close()
        for found in self._inputs.values():
            if found.encoded is not None:
                found.encoded.set_keyframe_source(None)
        self._report_mode()
        for sender in senders.values():
            sender.track.stop()  # a connection that never started sending would not stop it
        if pc is not None:
            await pc.close()

    async def _say_bye(self, reason: str) -> None:
        """Tell the page why its relay ends, so that it says so and re-offers without waiting for ICE to fail."""
        channel = self._channel
        if channel is None or channel.readyState != "open":
            return
        try:
            channel.send(json.dumps({"type": "bye", "reason": reason}))
            if channel.bufferedAmount > channel.bufferedAmountLowThreshold:
                sent = asyncio.Event()
                channel.once("bufferedamountlow", sent.set)
                async with asyncio.timeout(BYE_FLUSH_TIMEOUT_S):
                    await sent.wait()
        except Exception as exc:  # a closing channel: the page will notice the peer going instead
            logger.debug("relay goodbye not sent: %r", exc)

    async def close(self, reason: str = "the relay closed") -> None:
        """Tell the page ``reason``, then close the peer connection and every hub; idempotent."""
        if self._closed:
            return
        self._closed = True  # first: a second close() or a re-offer during the goodbye finds the relay closed
        await self._say_bye(reason)
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
        await self._close_pc()
        for hubs in [*self._outputs.values(), *self._inputs.values()]:
            await hubs.close()
