"""Every component shows the model's refusal of what it sent, next to it, and shows the model's true state.

Issue 12 item 6: a refused image was named as set, Clear stayed enabled and the refusal showed only as raw
JSON in Messages; a non-image file did nothing; an older error stayed on screen.
"""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from reflex.testing import AppHarness

from reactor_web.protocol.messages import ModelMessage, Received, Refusal
from reactor_web.relay.tab import TabSession
from tests.e2e.tab_lookup import page_token, tab_of
from tests.e2e.test_controls_uploads_stats import connect_to_scene, slider_to, solid_png
from tests.e2e.video import wait_for_video

GREEN = "rgb[1] > 150 && rgb[1] > 3 * rgb[0] && rgb[1] > 3 * rgb[2]"


# Release each test's model session at its end: later tests count the runtime's sessions.
pytestmark = pytest.mark.usefixtures("disconnect_after")


def corrupt_png(path: Path) -> Path:
    """A text file named like a PNG (the browser calls it image/png)."""
    path.write_text("this is not a picture\n" * 20)
    return path


def huge_png(path: Path, width: int = 9000, height: int = 9000) -> Path:
    """A valid 9000x9000 black PNG, written by hand so the test never holds the decoded 243 MB image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])  # 8-bit grey
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def drop_on_image_panel(page: Page, path: Path) -> None:
    page.locator("#image-upload input[type=file]").set_input_files(path)


def expect_no_image(page: Page) -> None:
    expect(page.locator("#image-name")).to_have_text("No image")
    expect(page.locator("#clear-image-button")).to_be_disabled()


def test_a_corrupt_png_is_refused_beside_the_panel_which_names_no_image(page: Page, tmp_path: Path) -> None:
    connect_to_scene(page)
    drop_on_image_panel(page, corrupt_png(tmp_path / "corrupt.png"))
    error = page.locator("#image-error")
    expect(error).to_contain_text("INVALID_IMAGE", timeout=15_000)
    expect(error).to_contain_text("corrupt.png")
    expect_no_image(page)


def test_a_9000x9000_png_is_refused_beside_the_panel(page: Page, tmp_path: Path) -> None:
    connect_to_scene(page)
    drop_on_image_panel(page, huge_png(tmp_path / "huge.png"))
    error = page.locator("#image-error")
    expect(error).to_contain_text("INVALID_IMAGE", timeout=20_000)
    expect(error).to_contain_text("9000x9000")
    expect_no_image(page)


def test_a_text_file_gets_a_clear_error_and_each_new_attempt_clears_the_last(page: Page, tmp_path: Path) -> None:
    connect_to_scene(page)
    error = page.locator("#image-error")
    drop_on_image_panel(page, corrupt_png(tmp_path / "corrupt.png"))
    expect(error).to_contain_text("INVALID_IMAGE", timeout=15_000)

    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    drop_on_image_panel(page, notes)
    expect(error).to_have_text("notes.txt is not an image: choose a PNG, JPEG or WebP file.")
    expect_no_image(page)

    slider_to(page.locator("#image-opacity"), "End")
    drop_on_image_panel(page, solid_png(tmp_path / "green.png", (30, 200, 40)))
    expect(page.locator("#image-name")).to_have_text("green.png")
    expect(page.locator("#clear-image-button")).to_be_enabled()
    expect(error).to_have_count(0)
    wait_for_video(page, GREEN)


def test_a_refused_image_leaves_the_confirmed_one_named(page: Page, tmp_path: Path) -> None:
    connect_to_scene(page)
    slider_to(page.locator("#image-opacity"), "End")
    drop_on_image_panel(page, solid_png(tmp_path / "green.png", (30, 200, 40)))
    expect(page.locator("#image-name")).to_have_text("green.png")

    drop_on_image_panel(page, corrupt_png(tmp_path / "corrupt.png"))
    expect(page.locator("#image-error")).to_contain_text("INVALID_IMAGE", timeout=15_000)
    # The model still blends green.png: the panel says so, and Clear still removes it.
    expect(page.locator("#image-name")).to_have_text("green.png")
    wait_for_video(page, GREEN)
    page.locator("#clear-image-button").click()
    expect(page.locator("#image-error")).to_have_count(0)
    expect_no_image(page)


def test_a_command_form_shows_the_models_refusal_under_the_command(page: Page, tmp_path: Path) -> None:
    connect_to_scene(page)
    field = page.get_by_test_id("control-set_image-image")
    field.locator("input[type=file]").set_input_files(corrupt_png(tmp_path / "corrupt.png"))
    expect(field).to_contain_text("corrupt.png")  # uploaded: the model has not looked at it yet
    page.get_by_test_id("send-set_image").click()
    refusal = page.get_by_test_id("command-error-set_image")
    expect(refusal).to_contain_text("INVALID_IMAGE", timeout=15_000)
    expect(page.get_by_test_id("command-sent-set_image")).to_have_count(0)
    # Another command's form is untouched, and a good send of this one clears the refusal.
    page.get_by_test_id("send-ping").click()
    expect(page.get_by_test_id("command-sent-ping")).to_be_visible()
    expect(page.get_by_test_id("command-error-ping")).to_have_count(0)
    field.locator("input[type=file]").set_input_files(solid_png(tmp_path / "green.png", (30, 200, 40)))
    expect(refusal).to_have_count(0)
    expect(field).to_contain_text("green.png")
    page.get_by_test_id("send-set_image").click()
    expect(page.get_by_test_id("command-sent-set_image")).to_contain_text("green.png")
    expect(refusal).to_have_count(0)


# -- the dashboard's own controls ------------------------------------------------------------------
# The demo model accepts everything the slider, Send Command and the camera switch can send, so a refusal
# is delivered to the tab's client as the model would send it: an application `error` naming the command.


def page_tab(page: Page) -> TabSession:
    """The backend's session for this page; fails the test when there is none."""
    tab = tab_of(page)
    assert tab is not None, f"no tab session for token {page_token(page)!r}"
    return tab


def model_says(page: Page, dashboard: AppHarness, message: dict) -> None:
    """Deliver ``message`` to the tab's client on the backend's event loop, as if the model sent it."""
    tab = page_tab(page)
    loop = dashboard.backend.servers[0].get_loop()

    async def deliver() -> None:  # a decoded frame on the data channel, through the client's own handling
        transport = tab.reactor._transport
        assert transport is not None
        data = message["data"]
        decoded = (
            Refusal(data["code"], data["message"], data.get("command"), "application")
            if message["type"] == "error"
            else ModelMessage(message["type"], data)
        )
        transport._listener.on_message(transport, Received(decoded))

    asyncio.run_coroutine_threadsafe(deliver(), loop).result(timeout=10)


def refusal(command: str, code: str, text: str) -> dict:
    return {"type": "error", "data": {"code": code, "message": text, "command": command}}


def test_the_brightness_slider_and_send_command_show_their_refusals(page: Page, dashboard: AppHarness) -> None:
    connect_to_scene(page)
    model_says(page, dashboard, refusal("set_brightness", "BRIGHTNESS_LOCKED", "brightness is locked by the operator"))
    expect(page.locator("#brightness-error")).to_have_text("BRIGHTNESS_LOCKED: brightness is locked by the operator")
    expect(page.locator("#send-command-error")).to_have_count(0)  # routed by command, not shown everywhere

    model_says(page, dashboard, refusal("ping", "RATE_LIMITED", "one ping a second"))
    expect(page.locator("#send-command-error")).to_have_text("RATE_LIMITED: one ping a second")
    # A new send clears the refusal of that command: the pong proves it went through.
    page.locator("#send-command-button").click()
    expect(page.locator("#messages")).to_contain_text("pong")
    expect(page.locator("#send-command-error")).to_have_count(0)
    slider = page.locator("#brightness-slider [role=slider]")
    slider.focus()
    slider.press("Home")
    expect(page.locator("#brightness-error")).to_have_count(0)
    expect(page.locator("#brightness-text")).to_have_text("Brightness: 0")  # what the model reports
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] < 15")


def test_a_refused_camera_publish_is_shown_beside_the_switch(page: Page, dashboard: AppHarness) -> None:
    connect_to_scene(page)  # publishing off
    tab = page_tab(page)
    loop = dashboard.backend.servers[0].get_loop()

    async def refuse_publish(name: str, source: object, encoded: object = None) -> None:
        raise ValueError("this model takes no camera today")

    async def with_refusing_transport() -> None:
        # The GPU side refuses the track: the transport's publish fails as aiortc does on a bad track.
        tab.reactor._transport.publish = refuse_publish

    asyncio.run_coroutine_threadsafe(with_refusing_transport(), loop).result(timeout=10)
    switch = page.locator("#webcam-publish")
    switch.click()  # publish on
    expect(page.locator("#webcam-publish-error")).to_contain_text("TRACK_PUBLISH_FAILED", timeout=10_000)
    expect(page.locator("#webcam-publish-error")).to_contain_text("this model takes no camera today")
    expect(switch).to_have_attribute("aria-checked", "false")  # back to the truth: the camera is not sent
    switch.click()  # on again: a new attempt, refused again, the old message replaced by the new one
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(page.locator("#webcam-publish-error")).to_contain_text("this model takes no camera today")
