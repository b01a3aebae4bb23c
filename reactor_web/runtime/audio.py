"""The demo model's sound: the tone it plays on ``main_audio`` and what it hears on ``microphone``.

Output: a sine tone whose pitch follows the brightness (:func:`tone_hz`), at :data:`TONE_AMPLITUDE` of full
scale, phase-continuous across pitch changes, with a :data:`CLICK_S` noise burst each time a command is
applied. It is made in :data:`FRAME_SAMPLES`-sample blocks (20 ms at :data:`SAMPLE_RATE`), the frame size
of Opus in WebRTC.

Input: :class:`MicAnalyser` keeps the newest :data:`MIC_WINDOW_S` of whatever audio it is given (any
sample format, layout and rate: aiortc's Opus decoder gives s16 stereo at 48 kHz, a caller may give
anything) and reports its RMS level and dominant frequency.
"""

from __future__ import annotations

import logging
import math
import time
from fractions import Fraction

import av
import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
#: 20 ms per frame: 50 audio frames per second.
FRAME_SAMPLES = 960
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
AUDIO_TIME_BASE = Fraction(1, SAMPLE_RATE)
#: Peak amplitude of the tone, as a fraction of full scale (its RMS is this / sqrt(2)).
TONE_AMPLITUDE = 0.25
#: Length (seconds) and peak amplitude (fraction of full scale) of the click played when a command is applied.
CLICK_S = 0.01
CLICK_AMPLITUDE = 0.5
_CLICK_SAMPLES = round(CLICK_S * SAMPLE_RATE)

#: How much of the newest microphone audio is analysed (seconds): long enough for a few Hz of FFT
#: resolution, short enough to follow a voice.
MIC_WINDOW_S = 0.16
#: Without new microphone audio for this long the model stops hearing it (the track ended or was unpublished).
MIC_STALE_S = 1.0
#: Below this RMS level (fraction of full scale, -60 dBFS) the microphone is silent: no pitch.
SILENCE_LEVEL = 0.001
#: Sample rates (Hz) the analyser accepts; frames at any other rate are ignored.
MIN_MIC_RATE, MAX_MIC_RATE = 8_000, 192_000
#: Frequencies (Hz) below this are not reported as a pitch (DC offset and rumble).
_MIN_PITCH_HZ = 20.0

# Full scale of each integer sample type, and the offset of the unsigned one.
_INT_SCALE = {
    np.dtype(np.uint8): (128.0, 128.0),
    np.dtype(np.int16): (32768.0, 0.0),
    np.dtype(np.int32): (2.0**31, 0.0),
}


def tone_hz(brightness: int) -> float:
    """The pitch (Hz) of ``main_audio`` at ``brightness`` 0..100: 220 + 8.8 * brightness (220..1100 Hz; 660 at 50)."""
    return 220.0 + 8.8 * brightness


class ToneSynth:
    """Makes the model's tone block by block; one per outbound audio track (each keeps its own phase)."""

    def __init__(self) -> None:
        self._phase = 0.0  # radians, where the next block's first sample starts
        self._click_left = 0  # samples of the current click still to play
        self._click = np.random.default_rng(0).uniform(-1.0, 1.0, _CLICK_SAMPLES) * np.exp(
            -np.arange(_CLICK_SAMPLES) / (_CLICK_SAMPLES / 4)
        )

    def click(self) -> None:
        """Start a click at the next block (restarting one still playing)."""
        self._click_left = _CLICK_SAMPLES

    def next_block(self, hz: float, samples: int = FRAME_SAMPLES) -> np.ndarray:
        """The next ``samples`` samples of a ``hz`` tone at :data:`SAMPLE_RATE`, ``(samples,)`` int16 mono.

        The phase carries on from the previous block, so a pitch change makes no discontinuity."""
        step = 2 * math.pi * hz / SAMPLE_RATE
        phases = self._phase + step * np.arange(samples)
        self._phase = (self._phase + step * samples) % (2 * math.pi)
        wave = TONE_AMPLITUDE * np.sin(phases)
        if self._click_left:
            start = _CLICK_SAMPLES - self._click_left
            n = min(self._click_left, samples)
            wave[:n] += CLICK_AMPLITUDE * self._click[start : start + n]
            self._click_left -= n
        return np.rint(np.clip(wave, -1.0, 1.0) * 32767).astype(np.int16)


def mono_samples(frame: av.AudioFrame) -> np.ndarray | None:
    """``frame``'s samples as ``(samples,)`` float32 in -1..1, its channels averaged; None when it has
    none or they cannot be read (an empty frame, a sample format numpy cannot take, a broken layout)."""
    channels = frame.layout.nb_channels
    if frame.samples <= 0 or channels <= 0:
        return None
    try:
        raw = frame.to_ndarray()
    except Exception as exc:  # PyAV refuses some formats (s64) and broken frames with assorted errors
        log.debug("unreadable audio frame (%s, %s): %r", frame.format.name, frame.layout.name, exc)
        return None
    scale = _INT_SCALE.get(raw.dtype)
    if scale is not None:
        data = (raw.astype(np.float32) - scale[1]) / scale[0]
    else:
        data = np.nan_to_num(raw.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=-1.0)
    # Planar: one row per channel. Packed: one row of interleaved samples.
    planes = data if frame.format.is_planar else data.reshape(-1)[: frame.samples * channels].reshape(-1, channels).T
    if planes.size == 0:
        return None
    return np.clip(planes.mean(axis=0), -1.0, 1.0)


class MicAnalyser:
    """The newest :data:`MIC_WINDOW_S` of microphone audio, and its level and pitch.

    Only the window is kept (a bounded buffer); a frame at a new sample rate starts a new window. ``feed``
    runs on the event loop; ``level`` is a plain float, so a render thread may read it meanwhile.
    """

    def __init__(self) -> None:
        self._window = np.zeros(0, np.float32)
        self._rate = 0
        self._fed_at = -math.inf
        #: RMS of the window, 0..1 of full scale (0 when cleared).
        self.level = 0.0

    @property
    def active(self) -> bool:
        """Audio arrived within :data:`MIC_STALE_S`."""
        return time.monotonic() - self._fed_at <= MIC_STALE_S

    def feed(self, frame: av.AudioFrame) -> bool:
        """Add a frame's audio; False (and nothing changes) if it is unusable. Never raises."""
        try:
            rate = frame.sample_rate
            if not MIN_MIC_RATE <= rate <= MAX_MIC_RATE:
                return False
            samples = mono_samples(frame)
        except Exception as exc:  # a frame is input like any other: a bad one is dropped, never fatal
            log.debug("dropped a microphone frame: %r", exc)
            return False
        if samples is None:
            return False
        size = round(MIC_WINDOW_S * rate)
        kept = self._window if rate == self._rate else self._window[:0]
        self._window = np.concatenate((kept, samples[-size:]))[-size:]
        self._rate = rate
        self._fed_at = time.monotonic()
        self.level = float(np.sqrt(np.mean(np.square(self._window, dtype=np.float64))))
        return True

    def clear(self) -> None:
        """Forget the window (the microphone was unpublished)."""
        self._window = np.zeros(0, np.float32)
        self._fed_at = -math.inf
        self.level = 0.0

    def pitch_hz(self) -> float | None:
        """The dominant frequency (Hz) of the window, or None when silent or too short (under 1/4 of the
        window). A Hann-windowed FFT, zero-padded to a power of two, with parabolic interpolation of the
        peak on log magnitudes: within a few Hz for a steady tone."""
        window, rate = self._window, self._rate
        if self.level < SILENCE_LEVEL or rate <= 0 or len(window) < round(MIC_WINDOW_S * rate) // 4:
            return None
        n = len(window)
        size = 1 << (n - 1).bit_length()
        spectrum = np.abs(np.fft.rfft(window * np.hanning(n), size))
        low = max(1, math.ceil(_MIN_PITCH_HZ * size / rate))
        if low >= len(spectrum) - 1:
            return None
        k = low + int(np.argmax(spectrum[low:-1]))
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
        denominator = a - 2 * b + c
        offset = 0.5 * (a - c) / denominator if denominator < 0 else 0.0
        return float((k + offset) * rate / size)
