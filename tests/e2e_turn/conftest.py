"""Browser tests of the TURN path: the production build with the page forced to relay-only candidates,
through coturn (Debian's ``turnserver``) on loopback. Its own package: settings are read once per process."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from reactor_web.runtime.process import free_port
from tests.browser import browser, camera_clip, playwright_session  # noqa: F401 (fixtures)
from tests.prod_server import serve_prod

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
TURN_USER = "u"
TURN_PASSWORD = "p"


class TurnServer:
    """coturn on 127.0.0.1:``port`` (UDP and TCP), long-term credentials, relaying to loopback peers."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}"

    def start(self, password: str = TURN_PASSWORD) -> None:
        """(Re)start it accepting ``TURN_USER:password``, and wait until it listens."""
        self.stop()
        cmd = [
            TURNSERVER,
            "-n",  # no config file
            f"--listening-port={self.port}",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            "--lt-cred-mech",
            f"--user={TURN_USER}:{password}",
            "--realm=test",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            # coturn refuses peers in 127.0.0.0/8 by default: the backend is one here.
            "--allow-loopback-peers",
            f"--userdb={self.workdir / 'turndb'}",
            f"--pidfile={self.workdir / 'turnserver.pid'}",
            "--log-file=stdout",
        ]
        with (self.workdir / "turnserver.log").open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)  # turnserver gives no readiness signal to await
        log = (self.workdir / "turnserver.log").read_text()[-3000:]
        pytest.fail(f"turnserver did not listen on {self.port}: {log}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


@pytest.fixture(scope="package")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    if not Path(TURNSERVER).exists():
        pytest.fail("turnserver not found: run scripts/setup.sh --browser (installs coturn)")
    server = TurnServer(tmp_path_factory.mktemp("turn"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def prod_url(tmp_path_factory: pytest.TempPathFactory, turn_server: TurnServer) -> Iterator[str]:
    ice = [{"urls": [turn_server.url], "username": TURN_USER, "credential": TURN_PASSWORD}]
    env = {"REACTOR_ICE_SERVERS": json.dumps(ice), "REACTOR_ICE_TRANSPORT_POLICY": "relay"}
    with serve_prod(tmp_path_factory.mktemp("prod") / "reflex.log", env) as url:
        yield url


# Records the page's peer connections, so a test can read the relay's getStats.
RECORD_PEERS_JS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__peers.push(this); }
  };
})();
"""


@pytest.fixture
def page(browser: Browser, prod_url: str) -> Iterator[Page]:  # noqa: F811 (fixture argument)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_PEERS_JS)
    page = context.new_page()
    page.goto(prod_url)
    yield page
    context.close()
