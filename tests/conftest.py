"""Shared test setup: WebRTC media stays on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reactor_web.ice import ENV_VAR, apply_host_address_override


@pytest.fixture(autouse=True, scope="session")
def _loopback_ice() -> Iterator[None]:
    """Offer only 127.0.0.1 as an ICE host candidate (also inherited by runtime subprocesses)."""
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = "127.0.0.1"
    apply_host_address_override()
    yield
    if previous is None:
        os.environ.pop(ENV_VAR, None)
    else:
        os.environ[ENV_VAR] = previous
    apply_host_address_override()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots the browser tests save for review (emptied once per run)."""
    shots = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    return shots
