"""Command round trip, v0 (JSON) versus v1 (protobuf), our client against our runtime and against reactor-runtime 3.10.

What is timed: from ``send_command("ping", ...)`` to the model's ``pong`` reaching the app as the client's
``message`` event, the same on both wires (on v1 that event comes with the correlated answer, and
``send_command`` returns right after it; on v0 ``send_command`` returns once sent). Commands go one at a time.
Each round connects a fresh session per wire and alternates which wire goes first, so drift on a loaded machine
hits both alike; the first ``--warmup`` pings of a session are not counted. Runtimes: ours
(``python -m reactor_web.runtime``, 640x360) and reactor-runtime 3.10 serving ``examples/reactor_runtime_demo``
(needs ``scripts/setup_interop.sh``). The client runs in this process, each runtime in its own.

    python bench/command_codecs.py [--pings 100] [--rounds 3] [--warmup 5] [--skip-interop]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from connect_ready import start_reactor_runtime, wait_session_ready
from harness import LocalRuntime, fmt, loopback_media, print_table, summary, verdict, write_results

from reactor_web.client import Reactor
from tests.interop.interop_support import DEMO_MODEL_NAME, INTEROP_PYTHON, LOOPBACK_STUN

WIRES = {"v0": "v0", "v1": "auto"}  # label → Reactor(wire=...): "auto" speaks v1 on the connections routes
TIMEOUT_S = 20.0


async def session_round_trips(url: str, wire: str, pings: int, warmup: int, seq: bool) -> list[float]:
    """Connect one session on ``wire`` and time ``warmup + pings`` pings; the counted ones in ms."""
    reactor = Reactor(DEMO_MODEL_NAME, api_url=url, local=True, wire=WIRES[wire])  # type: ignore[arg-type]
    ready = asyncio.Event()
    pending: list[asyncio.Future[float]] = []

    def on_message(message: Any) -> None:
        if isinstance(message, dict) and message.get("type") == "pong" and pending and not pending[0].done():
            pending[0].set_result(time.perf_counter())

    reactor.on("status_changed", lambda status: ready.set() if status == "ready" else None)
    reactor.on("message", on_message)
    samples: list[float] = []
    try:
        await asyncio.wait_for(reactor.connect(), TIMEOUT_S)
        await asyncio.wait_for(ready.wait(), TIMEOUT_S)
        assert reactor.wire_version == wire, f"asked for {wire}, speaking {reactor.wire_version}"
        for i in range(warmup + pings):
            pending[:] = [asyncio.get_running_loop().create_future()]
            started = time.perf_counter()
            await reactor.send_command("ping", {"seq": i} if seq else {})
            arrived = await asyncio.wait_for(pending[0], TIMEOUT_S)
            if i >= warmup:
                samples.append((arrived - started) * 1000)
    finally:
        await reactor.aclose()
    return samples


async def measure(
    label: str, url: str, args: argparse.Namespace, *, seq: bool, between: Any = None
) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {wire: [] for wire in WIRES}
    for round_index in range(args.rounds):
        order = list(WIRES) if round_index % 2 == 0 else list(reversed(WIRES))
        for wire in order:
            if between is not None:
                await between()
            runs[wire] += await session_round_trips(url, wire, args.pings, args.warmup, seq)
        print(f"{label}: round {round_index + 1}/{args.rounds} done", flush=True)
    return runs


def rows(label: str, runs: dict[str, list[float]], table: list[list[Any]], out: list[dict[str, Any]]) -> None:
    stats = {wire: summary(samples) for wire, samples in runs.items()}
    ratio = stats["v1"]["median"] / stats["v0"]["median"]
    for wire, s in stats.items():
        table.append([label, wire, s["n"], fmt(s["median"], 2), fmt(s["p95"], 2), fmt(s["max"], 2)])
    table.append([label, "v1 / v0", "", f"{ratio:.2f}", f"{stats['v1']['p95'] / stats['v0']['p95']:.2f}", ""])
    out.append({"runtime": label, "stats": stats, "ratio_median_v1_over_v0": ratio, "samples_ms": runs})


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pings", type=int, default=100, help="counted pings per session")
    parser.add_argument("--rounds", type=int, default=3, help="sessions per wire and runtime")
    parser.add_argument("--warmup", type=int, default=5, help="uncounted pings at the start of each session")
    parser.add_argument("--skip-interop", action="store_true", help="no reactor-runtime 3.10")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench-command-codecs.log"))
    args = parser.parse_args()
    loopback_media()
    table: list[list[Any]] = []
    out: list[dict[str, Any]] = []

    ours = LocalRuntime(args.log.with_name("bench-command-codecs-runtime.log"), stamp=False)
    ours.start(640, 360)
    try:
        rows("ours", await measure("ours", ours.url, args, seq=False), table, out)
    finally:
        ours.stop()

    if not args.skip_interop and not INTEROP_PYTHON.exists():
        print("skipping reactor-runtime 3.10: run scripts/setup_interop.sh first")
    elif not args.skip_interop:
        process, url = start_reactor_runtime(args.log, LOOPBACK_STUN)
        try:
            await wait_session_ready(url)
            runs = await measure("reactor-runtime 3.10", url, args, seq=True, between=lambda: wait_session_ready(url))
            rows("reactor-runtime 3.10", runs, table, out)
        finally:
            process.terminate()
            process.wait(timeout=15)

    print("\ncommand round trip: send_command('ping') → the pong's message event, ms (one at a time)")
    print_table(["runtime", "wire", "n", "median", "p95", "max"], table)
    ok = all(row["ratio_median_v1_over_v0"] <= 1.0 for row in out)
    print(f"\nv1 no slower than v0 (median ratio <= 1.00 on every runtime): {verdict(ok)}")
    write_results("command_codecs", vars(args), {"rows": out})


if __name__ == "__main__":
    asyncio.run(main())
