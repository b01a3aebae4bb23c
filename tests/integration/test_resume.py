"""Issue 11 item 4: another client takes a session over by id (``Reactor.resume``), as a backend worker does for
the tabs of a worker that stopped or died. Real HTTP and WebRTC against the embedded runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest
from client_helpers import HEIGHT, WIDTH, Recorder, SolidColourTrack, connected, frame_where, mean_rgb

from reactor_web.client import ErrorCode, Reactor, ReactorError, ResumePoint
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.serve import serve_runtime


@pytest.fixture
async def runtime_url() -> AsyncIterator[str]:
    async with serve_runtime(RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=30)) as url:
        yield url


async def sessions(url: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:  # the runtime is served on this test's own loop
        return int((await http.get(f"{url}/health")).json()["sessions"])


async def resumed(url: str, point: ResumePoint) -> tuple[Reactor, Recorder]:
    """A new client that has taken the session at ``point`` over and reached ``ready`` on it."""
    reactor = Reactor("reactor-web-demo", local=True, api_url=url)
    recorder = Recorder(reactor)
    try:
        await reactor.resume(point)
        await recorder.wait_status("ready")
    except BaseException:
        await reactor.aclose()
        raise
    assert reactor.get_session_id() == point.session_id
    return reactor, recorder


async def test_a_second_client_resumes_a_session_whose_first_client_still_holds_it(runtime_url: str) -> None:
    # The first client is left as a killed worker leaves it: its peer connection still open at the runtime,
    # holding the camera's publisher slot.
    first, _ = await connected(runtime_url)
    red, green = (200, 30, 30), (30, 200, 30)
    await first.publish_track("webcam", SolidColourTrack(red))
    await frame_where(first.tracks["main_video"], lambda rgb: np.abs(mean_rgb(rgb) - red).max() < 12)
    point = first.resume_point()
    assert point is not None and point.flow == "connections" and point.connection_id is not None
    assert ResumePoint.from_dict(point.to_dict()) == point

    second, recorder = await resumed(runtime_url, point)
    try:
        assert await sessions(runtime_url) == 1  # the same session, no second one
        # The re-offer replaced the first client's connection, so its camera slot is free for the second's.
        await second.publish_track("webcam", SolidColourTrack(green))
        await frame_where(second.tracks["main_video"], lambda rgb: np.abs(mean_rgb(rgb) - green).max() < 12)
        await second.send_command("ping")
        await recorder.wait("message", lambda m: m.get("type") == "pong")
    finally:
        await second.aclose()
        await first.detach()
    assert await sessions(runtime_url) == 0  # the session's owner (the second client) ended it


async def test_detach_keeps_the_session_for_a_successor(runtime_url: str) -> None:
    first, _ = await connected(runtime_url)
    point = first.resume_point()
    assert point is not None
    await first.detach()
    assert first.status == "disconnected" and first.get_session_id() is None
    assert await sessions(runtime_url) == 1
    second, _ = await resumed(runtime_url, point)
    await second.aclose()


async def test_resuming_a_session_that_ended_fails_clearly(runtime_url: str) -> None:
    first, _ = await connected(runtime_url)
    point = first.resume_point()
    assert point is not None
    await first.aclose()  # ends the session
    second = Reactor("reactor-web-demo", local=True, api_url=runtime_url)
    recorder = Recorder(second)
    with pytest.raises(ReactorError) as raised:
        await second.resume(point)
    assert raised.value.code == ErrorCode.RECONNECTION_FAILED and not raised.value.recoverable
    assert second.status == "disconnected" and second.get_session_id() is None
    assert recorder.statuses()[-1] == "disconnected"
    await second.aclose()
