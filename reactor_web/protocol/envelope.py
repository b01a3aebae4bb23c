"""Data-channel envelope, byte-compatible with JS ``JSON.stringify`` (Part A §0 and §7)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from reactor_web.protocol.constants import DEFAULT_MAX_MESSAGE_SIZE, Scope
from reactor_web.protocol.json_safe import JsonInputError, loads

_SCOPES: frozenset[str] = frozenset({"application", "runtime"})


def _js_normalise(value: Any) -> Any:
    """Map Python values to what JSON.stringify would print: 1.0 → 1, NaN/inf → null."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): _js_normalise(v) for k, v in value.items() if v is not _UNDEFINED}
    if isinstance(value, (list, tuple)):
        return [_js_normalise(v) for v in value]
    return value


class _Undefined:
    """Marker for a key that must be omitted, like a JS ``undefined`` property."""

    def __repr__(self) -> str:
        return "UNDEFINED"


_UNDEFINED = _Undefined()
UNDEFINED: Any = _UNDEFINED


def encode_json(value: Any) -> str:
    """Serialise like JS ``JSON.stringify``: compact, raw UTF-8, key order kept."""
    return json.dumps(_js_normalise(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_envelope(
    scope: Scope,
    message_type: str,
    data: Any = UNDEFINED,
    uploads: dict[str, Any] | None = None,
) -> str:
    """Build a data-channel frame ``{"scope","data":{"type","data","uploads"?}}``.

    ``data`` left as ``UNDEFINED`` omits the inner ``data`` key, as the JS SDK does for ``undefined``.
    """
    if scope not in _SCOPES:
        raise ValueError(f"unknown scope {scope!r}: expected 'application' or 'runtime'")
    inner: dict[str, Any] = {"type": message_type}
    if data is not UNDEFINED:
        inner["data"] = data
    if uploads:
        inner["uploads"] = uploads
    return encode_json({"scope": scope, "data": inner})


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded frame. ``scope`` is None for frames without a valid envelope."""

    scope: Scope | None
    payload: Any

    @property
    def type(self) -> str | None:
        """The inner ``type`` when the payload is a ``{"type": ...}`` object."""
        if isinstance(self.payload, dict):
            kind = self.payload.get("type")
            return kind if isinstance(kind, str) else None
        return None

    @property
    def data(self) -> Any:
        """The inner ``data`` when the payload is an object, else None."""
        return self.payload.get("data") if isinstance(self.payload, dict) else None


def envelope_of(value: Any) -> Envelope:
    """Classify a decoded JSON value: an enveloped frame gives its scope and inner ``data``; anything else
    gives ``scope=None`` and the whole value."""
    if isinstance(value, dict) and value.get("scope") in _SCOPES and value.get("data") is not None:
        return Envelope(value["scope"], value["data"])
    return Envelope(None, value)


def decode_frame(frame: str | bytes, *, max_bytes: int = DEFAULT_MAX_MESSAGE_SIZE) -> Envelope:
    """Decode a received frame as Part A §7.3 does, with the hardened decoder (``json_safe``).

    A string is JSON-parsed; one that cannot be (not JSON, or refused: too large, too deep, NaN, a lone
    surrogate...) is kept raw, as the JS SDK keeps what ``JSON.parse`` refuses. Binary is passed through.
    Never raises.
    """
    if isinstance(frame, bytes):
        return Envelope(None, frame)
    try:
        value = loads(frame, max_bytes=max_bytes, what="frame")
    except JsonInputError:
        return Envelope(None, frame)
    return envelope_of(value)
