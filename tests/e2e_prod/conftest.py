"""Browser tests against the production build: `reflex run --env prod`, frontend and backend on one port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from reactor_web.runtime.process import free_port
from tests.browser import browser, camera_clip, playwright_session  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
#: The export builds the whole frontend: minutes on a busy 2-core machine.
STARTUP_TIMEOUT_S = 240


@pytest.fixture(scope="package")
def prod_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("prod") / "reflex.log"
    env = {
        **os.environ,
        "REACTOR_ICE_HOST_ADDRESSES": "127.0.0.1",
        "REACTOR_HEARTBEAT_TIMEOUT_S": "3",
        "REACTOR_PEER_TIMEOUT_S": "3",
    }
    cmd = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(proc, url, log)
        yield url
    finally:
        # The whole group: reflex, its server workers and the embedded runtime they own.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_until_serving(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll until the page and the backend answer: the process gives no readiness signal to await."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(timeout=2) as http:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if http.get(url + "/").status_code == 200 and http.get(url + "/ping").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
    pytest.fail(f"`reflex run --env prod` did not serve {url} (exit code {proc.poll()}):\n{log.read_text()[-3000:]}")


@pytest.fixture
def page(browser: Browser, prod_url: str) -> Iterator[Page]:  # noqa: F811 (fixture argument)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(prod_url)
    yield page
    context.close()
