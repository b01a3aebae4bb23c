"""A small CPU-only model written against reactor-runtime's own authoring API (3.10).

It is the counterpart the interop tests run inside the *published* runtime:

* ``main_video`` (out): 640x360 at 30 fps. Without a webcam it draws an animated
  gradient with a moving bar; with a webcam it shows the newest webcam frame, scaled
  to 640x360 and lightly tinted green. A 6-pixel bar at the top always moves, so the
  stream is animated either way.
* ``webcam`` (in): the client's camera (any size), read newest-first.
* Commands: ``set_brightness {value: int 0..100}`` (50 = unchanged) and
  ``ping {seq: int}`` → replies ``pong {seq, frame}`` to the sender.
* Messages: ``pong`` (a command's reply) and ``brightness_changed`` (broadcast).

Start it with ``HOST=127.0.0.1 PORT=8080 python -m reactor_runtime.serve`` in this folder
(see README.md). This file needs Python >= 3.12 and reactor-runtime; it is not imported
by the reactor_web package.
"""

from __future__ import annotations

import numpy as np
from reactor_runtime import (
    InputField,
    MediaInput,
    MessageField,
    ModelMessage,
    Output,
    ReactorApp,
    Video,
    event,
    session_started,
)

WIDTH = 640
HEIGHT = 360
TINT = np.array([0.0, 255.0, 0.0], dtype=np.float32)
TINT_WEIGHT = 0.15


class DemoOutput(Output):
    main_video: Video


class DemoInput(MediaInput):
    webcam: Video


class Pong(ModelMessage):
    """Reply to ``ping``."""

    seq: int = MessageField(description="The seq the ping carried.")
    frame: int = MessageField(description="Frames generated so far in this session.")


class BrightnessChanged(ModelMessage):
    """Broadcast when ``set_brightness`` changed the brightness."""

    value: int = MessageField(description="The new brightness, 0..100 (50 = unchanged).")


def _resize_nearest(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest-neighbour resize of an (H, W, 3) frame, numpy only."""
    src_h, src_w = frame.shape[:2]
    if (src_h, src_w) == (height, width):
        return frame
    rows = (np.arange(height) * src_h // height).astype(np.intp)
    cols = (np.arange(width) * src_w // width).astype(np.intp)
    return frame[rows][:, cols]


class DemoApp(ReactorApp):
    fps = 30
    media: DemoInput

    def load(self, config_path: object) -> None:
        y = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, None]
        x = np.linspace(0.0, 1.0, WIDTH, dtype=np.float32)[None, :]
        self._x = x
        self._y = y
        self._reset()

    def _reset(self) -> None:
        self.brightness = 50
        self.frame_count = 0
        self.webcam_frame: np.ndarray | None = None

    @session_started
    def on_session_started(self) -> None:
        self._reset()

    # -- commands -------------------------------------------------------------

    @event(name="set_brightness", description="Set the output brightness (50 leaves it unchanged).")
    async def set_brightness(
        self, value: int = InputField(50, ge=0, le=100, description="Brightness, 0..100.")
    ) -> None:
        self.brightness = value
        await self.send(BrightnessChanged(value=value))

    @event(name="ping", description="Answer with a pong message carrying the same seq.")
    def ping(self, seq: int = InputField(0, description="Echoed back in the pong.")) -> Pong:
        return Pong(seq=seq, frame=self.frame_count)

    # -- the step -------------------------------------------------------------

    async def process_input(self) -> dict[str, object]:
        frames = self.media.webcam.try_read()
        if frames:
            self.webcam_frame = frames[-1].data
        return {"webcam": self.webcam_frame, "brightness": self.brightness}

    def generate(self, input: dict[str, object], /) -> DemoOutput:
        t = self.frame_count / float(self.fps)
        self.frame_count += 1
        webcam = input["webcam"]
        if isinstance(webcam, np.ndarray):
            base = _resize_nearest(webcam[..., :3], WIDTH, HEIGHT).astype(np.float32)
            rgb = base * (1.0 - TINT_WEIGHT) + TINT * TINT_WEIGHT
        else:
            phase = (t * 0.25) % 1.0
            r = 255.0 * ((self._x + phase) % 1.0)
            g = 255.0 * self._y * np.ones_like(self._x)
            b = 128.0 + 127.0 * np.sin(2 * np.pi * (self._x + self._y + phase))
            rgb = np.stack(np.broadcast_arrays(r, g, b), axis=-1)
            bar = int((t * 160) % WIDTH)
            rgb[:, max(0, bar - 8) : bar + 8] = 255.0
        brightness = int(input["brightness"])  # type: ignore[call-overload]
        rgb = rgb * (brightness / 50.0)
        out = np.clip(rgb, 0, 255).astype(np.uint8)
        # Always-moving marker along the top edge, so the picture changes every frame.
        marker = (self.frame_count * 8) % WIDTH
        out[:6, :] = 0
        out[:6, marker : marker + 40] = 255
        return DemoOutput(main_video=out)
