"""Media for the tests: a sine source track, the pitch and level of audio that arrives, how gray a picture is."""

from __future__ import annotations

import asyncio
import math
from fractions import Fraction

import numpy as np
from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame

RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms


def sine_frame(hz: float, start: int, amplitude: float = 0.3, samples: int = FRAME_SAMPLES) -> AudioFrame:
    """``samples`` of a sine at ``hz`` from sample ``start``, s16 48 kHz, the same on both channels (aiortc's
    encoder would upmix mono 3 dB quieter)."""
    t = (np.arange(samples) + start) / RATE
    pcm = np.rint(np.sin(2 * math.pi * hz * t) * amplitude * 32767).astype(np.int16)
    frame = AudioFrame.from_ndarray(np.repeat(pcm, 2)[None, :], format="s16", layout="stereo")
    frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
    return frame


class SineTrack(MediaStreamTrack):
    """A microphone stand-in: a sine at ``hz``, paced in real time (20 ms frames)."""

    kind = "audio"

    def __init__(self, hz: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.hz, self.amplitude, self.sent = hz, amplitude, 0
        self._t0: float | None = None

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self._t0 is None:
            self._t0 = loop.time()
        due = self._t0 + self.sent / RATE
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        frame = sine_frame(self.hz, self.sent, self.amplitude)
        self.sent += FRAME_SAMPLES
        return frame


def mono(frame: AudioFrame) -> np.ndarray:
    """The first channel of ``frame`` as float samples in -1..1."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    samples = data.reshape(-1)[::channels] if frame.format.is_packed else data[0]
    return samples.astype(np.float64) / 32768.0


def pitch_hz(samples: np.ndarray, rate: int = RATE) -> float:
    """The strongest frequency in ``samples`` (Hann window), in Hz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[0] = 0
    return float(np.argmax(spectrum) * rate / len(samples))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2)))


async def collect(track: MediaStreamTrack, seconds: float, within: float = 20.0) -> np.ndarray:
    """``seconds`` of audio read from ``track`` (its first channel), waiting at most ``within`` seconds."""

    async def read() -> np.ndarray:
        chunks: list[np.ndarray] = []
        while sum(len(c) for c in chunks) < seconds * RATE:
            chunks.append(mono(await track.recv()))
        return np.concatenate(chunks)

    return await asyncio.wait_for(read(), within)


async def pitch_reaches(track: MediaStreamTrack, hz: float, tolerance: float, within: float = 20.0) -> float:
    """Read 0.2 s windows of ``track`` until one's pitch is within ``tolerance`` of ``hz``; returns that pitch."""
    async with asyncio.timeout(within):
        while abs((pitch := pitch_hz(await collect(track, 0.2, within))) - hz) > tolerance:
            pass
    return pitch


def colourfulness(rgb: np.ndarray) -> float:
    """Mean spread between a pixel's channels: ~0 for a gray picture (up to codec error)."""
    channels = rgb.astype(int)
    return float((np.abs(channels[..., 0] - channels[..., 1]) + np.abs(channels[..., 1] - channels[..., 2])).mean())
