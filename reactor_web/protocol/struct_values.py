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

from google.protobuf.struct_pb2 import NULL_VALUE, ListValue, Struct, Value

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


def _fill(slot: Value, child: Any, what: str, parts: list[str | int], stack: list[Any]) -> None:
    """Write one JSON value into ``slot``, refusing what a double or a UTF-8 string cannot hold; a container
    is queued on ``stack`` for its own turn (so nesting costs no recursion)."""
    if child is None:
        slot.null_value = NULL_VALUE
    elif isinstance(child, bool):
        slot.bool_value = child
    elif isinstance(child, int):
        if abs(child) > MAX_EXACT_INT:
            raise _refuse(what, parts, f"is an integer of {child.bit_length()} bits, beyond ±2^53 (a double rounds it)")
        slot.number_value = child
    elif isinstance(child, float):
        if not math.isfinite(child):
            raise _refuse(what, parts, f"is {child!r}, not a JSON number")
        slot.number_value = child
    elif isinstance(child, str):
        try:
            slot.string_value = child
        except UnicodeError:
            raise _refuse(what, parts, "holds a lone UTF-16 surrogate (not a Unicode character)") from None
    elif isinstance(child, Mapping):
        slot.struct_value.SetInParent()
        stack.append((child, slot.struct_value, parts))
    elif isinstance(child, (list, tuple)):
        slot.list_value.SetInParent()
        stack.append((child, slot.list_value, parts))
    else:
        raise _refuse(what, parts, f"is a {type(child).__name__}, not a JSON value")


def to_struct(value: Mapping[str, Any], what: str) -> Struct:
    """The JSON object ``value`` as a Struct, written in one pass that raises :class:`WireError` (naming the
    first place) for anything a Struct cannot carry exactly (see the module); the caller sends nothing then."""
    if not isinstance(value, Mapping):
        raise WireError("ENCODE_FAILED", f"{what} is a {type(value).__name__}: the v1 wire carries a JSON object")
    root = Struct()
    stack: list[tuple[Any, Any, list[str | int]]] = [(value, root, [])]
    while stack:
        source, target, parts = stack.pop()
        if len(parts) >= MAX_JSON_DEPTH:
            raise _refuse(what, parts, f"nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(source, Mapping):
            for key, child in source.items():
                if not isinstance(key, str):
                    raise _refuse(what, parts, f"has the key {key!r}, a {type(key).__name__}: JSON keys are strings")
                try:
                    slot = target.fields[key]
                except UnicodeError:
                    raise _refuse(what, [*parts, key], "is a key with a lone UTF-16 surrogate") from None
                _fill(slot, child, what, [*parts, key], stack)
        else:
            for index, child in enumerate(source):
                _fill(target.values.add(), child, what, [*parts, index], stack)
    return root


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
