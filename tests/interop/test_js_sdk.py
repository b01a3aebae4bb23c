"""The official JS SDK (@reactor-team/js-sdk 2.9.0, npm) in Debian's Chromium, against OUR embedded runtime.

The page (jssdk_page/) is bundled with bun, served from a loopback HTTP server on another port than the
runtime (so the SDK's requests are cross-origin, as in a real deployment), and driven with Playwright's
sync API. The SDK speaks Part A: ``POST /start_session``, flat ``sdp_params``, one ``data`` channel.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from interop_support import DEMO_MODEL_NAME, JS_SDK_DIR, which_bun
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from reactor_web.runtime.process import RuntimeProcess
from tests.browser import CAMERA_RGB, launch_chromium, write_y4m

PAGE_DIR = Path(__file__).resolve().parent / "jssdk_page"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def page_root(interop_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """index.html plus bundle/entry.js: entry.js bundled with the npm package for the browser."""
    bun = which_bun()
    if bun is None:
        pytest.skip("bun not found (scripts/setup.sh installs it into .tools/)")
    build = tmp_path_factory.mktemp("jssdk-build")
    shutil.copy(PAGE_DIR / "entry.js", build / "entry.js")
    # Resolve @reactor-team/js-sdk (and its react/zustand peers) from the interop npm prefix.
    (build / "node_modules").symlink_to(JS_SDK_DIR.parents[1], target_is_directory=True)
    root = tmp_path_factory.mktemp("jssdk-page")
    shutil.copy(PAGE_DIR / "index.html", root / "index.html")
    result = subprocess.run(
        [
            bun,
            "build",
            "entry.js",
            "--outdir",
            str(root / "bundle"),
            "--target",
            "browser",
            "--define",
            'process.env.NODE_ENV="production"',
        ],
        cwd=build,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"bun build failed:\n{result.stdout}\n{result.stderr}"
    assert (root / "bundle" / "entry.js").exists()
    return root


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_url(page_root: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(page_root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def our_runtime() -> Iterator[RuntimeProcess]:
    # Media stays on loopback: the runtime's aiortc offers only 127.0.0.1 (tests/conftest.py sets this too).
    with RuntimeProcess(env={"REACTOR_ICE_HOST_ADDRESSES": "127.0.0.1"}) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    clip = tmp_path_factory.mktemp("camera") / "camera.y4m"
    write_y4m(clip, CAMERA_RGB)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, clip)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class SdkPage:
    page: Page
    console: list[str]

    def wait(self, expression: str, what: str) -> object:
        """Wait until ``expression`` is truthy in the page; returns its value."""
        try:
            return self.page.wait_for_function(expression, timeout=TIMEOUT_MS, polling=100).json_value()
        except PlaywrightError as exc:
            statuses = self.page.locator("#statuses").text_content()
            error = self.page.locator("#error").text_content()
            console = "\n".join(self.console[-30:])
            pytest.fail(f"timed out waiting for {what}; statuses={statuses!r} error={error!r}: {exc}\n{console}")


@pytest.fixture
def sdk_page(browser: Browser) -> Iterator[SdkPage]:
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: console.append(f"pageerror: {err}"))
    try:
        yield SdkPage(page, console)
    finally:
        context.close()


def test_js_sdk_connects_streams_and_gets_pong(sdk_page: SdkPage, page_url: str, our_runtime: RuntimeProcess) -> None:
    page = sdk_page.page
    page.goto(f"{page_url}?api={our_runtime.url}&model={DEMO_MODEL_NAME}")

    sdk_page.wait("document.getElementById('status').textContent === 'ready'", "status ready")
    statuses = page.locator("#statuses").text_content() or ""
    assert statuses.split(",")[:3] == ["connecting", "waiting", "ready"]
    assert page.locator("#error").text_content() == ""

    # main_video plays and is not black.
    frame = sdk_page.wait(
        "(() => { const f = window.videoMeanRGB(); return f && Math.max(...f.rgb) > 20 ? f : null; })()",
        "a non-black main_video frame",
    )
    assert isinstance(frame, dict)
    assert (frame["width"], frame["height"]) == (640, 360)

    # The page sent `ping` with sendCommand when it became ready; the model's pong comes back as a message.
    pong = sdk_page.wait(
        """(() => [...document.querySelectorAll('#messages li')]
                .map((li) => JSON.parse(li.textContent)).find((m) => m && m.type === 'pong') || null)()""",
        "the pong message",
    )
    assert isinstance(pong, dict) and isinstance(pong.get("data"), dict)

    # A second command through the SDK's own API.
    page.evaluate("window.reactor.sendCommand('ping', {})")
    sdk_page.wait(
        """(() => [...document.querySelectorAll('#messages li')]
                .filter((li) => JSON.parse(li.textContent).type === 'pong').length >= 2)()""",
        "a second pong",
    )

    page.evaluate("window.reactor.disconnect()")
    sdk_page.wait("document.getElementById('status').textContent === 'disconnected'", "status disconnected")


MEAN_RGB_WHEN_RED = """(() => {
    const f = window.videoMeanRGB();
    return f && f.rgb[0] > 150 && f.rgb[1] < 90 && f.rgb[2] < 90 ? f.rgb : null;
})()"""


def test_js_sdk_publishes_the_camera(sdk_page: SdkPage, page_url: str, our_runtime: RuntimeProcess) -> None:
    page = sdk_page.page
    page.goto(f"{page_url}?api={our_runtime.url}&model={DEMO_MODEL_NAME}")
    sdk_page.wait("document.getElementById('status').textContent === 'ready'", "status ready")
    sdk_page.wait("window.videoMeanRGB() !== null", "the first main_video frame")
    assert page.evaluate(MEAN_RGB_WHEN_RED) is None, "the output is red before any camera is published"

    assert page.evaluate("window.publishCamera()") is True
    sdk_page.wait(MEAN_RGB_WHEN_RED, "the red camera in main_video")
    assert page.locator("#error").text_content() == ""


def test_js_sdk_reconnects(sdk_page: SdkPage, page_url: str, our_runtime: RuntimeProcess) -> None:
    """disconnect(true) keeps the session; reconnect() re-offers with PUT sdp_params on a new peer."""
    page = sdk_page.page
    page.goto(f"{page_url}?api={our_runtime.url}&model={DEMO_MODEL_NAME}")
    sdk_page.wait("document.getElementById('status').textContent === 'ready'", "status ready")
    session_id = page.evaluate("window.reactor.getSessionId()")
    assert session_id

    page.evaluate("window.reactor.disconnect(true)")
    sdk_page.wait("document.getElementById('status').textContent === 'disconnected'", "status disconnected")
    assert page.evaluate("window.reactor.getSessionId()") == session_id

    page.evaluate("window.reactor.reconnect()")
    sdk_page.wait(
        "document.getElementById('statuses').textContent.endsWith('disconnected,connecting,ready')",
        "ready again after reconnect",
    )
    # The new stream plays: the <video> decodes frames again, and the data channel works (ping → pong).
    before = page.evaluate("window.decodedFrames()")
    sdk_page.wait(f"window.decodedFrames() > {before} + 10", "frames after reconnect")
    sdk_page.wait(
        """(() => [...document.querySelectorAll('#messages li')]
                .filter((li) => JSON.parse(li.textContent).type === 'pong').length >= 2)()""",
        "the pong sent on the second ready",
    )
