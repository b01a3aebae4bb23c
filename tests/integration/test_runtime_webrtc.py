"""The runtime over real WebRTC: a raw aiortc peer on loopback, connecting as the JS SDK or reactor-sdk would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest
from runtime_peer import RuntimePeer, is_msg, mean_rgb

from reactor_web.runtime import RuntimeConfig, serve_runtime

RED = (220, 30, 30)


def bright(image: np.ndarray) -> bool:
    return float(image.mean()) > 40


def dark(image: np.ndarray) -> bool:
    return float(image.mean()) < 10


def reddish(image: np.ndarray) -> bool:
    r, g, b = mean_rgb(image)
    return r > 150 and g < 90 and b < 90


@pytest.fixture
async def runtime() -> AsyncIterator[httpx.AsyncClient]:
    async with serve_runtime(RuntimeConfig(port=0)) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield http


async def start(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.post("/start_session", json={})
    assert response.status_code == 200, response.text
    return response.json()


async def connected(http: httpx.AsyncClient, **kwargs: Any) -> RuntimePeer:
    peer = RuntimePeer(http, await start(http), **kwargs)
    await peer.connect()
    return peer


async def test_frames_arrive_and_brightness_zero_darkens(runtime: httpx.AsyncClient) -> None:
    peer = await connected(runtime)
    assert peer.video is not None
    first = await peer.video.wait_for(bright)
    assert first.shape == (360, 640, 3)
    peer.send("application", "set_brightness", {"value": 0})
    await peer.messages.wait_for(is_msg("application", "state_update", brightness=0, effect="none"))
    await peer.video.wait_for(dark)
    await peer.close()


async def test_webcam_frames_drive_the_model(runtime: httpx.AsyncClient) -> None:
    peer = await connected(runtime, webcam_color=RED)
    assert peer.video is not None
    await peer.video.wait_for(reddish)
    await peer.close()


async def test_commands_and_runtime_messages(runtime: httpx.AsyncClient) -> None:
    peer = await connected(runtime)
    peer.send("application", "ping")
    await peer.messages.wait_for(is_msg("application", "pong"))

    peer.send("runtime", "requestCapabilities")
    caps = await peer.messages.wait_for(is_msg("runtime", "modelCapabilities"))
    names = [c["name"] for c in caps[1]["data"]["commands"]]
    assert names == ["set_brightness", "set_effect", "set_prompt", "set_image", "clear_image", "ping"]

    peer.send("runtime", "requestSchema")
    schema = await peer.messages.wait_for(is_msg("runtime", "modelSchema"))
    assert "/events/set_effect" in schema[1]["data"]["paths"]

    peer.send("application", "set_brightness", {"value": 500})
    await peer.messages.wait_for(is_msg("application", "error", code="INVALID_COMMAND", command="set_brightness"))
    peer.send("application", "fly_away", {})
    await peer.messages.wait_for(is_msg("application", "error", code="UNKNOWN_COMMAND", command="fly_away"))
    peer.send_raw("{not json")
    await peer.messages.wait_for(is_msg("runtime", "error", code="DECODE_FAILED"))
    peer.send_raw('{"hello": 1}')
    await peer.messages.wait_for(is_msg("runtime", "error", code="INVALID_MESSAGE"))
    assert peer.pc is not None and peer.pc.sctp is not None
    with pytest.raises(ValueError, match="65536"):  # the runtime advertises its limit: aiortc refuses first
        peer.send_raw("x" * 100_000)
    peer.pc.sctp._remote_max_message_size = 0  # a peer that ignores the advertised limit is refused too
    peer.send_raw("x" * 100_000)
    await peer.messages.wait_for(is_msg("runtime", "error", code="MESSAGE_TOO_LARGE"))

    # The session is still alive and obeys the next command.
    peer.send("application", "set_effect", {"name": "invert"})
    await peer.messages.wait_for(is_msg("application", "state_update", effect="invert"))
    await peer.close()


async def test_sessions_are_isolated(runtime: httpx.AsyncClient) -> None:
    a = await connected(runtime)
    b = await connected(runtime)
    assert a.sid != b.sid
    assert a.video is not None and b.video is not None
    await b.video.wait_for(bright)
    a.send("application", "set_brightness", {"value": 0})
    await a.video.wait_for(dark)
    seen = b.video.count
    await b.video.wait_count(seen + 10)
    assert bright(b.video.latest)  # type: ignore[arg-type]
    assert not any(is_msg("application", "state_update")(m) for m in b.messages.items)
    await a.close()
    await b.close()


async def test_stop_session_releases_it(runtime: httpx.AsyncClient) -> None:
    peer = await connected(runtime)
    response = await runtime.post("/stop_session", json={"session_id": peer.sid})
    assert response.json() == {"stopped": [peer.sid]}
    await peer.messages.wait_for(is_msg("runtime", "sessionEnded"))
    assert (await runtime.get(f"/sessions/{peer.sid}")).status_code == 404
    assert (await runtime.get("/health")).json()["sessions"] == 0
    await peer.close()


async def test_silent_client_is_released_after_ping_timeout() -> None:
    config = RuntimeConfig(port=0, ping_timeout_s=1.0)
    async with serve_runtime(config) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        peer = await connected(http)
        ended = await peer.messages.wait_for(is_msg("runtime", "sessionEnded"))
        assert "ping" in ended[1]["data"]["reason"]
        assert (await http.get("/health")).json()["sessions"] == 0
        await peer.close()


async def test_reconnect_with_put_keeps_the_session(runtime: httpx.AsyncClient) -> None:
    peer = await connected(runtime)
    peer.send("application", "set_brightness", {"value": 0})
    await peer.messages.wait_for(is_msg("application", "state_update", brightness=0))
    await peer.connect(method="PUT")  # closes the old peer connection first, as the JS SDK's reconnect does
    assert peer.video is not None
    await peer.video.wait_for(dark)  # same session, same model state
    assert (await runtime.get(f"/sessions/{peer.sid}")).status_code == 200
    await peer.close()


async def test_connections_flow_with_control_channel(runtime: httpx.AsyncClient) -> None:
    session = await start(runtime)
    peer = RuntimePeer(runtime, session, webcam_color=RED, control=True)
    await peer.create_connection()
    await peer.connect()
    assert peer.video is not None

    # Outbound tracks start paused: a data-channel round trip later, still no frame.
    peer.send("application", "ping")
    await peer.messages.wait_for(is_msg("application", "pong"))
    assert peer.video.count == 0
    peer.notify("resume_track", "main_video")
    await peer.video.wait_for(bright)

    # The webcam feeds the model only once this connection holds the publisher slot.
    rid = peer.request("publish_track", {"name": "webcam"})
    response = await peer.control_messages.wait_for(lambda m: m.get("request_id") == rid)
    assert response == {"type": "response", "method": "publish_track", "request_id": rid, "data": {}}
    await peer.video.wait_for(reddish)

    rid = peer.request("fly", {})
    response = await peer.control_messages.wait_for(lambda m: m.get("request_id") == rid)
    assert response["error"]["code"] == "UNKNOWN_METHOD"

    other = RuntimePeer(runtime, session, control=True)
    await other.create_connection()
    await other.connect()
    rid = other.request("publish_track", {"name": "webcam"})
    response = await other.control_messages.wait_for(lambda m: m.get("request_id") == rid)
    assert response["error"]["code"] == "PUBLISHER_SLOT_TAKEN"

    # Unpublishing frees the slot and the model goes back to its own scene.
    peer.notify("unpublish_track", "webcam")
    await peer.video.wait_for(lambda f: bright(f) and not reddish(f))
    rid = other.request("publish_track", {"name": "webcam"})
    response = await other.control_messages.wait_for(lambda m: m.get("request_id") == rid)
    assert "error" not in response
    await other.close()
    await peer.close()
