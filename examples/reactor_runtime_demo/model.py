"""A small CPU-only model written against reactor-runtime's own authoring API (3.10).

It is the counterpart the interop tests run inside the *published* runtime:

* ``main_video`` (out): 640x360 at 30 fps. Without a webcam it draws an animated
  gradient with a moving bar; with a webcam it shows the newest webcam frame, scaled
  to 640x360 and lightly tinted green. A 6-pixel bar at the top always moves, so the
  stream is animated either way.
* ``edges_video`` (out): the same frame's edges, gray, at half the size (320x180):
  R = G = B = min(255, 3 * (|dx| + |dy|)) of every second pixel's BT.601 luma, as
  reactor_web's embedded demo model defines it (``reactor_web.runtime.model.edges_view``).
* ``main_audio`` (out): 48 kHz mono, 1600 samples per frame, a sine at 0.25 of full
  scale whose pitch follows the brightness: 220 + 8.8 * brightness Hz (660 Hz at 50),
  phase-continuous when it changes.
* ``webcam`` (in): the client's camera (any size), read newest-first.
* ``microphone`` (in): the client's microphone, 48 kHz mono (the runtime resamples and
  mixes down). The model keeps its newest 160 ms and reports their RMS level (0..1 of
  full scale) and dominant frequency.
* Commands: ``set_brightness {value: int 0..100}`` (50 = unchanged; broadcasts ``brightness_changed``,
  answers nothing: acknowledged), ``ping {seq: int}`` → replies ``pong {seq, frame}`` to the sender,
  ``mark {label: str}`` (remembered, answers nothing: a bodyless acknowledgement in v1) and
  ``spend_credits {amount: int}``, which this demo always refuses with
  ``CommandError("quota_exceeded", ...)`` (a correlated refusal in v1; silent in v0).
* Messages: ``pong`` (a command's reply), ``brightness_changed`` (broadcast) and
  ``state_update {brightness, mic_level, mic_pitch_hz}`` (broadcast every 0.5 s while a
  microphone is heard, and once more when it has been silent for 1 s).

Start it with ``HOST=127.0.0.1 PORT=8080 python -m reactor_runtime.serve`` in this folder
(see README.md). This file needs Python >= 3.12 and reactor-runtime; it is not imported
by the reactor_web package.
"""

from __future__ import annotations

import math
import time

import numpy as np
from reactor_runtime import (
    Audio,
    CommandError,
    InputField,
    MediaInput,
    MessageField,
    ModelMessage,
    Output,
    ReactorApp,
    ReadMode,
    Video,
    event,
    session_started,
)

WIDTH = 640
HEIGHT = 360
FPS = 30
TINT = np.array([0.0, 255.0, 0.0], dtype=np.float32)
TINT_WEIGHT = 0.15
SAMPLE_RATE = 48_000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS
TONE_AMPLITUDE = 0.25
#: The microphone analysis: the newest 160 ms, reported every 0.5 s, gone after 1 s without audio.
MIC_WINDOW = round(0.16 * SAMPLE_RATE)
MIC_REPORT_S = 0.5
MIC_STALE_S = 1.0
SILENCE_LEVEL = 0.001


def tone_hz(brightness: int) -> float:
    """The pitch of ``main_audio`` at ``brightness`` 0..100 (as in reactor_web.runtime.audio)."""
    return 220.0 + 8.8 * brightness


class DemoOutput(Output):
    main_video: Video
    edges_video: Video
    main_audio: Audio


class DemoInput(MediaInput):
    webcam: Video
    microphone: Audio


class Pong(ModelMessage):
    """Reply to ``ping``."""

    seq: int = MessageField(description="The seq the ping carried.")
    frame: int = MessageField(description="Frames generated so far in this session.")


class BrightnessChanged(ModelMessage):
    """Broadcast when ``set_brightness`` changed the brightness."""

    value: int = MessageField(description="The new brightness, 0..100 (50 = unchanged).")


class StateUpdate(ModelMessage):
    """Broadcast while a microphone is heard: what the model hears of it."""

    brightness: int = MessageField(description="The brightness, 0..100.")
    mic_level: float = MessageField(description="RMS of the newest 160 ms, 0..1 of full scale (0: none).")
    mic_pitch_hz: float | None = MessageField(None, description="Their dominant frequency in Hz (null: silent).")


def edges_view(frame: np.ndarray) -> np.ndarray:
    """Gray edges of an (H, W, 3) RGB frame at half the size (even): see the module docstring."""
    h, w = frame.shape[0] // 2 & ~1, frame.shape[1] // 2 & ~1
    rgb = frame[0 : 2 * h : 2, 0 : 2 * w : 2].astype(np.uint16)
    luma = ((77 * rgb[..., 0] + 150 * rgb[..., 1] + 29 * rgb[..., 2]) >> 8).astype(np.int16)
    edges = np.zeros_like(luma)
    edges[:, 1:] += np.abs(luma[:, 1:] - luma[:, :-1])
    edges[1:, :] += np.abs(luma[1:, :] - luma[:-1, :])
    gray = np.clip(edges * 3, 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def pitch_hz(samples: np.ndarray) -> float:
    """The strongest frequency (Hz) of float samples at SAMPLE_RATE: Hann window, parabolic peak."""
    size = 1 << (len(samples) - 1).bit_length()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)), size))
    low = math.ceil(20.0 * size / SAMPLE_RATE)  # not DC or rumble
    k = low + int(np.argmax(spectrum[low:-1]))
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    denominator = a - 2 * b + c
    offset = 0.5 * (a - c) / denominator if denominator < 0 else 0.0
    return float((k + offset) * SAMPLE_RATE / size)


def _resize_nearest(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest-neighbour resize of an (H, W, 3) frame, numpy only."""
    src_h, src_w = frame.shape[:2]
    if (src_h, src_w) == (height, width):
        return frame
    rows = (np.arange(height) * src_h // height).astype(np.intp)
    cols = (np.arange(width) * src_w // width).astype(np.intp)
    return frame[rows][:, cols]


class DemoApp(ReactorApp):
    fps = FPS
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
        self.phase = 0.0
        self.mic_window = np.zeros(0, dtype=np.float32)
        self.mic_heard_at = -math.inf
        self.mic_reported_at = -math.inf
        self.mic_reporting = False
        self.last_mark = ""

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

    @event(name="mark", description="Remember a label; answers nothing (acknowledged).")
    def mark(self, label: str = InputField("", description="Any text.")) -> None:
        self.last_mark = label

    @event(name="spend_credits", description="Always refused: this demo has no credits.")
    def spend_credits(self, amount: int = InputField(1, ge=1, description="Credits to spend.")) -> None:
        raise CommandError("quota_exceeded", f"no credits left for {amount}")

    # -- the step -------------------------------------------------------------

    async def process_input(self) -> dict[str, object]:
        frames = self.media.webcam.try_read()
        if frames:
            self.webcam_frame = frames[-1].data
        await self._listen()
        return {"webcam": self.webcam_frame, "brightness": self.brightness}

    async def _listen(self) -> None:
        """Take the microphone audio that arrived, and report what is heard (see the module docstring)."""
        microphone = self.media.microphone
        frames = microphone.try_read(microphone.available, ReadMode.FIFO) if microphone.available else None
        now = time.monotonic()
        if frames:
            samples = np.concatenate([f.data.reshape(-1) for f in frames]).astype(np.float32) / 32768.0
            self.mic_window = np.concatenate((self.mic_window, samples[-MIC_WINDOW:]))[-MIC_WINDOW:]
            self.mic_heard_at = now
        hearing = now - self.mic_heard_at <= MIC_STALE_S
        if not hearing:
            self.mic_window = self.mic_window[:0]
        if (hearing or self.mic_reporting) and now - self.mic_reported_at >= MIC_REPORT_S:
            level = float(np.sqrt(np.mean(np.square(self.mic_window)))) if self.mic_window.size else 0.0
            pitch = pitch_hz(self.mic_window) if level >= SILENCE_LEVEL and self.mic_window.size > 1024 else None
            await self.send(
                StateUpdate(
                    brightness=self.brightness,
                    mic_level=round(level, 3),
                    mic_pitch_hz=None if pitch is None else round(pitch, 1),
                )
            )
            self.mic_reported_at = now
            self.mic_reporting = hearing  # one more report after the microphone went quiet, then none

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
        return DemoOutput(main_video=out, edges_video=edges_view(out), main_audio=self._tone(brightness))

    def _tone(self, brightness: int) -> np.ndarray:
        """One frame's worth of the tone, (1, SAMPLES_PER_FRAME) int16, carrying the phase on."""
        step = 2 * math.pi * tone_hz(brightness) / SAMPLE_RATE
        wave = TONE_AMPLITUDE * np.sin(self.phase + step * np.arange(SAMPLES_PER_FRAME))
        self.phase = (self.phase + step * SAMPLES_PER_FRAME) % (2 * math.pi)
        return np.rint(wave * 32767).astype(np.int16).reshape(1, -1)
