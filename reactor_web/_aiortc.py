"""How reactor-web configures the aiortc peer connections it creates, one peer at a time (private).

Nothing here changes aiortc or aioice for other code in the process. Every peer connection the client, the
relay and the runtime create comes from :func:`create_peer_connection`, whose :class:`PeerOptions` are:

* ``low_latency_jitter_buffer`` (default on): each video receiver of *this* peer gets
  :class:`~reactor_web.jitter.MarkerBitJitterBuffer` instead of aiortc's stock buffer, which holds every
  frame one frame interval (see ``jitter.py``), and each audio receiver the same class with aiortc's audio
  behaviour, so that its frames can be tapped too;
* ``host_addresses`` (default: every interface, as aioice does): the local addresses *this* peer offers
  as ICE host candidates (``REACTOR_ICE_HOST_ADDRESSES``, see ``ice.py``);
* ``playout_delay`` (default 0/0: show each frame as soon as it is decoded): what *this* peer's video senders
  ask the receiving browser for with the playout-delay RTP header extension, negotiated only when the remote
  offer lists it (a browser page's does; aiortc's never), None for nothing (``REACTOR_PLAYOUT_DELAY_MS``, see
  ``_playout.py``).

With the low-latency buffer, :func:`tap_encoded_frames` takes a receiver's encoded frames for passthrough
(``_encoded.py``), :func:`negotiated_codec` tells which codec a transceiver carries, and
:func:`on_keyframe_request` passes a sender's keyframe requests on to whoever encodes what it forwards.

They are applied when the peer sets its local description: by then every transceiver and ICE transport
exists, no candidate has been gathered, no media has arrived and no sender has started (the playout delay
joins the answer's header extensions earlier, when the remote offer is applied). The same step makes the
peer's SCTP transport deliver a text frame that is not UTF-8 as a binary frame (aiortc would raise inside its
receive loop and stop the peer); the channel handlers answer binary frames with an error.

:func:`guarded` wraps the callbacks we register on aiortc objects so that no exception reaches aiortc.

:func:`pin_process_host_addresses` is the explicit, process-wide opt-in for code that creates its own
peers (the tests' raw peers, benchmarks): it replaces aioice's host-address function until undone.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aioice.ice
from aioice import TransportPolicy
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtcsctptransport import WEBRTC_BINARY, WEBRTC_STRING

from reactor_web import _playout
from reactor_web._encoded import EncodedTap
from reactor_web._media import EncodedHub
from reactor_web.ice import host_addresses_from_env
from reactor_web.jitter import MarkerBitJitterBuffer
from reactor_web.protocol.schemas import IceServer

logger = logging.getLogger(__name__)

#: aiortc's receive buffer sizes and audio prefetch (``RTCRtpReceiver.__init__``); ours keep them.
_VIDEO_JITTER_CAPACITY = 512
_AUDIO_JITTER_CAPACITY = 16
_AUDIO_JITTER_PREFETCH = 4
_JITTER_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"
#: The receiver's negotiated codecs by payload type (``RTCRtpReceiver.receive``).
_CODECS_ATTRIBUTE = "_RTCRtpReceiver__codecs"
_stock_get_host_addresses = aioice.ice.get_host_addresses

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class PeerOptions:
    """Per-peer settings; see the module docstring. ``host_addresses=None`` keeps aioice's choice;
    ``playout_delay`` is (min_ms, max_ms), multiples of 10 up to 40950 (``ValueError`` naming it otherwise),
    or None to ask for nothing."""

    low_latency_jitter_buffer: bool = True
    host_addresses: tuple[str, ...] | None = None
    playout_delay: tuple[int, int] | None = _playout.ZERO_PLAYOUT_DELAY

    def __post_init__(self) -> None:
        if self.playout_delay is not None:
            _playout.validate_playout_delay(self.playout_delay, "playout_delay")


def default_peer_options() -> PeerOptions:
    """What our client, relay and runtime use when not told otherwise: the low-latency buffer on, the host
    addresses of ``REACTOR_ICE_HOST_ADDRESSES`` when set, and the playout delay of ``REACTOR_PLAYOUT_DELAY_MS``
    (0/0 when unset); both validated (``ValueError`` naming the variable)."""
    return PeerOptions(
        low_latency_jitter_buffer=True,
        host_addresses=host_addresses_from_env(),
        playout_delay=_playout.playout_delay_from_env(),
    )


class _ConfiguredPeerConnection(RTCPeerConnection):
    """An ``RTCPeerConnection`` that applies its :class:`PeerOptions` before gathering candidates."""

    def __init__(self, configuration: RTCConfiguration | None, options: PeerOptions) -> None:
        super().__init__(configuration=configuration)
        self.reactor_options = options

    async def setRemoteDescription(self, sessionDescription: RTCSessionDescription) -> None:
        await super().setRemoteDescription(sessionDescription)
        if sessionDescription.type == "offer" and self.reactor_options.playout_delay is not None:
            _playout.accept_offered(self, sessionDescription.sdp)

    async def setLocalDescription(self, sessionDescription: RTCSessionDescription | None = None) -> None:
        configure_peer(self, self.reactor_options)
        await super().setLocalDescription(sessionDescription)


def create_peer_connection(configuration: RTCConfiguration | None, options: PeerOptions) -> RTCPeerConnection:
    """A new peer connection with ``options`` applied to it alone (an ``RTCPeerConnection``), bundling every
    m-section on one transport (``max-bundle``).

    aiortc's default ``balanced`` policy gives a second transceiver of a kind the first one's transport and then,
    when the BUNDLE group moves that kind onto the primary transport, skips it: its transport is discarded and it
    never sends or receives. Two audio tracks (the model's sound and the microphone) hit it; browsers, the JS SDK
    and aiortc peers all bundle, so ``max-bundle`` costs nothing. An offerer must add its transceivers before its
    data channel: aiortc stops the shared transport of a data channel created first when the answer arrives."""
    configuration = configuration or RTCConfiguration()
    configuration.bundlePolicy = RTCBundlePolicy.MAX_BUNDLE
    return _ConfiguredPeerConnection(configuration, options)


def rtc_ice_servers(servers: Iterable[IceServer]) -> list[RTCIceServer]:
    """The protocol's ICE servers as aiortc's ``RTCIceServer`` (the one conversion every leg uses)."""
    return [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential) for s in servers]


def configure_peer(pc: RTCPeerConnection, options: PeerOptions) -> None:
    """Apply ``options`` to what ``pc`` holds now: its video receivers and senders and its ICE connections.
    Idempotent; call it after the transceivers exist and before ``setLocalDescription`` (done for you by
    :func:`create_peer_connection`, which also negotiates the playout delay)."""
    ice_transports = set()
    for transceiver in pc.getTransceivers():
        if options.low_latency_jitter_buffer:
            install_jitter_buffer(transceiver.receiver, transceiver.kind)
        if options.playout_delay is not None and transceiver.kind == "video":
            _playout.install(transceiver, options.playout_delay)
        ice_transports.add(transceiver.receiver.transport.transport)
    sctp = pc.sctp
    if sctp is not None:
        ice_transports.add(sctp.transport.transport)
        _tolerate_invalid_text(sctp)
    if options.host_addresses is not None:
        for ice in ice_transports:
            _pin_host_addresses(ice.iceGatherer._connection, options.host_addresses)


def install_jitter_buffer(receiver: RTCRtpReceiver, kind: str = "video") -> None:
    """Give one receiver (before its first packet) a :class:`MarkerBitJitterBuffer`: for video the low-latency
    one, for audio aiortc's own audio buffer (its capacity and prefetch) with a place for a tap."""
    if not isinstance(getattr(receiver, _JITTER_ATTRIBUTE, None), MarkerBitJitterBuffer):
        buffer = (
            MarkerBitJitterBuffer(capacity=_VIDEO_JITTER_CAPACITY, is_video=True)
            if kind == "video"
            else MarkerBitJitterBuffer(capacity=_AUDIO_JITTER_CAPACITY, prefetch=_AUDIO_JITTER_PREFETCH)
        )
        setattr(receiver, _JITTER_ATTRIBUTE, buffer)


def tap_encoded_frames(
    transceiver: RTCRtpTransceiver, hub: EncodedHub, decode_wanted: Callable[[], bool]
) -> EncodedTap | None:
    """Send the completed frames of one receiver (video or audio, as ``hub.kind``) to ``hub``, decoding them only
    while ``decode_wanted()``; for video the tap asks the far sender for keyframes with this receiver's RTCP PLI.
    None when the receiver has aiortc's stock jitter buffer (``low_latency_jitter_buffer=False``): all is
    decoded then."""
    receiver = transceiver.receiver
    buffer = getattr(receiver, _JITTER_ATTRIBUTE, None)
    if not isinstance(buffer, MarkerBitJitterBuffer):
        return None

    def codecs() -> dict[int, str]:
        negotiated: dict[int, Any] = getattr(receiver, _CODECS_ATTRIBUTE, {})
        return {payload_type: codec.mimeType for payload_type, codec in negotiated.items()}

    tap = EncodedTap(hub, codecs, receiver._send_rtcp_pli, decode_wanted)
    buffer.tap = tap
    return tap


def negotiated_codec(transceiver: RTCRtpTransceiver) -> str | None:
    """The MIME type of the transceiver's first negotiated codec (the one an aiortc sender uses), or None."""
    return transceiver._codecs[0].mimeType if transceiver._codecs else None


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Also call ``callback`` when the far receiver asks this sender for a keyframe (RTCP PLI or FIR): a
    sender that forwards encoded frames must pass the request on to whoever encodes them."""
    ask_encoder = sender._send_keyframe

    def send_keyframe() -> None:
        ask_encoder()
        callback()

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]


def _pin_host_addresses(connection: aioice.Connection, pinned: Sequence[str]) -> None:
    """Make one aioice connection offer ``pinned`` (those of the families it uses) as host candidates."""
    if getattr(connection, "_reactor_pinned", False):
        return
    original = connection.get_component_candidates

    # Same signature as aioice's (it passes keywords); called once per component when gathering starts.
    async def get_component_candidates(component: int, addresses: list[str], timeout: int = 5) -> Any:  # noqa: ASYNC109
        if connection._transport_policy == TransportPolicy.ALL:  # relay-only gathers no host candidate
            addresses = _of_families(pinned, connection._use_ipv4, connection._use_ipv6)
        return await original(component=component, addresses=addresses, timeout=timeout)

    connection.get_component_candidates = get_component_candidates  # type: ignore[method-assign]
    connection._reactor_pinned = True  # type: ignore[attr-defined]


def _of_families(addresses: Sequence[str], use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return [a for a in addresses if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


def _tolerate_invalid_text(sctp: Any) -> None:
    """Deliver a text frame that is not UTF-8 as binary instead of letting aiortc's decode raise."""
    if getattr(sctp, "_reactor_tolerant", False):
        return
    original = sctp._data_channel_receive

    async def receive(stream_id: int, pp_id: int, data: bytes) -> None:
        if pp_id == WEBRTC_STRING:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                logger.warning("data channel %d: a text frame that is not UTF-8, delivered as binary", stream_id)
                pp_id = WEBRTC_BINARY
        await original(stream_id, pp_id, data)

    sctp._data_channel_receive = receive
    sctp._reactor_tolerant = True


def guarded(handler: F, what: str = "") -> F:
    """``handler`` (sync or async) made safe to register on an aiortc object: an exception it raises is
    logged and swallowed, so it never stops aiortc's receive loop or its event emitter."""
    name = what or getattr(handler, "__qualname__", repr(handler))
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(*args, **kwargs)
            except Exception:
                logger.exception("%s failed", name)
                return None

        return run_async  # type: ignore[return-value]

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception:
            logger.exception("%s failed", name)
            return None

    return run  # type: ignore[return-value]


def pin_process_host_addresses(addresses: Sequence[str] | None) -> None:
    """Explicit opt-in: every aiortc peer in the process (ours or not) offers only ``addresses`` as host
    candidates; None restores aioice's own function."""
    if addresses is None:
        aioice.ice.get_host_addresses = _stock_get_host_addresses
        return
    pinned = tuple(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return _of_families(pinned, use_ipv4, use_ipv6)

    aioice.ice.get_host_addresses = get_host_addresses
