"""Every track the demo model declares reaches the dashboard (issue 13): its second view, its sound, the
microphone, and a recorded clip and a screenshot of what it shows.

Chromium's fake microphone plays a MICROPHONE_HZ tone (tests/browser.py); the fake camera is red.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image
from playwright.sync_api import Page, Playwright, expect
from reflex.testing import AppHarness

from reactor_web.runtime.audio import tone_hz
from tests.browser import CAMERA_RGB, MICROPHONE_HZ, launch_chromium
from tests.e2e.test_dashboard import connect
from tests.e2e.video import MEAN_RGB_OF_JS, wait_for_video

#: How long the issue's recording runs, and how far the clip's duration may be from it.
RECORD_S = 3.0
DURATION_TOLERANCE_S = 0.5

# The strongest frequency (Hz) of the audio the view plays, from a WebAudio analyser in the page (null while the
# view has no audio track). Chromium only feeds a remote track to WebAudio while a media element plays it: the
# view's <video> does.
PITCH_JS = """
async (selector) => {
  const video = document.querySelector(selector);
  const track = video && video.srcObject && video.srcObject.getAudioTracks()[0];
  if (!track) return null;
  const ctx = window.__pitchContext || (window.__pitchContext = new AudioContext());
  await ctx.resume();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  source.disconnect();
  let best = 1;
  for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return bins[best] > -80 ? (best * ctx.sampleRate) / analyser.fftSize : 0;
}
"""


# Clicks Connect once it is enabled, from a timer: not a user gesture, so the page has no user activation (any
# Playwright query would give it one: Playwright evaluates as a user gesture). Logs when the unmute button shows.
CLICK_CONNECT_BY_ITSELF_JS = """
const timer = setInterval(() => {
  const button = document.querySelector('#connect-button');
  if (button && !button.disabled) { clearInterval(timer); button.click(); }
}, 200);
new MutationObserver((_changes, observer) => {
  if (document.querySelector('#reactor-view [data-testid=reactor-unmute]')) {
    observer.disconnect();
    console.log('reactor-test: unmute shown, activation ' + navigator.userActivation.hasBeenActive);
  }
}).observe(document, { childList: true, subtree: true });
"""


def pitch_within(page: Page, hz: float, tolerance: float, timeout_s: float = 20.0) -> float:
    """Wait until the main view's audio has its strongest frequency within ``tolerance`` of ``hz``."""
    deadline = time.monotonic() + timeout_s
    heard = None
    while time.monotonic() < deadline:
        heard = page.evaluate(PITCH_JS, "#reactor-view video")
        if heard is not None and abs(heard - hz) <= tolerance:
            return float(heard)
    raise AssertionError(f"the model's audio never reached {hz:.0f} Hz (last heard: {heard})")


def mean_rgb_of(page: Page, selector: str) -> list[float] | None:
    return page.evaluate(MEAN_RGB_OF_JS, selector)


def test_the_second_view_shows_the_edges_of_the_main_picture(page: Page) -> None:
    page.locator("#webcam-publish").click()  # the model's own scene, whose shapes have edges
    connect(page)
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
    expect(page.locator("#edges-view")).to_have_attribute("data-live", "true", timeout=20_000)
    main = np.array(mean_rgb_of(page, "#reactor-view video"))
    edges = page.wait_for_function(
        f"() => ({MEAN_RGB_OF_JS})('#edges-view video')", timeout=10_000, polling=100
    ).json_value()
    edges = np.array(edges)
    # The model's definition: the gradient magnitude of the main picture, in gray. The main picture is coloured
    # and bright; its edges are gray, and dark away from the shapes' outlines.
    assert np.ptp(main) > 20, main
    assert np.ptp(edges) < 8, edges
    assert edges.mean() < main.mean() / 2, (edges, main)
    size = page.eval_on_selector("#edges-view video", "(v) => [v.videoWidth, v.videoHeight]")
    full = page.eval_on_selector("#reactor-view video", "(v) => [v.videoWidth, v.videoHeight]")
    assert size == [full[0] // 2, full[1] // 2], (size, full)


def test_the_models_sound_follows_its_brightness(page: Page) -> None:
    connect(page)
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
    pitch_within(page, tone_hz(50), 12)
    slider = page.locator("#brightness-slider [role=slider]")
    slider.focus()
    slider.press("End")  # brightness 100
    expect(page.locator("#brightness-text")).to_contain_text("100", timeout=10_000)
    pitch_within(page, tone_hz(100), 12)


def test_the_microphone_reaches_the_model(page: Page) -> None:
    microphone = page.locator("#microphone")
    expect(microphone).to_have_attribute("data-microphone", "off")  # not opened until the user wants it
    page.locator("#microphone-publish").click()
    expect(microphone).to_have_attribute("data-microphone", "on", timeout=10_000)
    connect(page)
    hears = page.locator("#model-hears")
    expect(hears).to_contain_text(re.compile(r"level 0\.[1-9]\d* at \d+ Hz"), timeout=20_000)
    heard = float(re.search(r"at (\d+) Hz", hears.inner_text())[1])  # type: ignore[index]
    assert abs(heard - MICROPHONE_HZ) < 30, hears.inner_text()
    # Turned off, the microphone is closed and the model stops hearing it.
    page.locator("#microphone-publish").click()
    expect(microphone).to_have_attribute("data-microphone", "off")
    expect(hears).to_contain_text(re.compile(r"level 0\.00\b"), timeout=20_000)


def test_record_three_seconds_downloads_a_clip_of_the_models_picture(page: Page, tmp_path: Path) -> None:
    connect(page)
    wait_for_video(page, "rgb[0] > 120 && rgb[0] > 2 * rgb[1]")  # the model shows the red camera
    record = page.locator("#recorder [data-testid=reactor-record]")
    record.click()
    expect(page.locator("#recorder")).to_have_attribute("data-recording", "true")
    started = time.monotonic()
    expect(record).to_contain_text("2 s of", timeout=10_000)  # the recorder's own clock, a second at a time
    time.sleep(max(0.0, RECORD_S - (time.monotonic() - started)))  # the input: 3 s of recording
    with page.expect_download(timeout=20_000) as download:
        record.click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".webm", path

    with av.open(str(path)) as clip:
        assert clip.duration is not None, "the clip carries no duration"  # written by fix-webm-duration
        assert abs(clip.duration / av.time_base - RECORD_S) <= DURATION_TOLERANCE_S, clip.duration / av.time_base
        kinds = {s.type for s in clip.streams}
        assert kinds == {"video", "audio"}, kinds
        frames = [f.to_ndarray(format="rgb24") for f in clip.decode(video=0)]
    assert len(frames) > 30, len(frames)
    r, g, b = frames[len(frames) // 2].reshape(-1, 3).mean(axis=0)
    assert r > 120 and r > 2 * g and r > 2 * b, (r, g, b)  # the model's picture: the camera's red


def test_screenshot_downloads_the_models_frame_as_png(page: Page) -> None:
    connect(page)
    wait_for_video(page, "rgb[0] > 120 && rgb[0] > 2 * rgb[1]")
    with page.expect_download(timeout=20_000) as download:
        page.locator("#screenshot-button").click()
    assert download.value.suggested_filename.endswith(".png")
    image = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert image.size == (640, 360)
    r, g, b = np.asarray(image.convert("RGB")).reshape(-1, 3).mean(axis=0)
    assert abs(r - CAMERA_RGB[0]) < 50 and g < 90 and b < 90, (r, g, b)


def test_a_strangers_browser_denies_the_devices_and_refuses_sound_until_a_click(
    playwright_session: Playwright, camera_clip: Path, dashboard: AppHarness
) -> None:
    """A browser that denies camera and microphone says so in both components; with its autoplay rules, a
    session started without a user gesture (the click is the page's own) gets its video muted and a "Click to
    unmute" button, and a real click on it brings the sound."""
    browser = launch_chromium(playwright_session, camera_clip, as_a_stranger=True)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # The page clicks Connect itself, from a script that is no user gesture (Playwright's evaluate would be).
        page.add_init_script(CLICK_CONNECT_BY_ITSELF_JS)
        with page.expect_console_message(lambda m: "reactor-test: unmute shown" in m.text, timeout=40_000) as shown:
            page.goto(dashboard.frontend_url)
        assert shown.value.text.endswith("activation false"), shown.value.text
        expect(page.locator("#webcam")).to_contain_text("Camera access denied. Please allow access in your browser")
        expect(page.locator("#status-text")).to_have_text("Status: ready")
        unmute = page.locator("#reactor-view").get_by_test_id("reactor-unmute")
        video = "#reactor-view video"
        assert page.eval_on_selector(video, "(v) => [v.muted, v.paused]") == [True, False]  # plays, muted
        unmute.click()
        expect(unmute).to_be_hidden()
        assert page.eval_on_selector(video, "(v) => [v.muted, v.paused]") == [False, False]
        # The microphone is asked for when turned on: denied, it says so.
        page.locator("#microphone-publish").click()
        expect(page.locator("#microphone")).to_contain_text("Microphone access denied. Please allow access in your")
        expect(page.locator("#microphone")).to_have_attribute("data-microphone", "denied")
        page.locator("#disconnect-button").click()
        expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
    finally:
        browser.close()
