"""The playout-delay RTP header extension on the video our peers send (private; see ``_aiortc.PeerOptions``).

A browser chooses for itself how long to hold each received video frame before showing it: its jitter
estimate, plus a render delay, adapted as it goes. On a busy machine that estimate grows (CPU stalls look like
network jitter) and a receiver keeps it for its life; on the 2-core bench machine it reached ~300 ms. The
sender can bound it with libwebrtc's RTP header extension ``http://www.webrtc.org/experiments/rtp-hdrext/
playout-delay`` (Chromium's offers list it): a minimum and a maximum, 12 bits each in 10 ms units. 0/0 tells
Chromium to render each frame as soon as it is decoded, without smoothing.

aiortc 1.16 neither negotiates nor writes it. For a peer whose options ask for it:

* :func:`accept_offered` (after a remote offer is applied): each video m-section the offerer receives on and
  whose offer lists the extension gets it in our answer, under the offer's id; nothing is added otherwise, and
  never to an offer of ours;
* :func:`install` (when our answer is set, before the senders start): each video sender where it was
  negotiated writes it into every RTP packet it sends (4 bytes), so a receiver that missed the first packets
  still learns it; the other senders keep aiortc's own header-extension map.

``REACTOR_PLAYOUT_DELAY_MS`` (:func:`playout_delay_from_env`) sets it for the peers of a deployment.
"""

from __future__ import annotations

import os

from aiortc import rtp, sdp
from aiortc.rtcpeerconnection import RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpParameters
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

PLAYOUT_DELAY_URI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
#: The extension's unit, and the largest delay its 12-bit fields hold.
UNIT_MS = 10
MAX_MS = 0xFFF * UNIT_MS
#: The lowest latency: every frame shown as soon as it is decoded.
ZERO_PLAYOUT_DELAY = (0, 0)
ENV_VAR = "REACTOR_PLAYOUT_DELAY_MS"
#: The value of :data:`ENV_VAR` that sends no extension (the browser chooses its own delay).
BROWSER_CHOICE = "browser"
_MAP_ATTRIBUTE = "_RTCRtpSender__rtp_header_extensions_map"
#: The largest id of the one-byte header form (RFC 8285), the only form aiortc's packets use by default.
_ONE_BYTE_MAX_ID = 14


def validate_playout_delay(delay: tuple[int, int], name: str = "playout_delay") -> tuple[int, int]:
    """``delay`` (min, max in ms) checked: integers, multiples of 10, ``0 <= min <= max <= 40950``. Raises
    ``ValueError`` naming ``name``."""
    try:
        low, high = delay
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected (min_ms, max_ms), got {delay!r}") from None
    for value in (low, high):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MS or value % UNIT_MS:
            raise ValueError(f"{name}: {value!r} is not a multiple of {UNIT_MS} ms from 0 to {MAX_MS}")
    if low > high:
        raise ValueError(f"{name}: the minimum {low} ms is above the maximum {high} ms")
    return low, high


def encode_playout_delay(min_ms: int, max_ms: int) -> bytes:
    """The extension's 3 bytes: the minimum then the maximum, 12 bits each, in 10 ms units."""
    low, high = validate_playout_delay((min_ms, max_ms))
    return (low // UNIT_MS << 12 | high // UNIT_MS).to_bytes(3, "big")


def decode_playout_delay(data: bytes) -> tuple[int, int]:
    """(min_ms, max_ms) from the extension's 3 bytes; ``ValueError`` for any other length."""
    if len(data) != 3:
        raise ValueError(f"a playout delay is 3 bytes, not {len(data)}")
    value = int.from_bytes(data, "big")
    return (value >> 12) * UNIT_MS, (value & 0xFFF) * UNIT_MS


def playout_delay_from_env(environ: dict[str, str] | None = None) -> tuple[int, int] | None:
    """The playout delay :data:`ENV_VAR` asks for: unset or blank is 0/0, ``MIN,MAX`` in ms (e.g. ``0,200``),
    ``browser`` none (None). Raises ``ValueError`` naming the variable."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if not raw:
        return ZERO_PLAYOUT_DELAY
    if raw.lower() == BROWSER_CHOICE:
        return None
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{ENV_VAR}: expected MIN,MAX in milliseconds (e.g. 0,0) or {BROWSER_CHOICE}, got {raw!r}")
    return validate_playout_delay((int(parts[0]), int(parts[1])), ENV_VAR)


def accept_offered(pc: RTCPeerConnection, offer_sdp: str) -> None:
    """Negotiate the extension in ``pc``'s coming answer for each video m-section of the (already applied)
    remote offer ``offer_sdp`` that lists it and on which the offerer receives, under the offer's id."""
    by_mid = {t.mid: t for t in pc.getTransceivers()}
    for media in sdp.SessionDescription.parse(offer_sdp).media:
        if media.kind != "video" or media.direction in ("sendonly", "inactive"):  # None is sendrecv
            continue
        offered = next((x for x in media.rtp.headerExtensions if x.uri == PLAYOUT_DELAY_URI), None)
        transceiver = by_mid.get(media.rtp.muxId)
        # An id above 14 would switch the sender's packets to the two-byte header form, which a receiver takes
        # only after agreeing to it (a=extmap-allow-mixed, which aiortc does not negotiate).
        if offered is None or offered.id > _ONE_BYTE_MAX_ID or transceiver is None:
            continue
        if all(x.uri != PLAYOUT_DELAY_URI for x in transceiver._headerExtensions):
            transceiver._headerExtensions.append(offered)


def install(transceiver: RTCRtpTransceiver, delay: tuple[int, int]) -> None:
    """Make the sender of a video transceiver whose answer negotiates the extension (before it starts) write
    ``delay`` into every RTP packet it sends; other senders keep aiortc's own map. Idempotent."""
    sender = transceiver.sender
    if any(x.uri == PLAYOUT_DELAY_URI for x in transceiver._headerExtensions) and not isinstance(
        getattr(sender, _MAP_ATTRIBUTE, None), _PlayoutDelayMap
    ):
        setattr(sender, _MAP_ATTRIBUTE, _PlayoutDelayMap(encode_playout_delay(*delay)))


class _PlayoutDelayMap(rtp.HeaderExtensionsMap):
    """aiortc's header-extension map of one sender, plus the playout delay when it was negotiated."""

    def __init__(self, payload: bytes) -> None:
        super().__init__()
        self._payload = payload
        self._id: int | None = None

    def configure(self, parameters: RTCRtpParameters) -> None:
        super().configure(parameters)
        self._id = next((x.id for x in parameters.headerExtensions if x.uri == PLAYOUT_DELAY_URI), None)

    def set(self, values: rtp.HeaderExtensions) -> tuple[int, bytes]:
        profile, data = super().set(values)
        if self._id is None:
            return profile, data
        extensions = rtp.unpack_header_extensions(profile, data) if data else []
        return rtp.pack_header_extensions([*extensions, (self._id, self._payload)])
