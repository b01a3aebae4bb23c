"""The codec seam: one :class:`Codec` per wire version turns :mod:`~reactor_web.protocol.messages` into frames.

The client, the runtime and the relay above them hold a codec and never look at the version: v0
(:mod:`~reactor_web.protocol.codec_v0`, the JSON of Part A §7 and Part B §B.2) or v1
(:mod:`~reactor_web.protocol.codec_v1`, the protobuf of Part C). :func:`sniff` tells a frame's version as
reactor-runtime does (Part C §C.2); :func:`reactor_web.protocol.codecs.codec_for` gives a version's codec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reactor_web.protocol.messages import Channel, ClientMessage, Received, ServerMessage, WireVersion


class WireError(ValueError):
    """A frame that cannot be decoded, or a message that cannot be encoded, in a wire version.

    ``code``: ``DECODE_FAILED`` (not a frame of this version: malformed, truncated, of the other version, text
    that is not UTF-8...), ``MESSAGE_TOO_LARGE`` (over the size limit), ``INVALID_MESSAGE`` (a well-formed frame
    of the wrong shape), ``UNKNOWN_MESSAGE_TYPE`` (a message this side does not know), ``ENCODE_FAILED`` (a value
    the wire cannot carry, or a message this version has no frame for). ``message`` says what was wrong.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Encoded:
    """A frame ready to send: the channel it goes on, its payload (text for v0, bytes for v1), its size in bytes."""

    channel: Channel
    payload: str | bytes
    size: int


class Codec(Protocol):
    """Encodes and decodes the vocabulary for one wire version. ``encode`` raises :class:`WireError`
    (``ENCODE_FAILED``) and never sends half a frame; ``decode_*`` raise :class:`WireError` or return."""

    @property
    def version(self) -> WireVersion:
        """``"v0"`` or ``"v1"``."""
        ...

    @property
    def answers_commands(self) -> bool:
        """Whether the runtime answers every command (reply, acknowledgement or refusal), correlated: v1 only."""
        ...

    def encode(self, message: ClientMessage | ServerMessage, request_id: str = "") -> Encoded | None:
        """The frame of ``message`` (``request_id`` correlates a request and its answer; ``""`` for none), or
        None where this version has no such frame and nothing is to be sent (a v0 acknowledgement)."""
        ...

    def decode_server(self, frame: str | bytes, channel: Channel, *, max_bytes: int) -> Received:
        """A runtime → client frame received on ``channel`` (the client's side)."""
        ...

    def decode_client(self, frame: str | bytes, channel: Channel, *, max_bytes: int) -> Received:
        """A client → runtime frame received on ``channel`` (the runtime's side)."""
        ...


def sniff(frame: str | bytes) -> WireVersion:
    """A frame's wire version as reactor-runtime tells it (Part C §C.2): a text frame, or a binary one whose
    first non-space byte opens a JSON document, is v0; any other binary frame is v1."""
    if isinstance(frame, str):
        return "v0"
    return "v0" if frame.lstrip()[:1] in (b"{", b"[") else "v1"
