"""The browser leg: one aiortc peer connection per tab, between the page and this backend.

The page offers two video transceivers, the model's video (which it receives) and its camera (which it
sends), plus a ``relay`` data channel carrying a heartbeat. The peer holds hubs that outlive its peer
connections: ``model_encoded`` and ``model_video`` (the GPU session's video, encoded and decoded; the tab
sets their sources), and ``webcam`` and ``webcam_encoded`` (the page's camera, decoded and as the browser
encoded it; the tab's GPU session publishes it, forwarding the encoded frames when the GPU leg's codec
allows).
Each peer connection sends its own view, owned by the peer and ended with that connection, so a re-offer
(a page reload) closing the old connection leaves the hubs, and the next connection's video, untouched.

**Relay mode.** When the GPU's video codec is the one the page's connection negotiated (VP8 or H.264), the
connection sends a :class:`~reactor_web._encoded.PacketView` of ``model_encoded``: the GPU's frames as they
were encoded, never decoded here (``passthrough``). The page's keyframe requests (PLI/FIR), a new page
connection and a GPU reconnect each ask the GPU for a keyframe. Otherwise (another codec, or no encoded
source) it sends a view of ``model_video``, decoded and encoded again (``transcode``), and only then does
``model_video`` read the decoded frames, so the client's decoder runs only for it. Chosen per connection
and again on every source change; :attr:`BrowserPeer.relay_mode` says which. A tab that
stops beating is declared dead long before ICE consent would notice (field lesson 11); a tab whose relay
never comes up (a page closed while connecting, an offer that never arrived) is released too, after
``RELAY_CONNECT_TIMEOUT_S``: the watchdog runs from the peer's creation, so nothing holds a GPU session
for a page that is gone. A beat carrying
``"ws": false`` says the page's Reflex websocket is down: a page whose events connection stays away for
longer than the same timeout is released too (it could neither send commands nor see the session).
The ``relay`` channel also carries, when the backend ends the relay, a goodbye ``{"type": "bye", "reason":
"..."}`` (backend → page), so that the page says why and re-offers at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from reactor_web._aiortc import (
    PeerOptions,
    create_peer_connection,
    default_peer_options,
    guarded,
    negotiated_codec,
    on_keyframe_request,
    tap_encoded_frames,
)
from reactor_web._encoded import PASSTHROUGH_CODECS, EncodedHub, EncodedTap, SwitchedTrack
from reactor_web._media import FrameHub
from reactor_web.protocol.constants import DEFAULT_MAX_MESSAGE_SIZE, MAX_JSON_BODY_BYTES
from reactor_web.protocol.json_safe import JsonInputError, loads

logger = logging.getLogger(__name__)

HEARTBEAT_CHANNEL = "relay"
#: A tab whose heartbeat stops is released after this long (``REACTOR_HEARTBEAT_TIMEOUT_S``).
DEFAULT_HEARTBEAT_TIMEOUT_S = 5.0
#: How long a relay has, from the tab's first event or the page's latest offer, to open its ``relay`` channel
#: (ICE, DTLS and SCTP on a loaded machine); the heartbeat timeout applies once it is open.
RELAY_CONNECT_TIMEOUT_S = 15.0
#: How long closing waits for the goodbye to leave before the peer connection goes.
BYE_FLUSH_TIMEOUT_S = 0.5
# Host candidates hidden behind mDNS names cannot be resolved by the backend; the browser still
# reaches the backend's own candidates, and the backend learns its address as peer-reflexive.
_MDNS_CANDIDATE = re.compile(r"^a=candidate:.* [0-9a-f-]+\.local .*$\r?\n?", re.MULTILINE | re.IGNORECASE)


class OfferError(ValueError):
    """The page sent an offer the relay cannot use."""


@dataclass(frozen=True, slots=True)
class RelayOffer:
    """What the page sends: its SDP and which m-sections carry the model video and the camera."""

    sdp: str
    model_mid: str
    webcam_mid: str | None
    #: The page's number for this offer, echoed in the answer (None when absent or not a number/string).
    id: int | str | None = None

    @classmethod
    def parse(cls, raw: str | dict[str, Any]) -> RelayOffer:
        """Read the page's offer ``{"id"?, "sdp", "model_mid", "webcam_mid"?}`` (JSON text or its object).

        Raises :class:`OfferError` for anything else (the hardened decoder's refusals included)."""
        try:
            obj = loads(raw, max_bytes=MAX_JSON_BODY_BYTES, what="relay offer") if isinstance(raw, str) else raw
            sdp, model_mid = obj["sdp"], obj["model_mid"]
            webcam_mid, offer_id = obj.get("webcam_mid"), obj.get("id")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # JsonInputError is a ValueError
            raise OfferError(f"relay offer must be JSON with 'sdp' and 'model_mid': {exc}") from exc
        if not isinstance(sdp, str) or not sdp.startswith("v=0") or not isinstance(model_mid, str):
            raise OfferError("relay offer: 'sdp' is not an SDP document")
        if isinstance(offer_id, bool) or not isinstance(offer_id, int | str):
            offer_id = None
        return cls(sdp, model_mid, webcam_mid if isinstance(webcam_mid, str) else None, offer_id)


class BrowserPeer:
    """Owns the tab's browser-leg peer connection, its hubs (the model's video and the page's camera, each
    decoded and encoded), the camera's tap on the current connection, and the track its model sender owns.

    Created inside a running event loop (its watchdog starts at once): ``heartbeat_timeout_s`` (seconds) of
    silence on an open ``relay`` channel, or ``connect_timeout_s`` (seconds, at least the heartbeat timeout)
    without the channel opening, ends the relay with ``on_dead(reason)`` (or :meth:`close` without an owner)."""

    def __init__(
        self,
        *,
        ice_servers: list[RTCIceServer] | None = None,
        heartbeat_timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S,
        connect_timeout_s: float = RELAY_CONNECT_TIMEOUT_S,
        on_dead: Callable[[str], Awaitable[None]] | None = None,
        peer_options: PeerOptions | None = None,
    ) -> None:
        #: The GPU session's video as encoded there, forwarded in passthrough (source: :meth:`set_model_source`).
        self.model_encoded = EncodedHub("model_video")
        #: Decoded frames for a connection that transcodes; it reads its source (a view) only then.
        self.model_video = FrameHub("video", name="model_video")
        self._browser_codec: str | None = None
        self._mode = ""
        #: Called with the new :attr:`relay_mode` when it changes.
        self.on_relay_mode: Callable[[str], None] | None = None
        #: The page's camera; it reads the browser's track itself, so it stamps frames on the media clock. The
        #: browser's track is decoded only while a view of this hub is read.
        self.webcam = FrameHub("video", name="webcam", restamp=True)
        #: The page's camera as the browser encoded it (for the GPU session to forward in passthrough).
        self.webcam_encoded = EncodedHub("webcam")
        self._webcam_tap: EncodedTap | None = None
        self._ice_servers = ice_servers or []
        self._peer_options = peer_options or default_peer_options()
        self._heartbeat_timeout_s = heartbeat_timeout_s
        self._connect_timeout_s = max(connect_timeout_s, heartbeat_timeout_s)
        self._on_dead = on_dead
        self._pc: RTCPeerConnection | None = None
        self._model_track: SwitchedTrack | None = None  # what the current connection's model sender owns
        self._channel: Any = None  # the page's ``relay`` channel on the current peer connection
        self._last_beat = time.monotonic()
        #: When the page's beats started saying its Reflex websocket is down (None: it is up).
        self._events_away_since: float | None = None
        self._closed = False
        self.browser_stats: dict[str, Any] = {}
        self.on_browser_stats: Callable[[dict[str, Any]], None] | None = None
        self._watchdog: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            self._watch(), name="relay-heartbeat"
        )

    @property
    def connection_state(self) -> str:
        return self._pc.connectionState if self._pc is not None else "new"

    @property
    def relay_mode(self) -> str:
        """How the current connection sends the model's video: ``"passthrough"`` (the GPU's encoded frames),
        ``"transcode"`` (decoded and encoded again), or ``""`` without a connection."""
        return self._mode

    def set_model_source(self, pixels: MediaStreamTrack | None, encoded: EncodedHub | None) -> None:
        """The GPU session's video, decoded (``pixels``, read only while a connection transcodes) and encoded
        (``encoded``, forwarded in passthrough); None for both when the session has none. The caller owns both."""
        self.model_video.set_source(pixels)
        self.model_encoded.set_source(encoded)
        self._choose_mode()

    async def accept_offer(self, offer: RelayOffer) -> str:
        """Answer a (re-)offer from the page with a fresh peer connection; returns the answer SDP."""
        if self._closed:
            raise OfferError("this tab's relay is closed")
        await self._close_pc()
        pc = create_peer_connection(RTCConfiguration(iceServers=self._ice_servers), self._peer_options)
        self._pc = pc

        @pc.on("track")
        @guarded
        def on_track(track: Any) -> None:
            if track.kind == "video":
                self.webcam.set_source(track)

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
        return pc.localDescription.sdp

    async def _negotiate(self, pc: RTCPeerConnection, offer: RelayOffer) -> None:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=_MDNS_CANDIDATE.sub("", offer.sdp), type="offer"))
        model = next((t for t in pc.getTransceivers() if t.mid == offer.model_mid and t.kind == "video"), None)
        if model is None:
            raise OfferError(f"relay offer has no video m-section with mid {offer.model_mid!r}")
        model.direction = "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())
        self._browser_codec = negotiated_codec(model)
        self._tap_webcam(pc, offer.webcam_mid)
        self._model_track = SwitchedTrack()
        model.sender.replaceTrack(self._model_track)
        on_keyframe_request(model.sender, self._forward_keyframe_request)
        self._choose_mode()

    def _tap_webcam(self, pc: RTCPeerConnection, webcam_mid: str | None) -> None:
        """Take the page camera's encoded frames on this connection (its jitter buffer exists from the answer
        on); the camera is decoded only while ``webcam`` is read."""
        camera = next((t for t in pc.getTransceivers() if t.mid == webcam_mid and t.kind == "video"), None)
        if camera is None:
            return
        self.webcam_encoded.codec = negotiated_codec(camera)
        self.webcam_encoded.lost()  # another connection, another encoder: views restart at a keyframe
        self._webcam_tap = tap_encoded_frames(camera, self.webcam_encoded, self.webcam.demanded)

    def _choose_mode(self) -> None:
        """Send the current connection the GPU's encoded frames when its codec allows, else transcode."""
        track = self._model_track
        if track is None:
            return
        source, pixels = self.model_encoded.source, self.model_video.source
        if source is None and pixels is None and self._mode:
            mode = self._mode  # no GPU video now: keep the way it was sent until a source comes
        elif (source is not None or pixels is None) and self._passthrough_possible(source):
            mode = "passthrough"
        else:
            mode = "transcode"  # model_video reads its source only while this connection reads it
        if mode != self._mode or track.view is None:
            track.switch(self.model_encoded.subscribe() if mode == "passthrough" else self.model_video.subscribe())
            self._mode = mode
            logger.info(
                "relay: model video by %s (GPU %s, page %s)", mode, self.model_encoded.codec, self._browser_codec
            )
            if self.on_relay_mode is not None:
                self.on_relay_mode(mode)

    def _passthrough_possible(self, source: EncodedHub | None) -> bool:
        codec = source.codec if source is not None else self._browser_codec
        return codec is not None and codec == self._browser_codec and codec in PASSTHROUGH_CODECS

    def _forward_keyframe_request(self) -> None:
        # The page lost a frame (or joined): in passthrough only the GPU's encoder can make a keyframe.
        if self._mode == "passthrough":
            self.model_encoded.request_keyframe()

    def _on_heartbeat(self, message: str | bytes) -> None:
        self._last_beat = time.monotonic()
        events_up = True
        if isinstance(message, str) and message.startswith("{"):
            try:
                beat = loads(message, max_bytes=DEFAULT_MAX_MESSAGE_SIZE, what="heartbeat")
            except JsonInputError as exc:
                logger.warning("relay heartbeat: %s: %s", exc.code, exc.message)
                return
            # Only every other beat carries the page's getStats: a bare beat must not blank them.
            stats = beat.get("stats") if isinstance(beat, dict) else None
            if isinstance(stats, dict) and self.on_browser_stats is not None:
                self.on_browser_stats(stats)
            events_up = not (isinstance(beat, dict) and beat.get("ws") is False)
        if events_up:
            self._events_away_since = None
        elif self._events_away_since is None:
            self._events_away_since = self._last_beat

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
                if self._on_dead is not None:
                    await self._on_dead(reason)
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
        track, self._model_track = self._model_track, None
        self._browser_codec = None
        tap, self._webcam_tap = self._webcam_tap, None
        if tap is not None:
            tap.close()
            self.webcam_encoded.set_keyframe_requester(None)
        if self._mode:
            self._mode = ""
            if self.on_relay_mode is not None:
                self.on_relay_mode("")
        if track is not None:
            track.stop()  # a connection that never started sending would not stop it
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
        """Tell the page ``reason``, then close the peer connection and both hubs; idempotent."""
        if self._closed:
            return
        self._closed = True  # first: a second close() or a re-offer during the goodbye finds the relay closed
        await self._say_bye(reason)
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
        await self._close_pc()
        self.model_encoded.close()
        self.webcam_encoded.close()
        await self.model_video.close()
        await self.webcam.close()
