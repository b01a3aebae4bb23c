"""reactor-sdk 1.13 (PyPI) driving a runtime, for ``test_reactor_sdk.py``: prints one JSON line of what it saw.

Runs under ``.venv-interop/bin/python`` (Python 3.12; reactor-sdk needs it), so it imports nothing from reactor_web:

    .venv-interop/bin/python tests/interop/sdk_driver.py --url http://127.0.0.1:8080 [--model NAME]

Connects (local mode), waits for ready and for main_video frames, sends ``ping`` (a reply), ``set_brightness
{value: 40}`` (acknowledged), ``set_brightness {value: 500}`` and ``fly_away`` (refused), then disconnects.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
from typing import Any

from reactor_sdk import Reactor
from reactor_sdk.errors import ReactorError

TIMEOUT_S = 30.0
FRAMES = 10


async def command(reactor: Reactor, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """What ``send_command`` gave: the reply (or None), or the refusal's code and message."""
    try:
        return {"reply": await asyncio.wait_for(reactor.send_command(name, data), TIMEOUT_S)}
    except ReactorError as exc:
        return {"error": {"code": exc.code, "message": exc.message}}


async def run(url: str, model: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    enough = asyncio.Event()
    seen: list[tuple[int, int, int]] = []  # (width, height, a checksum of the first row)
    lock = threading.Lock()

    def on_status(status: str) -> None:
        if status == "ready" and not ready.done():
            ready.set_result(None)

    def on_frame(bgra: bytes, width: int, height: int, *_rest: Any) -> None:  # the SDK's media thread
        with lock:
            seen.append((width, height, sum(bgra[: width * 4 : 97])))
            if len(seen) == FRAMES:
                loop.call_soon_threadsafe(enough.set)

    reactor = Reactor(model, local=True, api_url=url)
    reactor.on("status_changed", on_status)
    track = reactor.track("main_video")  # kept referenced: its callbacks stop otherwise
    track.on_raw_frame(on_frame)
    result: dict[str, Any] = {}
    try:
        await asyncio.wait_for(reactor.connect(), TIMEOUT_S)
        await asyncio.wait_for(ready, TIMEOUT_S)
        await asyncio.wait_for(enough.wait(), TIMEOUT_S)
        with lock:
            result["frames"] = [list(f) for f in seen]
        result["ping"] = await command(reactor, "ping", {})
        result["ack"] = await command(reactor, "set_brightness", {"value": 40})
        result["out_of_schema"] = await command(reactor, "set_brightness", {"value": 500})
        result["unknown"] = await command(reactor, "fly_away", {})
    except Exception as exc:  # reported to the test, which prints it
        result["failure"] = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            await asyncio.wait_for(reactor.disconnect(), TIMEOUT_S)
        finally:
            reactor.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", default="reactor-web-demo")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.model))), flush=True)


if __name__ == "__main__":
    main()
