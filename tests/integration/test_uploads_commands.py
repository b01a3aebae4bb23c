"""Uploads and command validation, end to end: the Python client and the embedded runtime over loopback WebRTC."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from client_helpers import HEIGHT, WIDTH, Recorder, connected, frame_where, mean_rgb
from PIL import Image
from runtime_peer import RuntimePeer, is_msg

from reactor_web import FileRef
from reactor_web.client import ErrorCode, ReactorError, RefusalError
from reactor_web.protocol.envelope import encode_envelope
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.serve import serve_runtime

MAX_UPLOAD = 64 * 1024
RED = (230, 20, 20)


def png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
async def runtime_url() -> AsyncIterator[str]:
    config = RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=30, max_upload_bytes=MAX_UPLOAD)
    async with serve_runtime(config) as url:
        yield url


def runtime_errors(recorder: Recorder) -> list[dict]:
    return [m[0]["data"] for m in recorder.args("runtime_message") if m[0].get("type") == "error"]


async def test_uploaded_image_is_blended_into_the_output(runtime_url: str, tmp_path: Path) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        track = reactor.tracks["main_video"]
        before = mean_rgb(await frame_where(track, lambda _rgb: True))
        path = tmp_path / "red.png"
        path.write_bytes(png(RED))
        ref = await reactor.upload_file(path)
        assert ref == FileRef(ref.upload_id, "red.png", "image/png", path.stat().st_size) and ref.upload_id

        await reactor.send_command("set_image", {"image": ref, "opacity": 1})
        update = await recorder.wait("message", lambda m: m.get("type") == "state_update")
        assert update[0]["data"]["image"] == "red.png"
        await frame_where(track, lambda rgb: np.abs(mean_rgb(rgb) - RED).max() < 15)

        # Half opacity: half way between the scene and the image (the scene moves, so loosely).
        await reactor.send_command("set_image", {"image": ref})
        half = await frame_where(track, lambda rgb: np.abs(mean_rgb(rgb) - RED).max() > 40)
        assert mean_rgb(half)[0] > before[0] + 20 and mean_rgb(half)[1] < before[1] - 20

        await reactor.send_command("clear_image")
        await frame_where(track, lambda rgb: np.abs(mean_rgb(rgb) - before).max() < 30)
        assert runtime_errors(recorder) == []  # fileUploaded was accepted
    finally:
        await reactor.aclose()


async def test_upload_sources_and_refusals(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        ref = await reactor.upload_file(io.BytesIO(b"\x89PNG..."), name="a.png")
        assert (ref.name, ref.mime_type, ref.size) == ("a.png", "image/png", 7)
        ref = await reactor.upload_file(b"raw bytes", mime_type="text/plain")
        assert (ref.name, ref.mime_type, ref.size) == ("upload", "text/plain", 9)

        with pytest.raises(ReactorError) as raised:
            await reactor.upload_file(b"x" * (MAX_UPLOAD + 1), name="big.bin")
        error = raised.value
        assert error.code == ErrorCode.UPLOAD_TOO_LARGE and not error.recoverable
        assert "big.bin" in error.message and str(MAX_UPLOAD) in error.message
        assert recorder.args("error")[-1] == (error,)

        with pytest.raises(ReactorError) as raised:
            await reactor.upload_file(b"")
        assert raised.value.code == ErrorCode.UPLOAD_FAILED and raised.value.message == "File is empty"
        assert reactor.status == "ready"
    finally:
        await reactor.aclose()
    with pytest.raises(ReactorError) as raised:
        await reactor.upload_file(b"late")
    assert raised.value.code == ErrorCode.UPLOAD_FAILED and "disconnected" in raised.value.message


async def test_bad_image_bytes_get_an_error_message_and_streaming_goes_on(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        ref = await reactor.upload_file(b"this is not a picture", name="fake.png")
        with pytest.raises(RefusalError) as raised:  # v1: the refusal answers the command
            await reactor.send_command("set_image", {"image": ref})
        assert raised.value.code == "INVALID_IMAGE"
        error = await recorder.wait("message", lambda m: m.get("type") == "error")
        assert error[0]["data"]["code"] == "INVALID_IMAGE" and "fake.png" in error[0]["data"]["message"]
        for _ in range(5):
            await frame_where(reactor.tracks["main_video"], lambda _rgb: True)
        assert reactor.status == "ready"
    finally:
        await reactor.aclose()


async def test_invalid_commands_are_refused_before_sending(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        with pytest.raises(ReactorError) as raised:
            await reactor.send_command("set_brightness", {"value": 500})
        error = raised.value
        assert error.code == ErrorCode.INVALID_COMMAND and not error.recoverable
        assert "value" in error.message and "maximum" in error.message
        with pytest.raises(ReactorError) as raised:
            await reactor.send_command("explode", {})
        assert raised.value.code == ErrorCode.INVALID_COMMAND and "explode" in raised.value.message
        with pytest.raises(ReactorError) as raised:
            await reactor.send_command("set_image", {"image": "cat.png"})
        assert raised.value.code == ErrorCode.INVALID_COMMAND and "image" in raised.value.message
        assert [e[0].code for e in recorder.args("error")] == ["INVALID_COMMAND"] * 3

        # Nothing reached the model: a valid command after them gets the only state update.
        await reactor.send_command("set_brightness", {"value": 0})
        await frame_where(reactor.tracks["main_video"], lambda rgb: rgb.mean() < 2)
        updates = [m for (m,) in recorder.args("message") if m.get("type") == "state_update"]
        assert [u["data"]["brightness"] for u in updates] == [0] and runtime_errors(recorder) == []
    finally:
        await reactor.aclose()


async def test_runtime_answers_raw_invalid_commands_with_errors_and_keeps_streaming(runtime_url: str) -> None:
    async with httpx.AsyncClient(base_url=runtime_url, timeout=10) as http:
        session = (await http.post("/start_session", json={})).json()
        peer = RuntimePeer(http, session)
        await peer.connect()
        try:
            assert peer.video is not None
            peer.send("application", "set_brightness", {"value": 500})
            error = await peer.messages.wait_for(is_msg("application", "error", code="INVALID_COMMAND"))
            assert "value" in error[1]["data"]["message"] and "maximum" in error[1]["data"]["message"]
            # An upload reference naming no upload of this session.
            ghost = {"image": {"upload_id": "nope", "name": "x.png", "mime_type": "image/png", "size": 1}}
            peer.send_raw(encode_envelope("application", "set_image", {}, ghost))
            await peer.messages.wait_for(is_msg("application", "error", code="UNKNOWN_UPLOAD"))
            seen = peer.video.count
            await peer.video.wait_count(seen + 10)
        finally:
            await peer.close()


async def test_uploads_die_with_their_session(runtime_url: str) -> None:
    reactor, _ = await connected(runtime_url)
    ref = await reactor.upload_file(png(RED), name="red.png")
    async with httpx.AsyncClient(base_url=runtime_url) as http:
        assert (await http.put(f"/uploads/{ref.upload_id}", content=b"x")).status_code == 409  # filled
        await reactor.aclose()
        assert (await http.put(f"/uploads/{ref.upload_id}", content=b"x")).status_code == 404


async def test_commands_take_effect_in_order_even_behind_an_image_decode(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        ref = await reactor.upload_file(png(RED), name="red.png")
        # The image is decoded off the event loop; the commands behind it must still come after it.
        await reactor.send_command("set_image", {"image": ref, "opacity": 1})
        await reactor.send_command("set_brightness", {"value": 0})
        await reactor.send_command("set_effect", {"name": "invert"})
        await recorder.wait("message", lambda m: m.get("type") == "state_update" and m["data"]["effect"] == "invert")
        updates = [m[0]["data"] for m in recorder.args("message") if m[0].get("type") == "state_update"]
        assert [(u["image"], u["brightness"], u["effect"]) for u in updates[-3:]] == [
            ("red.png", 50, "none"),
            ("red.png", 0, "none"),
            ("red.png", 0, "invert"),
        ]
    finally:
        await reactor.aclose()
