"""Run the coordinator emulation in-process (:func:`serve_coordinator`) or as a child process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from reactor_web.runtime.coordinator.app import create_coordinator_app
from reactor_web.runtime.coordinator.config import CoordinatorConfig
from reactor_web.runtime.process import RuntimeProcess
from reactor_web.runtime.serve import serve_app


@contextlib.asynccontextmanager
async def serve_coordinator(config: CoordinatorConfig) -> AsyncIterator[str]:
    """Serve a coordinator on the current loop; yields its base URL once every GPU worker is up
    (``port=0`` picks a free port). On exit the workers are stopped. ``GET /health`` lists the
    workers' pids (a test kills one to emulate a crashed GPU node)."""
    async with serve_app(create_coordinator_app(config), config.host, config.port) as url:
        yield url


class CoordinatorProcess(RuntimeProcess):
    """``python -m reactor_web.runtime --coordinator ...`` as a child process; ``start()`` returns once
    ``/health`` answers, i.e. once its workers are up."""

    def __init__(
        self,
        *,
        gpus: int = 1,
        api_keys: list[str] | None = None,
        max_sessions_per_key: int | None = None,
        token_ttl_s: int | None = None,
        args: list[str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout_s: float = 60.0,
    ) -> None:
        cli = ["--coordinator", "--gpus", str(gpus)]
        for key in api_keys or []:
            cli += ["--api-key", key]
        if max_sessions_per_key is not None:
            cli += ["--max-sessions-per-key", str(max_sessions_per_key)]
        if token_ttl_s is not None:
            cli += ["--token-ttl-s", str(token_ttl_s)]
        super().__init__(host=host, port=port, args=[*cli, *(args or [])], startup_timeout_s=startup_timeout_s)
