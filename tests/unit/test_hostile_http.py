"""Pathological HTTP input on every route of the runtime and of the coordinator emulation: a coded JSON 4xx,
never a 500, never a traceback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from reactor_web.client import fetch_jwt
from reactor_web.protocol.constants import MAX_JSON_BODY_BYTES
from reactor_web.protocol.schemas import create_session_body
from reactor_web.runtime import RuntimeConfig, serve_runtime
from reactor_web.runtime.coordinator import CoordinatorConfig, serve_coordinator

HOSTILE_BODIES: list[bytes] = [
    b"[" * 20_000 + b"]" * 20_000,
    b'{"session_id": "\\ud800"}',
    b'{"name": "a\\udfff", "size": 1, "mime_type": "x"}',
    b'{"size": ' + b"9" * 100_000 + b"}",
    b'{"size": 1e999, "name": "x"}',
    b'{"size": NaN, "name": "x"}',
    b'{"model": {"name": Infinity}}',
    b'{"name": "\xed\xa0\x80"}',  # a UTF-8-encoded surrogate
    b"\xff\xfe\x00\x00",
    b'{"sdp_offer": "v=0\\r\\n' + b"a" * 50 + b'", "track_mapping": ' + b"[" * 5000 + b"]" * 5000 + b"}",
]


def problems(method: str, url: str, body: bytes, response: httpx.Response) -> list[str]:
    where = f"{method} {url} {body[:24]!r} → {response.status_code}"
    if response.status_code >= 500 or "Traceback" in response.text:
        return [f"{where} {response.text[:120]}"]
    if response.status_code >= 400:
        error = response.json().get("error", {})
        if not (error.get("code") and error.get("message")):
            return [f"{where} without a coded error"]
    return []


@pytest.fixture
async def runtime() -> AsyncIterator[httpx.AsyncClient]:
    async with serve_runtime(RuntimeConfig(port=0)) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield http


async def test_runtime_routes_answer_hostile_bodies_with_coded_4xx(runtime: httpx.AsyncClient) -> None:
    sid = (await runtime.post("/start_session", json={})).json()["session_id"]
    transport = f"/sessions/{sid}/transport/webrtc"
    slot = (await runtime.post(f"/sessions/{sid}/uploads", json={"name": "a", "size": 3})).json()
    routes = [
        ("POST", "/start_session"),
        ("POST", "/stop_session"),
        ("POST", f"{transport}/sdp_params"),
        ("PUT", f"{transport}/sdp_params"),
        ("POST", f"{transport}/connections"),
        ("POST", f"{transport}/connections/1/sdp_params"),
        ("POST", f"{transport}/connections/1/ice_candidates"),
        ("POST", f"/sessions/{sid}/uploads"),
        ("PUT", f"/uploads/{slot['presigned_id']}"),
    ]
    await runtime.post(f"{transport}/connections", json={})
    found: list[str] = []
    for method, url in routes:
        for body in HOSTILE_BODIES:
            response = await runtime.request(method, url, content=body, headers={"content-type": "application/json"})
            found += problems(method, url, body, response)
    assert not found, "\n".join(found)
    assert (await runtime.get(f"/sessions/{sid}")).status_code == 200  # the session lives on


async def test_runtime_refuses_an_oversized_body_by_its_content_length(runtime: httpx.AsyncClient) -> None:
    response = await runtime.post("/start_session", content=b" " * (MAX_JSON_BODY_BYTES + 1))
    assert response.status_code == 413 and response.json()["error"]["code"] == "BODY_TOO_LARGE"
    assert (await runtime.get("/health")).json()["sessions"] == 0


@pytest.fixture
async def coordinator() -> AsyncIterator[str]:
    config = CoordinatorConfig(port=0, gpus=0, api_keys=["rk_alice"])
    async with serve_coordinator(config) as base:
        yield base


async def test_coordinator_routes_answer_hostile_input_with_coded_4xx(coordinator: str) -> None:
    token = await fetch_jwt("rk_alice", api_url=coordinator)
    auth = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=coordinator, timeout=10) as http:
        sid = (await http.post("/sessions", json=create_session_body("reactor-web-demo"), headers=auth)).json()[
            "session_id"
        ]
        routes = [
            ("POST", "/tokens", {"Reactor-API-Key": "rk_alice"}),
            ("POST", "/sessions", auth),
            ("POST", f"/sessions/{sid}/transport/webrtc/sdp_params", auth),
            ("POST", f"/sessions/{sid}/uploads", auth),
        ]
        found: list[str] = []
        for method, url, headers in routes:
            for body in HOSTILE_BODIES:
                found += problems(method, url, body, await http.request(method, url, content=body, headers=headers))
        for bad_token in [b"\xed\xa0\xbd\xff", b"a.b.c", b"x" * 10_000, b"e30." * 3]:
            headers = {b"Authorization": b"Bearer " + bad_token}
            found += problems("GET", f"/sessions/{sid}", b"", await http.get(f"/sessions/{sid}", headers=headers))
        assert not found, "\n".join(found)
