"""The demo "world model": a cheap CPU renderer driven by commands.

It stands in for a GPU model so that every part of the stack (signalling, media both ways, commands,
messages, uploads) can be exercised on any machine. Without webcam input it animates a scene; with webcam
input it transforms the latest webcam frame. An uploaded image (``set_image``) is blended over either.
Settings change on the next rendered frame. With ``stamp_frames`` every frame carries the wall-clock time
it was rendered at (``protocol.stamp``), for glass-to-glass latency measurements.

Its outputs, in the runtime's capabilities order: ``main_video`` (:meth:`DemoModel.render`),
``edges_video`` (:func:`edges_view` of the same frame: the model renders once per frame for both) and
``main_audio`` (a tone whose pitch follows the brightness, ``audio.tone_hz``). Its inputs: ``webcam``
(:meth:`DemoModel.set_webcam_frame`) and ``microphone`` (:meth:`DemoModel.feed_microphone`: its level and
pitch are reported in :attr:`DemoModel.state` and drawn as a meter on ``main_video``).
"""

from __future__ import annotations

import io
import logging
import math
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from reactor_web.protocol.capabilities import UPLOAD_TYPE, CommandSpec
from reactor_web.protocol.stamp import STAMP_WIDTH, draw_stamp
from reactor_web.protocol.validation import CommandValidationError, validate_data
from reactor_web.runtime.audio import MicAnalyser

log = logging.getLogger(__name__)

EFFECTS: tuple[str, ...] = ("none", "invert", "edges", "posterize", "grayscale")
PROMPT_MAX_CHARS = 200
DEFAULT_BRIGHTNESS = 50
#: Without a new webcam frame for this long the model goes back to its own scene (camera unpublished).
WEBCAM_STALE_S = 1.0
#: Error messages quote the offending value; keep them short.
_MAX_ERROR_CHARS = 240
DEFAULT_OPACITY = 0.5
#: Images with more pixels than this are refused before decoding: a small compressed file can expand to
#: gigabytes (Pillow itself only warns below twice its own, much larger, limit).
MAX_IMAGE_PIXELS = 40_000_000
#: The model's second video output: :func:`edges_view` of every ``main_video`` frame.
EDGES_VIDEO_TRACK = "edges_video"
#: The microphone meter: a column this wide (pixels) at the left edge of ``main_video``, darkened to
#: 1/:data:`METER_BACKDROP` while a microphone feeds the model, with a bar of :data:`METER_RGB` rising from
#: the bottom to ``round(level * height)`` rows (level: the RMS, 0..1 of full scale).
METER_WIDTH = 8
METER_BACKDROP = 4
METER_RGB = (60, 220, 90)

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "set_brightness",
        "Scale the picture's brightness: 0 is black, 50 unchanged, 100 twice as bright.",
        {
            "value": {
                "type": "integer",
                "description": "Brightness, 0..100",
                "minimum": 0,
                "maximum": 100,
                "default": 50,  # where the model starts: generated controls start there too
                "required": True,
            }
        },
    ),
    CommandSpec(
        "set_effect",
        "Apply an image effect.",
        {"name": {"type": "string", "description": "Effect name", "enum": list(EFFECTS), "required": True}},
    ),
    CommandSpec(
        "set_prompt",
        "Draw a text prompt on the picture.",
        {
            "text": {
                "type": "string",
                "description": "Prompt text",
                "maxLength": PROMPT_MAX_CHARS,
                "required": True,
            }
        },
    ),
    CommandSpec(
        "set_image",
        "Blend an uploaded image (PNG, JPEG, WebP...) over the picture.",
        {
            "image": {"type": UPLOAD_TYPE, "description": "Image file", "required": True},
            "opacity": {
                "type": "number",
                "description": "How much of the image shows, 0..1",
                "minimum": 0,
                "maximum": 1,
                "default": DEFAULT_OPACITY,
            },
        },
    ),
    CommandSpec("clear_image", "Remove the image set with set_image.", {}),
    CommandSpec("ping", "Reply with a pong message.", {}),
)

_STATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "brightness": {"type": "integer"},
        "effect": {"type": "string", "enum": list(EFFECTS)},
        "prompt": {"type": "string"},
        "image": {"type": ["string", "null"], "description": "name of the blended image's file"},
        "opacity": {"type": "number"},
        "mic_level": {
            "type": "number",
            "description": "RMS level of the microphone's latest 160 ms, 0..1 of full scale (0: none publishing)",
        },
        "mic_pitch_hz": {
            "type": ["number", "null"],
            "description": "dominant frequency of the microphone's latest 160 ms in Hz (null: silent or none)",
        },
    },
}
#: Application messages the model sends, for the OpenAPI document's ``webhooks``.
MESSAGES: dict[str, dict[str, Any]] = {
    "state_update": _STATE_SCHEMA,
    "pong": {"type": "object", "properties": {"timestamp": {"type": "number"}, "frame": {"type": "integer"}}},
    "error": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "command": {"type": "string"}},
    },
}


@dataclass(frozen=True, slots=True)
class ModelMessage:
    """An application-scope message; ``broadcast`` ones go to every client of the session."""

    type: str
    data: dict[str, Any]
    broadcast: bool = False


class DemoModel:
    """Renders ``width``x``height`` RGB frames; commands change brightness, effect, prompt and image.

    ``frame_index`` counts rendered frames; ``commands_applied`` counts commands that took effect (each
    one clicks on ``main_audio``).
    """

    def __init__(self, width: int = 640, height: int = 360, fps: int = 30, *, stamp_frames: bool = False) -> None:
        if stamp_frames and width < STAMP_WIDTH:
            raise ValueError(f"stamped frames must be at least {STAMP_WIDTH} pixels wide, not {width}")
        self.width = width
        self.height = height
        self.fps = fps
        self.stamp_frames = stamp_frames
        self.brightness = DEFAULT_BRIGHTNESS
        self.effect = "none"
        self.prompt = ""
        self.image_name: str | None = None
        self.opacity = DEFAULT_OPACITY
        self.frame_index = 0
        self.commands_applied = 0
        self.microphone = MicAnalyser()
        self._commands = {c.name: c for c in COMMANDS}
        # (256 - weight, image * weight): the blend in 8.8 fixed point, precomputed per set_image.
        self._image_blend: tuple[int, np.ndarray] | None = None
        self._webcam: av.VideoFrame | np.ndarray | None = None
        self._webcam_at = 0.0
        self._webcam_rgb: tuple[object, np.ndarray] | None = None  # (source, converted) cache
        self._prompt_overlay: tuple[int, int, np.ndarray] | None = None  # (x, y, mask)
        self._font = ImageFont.load_default(size=max(12, height // 18))
        self._lut = self._build_lut()
        self._build_scene()

    # ----------------------------------------------------------------- commands

    @property
    def state(self) -> dict[str, Any]:
        """What ``state_update`` messages carry (``MESSAGES["state_update"]`` is its schema)."""
        hearing = self.microphone.active
        pitch = self.microphone.pitch_hz() if hearing else None
        return {
            "brightness": self.brightness,
            "effect": self.effect,
            "prompt": self.prompt,
            "image": self.image_name,
            "opacity": self.opacity,
            "mic_level": round(self.microphone.level, 3) if hearing else 0.0,
            "mic_pitch_hz": None if pitch is None else round(pitch, 1),
        }

    def handle_command(self, name: str, data: Any, files: Mapping[str, bytes] | None = None) -> list[ModelMessage]:
        """Apply one application command; returns the messages to send back. Never raises.

        Upload parameters arrive in ``data`` as their ``{upload_id, name, mime_type, size}`` reference
        (the envelope's ``uploads`` merged back in); ``files`` maps those parameters to the uploaded bytes.
        """
        spec = self._commands.get(name)
        if spec is None:
            log.warning("unknown command %r", name[:_MAX_ERROR_CHARS])
            return [_error("UNKNOWN_COMMAND", f"unknown command {name!r}"[:_MAX_ERROR_CHARS], name)]
        payload = {} if data is None else data
        try:
            validate_data(spec, payload)
        except CommandValidationError as exc:
            log.warning("invalid %s command: %s", name, exc)
            return [_error("INVALID_COMMAND", str(exc), name)]
        if name == "ping":
            self.commands_applied += 1
            return [ModelMessage("pong", {"timestamp": time.time(), "frame": self.frame_index})]
        if name == "set_brightness":
            self.brightness = int(payload["value"])
            self._lut = self._build_lut()
        elif name == "set_effect":
            self.effect = payload["name"]
            self._lut = self._build_lut()
        elif name == "set_prompt":
            self.prompt = payload["text"]
            self._prompt_overlay = self._build_prompt_overlay(self.prompt)
        elif name == "set_image":
            problem = self._set_image(payload["image"], (files or {}).get("image"), payload.get("opacity"))
            if problem is not None:
                return [problem]
        elif name == "clear_image":
            self.image_name, self._image_blend = None, None
        self.commands_applied += 1
        return [self.state_message()]

    def state_message(self) -> ModelMessage:
        """The ``state_update`` broadcast after every applied command (and while a microphone feeds the model)."""
        return ModelMessage("state_update", self.state, broadcast=True)

    def _set_image(self, ref: dict[str, Any], content: bytes | None, opacity: float | None) -> ModelMessage | None:
        """Decode and fit the image to the frame; an error message if it cannot be used (state unchanged)."""
        label = f"{ref['name']!r} ({ref['mime_type']})"[:80]
        if content is None:
            message = f"image: no completed upload {ref['upload_id']!r} in this session"
            return _error("UNKNOWN_UPLOAD", message[:_MAX_ERROR_CHARS], "set_image")
        try:
            with Image.open(io.BytesIO(content)) as source:
                if source.width * source.height > MAX_IMAGE_PIXELS:
                    raise ValueError(f"{source.width}x{source.height} is more than {MAX_IMAGE_PIXELS} pixels")
                source.draft("RGB", (self.width, self.height))  # JPEG: decode at reduced scale when it can
                fitted = ImageOps.fit(source.convert("RGB"), (self.width, self.height))
        except Exception as exc:  # Pillow raises many types on corrupt input; none may end the session
            log.warning("set_image: cannot decode %s: %r", label, exc)
            return _error("INVALID_IMAGE", f"image: cannot decode {label}: {exc}"[:_MAX_ERROR_CHARS], "set_image")
        self.opacity = DEFAULT_OPACITY if opacity is None else float(opacity)
        self.image_name = str(ref["name"])
        weight = round(self.opacity * 256)
        self._image_blend = (256 - weight, np.asarray(fitted, dtype=np.uint16) * weight)
        return None

    # ------------------------------------------------------------------ webcam

    def set_webcam_frame(self, frame: av.VideoFrame | np.ndarray) -> None:
        """Hand the model the newest webcam frame (an RGB array or a decoded video frame)."""
        self._webcam = frame
        self._webcam_at = time.monotonic()

    def clear_webcam(self) -> None:
        self._webcam = None
        self._webcam_rgb = None

    def _webcam_image(self) -> np.ndarray | None:
        frame = self._webcam
        if frame is None or time.monotonic() - self._webcam_at > WEBCAM_STALE_S:
            return None
        if self._webcam_rgb is not None and self._webcam_rgb[0] is frame:
            return self._webcam_rgb[1]
        if isinstance(frame, av.VideoFrame):
            rgb = frame.to_ndarray(format="rgb24", width=self.width, height=self.height)
        elif frame.shape[:2] != (self.height, self.width):
            rgb = np.asarray(Image.fromarray(frame[..., :3]).resize((self.width, self.height)))
        else:
            rgb = frame[..., :3]
        self._webcam_rgb = (frame, rgb)
        return rgb

    # -------------------------------------------------------------- microphone

    def feed_microphone(self, frame: av.AudioFrame) -> bool:
        """Hand the model the newest microphone audio (any format, layout and rate); False if the frame
        was unusable and ignored. Never raises."""
        return self.microphone.feed(frame)

    def clear_microphone(self) -> None:
        """Forget the microphone's audio (it was unpublished): level 0, no pitch, no meter."""
        self.microphone.clear()

    @property
    def microphone_active(self) -> bool:
        """A microphone fed the model within ``audio.MIC_STALE_S``."""
        return self.microphone.active

    # --------------------------------------------------------------- rendering

    def render(self, t: float | None = None) -> np.ndarray:
        """The next frame, ``(height, width, 3)`` uint8 RGB. ``t`` (seconds) drives the animation."""
        t = time.monotonic() if t is None else t
        webcam = self._webcam_image()
        img = webcam.copy() if webcam is not None else self._scene(t)
        blend = self._image_blend
        if blend is not None:
            keep, weighted = blend
            img = ((img.astype(np.uint16) * keep + weighted) >> 8).astype(np.uint8)
        overlay = self._prompt_overlay
        if overlay is not None:
            x, y, mask = overlay
            box = img[y : y + mask.shape[0], x : x + mask.shape[1]]
            box //= 3  # dark backdrop so the text reads on any picture
            box[mask] = 255
        if self.effect == "grayscale":
            img = np.repeat(_luma(img)[..., None], 3, axis=2)
        elif self.effect == "edges":
            img = np.repeat(_edges(_luma(img))[..., None], 3, axis=2)
        if self._lut is not None:
            img = self._lut[img]
        if self.microphone.active:
            self._draw_meter(img, self.microphone.level)
        if self.stamp_frames:
            draw_stamp(img)  # last, so no effect or overlay can garble it
        self.frame_index += 1
        return img

    def _draw_meter(self, img: np.ndarray, level: float) -> None:
        """The microphone meter (:data:`METER_WIDTH`), after the effects so that none changes it."""
        column = img[:, :METER_WIDTH]
        column //= METER_BACKDROP  # a dark backdrop so the bar reads on any picture
        bar = round(min(max(level, 0.0), 1.0) * self.height)
        if bar:
            column[self.height - bar :] = METER_RGB

    def _build_lut(self) -> np.ndarray | None:
        """One lookup table for the per-pixel effects (invert, posterize) followed by brightness."""
        x = np.arange(256, dtype=np.float32)
        if self.effect == "invert":
            x = 255 - x
        elif self.effect == "posterize":
            x = np.floor(x / 64) * 85
        x = x * (self.brightness / DEFAULT_BRIGHTNESS)
        lut = np.clip(np.rint(x), 0, 255).astype(np.uint8)
        return None if np.array_equal(lut, np.arange(256)) else lut

    def _build_scene(self) -> None:
        """Precompute a double-width gradient (scrolled by slicing) and a disc mask."""
        w, h = self.width, self.height
        u = np.linspace(0, 2 * math.pi, 2 * w, endpoint=False)
        v = np.linspace(0, 1, h)[:, None]
        r = 120 + 60 * np.sin(u)[None, :] + 0 * v
        g = 80 + 100 * v + 0 * u[None, :]
        b = 120 + 60 * np.cos(u)[None, :] - 40 * v
        self._canvas = np.clip(np.stack([r, g, b], axis=2), 0, 255).astype(np.uint8)
        self._disc_d = max(8, h // 4)
        yy, xx = np.mgrid[: self._disc_d, : self._disc_d]
        c = (self._disc_d - 1) / 2
        self._disc = (xx - c) ** 2 + (yy - c) ** 2 <= c * c
        self._square = max(6, h // 6)

    def _scene(self, t: float) -> np.ndarray:
        w, h = self.width, self.height
        offset = int(t * w / 8) % w  # the gradient scrolls one width every 8 s
        img = self._canvas[:, offset : offset + w].copy()
        d = self._disc_d
        x = int((w - d) * (0.5 + 0.5 * math.sin(t * 1.3)))
        y = int((h - d) * (0.5 + 0.5 * math.sin(t * 0.9 + 1.0)))
        img[y : y + d, x : x + d][self._disc] = (250, 220, 60)
        s = self._square
        x = int((w - s) * (0.5 + 0.5 * math.cos(t * 0.7)))
        y = int((h - s) * (0.5 + 0.5 * math.sin(t * 1.7)))
        img[y : y + s, x : x + s] = (40, 60, 200)
        return img

    def _build_prompt_overlay(self, text: str) -> tuple[int, int, np.ndarray] | None:
        if not text.strip():
            return None
        margin = max(4, self.height // 40)
        char_w = max(1.0, self._font.getlength("abcdefghij") / 10)
        lines = textwrap.wrap(text, width=max(8, int((self.width - 4 * margin) / char_w))) or [text]
        line_h = int(self._font.getbbox("Ag")[3] * 1.25)
        box_w = min(self.width - 2 * margin, int(max(self._font.getlength(s) for s in lines)) + 2 * margin)
        box_h = min(self.height - 2 * margin, line_h * len(lines) + 2 * margin)
        canvas = Image.new("L", (box_w, box_h), 0)
        draw = ImageDraw.Draw(canvas)
        for i, line in enumerate(lines):
            draw.text((margin, margin + i * line_h), line, fill=255, font=self._font)
        mask = np.asarray(canvas) > 127
        return margin, self.height - margin - box_h, mask


def edges_view(frame: np.ndarray) -> np.ndarray:
    """The ``edges_video`` picture of a ``main_video`` frame: gray edges at half the resolution.

    ``frame``: ``(H, W, 3)`` uint8 RGB (as sent, meter and stamp included). Returns ``(h, w, 3)`` uint8 with
    ``h = H // 2`` and ``w = W // 2`` rounded down to even numbers, and R == G == B == ``E`` where
    ``E = _edges(_luma(frame[0:2h:2, 0:2w:2]))``: every second pixel's BT.601 luma, then its gradient
    magnitude ``min(255, 3 * (|dx| + |dy|))`` (0 in flat areas; the first row and column only count the
    direction they have). So the view is gray where the main picture is colourful, dark where it is
    smooth and bright along its outlines.
    """
    h = frame.shape[0] // 2 & ~1
    w = frame.shape[1] // 2 & ~1
    edges = _edges(_luma(frame[0 : 2 * h : 2, 0 : 2 * w : 2]))
    return np.repeat(edges[..., None], 3, axis=2)


def _luma(img: np.ndarray) -> np.ndarray:
    """BT.601 luma in integer arithmetic (fast, no float copies)."""
    rgb = img.astype(np.uint16)
    return ((77 * rgb[..., 0] + 150 * rgb[..., 1] + 29 * rgb[..., 2]) >> 8).astype(np.uint8)


def _edges(gray: np.ndarray) -> np.ndarray:
    """Gradient magnitude (|dx| + |dy|), amplified."""
    g = gray.astype(np.int16)
    out = np.zeros_like(g)
    out[:, 1:] += np.abs(g[:, 1:] - g[:, :-1])
    out[1:, :] += np.abs(g[1:, :] - g[:-1, :])
    return np.clip(out * 3, 0, 255).astype(np.uint8)


def _error(code: str, message: str, command: str) -> ModelMessage:
    return ModelMessage("error", {"code": code, "message": message, "command": command})
