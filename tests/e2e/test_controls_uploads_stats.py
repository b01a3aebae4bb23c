"""The generated controls, image uploads and live stats, as a user sees them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from reactor_web.runtime.config import RuntimeConfig
from tests.e2e.test_dashboard import connect
from tests.e2e.video import wait_for_video

BRIGHT = "rgb[0] + rgb[1] + rgb[2] > 60"
DEMO_COMMANDS = ("set_brightness", "set_effect", "set_prompt", "set_image", "clear_image", "ping")


# Release each test's model session at its end: later tests count the runtime's sessions.
pytestmark = pytest.mark.usefixtures("disconnect_after")


def connect_to_scene(page: Page) -> None:
    """Connected, showing the model's own scene (not the camera)."""
    page.locator("#webcam-publish").click()
    connect(page)
    wait_for_video(page, BRIGHT)


def slider_to(slider_root: Locator, key: str) -> None:
    """Move a Radix slider to an end with the keyboard, as a user can ("Home" or "End")."""
    thumb = slider_root.locator("[role=slider]")
    thumb.focus()
    thumb.press(key)


def solid_png(path: Path, rgb: tuple[int, int, int]) -> Path:
    Image.new("RGB", (320, 180), rgb).save(path)
    return path


def test_controller_shows_every_command_and_sends_current_values(page: Page) -> None:
    connect_to_scene(page)
    for command in DEMO_COMMANDS:
        expect(page.get_by_test_id(f"command-{command}")).to_be_visible()
    expect(page.get_by_test_id("control-set_brightness-value")).to_contain_text("0 to 100")
    expect(page.get_by_test_id("control-set_prompt-text")).to_contain_text("up to 200 characters")
    expect(page.get_by_test_id("control-set_effect-name")).to_contain_text("*")  # required

    # The slider is read when Send is pressed: moved to 0, the picture goes black.
    slider_to(page.get_by_test_id("control-set_brightness-value"), "Home")
    expect(page.get_by_test_id("control-set_brightness-value-value")).to_have_text("0")
    page.get_by_test_id("send-set_brightness").click()
    expect(page.get_by_test_id("command-sent-set_brightness")).to_have_text('Sent {"value": 0}')
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] < 15")

    slider_to(page.get_by_test_id("control-set_brightness-value"), "End")
    page.get_by_test_id("send-set_brightness").click()
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 200")

    # An enum is a select; "grayscale" makes the three channels equal.
    page.get_by_test_id("control-set_effect-name").get_by_role("combobox").click()
    page.get_by_role("option", name="grayscale").click()
    page.get_by_test_id("send-set_effect").click()
    gray = wait_for_video(page, "Math.abs(rgb[0] - rgb[1]) < 4 && Math.abs(rgb[1] - rgb[2]) < 4")
    assert max(gray) - min(gray) < 4

    # A text input stops at the model's maxLength.
    prompt = page.get_by_test_id("control-set_prompt-text").locator("input")
    prompt.fill("x" * 250)
    assert len(prompt.input_value()) == 200


def test_invalid_data_is_refused_with_the_schema_message_and_not_sent(page: Page) -> None:
    connect_to_scene(page)
    page.get_by_test_id("send-set_image").click()  # "image" is required and no file was chosen
    error = page.get_by_test_id("command-error-set_image")
    expect(error).to_have_text("set_image: image: required parameter is missing")
    expect(page.get_by_test_id("command-sent-set_image")).to_have_count(0)
    # Had it been sent, the model would have answered (an error naming it, or a state update naming an image; the
    # model's other state updates report the microphone).
    page.get_by_test_id("send-ping").click()
    expect(page.locator("#messages")).to_contain_text("pong")
    expect(page.locator("#messages")).not_to_contain_text("set_image")
    expect(page.locator("#messages")).not_to_contain_text('"image":"')


def test_controller_upload_field_sends_the_chosen_image(page: Page, tmp_path: Path) -> None:
    connect_to_scene(page)
    field = page.get_by_test_id("control-set_image-image")
    field.locator("input[type=file]").set_input_files(solid_png(tmp_path / "red.png", (220, 30, 30)))
    expect(field).to_contain_text("red.png")
    slider_to(page.get_by_test_id("control-set_image-opacity"), "End")  # the image alone
    page.get_by_test_id("send-set_image").click()
    expect(page.get_by_test_id("command-sent-set_image")).to_contain_text('"image": "red.png"')
    red = wait_for_video(page, "rgb[0] > 180 && rgb[1] < 60 && rgb[2] < 60")
    assert red[0] > 3 * red[1]


def test_image_upload_colours_the_output_clears_and_ends_with_the_session(page: Page, tmp_path: Path) -> None:
    connect_to_scene(page)
    slider_to(page.locator("#image-opacity"), "End")
    page.locator("#image-upload input[type=file]").set_input_files(solid_png(tmp_path / "green.png", (30, 200, 40)))
    expect(page.locator("#image-name")).to_have_text("green.png")
    green = wait_for_video(page, "rgb[1] > 150 && rgb[1] > 3 * rgb[0] && rgb[1] > 3 * rgb[2]")
    assert green[1] > 150
    expect(page.locator("#image-error")).to_have_count(0)

    page.locator("#clear-image-button").click()
    expect(page.locator("#image-name")).to_have_text("No image")
    wait_for_video(page, "!(rgb[1] > 3 * rgb[0] && rgb[1] > 3 * rgb[2])")

    # An image belongs to its model session: after a reconnect the panel no longer claims one.
    page.locator("#image-upload input[type=file]").set_input_files(solid_png(tmp_path / "again.png", (30, 200, 40)))
    expect(page.locator("#image-name")).to_have_text("again.png")
    page.locator("#disconnect-button").click()
    connect(page)
    expect(page.locator("#image-name")).to_have_text("No image")


def test_upload_errors_are_clear(page: Page, tmp_path: Path) -> None:
    small = solid_png(tmp_path / "blue.png", (30, 40, 220))
    upload = page.locator("#image-upload input[type=file]")
    upload.set_input_files(small)  # before Connect
    expect(page.locator("#image-error")).to_contain_text('Not connected (status is "disconnected")')

    connect_to_scene(page)
    limit = RuntimeConfig().max_upload_bytes  # the embedded runtime's default
    big = tmp_path / "huge.png"
    big.write_bytes(os.urandom(limit + 1))
    upload.set_input_files(big)
    expect(page.locator("#image-error")).to_contain_text("UPLOAD_TOO_LARGE", timeout=20_000)
    expect(page.locator("#image-error")).to_contain_text(str(limit + 1))
    expect(page.locator("#image-name")).to_have_text("No image")


def _number(locator: Locator) -> float:
    expect(locator).not_to_have_text("—", timeout=15_000)
    match = re.match(r"[\d.]+", locator.inner_text())
    assert match, f"not a number: {locator.inner_text()!r}"
    return float(match.group())


def test_stats_are_plausible_and_charted(page: Page, artifacts: Path) -> None:
    connect_to_scene(page)
    # Measured, not timed: the values exist and are the right kind (a loaded machine changes them, not this test).
    assert _number(page.get_by_test_id("stat-frames-per-second")) > 0, "no frames counted on the GPU leg"
    assert _number(page.get_by_test_id("stat-rtt")) > 0
    assert _number(page.get_by_test_id("timing-total-ms")) > 0
    assert _number(page.get_by_test_id("timing-first-frame-ms")) >= _number(page.get_by_test_id("timing-total-ms"))
    assert _number(page.get_by_test_id("browser-frames-per-second")) > 0, "the browser decodes nothing"
    # Chromium takes VP8, the GPU's codec: the backend forwards the GPU's frames without re-encoding them.
    expect(page.get_by_test_id("browser-relay-mode")).to_have_text("passthrough")

    # A line needs two samples: the chart draws its curves once the second one arrives.
    expect(page.locator("#stats-chart svg path.recharts-line-curve")).to_have_count(2, timeout=15_000)
    page.screenshot(path=str(artifacts / "dashboard-controls-stats.png"), full_page=True)


#: The stages of a connect in the stats panel's timings, in order: they add up to click → first frame shown.
CONNECT_STAGES = (
    "click-to-backend-ms",
    "handler-ms",
    "session-creation-ms",
    "transport-connecting-ms",
    "ice-dtls-ms",
    "first-keyframe-ms",
    "relay-ms",
    "page-frame-ms",
)


def _signed_ms(locator: Locator) -> float:
    expect(locator).not_to_have_text("—", timeout=20_000)
    match = re.match(r"-?[\d.]+ ms$", locator.inner_text())
    assert match, f"not a time: {locator.inner_text()!r}"
    return float(match.group().split()[0])


def test_the_connect_is_broken_down_from_the_click_to_the_first_frame_shown(page: Page) -> None:
    connect_to_scene(page)
    total = _signed_ms(page.get_by_test_id("timing-click-to-frame-ms"))
    stages = {name: _signed_ms(page.get_by_test_id(f"timing-{name}")) for name in CONNECT_STAGES}
    clock_error = _signed_ms(page.get_by_test_id("timing-clock-error-ms"))
    ready = _signed_ms(page.get_by_test_id("timing-click-to-ready-ms"))
    _signed_ms(page.get_by_test_id("timing-ready-shown-ms"))  # the state update's own path is measured too

    # Every stage is measured and they account for the whole wait (each row is rounded to 0.1 ms).
    assert abs(sum(stages.values()) - total) <= 0.05 * (len(stages) + 1) + 0.01, stages
    # Each is a duration: those that cross the page's and the backend's clocks within the clock error.
    for name, value in stages.items():
        assert value > -(clock_error + 1), (name, stages)
    assert stages["session-creation-ms"] > 0 and stages["transport-connecting-ms"] > 0
    # The view shows the model's video only once the status says ready.
    assert 0 < ready <= total
