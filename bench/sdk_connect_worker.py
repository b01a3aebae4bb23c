"""Connect → ready timings of the official ``reactor-sdk`` (PyPI), for ``bench/connect_ready.py``.

Runs under ``.venv-interop/bin/python`` (Python 3.12; reactor-sdk needs it), so it imports nothing from
reactor_web. It stays alive and answers one JSON line on stdout for every ``run`` line on stdin, so the
SDK's import and native library load are paid once, as for our client in the driving process:

    {"status_ready_ms": ..., "first_frame_ms": ..., "error": null}

Times are from just before ``connect()``; the session is ended with ``disconnect()`` before answering.

    .venv-interop/bin/python bench/sdk_connect_worker.py --url http://127.0.0.1:8080 [--model NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from reactor_sdk import Reactor

TIMEOUT_S = 30.0


async def one_run(url: str, model: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    ready, first_frame = loop.create_future(), loop.create_future()
    reactor = Reactor(model, local=True, api_url=url)

    def on_status(status: str) -> None:
        if status == "ready" and not ready.done():
            ready.set_result(time.perf_counter())

    def on_frame(bgra: bytes, width: int, height: int, frame_id: int, timestamp_us: int, user_data: bytes) -> None:
        # Called on the SDK's media thread: hand the time over to the loop.
        now = time.perf_counter()
        loop.call_soon_threadsafe(lambda: first_frame.done() or first_frame.set_result(now))

    reactor.on("status_changed", on_status)
    reactor.track("main_video").on_raw_frame(on_frame)
    started = time.perf_counter()
    try:
        await asyncio.wait_for(reactor.connect(), TIMEOUT_S)
        ready_at = await asyncio.wait_for(ready, TIMEOUT_S)
        frame_at = await asyncio.wait_for(first_frame, TIMEOUT_S)
        return {
            "status_ready_ms": (ready_at - started) * 1000,
            "first_frame_ms": (frame_at - started) * 1000,
            "error": None,
        }
    except Exception as exc:  # reported to the driver, which counts it as a failed run
        return {"status_ready_ms": None, "first_frame_ms": None, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        try:
            await asyncio.wait_for(reactor.disconnect(), TIMEOUT_S)
        finally:
            reactor.close()


async def serve(url: str, model: str) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "quit":
            return
        print(json.dumps(await one_run(url, model)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", default="reactor-web-demo")
    args = parser.parse_args()
    asyncio.run(serve(args.url, args.model))


if __name__ == "__main__":
    main()
