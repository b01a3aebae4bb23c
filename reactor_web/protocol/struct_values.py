"""JSON objects in and out of ``google.protobuf.Struct`` (v1's ``Command.data``, ``ModelMessage.data``, schemas).

A ``Struct`` holds JSON: every number is a double. :func:`to_struct` refuses, with a :class:`WireError`
(``ENCODE_FAILED``) naming the place, what it cannot carry exactly instead of letting protobuf raise half-way or
change the value: a key that is not a string, NaN or an infinity, an integer beyond ±2^53, a string with a lone
UTF-16 surrogate, nesting deeper than :data:`~reactor_web.protocol.json_safe.MAX_JSON_DEPTH`, and any value that
is not JSON (bytes, sets, objects). :func:`from_struct` gives integral doubles back as ``int``, so an app sees
``7`` whichever wire a ``{"seq": 7}`` came over (v0 JSON keeps the distinction; JavaScript has none).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from google.protobuf.struct_pb2 import ListValue, Struct, Value

from reactor_web.protocol.codec import WireError
from reactor_web.protocol.json_safe import MAX_JSON_DEPTH

#: The largest integer a double holds exactly, with all the integers below it.
MAX_EXACT_INT: Final = 2**53


def _path(parts: list[str | int]) -> str:
    return "".join(f"[{p!r}]" for p in parts)


def _refuse(what: str, parts: list[str | int], problem: str) -> WireError:
    where = _path(parts)
    where = where if len(where) <= 200 else where[:200] + "..."
    return WireError("ENCODE_FAILED", f"{what}{where} {problem}: the v1 wire (a protobuf Struct) cannot carry it")


def _checked_scalar(value: Any, what: str, parts: list[str | int]) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_EXACT_INT:
            raise _refuse(what, parts, f"is an integer of {value.bit_length()} bits, beyond ±2^53 (a double rounds it)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _refuse(what, parts, f"is {value!r}, not a JSON number")
        return value
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _refuse(what, parts, "holds a lone UTF-16 surrogate (not a Unicode character)") from None
        return value
    raise _refuse(what, parts, f"is a {type(value).__name__}, not a JSON value")


def checked_json(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A plain copy of the JSON object ``value`` (tuples become lists) that a Struct carries exactly; raises
    :class:`WireError` naming the first place that it cannot (see the module). Iterative: no recursion limit."""
    if not isinstance(value, Mapping):
        raise WireError("ENCODE_FAILED", f"{what} is a {type(value).__name__}: the v1 wire carries a JSON object")
    root: dict[str, Any] = {}
    stack: list[tuple[Any, Any, list[str | int]]] = [(value, root, [])]
    while stack:
        source, target, parts = stack.pop()
        if len(parts) >= MAX_JSON_DEPTH:
            raise _refuse(what, parts, f"nests deeper than {MAX_JSON_DEPTH} levels")
        items: Any = source.items() if isinstance(source, Mapping) else enumerate(source)
        for key, child in items:
            if isinstance(source, Mapping) and not isinstance(key, str):
                raise _refuse(what, parts, f"has the key {key!r}, a {type(key).__name__}: JSON keys are strings")
            if isinstance(key, str):
                _checked_scalar(key, what, [*parts, key])
            if isinstance(child, Mapping):
                copy: Any = {}
            elif isinstance(child, (list, tuple)):
                copy = [None] * len(child)
            else:
                copy = _checked_scalar(child, what, [*parts, key])
                target[key] = copy
                continue
            target[key] = copy
            stack.append((child, copy, [*parts, key]))
    return root


def to_struct(value: Mapping[str, Any], what: str) -> Struct:
    """``value`` as a Struct (checked first: see :func:`checked_json`)."""
    struct = Struct()
    struct.update(checked_json(value, what))
    return struct


def _from_value(value: Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) <= MAX_EXACT_INT else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return from_struct(value.struct_value)
    if kind == "list_value":
        return _from_list(value.list_value)
    return None  # null_value, or no kind at all


def _from_list(values: ListValue) -> list[Any]:
    return [_from_value(v) for v in values.values]


def from_struct(struct: Struct) -> dict[str, Any]:
    """A decoded Struct as a plain dict (integral doubles as ints). Recursion is bounded by protobuf's own
    parse depth limit (100 nested messages)."""
    return {key: _from_value(v) for key, v in struct.fields.items()}
