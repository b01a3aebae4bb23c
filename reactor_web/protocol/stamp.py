"""A timestamp drawn into a frame's pixels, to measure latency through video codecs and browsers.

24 bits of wall-clock milliseconds (wrapping every ~4.6 hours) as black/white cells in the frame's top
row, with a white/black guard pair in front. Cells are 16x16 pixels so that lossy VP8/H.264 keeps them
readable; any process on the same machine (the model, a browser page) shares the clock.
"""

from __future__ import annotations

import time

import numpy as np

BITS = 24
CELL = 16
_MASK = (1 << BITS) - 1
#: Width the stamp needs: two guard cells and one cell per bit.
STAMP_WIDTH = (BITS + 2) * CELL


def now_ms() -> int:
    return int(time.time() * 1000) & _MASK


def draw_stamp(image: np.ndarray, value: int | None = None) -> int:
    """Draw ``value`` (default: now) into the top-left of an RGB ``image`` in place; returns it."""
    value = now_ms() if value is None else value & _MASK
    if image.shape[0] < CELL or image.shape[1] < STAMP_WIDTH:
        raise ValueError(f"a stamp needs at least {STAMP_WIDTH}x{CELL} pixels")
    cells = [255, 0] + [255 if value >> (BITS - 1 - i) & 1 else 0 for i in range(BITS)]
    for i, level in enumerate(cells):
        image[:CELL, i * CELL : (i + 1) * CELL] = level
    return value


def read_stamp(image: np.ndarray) -> int | None:
    """The stamp in an RGB (or grey) ``image``, or None when the guard cells are not there."""
    if image.shape[0] < CELL or image.shape[1] < STAMP_WIDTH:
        return None
    grey = image[:CELL, :STAMP_WIDTH].astype(np.float32)
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    centre = slice(CELL // 4, CELL - CELL // 4)
    levels = [float(grey[centre, i * CELL + CELL // 4 : (i + 1) * CELL - CELL // 4].mean()) for i in range(BITS + 2)]
    if levels[0] < 160 or levels[1] > 96:
        return None
    value = 0
    for level in levels[2:]:
        value = value << 1 | (1 if level >= 128 else 0)
    return value


def age_ms(stamp: int) -> int:
    """Milliseconds since ``stamp`` was drawn (modulo the 24-bit wrap)."""
    return (now_ms() - stamp) & _MASK
