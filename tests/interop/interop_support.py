"""Paths, constants and helpers shared by the interop tests (the fixtures are in conftest.py).

A uniquely named module so that test files can import it (every test folder has its own ``conftest``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = ROOT / "scripts" / "setup_interop.sh"
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
JS_SDK_DIR = ROOT / ".tools" / "interop-npm" / "node_modules" / "@reactor-team" / "js-sdk"
DEMO_MODEL_DIR = ROOT / "examples" / "reactor_runtime_demo"
DEMO_MODEL_NAME = "reactor-web-demo"
#: Where the runtime would look for a STUN server; nothing listens there, so it gathers host candidates only.
LOOPBACK_STUN = "stun:127.0.0.1:3478"
RUNTIME_START_TIMEOUT_S = 60.0


def spawn_reactor_runtime(port: int, stun_url: str, log_path: Path, **env: str) -> subprocess.Popen[bytes]:
    """``python -m reactor_runtime.serve`` (3.10, from ``.venv-interop``) serving the example model on
    127.0.0.1:``port``, its output in ``log_path``; ``env`` adds to the environment."""
    full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "STUN_SERVERS": stun_url, **env}
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(INTEROP_PYTHON), "-m", "reactor_runtime.serve"],
            cwd=DEMO_MODEL_DIR,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def interop_ready() -> bool:
    return INTEROP_PYTHON.exists() and (JS_SDK_DIR / "package.json").exists()


def which_bun() -> str | None:
    """bun from scripts/setup.sh (.tools/node_modules/.bin/bun), else one on PATH."""
    local = ROOT / ".tools" / "node_modules" / ".bin" / "bun"
    return str(local) if local.exists() else shutil.which("bun")


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

    def wait_until_loaded(self) -> None:
        """``/health`` answers before the model is loaded; ``GET /session`` says ``ready`` once it is."""
        deadline = time.monotonic() + RUNTIME_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"reactor-runtime exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                health = httpx.get(f"{self.url}/health", timeout=1.0)
                session = httpx.get(f"{self.url}/session", timeout=1.0)
                if health.status_code == 200 and session.json().get("state") == "ready":
                    return
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(0.1)
        pytest.fail(f"reactor-runtime did not load within {RUNTIME_START_TIMEOUT_S:g} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (the runtime drains its session), SIGKILL if it is still there after a few seconds."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
