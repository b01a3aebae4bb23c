"""The upload HTTP exchange (Part A §8) and FileRef extraction (Part A §7.1), against an in-test server."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from client_fakes import TokenEvents

from reactor_web.client import ErrorCode, FileRef, ReactorError
from reactor_web.client.commands import prepare_command
from reactor_web.client.coordinator import HttpApi
from reactor_web.client.token import TokenManager
from reactor_web.client.uploads import read_source, split_uploads, upload
from reactor_web.protocol.capabilities import Capabilities
from reactor_web.protocol.envelope import encode_envelope
from reactor_web.runtime.model import COMMANDS

BASE = "http://coordinator.test"
STORAGE = "http://storage.test/put/slot-1"
REF = FileRef("slot-1", "cat.png", "image/png", 5)


def storage(put_status: int = 200, slot_status: int = 201) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            slot = {"presigned_id": "slot-1", "presigned_url": STORAGE, "path": "p"}
            return httpx.Response(slot_status, json=slot if slot_status < 300 else {"error": "no"})
        return httpx.Response(put_status, text="" if put_status < 300 else "too big")

    return httpx.MockTransport(handle), seen


async def run_upload(transport: httpx.MockTransport, source: bytes = b"hello", *, local: bool = False) -> FileRef:
    tokens = TokenManager("jwt", None, TokenEvents())
    api = HttpApi(BASE, tokens, local=local, transport=transport)
    try:
        return await upload(api, "s1", source, name="cat.png", http_timeout_s=5, transport=transport)
    finally:
        await api.aclose()


async def test_slot_request_then_put_of_the_bytes() -> None:
    transport, seen = storage()
    assert await run_upload(transport) == REF
    post, put = seen
    assert (post.method, str(post.url)) == ("POST", f"{BASE}/sessions/s1/uploads")
    assert post.content == b'{"name":"cat.png","size":5,"mime_type":"image/png"}'
    assert post.headers["Authorization"] == "Bearer jwt" and post.headers["Reactor-API-Version"] == "1"
    assert (put.method, str(put.url), put.content) == ("PUT", STORAGE, b"hello")
    assert put.headers["Content-Type"] == "image/png" and put.headers["Content-Length"] == "5"
    assert "Authorization" not in put.headers and not any(h.startswith("reactor-") for h in put.headers)


async def test_local_slot_request_has_no_authorization() -> None:
    transport, seen = storage()
    await run_upload(transport, local=True)
    assert "Authorization" not in seen[0].headers


@pytest.mark.parametrize(
    ("slot_status", "put_status", "code", "words"),
    [
        (413, 200, ErrorCode.UPLOAD_TOO_LARGE, "too large"),
        (201, 413, ErrorCode.UPLOAD_TOO_LARGE, "too large"),
        (500, 200, ErrorCode.UPLOAD_FAILED, "create upload slot: 500"),
        (201, 403, ErrorCode.UPLOAD_FAILED, "File upload failed: 403"),
    ],
)
async def test_failures(slot_status: int, put_status: int, code: ErrorCode, words: str) -> None:
    transport, _ = storage(put_status, slot_status)
    with pytest.raises(ReactorError) as raised:
        await run_upload(transport)
    assert raised.value.code == code and words in raised.value.message


async def test_read_source(tmp_path: Path) -> None:
    path = tmp_path / "clip.webm"
    path.write_bytes(b"abc")
    assert await read_source(path) == (b"abc", "clip.webm", "video/webm")
    assert await read_source(str(path), "renamed.jpg") == (b"abc", "renamed.jpg", "image/jpeg")
    with path.open("rb") as handle:
        assert await read_source(handle) == (b"abc", "clip.webm", "video/webm")
    assert await read_source(io.BytesIO(b"z")) == (b"z", "upload", "application/octet-stream")
    assert await read_source(bytearray(b"q"), mime_type="text/plain") == (b"q", "upload", "text/plain")
    with pytest.raises(TypeError, match="binary"):
        await read_source(io.StringIO("text"))  # type: ignore[arg-type]


def test_file_refs_travel_in_uploads() -> None:
    data, uploads = split_uploads({"image": REF, "opacity": 0.5})
    assert data == {"opacity": 0.5} and uploads == {"image": REF.to_dict()}
    frame = encode_envelope("application", "set_image", data, uploads)
    assert frame == (
        '{"scope":"application","data":{"type":"set_image","data":{"opacity":0.5},'
        '"uploads":{"image":{"upload_id":"slot-1","name":"cat.png","mime_type":"image/png","size":5}}}}'
    )
    assert split_uploads({"a": 1}) == ({"a": 1}, None)
    with pytest.raises(ValueError, match=r"layers\[0\]"):
        split_uploads({"layers": [REF]})


def test_prepare_command_validates_application_commands_only() -> None:
    caps = Capabilities(tracks=(), commands=COMMANDS)
    assert prepare_command(caps, "application", "set_image", {"image": REF}) == ({}, {"image": REF.to_dict()})
    assert prepare_command(caps, "application", "set_effect", '{"name":"invert"}') == ({"name": "invert"}, None)
    with pytest.raises(ValueError, match="maximum"):
        prepare_command(caps, "application", "set_brightness", {"value": 101})
    assert prepare_command(caps, "runtime", "requestCapabilities", {}) == ({}, None)
    # A model that declares no commands is not second-guessed.
    empty = Capabilities(tracks=())
    assert prepare_command(empty, "application", "anything", {"x": 1}) == ({"x": 1}, None)
