"""Interop tests: our code against the *published* Reactor software, and the other way round.

* ``test_reactor_runtime.py``: the real ``reactor-runtime`` 3.10 (PyPI, Python 3.12, run from
  ``.venv-interop/``) serving ``examples/reactor_runtime_demo/``, driven by our Python client.
* ``test_js_sdk.py``: the official ``@reactor-team/js-sdk`` 2.9.0 (npm) in Debian's Chromium, driving our
  embedded runtime.

``scripts/setup_interop.sh`` provides both; the session fixture below runs it when something is missing,
and the tests skip (with the reason) only when it cannot be had at all (no Python 3.12, no registry).
Nothing here reaches beyond loopback: the runtime gets a loopback STUN URL instead of its public default.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reactor_web.runtime.process import free_port

ROOT = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = ROOT / "scripts" / "setup_interop.sh"
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
JS_SDK_DIR = ROOT / ".tools" / "interop-npm" / "node_modules" / "@reactor-team" / "js-sdk"
DEMO_MODEL_DIR = ROOT / "examples" / "reactor_runtime_demo"
DEMO_MODEL_NAME = "reactor-web-demo"
#: Where the runtime would look for a STUN server; nothing listens there, so it gathers host candidates only.
LOOPBACK_STUN = "stun:127.0.0.1:3478"
RUNTIME_START_TIMEOUT_S = 60.0


def _interop_ready() -> bool:
    return INTEROP_PYTHON.exists() and (JS_SDK_DIR / "package.json").exists()


@pytest.fixture(scope="session")
def interop_tools() -> None:
    """Make sure ``.venv-interop/`` and the JS SDK exist (runs scripts/setup_interop.sh once if not)."""
    if _interop_ready():
        return
    try:
        result = subprocess.run(
            ["bash", str(SETUP_SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"interop tools unavailable: scripts/setup_interop.sh did not run: {exc}")
    if result.returncode != 0 or not _interop_ready():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        pytest.skip(f"interop tools unavailable (scripts/setup_interop.sh exit {result.returncode}): {tail}")


@dataclass
class ReactorRuntimeServer:
    """A running ``python -m reactor_runtime.serve`` (reactor-runtime 3.10) with the demo model."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the runtime drains its session), SIGKILL if it is still there after a few seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture
def reactor_runtime(interop_tools: None, tmp_path: Path) -> Iterator[ReactorRuntimeServer]:
    """A fresh reactor-runtime process per test (one session per process; a leftover session would
    block the next test's start_session with 409 for the 60 s orphan timeout)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "STUN_SERVERS": LOOPBACK_STUN,
        "REACTOR_LOG_LEVEL": os.environ.get("REACTOR_LOG_LEVEL", "INFO"),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "reactor-runtime.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(INTEROP_PYTHON), "-m", "reactor_runtime.serve"],
            cwd=DEMO_MODEL_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ReactorRuntimeServer(url, process, log_path)
    try:
        _wait_until_loaded(server)
        yield server
    finally:
        _stop(process)


def _wait_until_loaded(server: ReactorRuntimeServer) -> None:
    """``/health`` answers before the model is loaded; the descriptor has capabilities once it is."""
    deadline = time.monotonic() + RUNTIME_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"reactor-runtime exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            health = httpx.get(f"{server.url}/health", timeout=1.0)
            session = httpx.get(f"{server.url}/session", timeout=1.0)
            if health.status_code == 200 and session.json().get("state") == "ready":
                return
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.1)
    pytest.fail(f"reactor-runtime did not load within {RUNTIME_START_TIMEOUT_S:g} s:\n{server.log_tail()}")


def which_bun() -> str | None:
    """bun from scripts/setup.sh (.tools/node_modules/.bin/bun), else one on PATH."""
    local = ROOT / ".tools" / "node_modules" / ".bin" / "bun"
    return str(local) if local.exists() else shutil.which("bun")
