"""The runtime's HTTP API: exact status codes and JSON error bodies (Part A §3-§5, §13; Part B §B.1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from reactor_web.protocol.schemas import SessionResponse, sdp_offer_body
from reactor_web.runtime import RuntimeConfig, RuntimeProcess, serve_runtime

HEADERS = {"Reactor-API-Version": "1", "Reactor-API-Accept-Version": "1"}
TRANSPORT_HEADERS = {"Authorization": "Bearer local", "Reactor-WebRTC-Version": "1.0"}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    config = RuntimeConfig(port=0, max_sessions=2, max_upload_bytes=1000, max_session_upload_bytes=2500)
    async with serve_runtime(config) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def start(http: httpx.AsyncClient) -> str:
    response = await http.post("/start_session", json={}, headers=HEADERS)
    assert response.status_code == 200, response.text
    return str(response.json()["session_id"])


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["message"], str)
    if code is not None:
        assert error["code"] == code
    assert "Traceback" not in response.text


async def make_offer() -> tuple[RTCPeerConnection, dict[str, Any]]:
    """A real offer shaped like the JS SDK's: data channel, recvonly main_video, sendonly webcam."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.createDataChannel("data")
    main = pc.addTransceiver("video", direction="recvonly")
    webcam = pc.addTransceiver("video", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    mapping = [
        {"mid": main.mid, "name": "main_video", "kind": "video", "direction": "recvonly"},
        {"mid": webcam.mid, "name": "webcam", "kind": "video", "direction": "sendonly"},
    ]
    return pc, sdp_offer_body(pc.localDescription.sdp, mapping)


async def poll_answer(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    async with asyncio.timeout(15):
        while True:
            response = await http.get(url, headers=TRANSPORT_HEADERS)
            if response.status_code == 200:
                return dict(response.json())
            assert response.status_code == 202, response.text
            await asyncio.sleep(0.05)  # the answer is only observable by polling


async def test_start_session_descriptor_and_limit(http: httpx.AsyncClient) -> None:
    response = await http.post("/start_session", json={}, headers=HEADERS)
    assert response.status_code == 200
    body = response.json()
    parsed = SessionResponse.parse(body)
    assert parsed.ready and parsed.state not in ("CLOSED", "INACTIVE")
    assert body["cluster"] == "local"
    assert body["selected_transport"] == {"protocol": "webrtc", "version": "1.0"}
    assert body["capabilities"]["protocol_version"] == "v0"
    assert [(t["name"], t["direction"]) for t in body["capabilities"]["tracks"]] == [
        ("main_video", "recvonly"),
        ("edges_video", "recvonly"),
        ("main_audio", "recvonly"),
        ("webcam", "sendonly"),
        ("microphone", "sendonly"),
    ]
    assert body["capabilities"]["commands"][0]["schema"]["value"]["required"] is True
    assert "/events/set_brightness" in body["schema"]["paths"]
    assert body["generation"] == "streamed"

    empty = await http.post("/start_session", content=b"")  # no body, no content type
    assert empty.status_code == 200
    assert empty.json()["session_id"] != body["session_id"]
    assert_error(await http.post("/start_session", json={}), 409, "TOO_MANY_SESSIONS")
    health = (await http.get("/health")).json()
    assert health == {
        "status": "healthy",
        "model": "reactor-web-demo",
        "state": "busy",
        "sessions": 2,
        "max_sessions": 2,
        "max_upload_bytes": 1000,  # the fixture's --max-upload-bytes
        "max_message_size": 65_536,  # what the SDP answer advertises and the channels enforce
    }


async def test_garbage_bodies_are_400_json(http: httpx.AsyncClient) -> None:
    assert_error(await http.post("/start_session", content=b"{nope", headers=HEADERS), 400, "INVALID_JSON")
    sid = await start(http)
    transport = f"/sessions/{sid}/transport/webrtc"
    assert_error(await http.post(f"{transport}/sdp_params", content=b"\xff\xfe"), 400, "INVALID_JSON")
    assert_error(await http.post(f"{transport}/sdp_params", json={"sdp": "x"}), 400, "INVALID_SDP_OFFER")
    assert_error(await http.post(f"{transport}/sdp_params", json={"sdp_offer": "hello"}), 400, "INVALID_SDP_OFFER")
    assert_error(await http.post(f"{transport}/sdp_params", json={"sdp_offer": "v=0\r\nbogus"}), 400)
    assert_error(await http.post(f"/sessions/{sid}/uploads", content=b"[1,"), 400, "INVALID_JSON")
    assert_error(await http.post(f"/sessions/{sid}/uploads", json={"name": "a"}), 400, "INVALID_BODY")


async def test_unknown_things_are_404(http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/sessions/nope"), 404, "SESSION_NOT_FOUND")
    assert_error(await http.delete("/sessions/nope"), 404, "SESSION_NOT_FOUND")
    assert_error(await http.get("/sessions/nope/transport/webrtc/ice_servers"), 404)
    assert_error(await http.get("/sessions/nope/transport/webrtc/sdp_params"), 404)
    assert_error(await http.put("/uploads/nope", content=b"x"), 404, "UPLOAD_NOT_FOUND")
    assert_error(await http.get("/no/such/route"), 404, "NOT_FOUND")
    assert_error(await http.delete("/health"), 405, "METHOD_NOT_ALLOWED")
    sid = await start(http)
    transport = f"/sessions/{sid}/transport/webrtc"
    assert_error(await http.get(f"{transport}/sdp_params"), 404, "NO_OFFER")
    assert_error(await http.get(f"{transport}/connections/99/sdp_params"), 404, "CONNECTION_NOT_FOUND")
    assert_error(await http.post(f"{transport}/connections/99/ice_candidates", json={}), 404)


async def test_session_get_delete_and_stop(http: httpx.AsyncClient) -> None:
    sid = await start(http)
    assert (await http.get(f"/sessions/{sid}")).json()["session_id"] == sid
    assert (await http.delete(f"/sessions/{sid}")).status_code == 200
    assert_error(await http.get(f"/sessions/{sid}"), 404)

    only = await start(http)
    response = await http.post("/stop_session", headers=HEADERS)  # the JS SDK: no body, no content type
    assert response.status_code == 200
    assert response.json() == {"stopped": [only]}
    assert (await http.post("/stop_session")).json() == {"stopped": []}
    kept = await start(http)
    # A malformed body is refused: it must not stop the one session that is running.
    assert_error(await http.post("/stop_session", content=b"{oops"), 400, "INVALID_JSON")
    assert_error(await http.post("/stop_session", json=[kept]), 400, "INVALID_BODY")
    assert_error(await http.post("/stop_session", json={"session_id": {"$gt": ""}}), 400, "INVALID_BODY")
    assert (await http.get(f"/sessions/{kept}")).status_code == 200
    assert (await http.post("/stop_session")).json() == {"stopped": [kept]}

    a, b = await start(http), await start(http)
    assert_error(await http.post("/stop_session"), 400, "SESSION_ID_REQUIRED")
    assert (await http.post("/stop_session", json={"session_id": "unknown"})).json() == {"stopped": []}
    assert (await http.post("/stop_session", json={"session_id": a})).json() == {"stopped": [a]}
    assert (await http.get(f"/sessions/{b}")).status_code == 200
    assert (await http.get("/health")).json()["sessions"] == 1


async def test_cors_preflight_and_headers(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/sessions/x/transport/webrtc/sdp_params",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type,reactor-webrtc-version",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "PUT" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "reactor-api-version", "reactor-webrtc-version"):
        assert header in allowed
    simple = await http.get("/health", headers={"Origin": "http://localhost:3000"})
    assert simple.headers["access-control-allow-origin"] == "*"


async def test_flat_sdp_exchange(http: httpx.AsyncClient) -> None:
    sid = await start(http)
    transport = f"/sessions/{sid}/transport/webrtc"
    assert (await http.get(f"{transport}/ice_servers", headers=TRANSPORT_HEADERS)).json() == {"ice_servers": []}
    pc, body = await make_offer()
    response = await http.post(f"{transport}/sdp_params", json=body, headers=TRANSPORT_HEADERS)
    assert response.status_code == 202
    answer = await poll_answer(http, f"{transport}/sdp_params")
    assert answer["sdp_answer"].startswith("v=0")
    assert "a=sendonly" in answer["sdp_answer"] and "a=recvonly" in answer["sdp_answer"]
    assert "a=candidate:" in answer["sdp_answer"]  # non-trickle: candidates are in the answer
    await pc.close()

    pc, body = await make_offer()
    assert (await http.put(f"{transport}/sdp_params", json=body, headers=TRANSPORT_HEADERS)).status_code == 202
    assert (await poll_answer(http, f"{transport}/sdp_params"))["sdp_answer"].startswith("v=0")
    await pc.close()

    pc, body = await make_offer()
    body["track_mapping"][0]["mid"] = "42"
    assert_error(await http.post(f"{transport}/sdp_params", json=body), 400, "INVALID_TRACK_MAPPING")
    body["track_mapping"][0]["direction"] = "sendonly"
    assert_error(await http.post(f"{transport}/sdp_params", json=body), 400)
    await pc.close()


async def test_connections_flow(http: httpx.AsyncClient) -> None:
    sid = await start(http)
    transport = f"/sessions/{sid}/transport/webrtc"
    response = await http.post(f"{transport}/connections", json={}, headers=TRANSPORT_HEADERS)
    assert response.status_code == 201
    created = response.json()
    cid = created["connection_id"]
    assert isinstance(cid, int)
    assert created["track_map"] == {
        "main_video": {"kind": "video", "direction": "out", "rate": 30.0},
        "edges_video": {"kind": "video", "direction": "out", "rate": 30.0},
        "main_audio": {"kind": "audio", "direction": "out", "rate": 48000.0},
        "webcam": {"kind": "video", "direction": "in", "rate": 0.0},
        "microphone": {"kind": "audio", "direction": "in", "rate": 48000.0},
    }
    base = f"{transport}/connections/{cid}"
    assert_error(await http.get(f"{base}/sdp_params"), 404, "NO_OFFER")
    candidates = {"candidates": [], "is_final": True, "client_info": {"sdk_version": "1.13", "sdk_type": "python"}}
    assert (await http.post(f"{base}/ice_candidates", json=candidates)).status_code == 202
    pc, body = await make_offer()
    response = await http.post(f"{base}/sdp_params", json=body, headers=TRANSPORT_HEADERS)
    assert response.status_code == 202
    assert response.json() == {"connection_id": cid}
    answer = await poll_answer(http, f"{base}/sdp_params")
    assert answer["connection_id"] == cid and answer["sdp_answer"].startswith("v=0")
    await pc.close()


async def test_uploads(http: httpx.AsyncClient) -> None:
    sid = await start(http)
    response = await http.post(
        f"/sessions/{sid}/uploads", json={"name": "cat.png", "size": 5, "mime_type": "image/png"}
    )
    assert response.status_code == 201
    slot = response.json()
    assert slot["presigned_url"] == f"{str(http.base_url).rstrip('/')}/uploads/{slot['presigned_id']}"
    assert slot["path"] == f"sessions/{sid}/uploads/{slot['presigned_id']}/cat.png"
    assert_error(await http.put(slot["presigned_url"], content=b"toolong"), 400, "SIZE_MISMATCH")
    assert_error(await http.put(slot["presigned_url"], content=b"abc"), 400, "SIZE_MISMATCH")
    assert (await http.put(slot["presigned_url"], content=b"hello")).status_code == 200
    assert_error(await http.put(slot["presigned_url"], content=b"hello"), 409, "ALREADY_UPLOADED")
    too_big = {"name": "big.bin", "size": 1001, "mime_type": "application/octet-stream"}
    assert_error(await http.post(f"/sessions/{sid}/uploads", json=too_big), 413, "UPLOAD_TOO_LARGE")
    assert_error(await http.post("/sessions/nope/uploads", json={"name": "a", "size": 1, "mime_type": "x"}), 404)

    # Uploads live and die with their session.
    await http.delete(f"/sessions/{sid}")
    assert_error(await http.put(slot["presigned_url"], content=b"hello"), 404)


async def test_a_session_holds_a_bounded_amount_of_uploads(http: httpx.AsyncClient) -> None:
    sid = await start(http)
    body = {"name": "a.bin", "size": 1000, "mime_type": "application/octet-stream"}
    urls = [(await http.post(f"/sessions/{sid}/uploads", json=body)).json()["presigned_url"] for _ in range(3)]
    # 3000 bytes is over the session's 2500: the oldest slot made room for the newest.
    assert_error(await http.put(urls[0], content=b"x" * 1000), 404, "UPLOAD_NOT_FOUND")
    for url in urls[1:]:
        assert (await http.put(url, content=b"x" * 1000)).status_code == 200


async def test_schema_route(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/schema")).json()
    assert schema["openapi"].startswith("3.1")
    assert set(schema["paths"]) == {
        "/events/set_brightness",
        "/events/set_effect",
        "/events/set_prompt",
        "/events/set_image",
        "/events/clear_image",
        "/events/ping",
    }
    image = schema["paths"]["/events/set_image"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert image["properties"]["image"]["$ref"] == "#/components/schemas/ReactorUploadReference"
    assert image["required"] == ["image"]
    assert schema["x-reactor"]["tracks"] == [
        {"name": "main_video", "kind": "video", "direction": "out"},
        {"name": "edges_video", "kind": "video", "direction": "out"},
        {"name": "main_audio", "kind": "audio", "direction": "out"},
        {"name": "webcam", "kind": "video", "direction": "in"},
        {"name": "microphone", "kind": "audio", "direction": "in"},
    ]


def test_runtime_process_serves_and_dies() -> None:
    with RuntimeProcess(args=["--max-sessions", "1"]) as runtime:
        assert httpx.get(f"{runtime.url}/health").json()["max_sessions"] == 1
        assert httpx.post(f"{runtime.url}/start_session", json={}).status_code == 200
        assert httpx.post(f"{runtime.url}/start_session", json={}).status_code == 409
        runtime.kill()
        assert not runtime.alive
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{runtime.url}/health", timeout=2)


def test_the_answer_advertises_the_enforced_frame_size_and_keeps_crlf() -> None:
    from reactor_web.protocol.constants import MAX_MESSAGE_SIZE
    from reactor_web.runtime.server import advertise_max_message_size

    sdp = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=max-message-size:262144\r\na=sctp-port:5000\r\n"
    assert advertise_max_message_size(sdp) == sdp.replace("262144", str(MAX_MESSAGE_SIZE))
