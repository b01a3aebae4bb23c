"""Helpers for the client ⇄ embedded runtime tests: event recorder, frame waits, a synthetic camera."""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc import VideoStreamTrack
from aiortc.mediastreams import MediaStreamTrack
from av import VideoFrame

from reactor_web.client import Reactor
from reactor_web.client.events import EVENTS

#: Generous bounds for waits: they only fail a test that is stuck, they time nothing.
WAIT_S = 20.0
WIDTH, HEIGHT = 320, 180


class Recorder:
    """Records every event of a Reactor and lets a test wait for one."""

    def __init__(self, reactor: Reactor) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self._changed = asyncio.Event()
        for event in EVENTS:
            reactor.on(event, self._handler(event))

    def _handler(self, event: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.events.append((event, args))
            self._changed.set()

        return record

    def args(self, event: str, since: int = 0) -> list[tuple[Any, ...]]:
        return [args for name, args in self.events[since:] if name == event]

    def statuses(self) -> list[str]:
        return [args[0] for args in self.args("status_changed")]

    async def wait(
        self,
        event: str,
        predicate: Callable[..., bool] = lambda *a: True,
        within: float = WAIT_S,
        since: int = 0,
    ) -> tuple[Any, ...]:
        """The first ``event`` recorded from index ``since`` on whose args satisfy ``predicate``, waiting
        for it if need be."""

        def found() -> tuple[Any, ...] | None:
            return next((args for args in self.args(event, since) if predicate(*args)), None)

        async with asyncio.timeout(within):
            while (hit := found()) is None:
                self._changed.clear()
                await self._changed.wait()
        return hit

    async def wait_status(self, status: str, within: float = WAIT_S, since: int = 0) -> None:
        await self.wait("status_changed", lambda s: s == status, within, since)


async def connected(url: str, **options: Any) -> tuple[Reactor, Recorder]:
    """A local Reactor on ``url`` that has reached ``ready``."""
    reactor = Reactor("reactor-web-demo", local=True, api_url=url, **options)
    recorder = Recorder(reactor)
    await reactor.connect()
    await recorder.wait_status("ready")
    return reactor, recorder


async def frame_where(
    track: MediaStreamTrack, predicate: Callable[[np.ndarray], bool], within: float = WAIT_S
) -> np.ndarray:
    """Read frames until one (as an RGB array) satisfies ``predicate``; returns that array."""
    async with asyncio.timeout(within):
        while True:
            frame = await track.recv()
            rgb = frame.to_ndarray(format="rgb24")
            if predicate(rgb):
                return rgb


def mean_rgb(rgb: np.ndarray) -> np.ndarray:
    return rgb.reshape(-1, 3).mean(axis=0)


class SolidColourTrack(VideoStreamTrack):
    """A synthetic camera: every frame one RGB colour, paced at 30 fps."""

    def __init__(self, rgb: tuple[int, int, int], width: int = WIDTH, height: int = HEIGHT) -> None:
        super().__init__()
        self._image = np.empty((height, width, 3), np.uint8)
        self._image[:] = rgb

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts, frame.time_base = pts, fractions.Fraction(time_base)
        return frame
