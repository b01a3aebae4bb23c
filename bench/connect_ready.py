"""Connect → ready: how long from ``connect()`` until the session is usable.

Two moments per run, both from just before ``connect()``: **status ready** (the client reports
``ready``: session created, transport up, data channel open) and **first frame** (the first decoded
``main_video`` frame reaches the application). The run then disconnects (ending the session).

* (a) our ``Reactor`` client against our embedded runtime (``python -m reactor_web.runtime``).
* (b) our client and the official ``reactor-sdk`` 1.13 (PyPI, Python 3.12, driven through
  ``bench/sdk_connect_worker.py`` under ``.venv-interop/bin/python``) against one ``reactor-runtime``
  3.10 process serving ``examples/reactor_runtime_demo``. reactor-runtime holds one session at a time:
  between runs we wait until ``GET /session`` says ``ready`` again. Runs alternate ours / theirs.
  reactor-runtime hands out its STUN servers; a local STUN responder (``bench/stun.py``) answers them,
  because an unanswered STUN URL adds each side's ICE gathering timeout (seconds) to every connect
  (``--dead-stun`` measures that case).

    python bench/connect_ready.py [--rounds 20] [--skip-embedded] [--skip-interop] [--dead-stun]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from harness import (
    ROOT,
    LocalRuntime,
    fmt,
    loopback_media,
    print_table,
    summary,
    verdict,
    write_results,
)
from stun import stun_responder

from reactor_web.client import Reactor
from reactor_web.runtime.process import free_port
from tests.interop.interop_support import DEMO_MODEL_NAME, INTEROP_PYTHON, LOOPBACK_STUN, spawn_reactor_runtime

MODEL = DEMO_MODEL_NAME
TIMEOUT_S = 30.0
SDK_WORKER = ROOT / "bench" / "sdk_connect_worker.py"


async def ours_once(url: str) -> dict[str, Any]:
    """One connect → ready → first frame → disconnect with our client, timed like the SDK worker."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[float] = loop.create_future()
    first_frame: asyncio.Future[float] = loop.create_future()
    reactor = Reactor(MODEL, api_url=url, local=True)
    tasks: list[asyncio.Task[None]] = []

    def on_status(status: str) -> None:
        if status == "ready" and not ready.done():
            ready.set_result(time.perf_counter())

    async def first_of(track: Any) -> None:
        await track.recv()
        if not first_frame.done():
            first_frame.set_result(time.perf_counter())

    def on_track(name: str, track: Any) -> None:
        if name == "main_video":
            tasks.append(asyncio.ensure_future(first_of(track)))

    reactor.on("status_changed", on_status)
    reactor.on("track_received", on_track)
    started = time.perf_counter()
    try:
        await asyncio.wait_for(reactor.connect(), TIMEOUT_S)
        ready_at = await asyncio.wait_for(ready, TIMEOUT_S)
        frame_at = await asyncio.wait_for(first_frame, TIMEOUT_S)
        return {"status_ready_ms": (ready_at - started) * 1000, "first_frame_ms": (frame_at - started) * 1000}
    except Exception as exc:  # counted as a failed run, not a crash of the whole benchmark
        return {"status_ready_ms": None, "first_frame_ms": None, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        for task in tasks:
            task.cancel()
        await reactor.aclose()


class SdkWorker:
    """The reactor-sdk worker process: one JSON line of timings per ``run``."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [str(INTEROP_PYTHON), str(SDK_WORKER), "--url", url, "--model", MODEL],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    async def once(self) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        line = await asyncio.to_thread(self.process.stdout.readline)
        if not line:
            return {"status_ready_ms": None, "first_frame_ms": None, "error": "reactor-sdk worker exited"}
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_reactor_runtime(log: Path, stun_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    return spawn_reactor_runtime(port, stun_url, log), f"http://127.0.0.1:{port}"


async def wait_session_ready(url: str, timeout_s: float = 90.0) -> float:
    """Wait until reactor-runtime can take a new session (``GET /session`` state ``ready``); seconds waited."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() - started < timeout_s:
            try:
                if (await http.get(f"{url}/session")).json().get("state") == "ready":
                    return time.monotonic() - started
            except (httpx.TransportError, ValueError):
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(f"reactor-runtime at {url} did not return to state ready within {timeout_s:g} s")


def add_rows(label: str, runs: dict[str, list[dict[str, Any]]], table: list[list[Any]], out: list[Any]) -> None:
    for client, samples in runs.items():
        ready, frame = summary(r["status_ready_ms"] for r in samples), summary(r["first_frame_ms"] for r in samples)
        failures = [r["error"] for r in samples if r.get("error")]
        out.append({"runtime": label, "client": client, "status_ready_ms": ready, "first_frame_ms": frame,
                    "failures": failures, "runs": samples})  # fmt: skip
        table.append([label, client, f"{ready['n']}/{len(samples)}", fmt(ready["median"]), fmt(ready["p95"]),
                      fmt(frame["median"]), fmt(frame["p95"])])  # fmt: skip


async def run_embedded(rounds: int, log: Path, table: list[list[Any]], out: list[Any]) -> None:
    runtime = LocalRuntime(log, stamp=False)
    runtime.start(640, 360)
    try:
        await ours_once(runtime.url)  # warm-up: imports, codec init, first HTTP connection
        samples = [await ours_once(runtime.url) for _ in range(rounds)]
    finally:
        runtime.stop()
    add_rows("embedded (ours)", {"reactor-web": samples}, table, out)


async def run_interop(
    rounds: int, log: Path, stun_url: str, table: list[list[Any]], out: list[Any]
) -> dict[str, Any] | None:
    process, url = start_reactor_runtime(log, stun_url)
    worker = SdkWorker(url)
    runs: dict[str, list[dict[str, Any]]] = {"reactor-web": [], "reactor-sdk": []}
    try:
        await wait_session_ready(url)
        for i in range(rounds + 1):  # round 0 warms both clients up and is not counted
            # Alternate which client goes first so that drift on a noisy machine hits both alike.
            order = ("reactor-web", "reactor-sdk") if i % 2 else ("reactor-sdk", "reactor-web")
            for client in order:
                await wait_session_ready(url)
                result = await (ours_once(url) if client == "reactor-web" else worker.once())
                if i:
                    runs[client].append(result)
    finally:
        worker.close()
        process.terminate()
        process.wait(timeout=15)
    add_rows("reactor-runtime 3.10", runs, table, out)
    ours, theirs = (summary(r["first_frame_ms"] for r in runs[c])["median"] for c in ("reactor-web", "reactor-sdk"))
    ours_ready, theirs_ready = (summary(r["status_ready_ms"] for r in runs[c])["median"] for c in runs)
    return {"ratio_first_frame": ours / theirs, "ratio_status_ready": ours_ready / theirs_ready}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="counted runs per client and runtime")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--skip-interop", action="store_true", help="no reactor-runtime / reactor-sdk comparison")
    parser.add_argument(
        "--dead-stun",
        action="store_true",
        help="give reactor-runtime a STUN URL nobody answers (as the interop tests do) instead of a local responder",
    )
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench-reactor-runtime.log"))
    args = parser.parse_args()
    loopback_media()
    table: list[list[Any]] = []
    out: list[Any] = []
    ratios = None
    if not args.skip_embedded:
        await run_embedded(args.rounds, args.log.with_name("bench-runtime.log"), table, out)
    if not args.skip_interop:
        if not INTEROP_PYTHON.exists():
            print("skipping reactor-runtime / reactor-sdk: run scripts/setup_interop.sh first")
        else:
            if args.dead_stun:
                ratios = await run_interop(args.rounds, args.log, LOOPBACK_STUN, table, out)
            else:
                with stun_responder() as stun_url:
                    ratios = await run_interop(args.rounds, args.log, stun_url, table, out)
    print_table(["runtime", "client", "ok", "ready med ms", "ready p95", "1st frame med ms", "1st frame p95"], table)
    if ratios is not None:
        ok = ratios["ratio_first_frame"] <= 1.0
        print(f"\nours / reactor-sdk (median): status ready {ratios['ratio_status_ready']:.2f}, first frame "
              f"{ratios['ratio_first_frame']:.2f}  target <= 1.00 (first frame): {verdict(ok)}")  # fmt: skip
    write_results("connect_ready", vars(args), {"rows": out, "ratios_ours_over_sdk": ratios})


if __name__ == "__main__":
    asyncio.run(main())
