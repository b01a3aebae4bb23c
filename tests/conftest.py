"""Shared test setup: WebRTC media stays on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reactor_web._aiortc import pin_process_host_addresses
from reactor_web.ice import ENV_VAR


@pytest.fixture(autouse=True, scope="session")
def _loopback_ice() -> Iterator[None]:
    """Offer only 127.0.0.1 as an ICE host candidate: our peers through the setting (also inherited by
    runtime subprocesses), the tests' own raw aiortc peers through the explicit process-wide opt-in."""
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = "127.0.0.1"
    pin_process_host_addresses(["127.0.0.1"])
    yield
    if previous is None:
        os.environ.pop(ENV_VAR, None)
    else:
        os.environ[ENV_VAR] = previous
    pin_process_host_addresses(None)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots the browser tests save for review (emptied once per run)."""
    shots = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    return shots
