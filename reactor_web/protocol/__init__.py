"""Reactor wire protocol shared by the client and the embedded runtime.

Everything here is pure data and (de)serialisation: no I/O, no aiortc, no httpx.
"""

from reactor_web.protocol.capabilities import (
    Capabilities,
    CommandSpec,
    ProtocolError,
    TrackSpec,
    commands_from_openapi,
    commands_to_openapi,
)
from reactor_web.protocol.envelope import (
    Envelope,
    decode_frame,
    encode_envelope,
    encode_json,
)

__all__ = [
    "Capabilities",
    "CommandSpec",
    "Envelope",
    "ProtocolError",
    "TrackSpec",
    "commands_from_openapi",
    "commands_to_openapi",
    "decode_frame",
    "encode_envelope",
    "encode_json",
]
