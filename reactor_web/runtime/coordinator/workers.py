"""GPU workers: each one a ``python -m reactor_web.runtime --max-sessions 1`` child process.

A separate process per worker makes a dead GPU node honest to emulate: SIGKILL it and its peer
connections vanish without a goodbye, exactly as when a real node crashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import sys
from typing import Literal

import httpx

from reactor_web.runtime.process import free_port

log = logging.getLogger(__name__)

WorkerState = Literal["starting", "idle", "busy", "dead"]
#: How often ``/health`` is tried while a worker starts (nothing else tells when it listens).
_HEALTH_POLL_S = 0.1
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM when the coordinator dies, so no GPU worker is left orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class WorkerStartError(Exception):
    pass


class Worker:
    """One runtime process; :meth:`start` may be called again after it died (a new port each time)."""

    def __init__(self, index: int, args: list[str], host: str = "127.0.0.1") -> None:
        self.index = index
        self.host = host
        self.state: WorkerState = "starting"
        self.url = ""
        self._args = args
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self, timeout_s: float) -> None:
        """Spawn the process and return once its ``/health`` answers; raises WorkerStartError."""
        self.state = "starting"
        port = free_port(self.host)
        self.url = f"http://{self.host}:{port}"
        cmd = [sys.executable, "-m", "reactor_web.runtime", "--host", self.host, "--port", str(port)]
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        self._process = await asyncio.create_subprocess_exec(
            *cmd, "--max-sessions", "1", *self._args, preexec_fn=preexec
        )
        try:
            async with asyncio.timeout(timeout_s), httpx.AsyncClient(timeout=1.0) as client:
                while not await self._healthy(client):
                    if self._process.returncode is not None:
                        raise WorkerStartError(f"worker {self.index} exited with {self._process.returncode}")
                    await asyncio.sleep(_HEALTH_POLL_S)
        except (TimeoutError, WorkerStartError) as exc:
            await self.stop()
            raise WorkerStartError(f"worker {self.index} did not start: {exc or 'timed out'}") from exc
        self.state = "idle"
        log.info("GPU worker %d ready at %s (pid %s)", self.index, self.url, self.pid)

    async def _healthy(self, client: httpx.AsyncClient) -> bool:
        try:
            return (await client.get(f"{self.url}/health")).status_code == 200
        except httpx.TransportError:
            return False

    async def wait_exit(self) -> int:
        assert self._process is not None
        return await self._process.wait()

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-stream, as a crashed GPU node would."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()

    async def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM (the runtime closes its sessions), then SIGKILL if it lingers."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(timeout_s):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
