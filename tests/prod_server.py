"""The dashboard as deployed: `reflex run --env prod`, frontend and backend on one port, in its own process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reactor_web.runtime.process import free_port

ROOT = Path(__file__).resolve().parents[1]
#: The export builds the whole frontend: minutes on a busy 2-core machine.
STARTUP_TIMEOUT_S = 240
#: Media on loopback, and dead peers noticed in seconds rather than the production defaults.
TEST_ENV = {
    "REACTOR_ICE_HOST_ADDRESSES": "127.0.0.1",
    "REACTOR_HEARTBEAT_TIMEOUT_S": "6",
    "REACTOR_PEER_TIMEOUT_S": "3",
}


@contextlib.contextmanager
def serve_prod(log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Build and serve the dashboard; yields its URL; stops it (and what it started) on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-port", str(port)]
    full_env = {**os.environ, **TEST_ENV, **(env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, url, log)
        yield url
    finally:
        # The whole group: reflex, its server workers and the embedded runtime they own.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_until_serving(
    proc: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = STARTUP_TIMEOUT_S
) -> None:
    """Poll until the page and the backend answer: the process gives no readiness signal to await."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2) as http:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if http.get(url + "/").status_code == 200 and http.get(url + "/ping").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
    pytest.fail(f"`reflex run --env prod` did not serve {url} (exit code {proc.poll()}):\n{log.read_text()[-5000:]}")
