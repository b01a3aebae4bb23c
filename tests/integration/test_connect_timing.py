"""The relay's part in timing a connect, on real aiortc peers: the clock answer to each beat, the page's report,
and the moment the relay hands an output's next frame to the page's sender."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from reactor_web.relay.peer import BrowserPeer
from reactor_web.relay.tab import TabSession, TabSettings
from reactor_web.relay.timeline import PageMarks
from reactor_web.runtime import RuntimeConfig, serve_runtime
from tests.integration.test_relay_peer import Page, PeerEvents, connect, pixel_source, solid_frame
from tests.integration.test_tab_refusals import Seen

WAIT_S = 10.0


@pytest.fixture
async def runtime() -> AsyncIterator[str]:
    async with serve_runtime(RuntimeConfig(port=0)) as url:
        yield url


async def open_page(peer: BrowserPeer) -> tuple[Page, asyncio.Queue[dict[str, Any]]]:
    """A connected page whose relay channel is open, and what the backend says on it."""
    page = Page()
    said: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    page.channel.on("message", lambda m: said.put_nowait(json.loads(m)))
    opened = asyncio.Event()
    page.channel.on("open", opened.set)
    await connect(peer, page)
    await asyncio.wait_for(opened.wait(), WAIT_S)
    return page, said


async def test_every_beat_is_answered_with_the_backends_clock() -> None:
    peer = BrowserPeer()
    page, said = await open_page(peer)
    try:
        before = time.time() * 1000
        page.channel.send(json.dumps({"t": 1234.5}))
        answer = await asyncio.wait_for(said.get(), WAIT_S)
        assert answer["type"] == "clock" and answer["t"] == 1234.5
        assert before <= answer["at"] <= time.time() * 1000

        # A beat with no usable time keeps the page alive but gets no answer; the next good one does.
        for bad in ({}, {"t": "1"}, {"t": True}, {"t": None}, {"t": [1]}):
            page.channel.send(json.dumps(bad))
        page.channel.send("not json")
        page.channel.send(json.dumps({"t": 7}))
        answer = await asyncio.wait_for(said.get(), WAIT_S)
        assert (answer["type"], answer["t"]) == ("clock", 7)
        assert said.empty()
    finally:
        await page.pc.close()
        await peer.close()


async def test_the_pages_connect_report_reaches_the_owner_and_a_malformed_one_does_not() -> None:
    reports: asyncio.Queue[PageMarks] = asyncio.Queue()
    peer = BrowserPeer(listener=PeerEvents(marks=reports.put_nowait))
    page, said = await open_page(peer)
    try:
        for bad in (
            {"type": "connect_marks"},
            {"type": "connect_marks", "offset_ms": "x", "rtt_ms": 1},
            {"type": "connect_marks", "offset_ms": 0, "rtt_ms": 1, "first_frame_at": {"nested": [1, 2]}},
        ):
            page.channel.send(json.dumps(bad))
        good = {"type": "connect_marks", "ready_shown_at": 100.0, "first_frame_at": 140, "offset_ms": 2, "rtt_ms": 1}
        page.channel.send(json.dumps(good))
        assert await asyncio.wait_for(reports.get(), WAIT_S) == PageMarks(100.0, 140.0, 2.0, 1.0)
        assert reports.empty()
        assert said.empty()  # a report is not a beat: no clock answer
    finally:
        await page.pc.close()
        await peer.close()


async def test_the_next_frame_sent_to_the_page_is_timed_once_per_request() -> None:
    sent: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
    peer = BrowserPeer(heartbeat_timeout_s=60, listener=PeerEvents(sent=lambda name, at: sent.put_nowait((name, at))))
    gpu = pixel_source(peer)
    page = Page()
    try:
        await connect(peer, page)
        peer.time_next_frame("main_video")
        before = time.time() * 1000
        gpu.push(solid_frame((200, 30, 30), 0))
        name, at = await asyncio.wait_for(sent.get(), WAIT_S)
        assert name == "main_video" and before <= at <= time.time() * 1000
        received = await asyncio.wait_for(page.model_track, WAIT_S)

        async def feed() -> None:
            for i in range(1, 300):
                gpu.push(solid_frame((200, 30, 30), i * 3000))
                await asyncio.sleep(1 / 30)

        feeder = asyncio.create_task(feed())
        for _ in range(5):  # frames reach the page (aiortc's stock receiver holds each until the next one)...
            await asyncio.wait_for(received.recv(), WAIT_S)
        assert sent.empty()  # ...and only the first one was timed
        peer.time_next_frame("main_video")  # until asked again
        assert (await asyncio.wait_for(sent.get(), WAIT_S))[0] == "main_video"
        feeder.cancel()
    finally:
        await page.pc.close()
        await peer.close()
        await gpu.close()


async def test_a_tabs_connect_is_broken_down_from_the_click_to_the_frame_shown(runtime: str) -> None:
    """The tab puts its client's timings, the relay's first frame and the page's report on one timeline."""
    tab = TabSession(TabSettings(model_name="reactor-web-demo", api_url=runtime, heartbeat_timeout_s=60))
    seen = Seen(tab)
    page = Page()
    try:
        await page.answer(await tab.accept_offer(await page.offer()))
        received = await asyncio.wait_for(page.model_track, WAIT_S)
        clicked = time.time() * 1000 - 30  # the page's clock: this test's, as on one machine
        tab.connect(requested_at=clicked, handled_at=clicked + 12)
        await seen.until(lambda f: f.get("status") == "ready")
        await asyncio.wait_for(received.recv(), WAIT_S)  # the model's first frame reached the page
        shown = time.time() * 1000
        # The page shows it and says so (the browser does this in components.jsx).
        marks = {"ready_shown_at": shown - 1, "first_frame_at": shown, "offset_ms": 0, "rtt_ms": 0.5}
        page.channel.send(json.dumps({"type": "connect_marks", **marks}))

        def complete(fields: dict[str, Any]) -> bool:
            b = fields.get("connect_breakdown") or {}
            return all(b.get(k) is not None for k in ("relay_ms", "first_keyframe_ms", "click_to_frame_ms"))

        b = (await seen.until(complete))["connect_breakdown"]
        assert b["click_to_backend_ms"] == 12
        assert b["click_to_frame_ms"] == shown - clicked
        assert b["click_to_ready_ms"] == shown - 1 - clicked
        assert b["clock_error_ms"] == 0.25
        # In order (within 1 ms: the client counts on the monotonic clock, the tab on the wall clock; in passthrough
        # the relay hands the page's sender the very frame the client completes, so its stage is about 0).
        for stage in ("handler_ms", "session_creation_ms", "first_keyframe_ms", "relay_ms", "page_frame_ms"):
            assert b[stage] > -1, (stage, b)
        assert b["transport_connecting_ms"] > 0 and b["ice_dtls_ms"] > 0
        # The stages add up to the click → frame total.
        stages = ("click_to_backend_ms", "handler_ms", "session_creation_ms", "transport_connecting_ms")
        stages += ("ice_dtls_ms", "first_keyframe_ms", "relay_ms", "page_frame_ms")
        assert abs(sum(b[k] for k in stages) - b["click_to_frame_ms"]) < 0.01  # float rounding of epoch ms
    finally:
        await tab.close()
        await page.pc.close()
