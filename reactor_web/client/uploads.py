"""File uploads (Part A §8) and the FileRefs a command carries in its envelope's ``uploads`` (Part A §7.1).

An upload is three steps: ask the coordinator for a slot (``POST {B}/sessions/{id}/uploads``), ``PUT`` the
bytes to the slot's presigned URL, then tell the runtime with a runtime-scope ``fileUploaded`` frame (that
last step is the Reactor's, since it owns the data channel). The PUT goes to whatever host the slot names
(in production a storage service), so it carries none of the coordinator's headers.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from reactor_web.client._http import http_failure, new_http_client, parse_json
from reactor_web.client.coordinator import HttpApi
from reactor_web.client.errors import ApiError, ErrorCode, ReactorError, to_reactor_error
from reactor_web.protocol.capabilities import ProtocolError
from reactor_web.protocol.schemas import FileRef, UploadSlot

#: What an upload reads: a path, the bytes themselves, or a binary file object (read to its end).
UploadSource = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO
#: The JS SDK's name for a Blob that is not a File.
DEFAULT_NAME = "upload"
DEFAULT_MIME_TYPE = "application/octet-stream"


async def read_source(
    source: UploadSource, name: str | None = None, mime_type: str | None = None
) -> tuple[bytes, str, str]:
    """The bytes, the file name and the MIME type an upload sends. The name defaults to the file's own
    (``"upload"`` for bare bytes) and the type is guessed from the name's extension."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        content, own_name = bytes(source), None
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        content, own_name = await asyncio.to_thread(path.read_bytes), path.name
    elif hasattr(source, "read"):
        content = await asyncio.to_thread(source.read)
        if not isinstance(content, bytes):
            raise TypeError("a file object to upload must be opened in binary mode")
        file_name = getattr(source, "name", None)
        own_name = Path(file_name).name if isinstance(file_name, str) else None
    else:
        raise TypeError(f"cannot upload a {type(source).__name__}: pass a path, bytes or a binary file object")
    name = name or own_name or DEFAULT_NAME
    mime_type = mime_type or mimetypes.guess_type(name)[0] or DEFAULT_MIME_TYPE
    return content, name, mime_type


async def upload(
    api: HttpApi,
    session_id: str,
    source: UploadSource,
    *,
    name: str | None = None,
    mime_type: str | None = None,
    http_timeout_s: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FileRef:
    """Slot request and PUT; returns the file's reference. Raises ReactorError: ``UPLOAD_TOO_LARGE`` when
    the server refuses the size, ``UPLOAD_FAILED`` otherwise."""
    try:
        content, name, mime_type = await read_source(source, name, mime_type)
    except (OSError, TypeError) as exc:
        raise _error(f"Cannot read the file to upload: {exc}", recoverable=False) from exc
    if not content:
        raise _error("File is empty", recoverable=False)
    try:
        slot = await _create_slot(api, session_id, name, len(content), mime_type)
        await _put(slot.presigned_url, content, mime_type, http_timeout_s, transport)
    except ReactorError:
        raise
    except (ApiError, ProtocolError) as exc:
        raise to_reactor_error(exc, ErrorCode.UPLOAD_FAILED, "Upload failed") from exc
    return FileRef(slot.presigned_id, name, mime_type, len(content))


async def _create_slot(api: HttpApi, session_id: str, name: str, size: int, mime_type: str) -> UploadSlot:
    body = {"name": name, "size": size, "mime_type": mime_type}  # key order as the JS SDK
    response = await api.request(
        "create upload slot", "POST", f"/sessions/{session_id}/uploads", api.coordinator_headers(), body
    )
    if response.status_code == 413:
        raise _too_large(name, size, response)
    if not response.is_success:
        raise http_failure("create upload slot", response)
    return UploadSlot.parse(parse_json("create upload slot", response))


async def _put(
    url: str, content: bytes, mime_type: str, http_timeout_s: float, transport: httpx.AsyncBaseTransport | None
) -> None:
    client = new_http_client(http_timeout_s, transport)
    try:
        response = await client.put(url, content=content, headers={"Content-Type": mime_type})
    except httpx.HTTPError as exc:
        raise ApiError(f"File upload failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if transport is None:  # a transport the caller passed in outlives this upload: its owner closes it
            await client.aclose()
    if response.status_code == 413:
        raise _too_large(url, len(content), response)
    if not response.is_success:
        # Not through to_reactor_error: a 403 from storage means an expired or bad presigned URL, not our token.
        status = response.status_code
        message = f"File upload failed: {status} {response.reason_phrase} {response.text[:200]}"
        raise _error(message.rstrip(), recoverable=status in (408, 429) or status >= 500)


def split_uploads(data: Any) -> tuple[Any, dict[str, dict[str, Any]] | None]:
    """Part A §7.1: move each top-level FileRef value of a ``data`` object into ``uploads``; the rest stays.

    A FileRef deeper in the data cannot travel (the protocol only carries top-level ones), so it is refused.
    """
    if not isinstance(data, dict):
        _refuse_nested(data, "data")
        return data, None
    uploads = {key: value.to_dict() for key, value in data.items() if isinstance(value, FileRef)}
    rest = {key: value for key, value in data.items() if not isinstance(value, FileRef)}
    for key, value in rest.items():
        _refuse_nested(value, key)
    return (rest, uploads) if uploads else (data, None)


def _refuse_nested(value: Any, where: str) -> None:
    if isinstance(value, FileRef):
        raise ValueError(f"{where}: a FileRef must be the value of a top-level parameter")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_nested(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _refuse_nested(item, f"{where}[{index}]")


def _too_large(what: str, size: int, response: httpx.Response) -> ReactorError:
    return ReactorError(
        ErrorCode.UPLOAD_TOO_LARGE,
        f"Upload refused: {what} ({size} bytes) is too large: {response.text[:200]}".rstrip(": "),
        component="coordinator",
        recoverable=False,
    )


def _error(message: str, *, recoverable: bool) -> ReactorError:
    return ReactorError(ErrorCode.UPLOAD_FAILED, message, component="coordinator", recoverable=recoverable)
