"""What every benchmark shares: statistics, machine facts, result files, tables, and process helpers.

Each benchmark prints a table and writes ``bench/results/<name>.json`` with the machine it ran on, the
options it ran with, and every summary row, so that numbers from different machines are never mixed up.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:  # scripts run as `python bench/x.py` import the package from the checkout
    sys.path.insert(0, str(ROOT))

from reactor_web.runtime.process import free_port  # noqa: E402 (needs the checkout on sys.path)


def loopback_media() -> None:
    """Every WebRTC leg on 127.0.0.1 (set before anything reads the settings), as the tests do."""
    os.environ.setdefault("REACTOR_ICE_HOST_ADDRESSES", "127.0.0.1")


def summary(values: Iterable[float]) -> dict[str, float]:
    """n, median, p95 (nearest rank) and max; NaN when there are no values."""
    ordered = sorted(v for v in values if v is not None and not math.isnan(v))
    if not ordered:
        return {"n": 0, "median": math.nan, "p95": math.nan, "max": math.nan}
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"n": len(ordered), "median": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        print("  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    cpu_model = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": cpu_model,
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "load_average_1m": os.getloadavg()[0],
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "aiortc": _package_version("aiortc"),
        "av": _package_version("av"),
        "reflex": _package_version("reflex"),
        "playwright": _package_version("playwright"),
    }


def write_results(name: str, options: dict[str, Any], results: Any) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_info(),
        "options": options,
        "results": results,
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"\nwrote {path.relative_to(ROOT)}")
    return path


def runtime_sessions(url: str) -> int:
    """Sessions our embedded runtime holds (its ``/health`` counts them)."""
    return int(httpx.get(f"{url}/health", timeout=5).json()["sessions"])


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


class CpuMeter:
    """CPU time of some processes between ``start()`` and ``stop()``, in % of one core.

    ``processes`` is asked again at each reading, so workers that come and go are counted while alive.
    """

    def __init__(self, processes: Callable[[], list[psutil.Process]]) -> None:
        self.processes = processes
        self._cpu0 = 0.0
        self._t0 = 0.0

    def _cpu_seconds(self) -> float:
        total = 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass  # exited in between: its time is gone either way
        return total

    def start(self) -> None:
        self._cpu0, self._t0 = self._cpu_seconds(), time.monotonic()

    def stop(self) -> float:
        return 100.0 * (self._cpu_seconds() - self._cpu0) / max(1e-9, time.monotonic() - self._t0)


def with_descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class LocalRuntime:
    """Our runtime (``python -m reactor_web.runtime``) on a fixed port, restartable at another resolution
    while a dashboard keeps its URL. ``stamp`` draws the wall-clock time into every frame it renders."""

    def __init__(
        self,
        log: Path,
        *,
        stamp: bool = True,
        max_sessions: int = 16,
        fps: int = 30,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = log
        self.env = {**os.environ, **(env or {}), "REACTOR_RUNTIME_STAMP_FRAMES": "1" if stamp else "0"}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.max_sessions, self.fps = max_sessions, fps
        self.process: subprocess.Popen[bytes] | None = None
        self.size: tuple[int, int] | None = None

    def start(self, width: int, height: int) -> None:
        if self.process is not None and self.size == (width, height):
            return
        self.stop()
        args = ["--host", "127.0.0.1", "--port", str(self.port), "--width", str(width), "--height", str(height)]
        args += ["--fps", str(self.fps), "--max-sessions", str(self.max_sessions)]
        # Its access log goes to a file: one line per request would drown the benchmark's output.
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reactor_web.runtime", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.size = (width, height)
        wait_until(self._healthy, 30, f"the runtime at {self.url}")

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"runtime exited with {self.process.returncode}; see {self.log}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: the runtime closes its sessions
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process, self.size = None, None

    @property
    def psutil_process(self) -> psutil.Process:
        assert self.process is not None
        return psutil.Process(self.process.pid)
