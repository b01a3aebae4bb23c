"""The playout-delay RTP header extension on the relay's video to the page (issue 14).

Real aiortc peers on loopback. aiortc's own offers never list the extension, so the test page offers it the way
Chromium does (an ``a=extmap`` line in its video m-sections); it reads the header extensions of every RTP packet
it receives, as they arrive (decrypted, before aiortc parses and drops what it does not know).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import struct
from collections.abc import AsyncIterator, Callable

import pytest
from aiortc.rtp import unpack_header_extensions
from client_helpers import HEIGHT, WAIT_S, WIDTH, Recorder
from test_relay_peer import Page, pixel_source, solid_frame

from reactor_web._aiortc import PeerOptions
from reactor_web._playout import ENV_VAR, PLAYOUT_DELAY_URI, decode_playout_delay
from reactor_web.relay.peer import BrowserPeer, RelayOffer
from reactor_web.relay.tab import TabSession, TabSettings
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.serve import serve_runtime

#: The id the test page offers the extension under (aiortc's video extensions use 1 and 3).
OFFERED_ID = 5
_ABS_SEND_TIME = "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"


@pytest.fixture(autouse=True)
def _default_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay's own default (0/0), whatever the environment running the tests says."""
    monkeypatch.delenv(ENV_VAR, raising=False)


class CapturingPage(Page):
    """A page that offers the playout-delay extension when ``offers_extension`` and keeps the header
    extensions of every RTP packet it receives."""

    def __init__(self, *, offers_extension: bool) -> None:
        super().__init__()
        self.offers_extension = offers_extension
        self.extensions: list[dict[int, bytes]] = []
        self._arrived = asyncio.Event()
        self.answer_sdp = ""

    async def offer(self) -> RelayOffer:
        offer = await super().offer()
        if not self.offers_extension:
            return offer
        assert _ABS_SEND_TIME in offer.sdp  # one per video m-section: the line goes after it
        sdp = offer.sdp.replace(_ABS_SEND_TIME, f"{_ABS_SEND_TIME}a=extmap:{OFFERED_ID} {PLAYOUT_DELAY_URI}\r\n")
        return RelayOffer(sdp, offer.tracks)

    async def answer(self, sdp: str) -> None:
        self.answer_sdp = sdp
        await super().answer(sdp)
        transport = self.model.receiver.transport  # the bundle's one transport
        handle = transport._handle_rtp_data

        async def capture(data: bytes, arrival_time_ms: int) -> None:
            self.extensions.append(header_extensions(data))
            self._arrived.set()
            await handle(data, arrival_time_ms)

        transport._handle_rtp_data = capture

    async def packets(self, count: int) -> list[dict[int, bytes]]:
        """The header extensions of the next ``count`` RTP packets."""
        start = len(self.extensions)
        async with asyncio.timeout(WAIT_S):
            while len(self.extensions) < start + count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.extensions[start : start + count]

    def answered_extensions(self, mid: str | None) -> dict[str, int]:
        """The header extensions (uri → id) of the answer's m-section ``mid``."""
        for section in self.answer_sdp.split("\r\nm=")[1:]:
            if f"\r\na=mid:{mid}\r\n" in f"\r\n{section}\r\n":
                return {uri: int(i) for i, uri in re.findall(r"^a=extmap:(\d+)(?:/\w+)? (\S+)\r?$", section, re.M)}
        raise AssertionError(f"the answer has no m-section {mid}")


def header_extensions(packet: bytes) -> dict[int, bytes]:
    """The header extensions of one RTP packet by id (RFC 8285), empty when it has none."""
    if not packet[0] & 0x10:
        return {}
    offset = 12 + 4 * (packet[0] & 0x0F)
    profile, words = struct.unpack_from("!HH", packet, offset)
    return dict(unpack_header_extensions(profile, packet[offset + 4 : offset + 4 + 4 * words]))


async def feed_frames(push: Callable[[int], None]) -> None:
    for i in itertools.count():
        push(i)
        await asyncio.sleep(1 / 30)


@pytest.mark.parametrize(
    ("options", "offers_extension", "expected"),
    [
        (None, True, (0, 0)),  # the default: shown as soon as decoded
        (None, False, None),  # a page that does not offer it gets none
        (PeerOptions(playout_delay=(0, 200)), True, (0, 200)),  # a deployment that wants some smoothing
        (PeerOptions(playout_delay=None), True, None),  # one that leaves it to the browser
    ],
)
async def test_the_relay_sends_the_playout_delay_a_page_offered(
    options: PeerOptions | None, offers_extension: bool, expected: tuple[int, int] | None
) -> None:
    peer = BrowserPeer(peer_options=options)
    page = CapturingPage(offers_extension=offers_extension)
    gpu = pixel_source(peer)
    feeder = asyncio.create_task(feed_frames(lambda i: gpu.push(solid_frame((200, 30, 30), i * 3000))))
    try:
        await page.answer(await peer.accept_offer(await page.offer()))
        model = page.answered_extensions(page.model.mid)
        # Never on the m-section the page sends on (its camera): the delay is the receiver's to honour.
        assert PLAYOUT_DELAY_URI not in page.answered_extensions(page.webcam.mid)
        packets = await page.packets(30)
        if expected is None:
            assert PLAYOUT_DELAY_URI not in model
            assert all(OFFERED_ID not in p for p in packets)
        else:
            assert model[PLAYOUT_DELAY_URI] == OFFERED_ID
            assert [decode_playout_delay(p[OFFERED_ID]) for p in packets] == [expected] * len(packets)
    finally:
        feeder.cancel()
        await page.pc.close()
        await peer.close()


@pytest.fixture
async def tab() -> AsyncIterator[TabSession]:
    async with serve_runtime(RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=30)) as url:
        tab = TabSession(TabSettings("reactor-web-demo", api_url=url, local=True, heartbeat_timeout_s=3600))
        try:
            yield tab
        finally:
            await tab.close()


async def test_the_gpus_frames_forwarded_as_they_are_carry_it_too(tab: TabSession) -> None:
    page = CapturingPage(offers_extension=True)
    try:
        await page.answer(await tab.accept_offer(await page.offer()))
        recorder = Recorder(tab.reactor)
        tab.connect()
        await recorder.wait_status("ready")
        packets = await page.packets(30)
        assert tab.peer.relay_mode == "passthrough"
        assert [decode_playout_delay(p[OFFERED_ID]) for p in packets] == [(0, 0)] * len(packets)
    finally:
        await page.pc.close()
