"""``Reactor.screenshot()``: the model's current frame as PNG, decoded only for it (issue 13)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import numpy as np
import pytest
from client_helpers import HEIGHT, WAIT_S, WIDTH, connected
from PIL import Image

from reactor_web.client import ReactorError
from reactor_web.runtime import RuntimeConfig
from reactor_web.runtime.serve import serve_runtime


@pytest.fixture
async def runtime_url() -> AsyncIterator[str]:
    async with serve_runtime(RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=30)) as url:
        yield url


async def test_a_screenshot_is_the_models_frame_as_png_and_brightness_shows_in_it(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        image = Image.open(io.BytesIO(await reactor.screenshot()))
        assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
        assert np.asarray(image.convert("RGB")).mean() > 40  # the model's scene
        await reactor.send_command("set_brightness", {"value": 0})
        await recorder.wait("message", lambda m: m.get("type") == "state_update" and m["data"]["brightness"] == 0)
        # A screenshot is the next frame to arrive: frames already in flight still show the old brightness.
        async with asyncio.timeout(WAIT_S):
            while np.asarray(Image.open(io.BytesIO(await reactor.screenshot())).convert("RGB")).mean() >= 10:
                pass
    finally:
        await reactor.disconnect()


async def test_a_screenshot_of_no_frame_says_why(runtime_url: str) -> None:
    reactor, _ = await connected(runtime_url)
    try:
        with pytest.raises(ReactorError) as unknown:
            await reactor.screenshot("depth")
        assert unknown.value.code == "NO_FRAME" and '"depth"' in unknown.value.message
    finally:
        await reactor.disconnect()
    with pytest.raises(ReactorError) as disconnected:
        await reactor.screenshot()
    assert disconnected.value.code == "NO_FRAME"
