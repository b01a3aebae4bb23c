"""The one JSON decoder for everything a peer, a browser or an HTTP client sends (both sides of every wire).

``json.loads`` alone is not safe on untrusted input: 20,000 nested ``[`` raise ``RecursionError`` (not a
``ValueError``), ``1e999`` becomes ``inf``, ``NaN`` is accepted, a 10^5-digit integer costs quadratic time
(Python refuses past 4,300 digits, with a ``ValueError`` only on some paths), ``"\\ud800"`` yields a lone
surrogate that fails later when it is echoed or encoded, and ``json.loads(bytes)`` lets UTF-8-encoded
surrogates through. :func:`loads` refuses each of these with a :class:`JsonInputError` that carries the
documented error code:

* ``MESSAGE_TOO_LARGE``: more than ``max_bytes`` UTF-8 bytes;
* ``DECODE_FAILED``: not UTF-8, not JSON, nested deeper than :data:`MAX_JSON_DEPTH`, a number literal
  longer than :data:`MAX_NUMBER_CHARS` characters or outside the double range, ``NaN``/``Infinity``,
  or a string holding a lone surrogate.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

#: Deepest nesting of arrays and objects accepted (commands and descriptors need a handful of levels).
MAX_JSON_DEPTH: Final = 32
#: Longest number literal accepted: a double needs at most 17 significant digits plus sign and exponent.
MAX_NUMBER_CHARS: Final = 40

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_RAW_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonInputError(ValueError):
    """Untrusted JSON refused; ``code`` is ``MESSAGE_TOO_LARGE`` or ``DECODE_FAILED`` (see the module)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"number literal longer than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"number literal longer than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:MAX_NUMBER_CHARS]} is outside the double range")
    return value


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant)


def _check_value(value: Any, what: str, *, strings: bool) -> None:
    """Refuse nesting deeper than :data:`MAX_JSON_DEPTH` and (when ``strings``) lone surrogates; iterative."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= MAX_JSON_DEPTH:
                raise JsonInputError("DECODE_FAILED", f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            if depth >= MAX_JSON_DEPTH:
                raise JsonInputError("DECODE_FAILED", f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
            stack.extend((child, depth + 1) for child in item)
        elif strings and isinstance(item, str) and _RAW_SURROGATE.search(item):
            raise JsonInputError("DECODE_FAILED", f"{what} holds a lone UTF-16 surrogate (not a Unicode character)")


def loads(data: str | bytes | bytearray | memoryview, *, max_bytes: int, what: str = "message") -> Any:
    """Decode untrusted JSON text (a ``str``, or UTF-8 bytes) within the limits above.

    ``max_bytes`` bounds the UTF-8 size; ``what`` names the input in error messages ("frame", "request
    body"). Raises :class:`JsonInputError`; never ``RecursionError``, ``UnicodeError`` or ``OverflowError``.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) > max_bytes:
            raise JsonInputError("MESSAGE_TOO_LARGE", f"{what} is {len(raw)} bytes: the limit is {max_bytes}")
        try:
            text = raw.decode("utf-8")  # strict: refuses invalid sequences and encoded surrogates
        except UnicodeDecodeError as exc:
            raise JsonInputError("DECODE_FAILED", f"{what} is not UTF-8: {exc.reason} at byte {exc.start}") from None
    else:
        text = data
        size = len(text) if len(text) * 4 <= max_bytes else len(text.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise JsonInputError("MESSAGE_TOO_LARGE", f"{what} is {size} bytes: the limit is {max_bytes}")
    if _RAW_SURROGATE.search(text):
        raise JsonInputError("DECODE_FAILED", f"{what} holds a lone UTF-16 surrogate (not a Unicode character)")
    try:
        # Deep nesting stops json's C scanner at the interpreter's recursion limit, long before the stack
        # is at risk; what parses is then held to MAX_JSON_DEPTH below, so later recursive code is safe.
        value = _DECODER.decode(text)
    except RecursionError:
        raise JsonInputError("DECODE_FAILED", f"{what} nests deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, OverflowError) as exc:
        raise JsonInputError("DECODE_FAILED", f"{what} is not valid JSON: {str(exc)[:200]}") from None
    _check_value(value, what, strings=_SURROGATE_ESCAPE.search(text) is not None)
    return value
