"""Fixtures for the client ⇄ embedded runtime tests: an in-process runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from client_helpers import HEIGHT, WIDTH

from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.serve import serve_runtime


@pytest.fixture
async def runtime_url() -> AsyncIterator[str]:
    async with serve_runtime(RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=30)) as url:
        yield url
