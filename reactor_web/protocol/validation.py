"""Validating a command's data against the model's declared schema (both schema forms, Part A §7.4, B §B.3).

The client checks before sending, so a bad value fails at the call site with a message that names the
field; the runtime checks again on arrival, since any peer may send any frame. Upload parameters are
validated as the ``{upload_id, name, mime_type, size}`` reference that travels in the envelope's
``uploads``: callers merge ``uploads`` into ``data`` first (:func:`merge_uploads`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from reactor_web.protocol.capabilities import Capabilities, CommandSpec, ProtocolError
from reactor_web.protocol.envelope import encode_json

#: Quoted values are cut to this length, so a huge bad value cannot make a huge error message.
_MAX_MESSAGE_CHARS = 240


class CommandValidationError(ProtocolError):
    """A command the model does not declare, or data that breaks its schema.

    ``field`` is the offending parameter (None when the problem is the data as a whole or the command
    name) and ``constraint`` the JSON Schema keyword that failed (``"maximum"``, ``"required"``...,
    or ``"command"`` for an unknown command).
    """

    def __init__(self, command: str, message: str, *, field: str | None, constraint: str) -> None:
        super().__init__(message)
        self.command = command
        self.field = field
        self.constraint = constraint


def command_json_schema(spec: CommandSpec) -> dict[str, Any]:
    """The draft 2020-12 JSON Schema of ``spec``'s data, upload parameters inline."""
    return spec.json_schema()


def merge_uploads(data: Any, uploads: Any) -> Any:
    """``data`` with the envelope's ``uploads`` entries put back under their parameter names."""
    if not isinstance(uploads, dict) or not uploads:
        return data
    base = {} if data is None else data
    return {**base, **uploads} if isinstance(base, dict) else data


def validate_command(caps: Capabilities, command: str, data: Any) -> None:
    """Raise :class:`CommandValidationError` unless ``command`` is declared in ``caps`` and ``data`` (None
    meaning ``{}``) satisfies its schema."""
    spec = caps.command(command)
    if spec is None:
        known = ", ".join(c.name for c in caps.commands) or "none"
        raise CommandValidationError(
            command,
            _clip(f"unknown command {command!r} (the model declares: {known})"),
            field=None,
            constraint="command",
        )
    validate_data(spec, data)


def validate_data(spec: CommandSpec, data: Any) -> None:
    """Raise :class:`CommandValidationError` unless ``data`` satisfies ``spec``'s schema."""
    payload = {} if data is None else data
    error = best_match(_validator(spec).iter_errors(payload))
    if error is None:
        return
    path = [str(p) for p in error.absolute_path]
    field = path[0] if path else None
    if error.validator == "required" and field is None:
        field = next((p for p in error.validator_value if isinstance(payload, dict) and p not in payload), None)
        message = f"{field}: required parameter is missing"
    elif error.validator == "additionalProperties" and field is None:
        extra = sorted(set(payload) - set(spec.schema)) if isinstance(payload, dict) else []
        field = extra[0] if extra else None
        message = f"{field}: unknown parameter (expected one of: {', '.join(spec.schema) or 'none'})"
    else:
        where = "/".join(path) or "data"
        message = f"{where}: {error.message} ({error.validator})"
    raise CommandValidationError(
        spec.name, _clip(f"{spec.name}: {message}"), field=field, constraint=str(error.validator)
    )


@lru_cache(maxsize=256)
def _cached_validator(schema_json: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(schema_json))


def _validator(spec: CommandSpec) -> jsonschema.Draft202012Validator:
    # CommandSpec holds dicts, so it is not hashable: cache on the schema's canonical JSON instead.
    return _cached_validator(encode_json(command_json_schema(spec)))


def _clip(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE_CHARS else message[: _MAX_MESSAGE_CHARS - 1] + "…"
