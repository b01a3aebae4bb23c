"""Chromium through Playwright, shared by the browser test packages.

Chromium gets a fake camera fed by a y4m clip the tests write, a fake microphone playing a WAV tone they
write, the flags that let WebRTC run on loopback, and nothing that reaches the network. Fixtures here are
package-scoped: Playwright's sync API runs its own event loop, which must be gone before the asyncio tests
of other packages run.
"""

from __future__ import annotations

import os
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
#: The fake camera's colour (RGB): a saturated red the model's output should take on.
CAMERA_RGB = (220, 30, 30)
#: The fake microphone's tone (Hz) and its amplitude (of full scale): what the model should hear.
MICROPHONE_HZ = 880.0
MICROPHONE_AMPLITUDE = 0.5

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--use-fake-device-for-media-stream",
]
#: Lets media play with sound before any user gesture (most tests), or only after one, as a user's Chrome does
#: (headless Chromium's own default lets it play).
AUTOPLAY_WITHOUT_GESTURE = "--autoplay-policy=no-user-gesture-required"
AUTOPLAY_AFTER_GESTURE = "--autoplay-policy=document-user-activation-required"


def write_y4m(path: Path, rgb: tuple[int, int, int], width: int = 320, height: int = 240, frames: int = 30) -> None:
    """A solid-colour clip for Chromium's fake camera (I420, BT.601 limited range)."""
    r, g, b = rgb
    y = round(16 + 0.257 * r + 0.504 * g + 0.098 * b)
    u = round(128 - 0.148 * r - 0.291 * g + 0.439 * b)
    v = round(128 + 0.439 * r - 0.368 * g - 0.071 * b)
    plane_y = np.full((height, width), y, np.uint8).tobytes()
    plane_u = np.full((height // 2, width // 2), u, np.uint8).tobytes()
    plane_v = np.full((height // 2, width // 2), v, np.uint8).tobytes()
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + plane_y + plane_u + plane_v)


def write_tone(path: Path, hz: float, amplitude: float, seconds: float = 2.0, rate: int = 48_000) -> None:
    """A mono 16-bit WAV of a sine (Chromium's fake microphone loops it); a whole number of periods per loop."""
    samples = int(rate * seconds)
    t = np.arange(samples) / rate
    pcm = (np.sin(2 * np.pi * hz * t) * amplitude * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.tobytes())


@pytest.fixture(scope="package")
def camera_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("camera") / "camera.y4m"
    write_y4m(path, CAMERA_RGB)
    return path


@pytest.fixture(scope="package")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


def launch_chromium(playwright: Playwright, camera_clip: Path, *, as_a_stranger: bool = False) -> Browser:
    """Debian's Chromium, headless, camera and microphone allowed, the camera fed by ``camera_clip`` and the
    microphone by a :data:`MICROPHONE_HZ` tone written beside it. ``as_a_stranger``: as a user's browser on a
    first visit instead, camera and microphone denied and sound played only after a user gesture (a page
    capturing the camera or microphone may always play sound)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/setup.sh --browser")
    tone = camera_clip.with_name("microphone.wav")
    write_tone(tone, MICROPHONE_HZ, MICROPHONE_AMPLITUDE)
    args = [
        *CHROMIUM_ARGS,
        *([AUTOPLAY_AFTER_GESTURE] if as_a_stranger else [AUTOPLAY_WITHOUT_GESTURE, "--use-fake-ui-for-media-stream"]),
        f"--use-file-for-fake-video-capture={camera_clip}",
        f"--use-file-for-fake-audio-capture={tone}",
    ]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


@pytest.fixture(scope="package")
def browser(playwright_session: Playwright, camera_clip: Path) -> Iterator[Browser]:
    browser = launch_chromium(playwright_session, camera_clip)
    yield browser
    browser.close()
