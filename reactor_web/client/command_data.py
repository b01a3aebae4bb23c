"""What ``send_command`` does to a command before it goes on the wire (Part A §7.1, plus validation)."""

from __future__ import annotations

from typing import Any

from reactor_web.client.uploads import split_uploads
from reactor_web.protocol.capabilities import Capabilities
from reactor_web.protocol.constants import DEFAULT_MAX_MESSAGE_SIZE, Scope
from reactor_web.protocol.json_safe import loads
from reactor_web.protocol.validation import merge_uploads, validate_command


def prepare_command(
    capabilities: Capabilities | None, scope: Scope, command: str, data: Any
) -> tuple[Any, dict[str, dict[str, Any]] | None]:
    """``(data, uploads)`` for the envelope: a string is JSON-parsed, FileRefs move to ``uploads``, and an
    application command is checked against the model's declared commands when it declares any (a model
    that declares none is not second-guessed).

    Raises ``CommandValidationError`` for an undeclared command or refused data, ``ValueError`` for a
    string that is not JSON or a misplaced FileRef.
    """
    payload = loads(data, max_bytes=DEFAULT_MAX_MESSAGE_SIZE, what="command data") if isinstance(data, str) else data
    payload, uploads = split_uploads(payload)
    if scope == "application" and capabilities is not None and capabilities.commands:
        validate_command(capabilities, command, merge_uploads(payload, uploads))
    return payload, uploads
