"""What a sender's view of encoded video hands it: every frame of an unbroken chain, never more than a bounded
backlog behind, and a restart at a keyframe when the chain breaks."""

from __future__ import annotations

import asyncio
import json
from fractions import Fraction

import av
import pytest
from aiortc.mediastreams import MediaStreamError

from reactor_web._encoded import H264, OPUS, VP8, RelayMode, encoded_frame, relay_mode
from reactor_web._media import AUDIO_MAX_FRAMES, ENCODED, MAX_ENCODED_BACKLOG, EncodedHub, MediaHub, PacketView


def frame(n: int, *, key: bool = False) -> av.Packet:
    return encoded_frame(bytes([n]), key, n * 3000)


def encoded_hub() -> EncodedHub:
    return MediaHub("video", ENCODED, name="v")


class Requests:
    """Counts the keyframe requests that reach the far sender."""

    def __init__(self, hub: EncodedHub) -> None:
        self.count = 0
        hub.set_keyframe_source(self)

    def request_keyframe(self) -> None:
        self.count += 1


async def received(view: PacketView) -> list[int]:
    """The frame numbers the view hands its sender now, without waiting for more."""
    out = []
    while True:
        try:
            packet = await asyncio.wait_for(view.recv(), 0.05)
        except TimeoutError:
            return out
        out.append(bytes(packet)[0])


async def test_a_sender_late_by_a_few_frames_gets_every_one_in_order() -> None:
    hub = encoded_hub()
    requests = Requests(hub)
    view = hub.subscribe()
    hub.push(frame(0, key=True))
    for n in range(1, MAX_ENCODED_BACKLOG):  # the sender is busy: the frames wait for it
        hub.push(frame(n))
    assert await received(view) == list(range(MAX_ENCODED_BACKLOG))
    hub.push(frame(10))  # caught up: the chain goes on
    assert await received(view) == [10]
    assert view.frames_dropped == 0 and requests.count == 1  # only the view's start asked for a keyframe


async def test_a_sender_too_far_behind_restarts_at_the_next_keyframe() -> None:
    hub = encoded_hub()
    requests = Requests(hub)
    view = hub.subscribe()
    hub.push(frame(0, key=True))
    for n in range(1, MAX_ENCODED_BACKLOG + 3):
        hub.push(frame(n))
    # The backlog overflowed: what it held and the deltas after it are dropped, a keyframe is asked for.
    assert await received(view) == []
    assert view.frames_dropped == MAX_ENCODED_BACKLOG + 3  # every frame pushed: none reached the sender
    assert requests.count >= 2
    hub.push(frame(20, key=True))
    hub.push(frame(21))
    assert await received(view) == [20, 21]


async def test_a_keyframe_replaces_the_frames_not_yet_sent() -> None:
    hub = encoded_hub()
    view = hub.subscribe()
    hub.push(frame(0, key=True))
    hub.push(frame(1))
    hub.push(frame(2, key=True))  # decodes alone: the older ones need not be sent
    assert await received(view) == [2]
    assert view.frames_dropped == 2


async def test_loss_upstream_keeps_what_came_before_and_waits_for_a_keyframe() -> None:
    hub = encoded_hub()
    view = hub.subscribe()
    hub.push(frame(0, key=True))
    hub.push(frame(1))
    hub.lost()
    hub.push(frame(2))  # refers to what was lost
    assert await received(view) == [0, 1]
    hub.push(frame(3, key=True))
    assert await received(view) == [3]


async def test_a_view_starts_at_a_keyframe_and_ends_with_its_hub() -> None:
    hub = encoded_hub()
    view = hub.subscribe()
    hub.push(frame(0))
    assert await received(view) == []
    await hub.close()
    with pytest.raises(MediaStreamError):
        await view.recv()


async def test_encoded_audio_keeps_a_window_of_packets_and_never_waits_for_a_keyframe() -> None:
    """Each Opus packet decodes alone: a late sender loses the oldest, as with decoded audio (200 ms at most)."""
    hub = MediaHub("audio", ENCODED, name="a")
    requests = Requests(hub)
    view = hub.subscribe()
    for n in range(AUDIO_MAX_FRAMES + 5):
        hub.push(encoded_frame(bytes([n]), False, n * 960, Fraction(1, 48_000)))
    assert await received(view) == list(range(5, AUDIO_MAX_FRAMES + 5))
    assert view.frames_dropped == 5 and requests.count == 0


async def test_a_new_source_restarts_its_views_at_a_keyframe_asked_of_that_source() -> None:
    """The relay's hub outlives the client's hub of each GPU connection: a reconnect's frames start at a keyframe."""
    relay = encoded_hub()
    view = relay.subscribe()
    first, second = encoded_hub(), encoded_hub()
    asked_first, asked_second = Requests(first), Requests(second)
    relay.set_source(first)
    assert asked_first.count == 1  # the chain asked its head for a keyframe
    first.push(frame(0, key=True))
    first.push(frame(1))
    assert await received(view) == [0, 1]
    relay.set_source(second)  # another encoder: a delta of its stream cannot follow frame 1
    assert asked_second.count == 1
    second.push(frame(2))
    assert await received(view) == []
    second.push(frame(3, key=True))
    second.push(frame(4))
    assert await received(view) == [3, 4]
    relay.request_keyframe()  # a page's PLI reaches the encoder at the head of the chain
    assert asked_second.count >= 2 and asked_first.count == 1
    await second.close()  # the GPU connection ends: the relay's hub waits for the next
    assert relay.source is None and not relay.ended and view.readyState == "live"
    await relay.close()
    await first.close()


def test_the_passthrough_rule_and_the_modes_the_page_shows() -> None:
    assert relay_mode(VP8, VP8) is RelayMode.PASSTHROUGH
    assert relay_mode(OPUS, OPUS) is RelayMode.PASSTHROUGH
    assert relay_mode(VP8, H264) is RelayMode.TRANSCODE  # a page that cannot take the GPU's codec
    assert relay_mode(None, VP8) is RelayMode.TRANSCODE  # no encoded frames to forward
    assert relay_mode("video/rtx", "video/rtx") is RelayMode.TRANSCODE  # not a codec aiortc packs
    # What reaches Reflex state and the page: the bare words.
    assert (
        json.dumps([RelayMode.PASSTHROUGH, RelayMode.TRANSCODE, RelayMode.NONE]) == '["passthrough", "transcode", ""]'
    )
    assert f"main_video: {RelayMode.PASSTHROUGH}" == "main_video: passthrough"
