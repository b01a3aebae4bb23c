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
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_support import (
    LOOPBACK_STUN,
    ROOT,
    SETUP_SCRIPT,
    ReactorRuntimeServer,
    interop_ready,
    spawn_reactor_runtime,
)

from reactor_web.runtime.process import free_port


@pytest.fixture(scope="session")
def interop_tools() -> None:
    """Make sure ``.venv-interop/`` and the JS SDK exist (runs scripts/setup_interop.sh once if not)."""
    if interop_ready():
        return
    try:
        result = subprocess.run(
            ["bash", str(SETUP_SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"interop tools unavailable: scripts/setup_interop.sh did not run: {exc}")
    if result.returncode != 0 or not interop_ready():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        pytest.skip(f"interop tools unavailable (scripts/setup_interop.sh exit {result.returncode}): {tail}")


@pytest.fixture
def reactor_runtime(interop_tools: None, tmp_path: Path) -> Iterator[ReactorRuntimeServer]:
    """A fresh reactor-runtime process per test (one session per process; a leftover session would
    block the next test's start_session with 409 for the 60 s orphan timeout)."""
    port = free_port()
    log_path = tmp_path / "reactor-runtime.log"
    process = spawn_reactor_runtime(
        port,
        LOOPBACK_STUN,
        log_path,
        REACTOR_LOG_LEVEL=os.environ.get("REACTOR_LOG_LEVEL", "INFO"),
        PYTHONUNBUFFERED="1",
    )
    server = ReactorRuntimeServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        server.wait_until_loaded()
        yield server
    finally:
        server.stop()
