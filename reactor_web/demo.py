"""Terminal demo: the Python client against a local runtime, printing statuses and messages.

python -m reactor_web.demo                    # starts the embedded runtime itself
python -m reactor_web.demo --url http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

import av

from reactor_web.client import Reactor, ReactorError
from reactor_web.runtime.process import RuntimeProcess


def _print(*parts: Any) -> None:
    print(*parts, flush=True)


async def _frames(reactor: Reactor, count: int) -> list[tuple[int, int, float]]:
    """Sizes and mean brightness of the next ``count`` frames of ``main_video``."""
    out = []
    track = reactor.tracks["main_video"]
    for _ in range(count):
        frame = await asyncio.wait_for(track.recv(), 10)
        assert isinstance(frame, av.VideoFrame)
        image = frame.to_ndarray(format="rgb24")
        out.append((image.shape[1], image.shape[0], float(image.mean())))
    return out


async def run(url: str) -> None:
    reactor = Reactor("reactor-web-demo", api_url=url, local=True)
    ready = asyncio.Event()

    def on_status(status: str) -> None:
        _print(f"status  {status}")
        if status == "ready":
            ready.set()

    reactor.on("status_changed", on_status)
    reactor.on("message", lambda message: _print(f"message {message}"))
    reactor.on("error", lambda error: _print(f"error   {error.code}: {error.message}"))
    await reactor.connect()
    await asyncio.wait_for(ready.wait(), 30)
    _print(f"session {reactor.get_session_id()}")
    caps = reactor.get_capabilities()
    if caps is not None:
        _print("commands", ", ".join(c.name for c in caps.commands))
    for width, height, mean in await _frames(reactor, 3):
        _print(f"frame   {width}x{height} mean brightness {mean:.0f}")
    for command, data in [
        ("ping", {}),
        ("set_prompt", {"text": "hello from Python"}),
        ("set_brightness", {"value": 0}),
    ]:
        _print(f"send    {command} {data}")
        await reactor.send_command(command, data)
    await asyncio.sleep(0.5)  # let the replies and a few dark frames arrive before printing them
    for width, height, mean in await _frames(reactor, 2):
        _print(f"frame   {width}x{height} mean brightness {mean:.0f}")
    with contextlib.suppress(ReactorError):
        await reactor.send_command("no_such_command", {})
    await asyncio.sleep(0.3)
    await reactor.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running local runtime; default: start the embedded one")
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url))
        return
    with RuntimeProcess() as runtime:
        _print(f"runtime {runtime.url}")
        asyncio.run(run(runtime.url))


if __name__ == "__main__":
    main()
