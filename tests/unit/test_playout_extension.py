"""The playout-delay RTP header extension: its bytes, its setting, and the packets a sender writes it into."""

from __future__ import annotations

import re
import struct

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unpack_header_extensions

from reactor_web._aiortc import PeerOptions, create_peer_connection
from reactor_web._playout import (
    ENV_VAR,
    PLAYOUT_DELAY_URI,
    _PlayoutDelayMap,
    decode_playout_delay,
    encode_playout_delay,
    playout_delay_from_env,
)

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"


@pytest.mark.parametrize(
    ("delay", "data"),
    [
        ((0, 0), b"\x00\x00\x00"),
        ((100, 200), b"\x00\xa0\x14"),  # 10 and 20 units: 0x00A, 0x014
        ((10, 40950), b"\x00\x1f\xff"),
        ((40950, 40950), b"\xff\xff\xff"),  # the 12-bit fields' largest
    ],
)
def test_the_delay_is_two_12_bit_fields_in_10_ms_units(delay: tuple[int, int], data: bytes) -> None:
    assert encode_playout_delay(*delay) == data
    assert decode_playout_delay(data) == delay


@pytest.mark.parametrize("delay", [(5, 10), (0, 40960), (-10, 0), (20, 10), (True, 10), (0.0, 10), (0,)])
def test_a_delay_the_extension_cannot_carry_is_refused_naming_the_option(delay: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="playout_delay"):
        PeerOptions(playout_delay=delay)


def test_decoding_wants_three_bytes() -> None:
    with pytest.raises(ValueError, match="3 bytes"):
        decode_playout_delay(b"\x00\x00")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, (0, 0)), ("", (0, 0)), ("0,0", (0, 0)), (" 0, 200 ", (0, 200)), ("browser", None), ("Browser", None)],
)
def test_the_setting(raw: str | None, expected: tuple[int, int] | None) -> None:
    assert playout_delay_from_env({} if raw is None else {ENV_VAR: raw}) == expected


@pytest.mark.parametrize("raw", ["0", "0,5", "200,100", "a,b", "0,0,0", "off"])
def test_a_malformed_setting_names_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match=ENV_VAR):
        playout_delay_from_env({ENV_VAR: raw})


def _parameters(*uris: str) -> RTCRtpSendParameters:
    return RTCRtpSendParameters(
        headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=uri) for i, uri in enumerate(uris, start=1)]
    )


def _packet() -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=7, timestamp=90_000, ssrc=1234, payload=b"frame")
    packet.extensions.mid = "0"
    return packet


def _extensions(data: bytes) -> tuple[int, list[tuple[int, bytes]]]:
    """The extension profile and (id, value) pairs of a serialized RTP packet with no CSRC."""
    profile, words = struct.unpack_from("!HH", data, 12)
    return profile, unpack_header_extensions(profile, data[16 : 16 + 4 * words])


def test_a_sender_where_it_was_negotiated_writes_it_into_every_packet() -> None:
    extensions = _PlayoutDelayMap(encode_playout_delay(0, 0))
    extensions.configure(_parameters(MID_URI, PLAYOUT_DELAY_URI))

    data = _packet().serialize(extensions)
    # The one-byte form, the mid kept beside it (ids as negotiated: 1 and 2).
    assert _extensions(data) == (0xBEDE, [(1, b"0"), (2, b"\x00\x00\x00")])
    assert RtpPacket.parse(data).payload == b"frame"


def test_a_sender_where_it_was_not_negotiated_writes_what_aiortc_writes() -> None:
    ours, stock = _PlayoutDelayMap(encode_playout_delay(0, 0)), HeaderExtensionsMap()
    for extensions in (ours, stock):
        extensions.configure(_parameters(MID_URI))
    assert _packet().serialize(ours) == _packet().serialize(stock)


@pytest.mark.parametrize(("offered_id", "taken"), [(5, True), (14, True), (15, False)])
async def test_an_answer_takes_it_where_the_offerer_receives_video_under_a_one_byte_id(
    offered_id: int, taken: bool
) -> None:
    offerer, answerer = RTCPeerConnection(), create_peer_connection(None, PeerOptions())
    try:
        offerer.addTransceiver("video", direction="recvonly")  # the page shows the model's video
        offerer.addTransceiver("video", direction="sendonly")  # and sends its camera
        offerer.addTransceiver("audio", direction="recvonly")
        offer = (await offerer.createOffer()).sdp
        extmap = f"a=extmap:{offered_id} {PLAYOUT_DELAY_URI}\r\n"
        offer = re.sub(r"(a=extmap:\d+ \S+\r\n)(?!a=extmap)", lambda m: m.group(1) + extmap, offer)
        assert offer.count(PLAYOUT_DELAY_URI) == 3  # listed in every m-section, audio too

        await answerer.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        answer = (await answerer.createAnswer()).sdp
        sections = answer.split("\r\nm=")[1:]
        assert [PLAYOUT_DELAY_URI in s for s in sections] == [taken, False, False]
        if taken:
            assert extmap in sections[0]  # under the offer's id
    finally:
        await offerer.close()
        await answerer.close()


async def test_our_own_offers_never_ask_for_it() -> None:
    pc = create_peer_connection(None, PeerOptions(playout_delay=(0, 0)))
    try:
        pc.addTransceiver("video", direction="sendonly")
        offer = await pc.createOffer()
        assert PLAYOUT_DELAY_URI not in offer.sdp
    finally:
        await pc.close()
