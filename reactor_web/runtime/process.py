"""Run the runtime as a separate process (``python -m reactor_web.runtime``), e.g. for tests that kill it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from types import TracebackType

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (another process could still take it before it is used)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class RuntimeProcess:
    """A runtime subprocess; ``start()`` (or ``with``) returns once ``/health`` answers."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        startup_timeout_s: float = 60.0,
        detached: bool = False,
    ) -> None:
        """``detached``: in a session of its own, so that it outlives the process that started it (a runtime
        several backend workers share, stopped by its lease rather than by its parent)."""
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self._args = list(args or [])
        # glibc's per-thread malloc arenas (aiortc, av and uvicorn threads) hold freed memory for good:
        # two arenas keep the runtime's footprint flat over many sessions (bench/soak.py).
        self._env = {"MALLOC_ARENA_MAX": "2", **os.environ, **(env or {})}
        self._startup_timeout_s = startup_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self._detached = detached

    def start(self) -> RuntimeProcess:
        cmd = [sys.executable, "-m", "reactor_web.runtime", "--host", self.host, "--port", str(self.port), *self._args]
        self.process = subprocess.Popen(cmd, env=self._env, start_new_session=self._detached)
        deadline = time.monotonic() + self._startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runtime exited with status {self.process.returncode} during startup")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise TimeoutError(f"runtime did not answer {self.url}/health within {self._startup_timeout_s:g} s")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """Graceful stop (SIGTERM: sessions are closed), then SIGKILL if it does not exit in time."""
        if not self.alive:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the runtime dies mid-stream, as a crashed GPU node would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> RuntimeProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
