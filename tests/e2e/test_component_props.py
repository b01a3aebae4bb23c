"""Every prop of reactor_view() and webcam_stream() reaches the JavaScript and does what it says.

The dashboard app's ``/components`` page sets each away from its default: a view with
``object_fit="cover"`` and ``muted=False``, a view asking for a track the model does not declare, a
camera with small ``video_constraints``, ``object_fit="fill"`` and ``show_webcam=False``, and a camera
for an input the model does not take.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from reflex.testing import AppHarness

from tests.e2e.test_dashboard import connect
from tests.e2e.video import MEAN_RGB_OF_JS

# Mean RGB of the <video> under `selector`, or null while it has no frame.
# The settings of the camera track a WebcamStream previews, or null before it has one.
CAMERA_SETTINGS_JS = """
(selector) => {
  const video = document.querySelector(selector);
  const track = video && video.srcObject && video.srcObject.getVideoTracks()[0];
  return track ? track.getSettings() : null;
}
"""


def style_of(page: Page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"(el) => getComputedStyle(el).{prop}")


@pytest.fixture
def props_page(page: Page, dashboard: AppHarness) -> Iterator[Page]:
    page.goto(dashboard.frontend_url.rstrip("/") + "/components")
    yield page
    if page.locator("#disconnect-button").count():
        page.locator("#disconnect-button").click()
        expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)


def test_each_prop_set_away_from_its_default_has_its_effect(props_page: Page) -> None:
    page = props_page
    # video_constraints reach getUserMedia: the fake camera (320x240) is scaled down to what was asked.
    settings = page.wait_for_function(CAMERA_SETTINGS_JS, arg="#webcam-hidden video", timeout=10_000).json_value()
    assert (settings["width"], settings["height"]) == (160, 120), settings
    # show_webcam=False hides the preview...
    expect(page.locator("#webcam-hidden")).to_be_hidden()
    assert style_of(page, "#webcam-hidden video", "objectFit") == "fill"

    connect(page)
    # ... and the camera is still sent: the model's output takes on its red.
    red = page.wait_for_function(
        f"() => {{ const rgb = ({MEAN_RGB_OF_JS})('#view-cover video'); "
        "return rgb && rgb[0] > 120 && rgb[0] > 2 * rgb[1] && rgb[0] > 2 * rgb[2] ? rgb : null; }",
        timeout=20_000,
        polling=100,
    ).json_value()
    assert red[0] > 2 * red[1]
    expect(page.locator("#view-cover")).to_have_attribute("data-live", "true")
    assert style_of(page, "#view-cover video", "objectFit") == "cover"
    assert page.eval_on_selector("#view-cover video", "(v) => v.muted") is False

    # A track the model does not declare: a message (naming the ones it does) in place of the video.
    missing = page.locator("#view-missing-track")
    expect(missing).to_contain_text('The model has no track "depth" (it declares "main_video"')
    expect(missing.get_by_test_id("reactor-video")).to_be_hidden()
    assert page.eval_on_selector("#view-missing-track video", "(v) => v.srcObject") is None
    # A camera for an input the model does not take: a message, the camera let go, the other one still sent.
    expect(page.locator("#webcam-missing-track")).to_contain_text('The model has no track "depth_camera"')
    assert page.eval_on_selector("#webcam-missing-track video", "(v) => v.srcObject") is None


def test_the_defaults_on_the_dashboard(page: Page) -> None:
    expect(page.locator("#webcam [data-testid=webcam-preview]")).to_be_visible(timeout=10_000)
    assert style_of(page, "#webcam video", "objectFit") == "cover"
    assert style_of(page, "#reactor-view video", "objectFit") == "contain"
    # The edges view sets nothing but its track: muted by default (the main view's Sound switch unmutes it).
    assert page.eval_on_selector("#edges-view video", "(v) => v.muted") is True
    assert page.eval_on_selector("#reactor-view video", "(v) => v.muted") is False
    page.locator("#sound-switch").click()
    page.wait_for_function("() => document.querySelector('#reactor-view video').muted === true", timeout=10_000)
