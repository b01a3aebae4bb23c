"""From a generated command form's submitted values to command data, checked before anything is sent.

The controller's forms are plain HTML forms: on Send the browser submits what every input holds at that
moment (so the values are never stale), as strings. This module types them back by the field's declared
JSON type and checks them against the model's schema. Kept free of Reflex so that it can be unit-tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reactor_web.protocol.capabilities import Capabilities
from reactor_web.protocol.schemas import FileRef
from reactor_web.protocol.validation import CommandValidationError, validate_command
from reactor_web.ui.control_specs import CommandControls, FieldControl

#: Name of the hidden input that tells the backend which command a submitted form is for.
COMMAND_KEY = "__command"
#: Stands in for a file's upload id when data is checked before the file is uploaded.
PENDING_UPLOAD_ID = "pending"


def form_to_data(command: CommandControls, form: Mapping[str, Any], files: Mapping[str, FileRef]) -> dict[str, Any]:
    """The command's data from submitted form values (``name -> string``) and chosen files (``name -> ref``).

    An empty input leaves an optional field out (the model uses its default); a value that does not parse
    as the declared type is kept as typed, so that validation names the field and what is wrong with it.
    """
    data: dict[str, Any] = {}
    for field in command.fields:
        if field.kind == "file":
            if field.name in files:
                data[field.name] = files[field.name]
            continue
        if field.kind == "checkbox":
            # An unchecked box submits nothing: absence is the value False.
            data[field.name] = field.name in form
            continue
        raw = form.get(field.name)
        if raw is None:
            continue
        text = str(raw)
        if text.strip() == "" and not (field.kind == "text" and field.required):
            continue
        data[field.name] = _typed(field, text)
    return data


def check(caps: Capabilities, command: str, data: Mapping[str, Any]) -> str | None:
    """The schema's message if ``data`` would be refused, else None. File references may be placeholders."""
    plain = {k: v.to_dict() if isinstance(v, FileRef) else v for k, v in data.items()}
    try:
        validate_command(caps, command, plain)
    except CommandValidationError as exc:
        return str(exc)
    return None


def pending_ref(name: str, mime_type: str, size: int) -> FileRef:
    """A chosen file's reference before it is uploaded, for :func:`check`."""
    return FileRef(PENDING_UPLOAD_ID, name, mime_type, size)


def _typed(field: FieldControl, text: str) -> Any:
    if field.kind == "select":
        # The browser gives the option's text; send the declared value (an enum may hold numbers).
        return next((option for option in field.options if str(option) == text), text)
    if field.value_type in ("number", "integer"):
        try:
            number = float(text)
        except ValueError:
            return text
        if field.value_type == "integer" and number.is_integer():
            return int(number)
        return number
    if field.value_type == "boolean":
        return text.lower() in ("true", "on", "1")
    return text
