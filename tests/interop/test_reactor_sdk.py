"""reactor-sdk 1.13 (the official Python client, a Rust core that speaks v1 protobuf) against OUR runtime.

The SDK runs in ``.venv-interop`` (Python 3.12) as ``sdk_driver.py``; our runtime runs in this process. Before the
v1 codec it connected, received no video and its first ``send_command`` failed ``DISCONNECTED`` (issue 21).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from interop_support import DEMO_MODEL_NAME, INTEROP_PYTHON

from reactor_web.runtime import RuntimeConfig, serve_runtime

DRIVER = Path(__file__).resolve().parent / "sdk_driver.py"
DRIVER_TIMEOUT_S = 120.0


async def drive(url: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        str(INTEROP_PYTHON),
        str(DRIVER),
        "--url",
        url,
        "--model",
        DEMO_MODEL_NAME,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), DRIVER_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    lines = out.decode().strip().splitlines()
    assert process.returncode == 0 and lines, f"driver exit {process.returncode}:\n{err.decode()[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert "failure" not in result, f"{result['failure']}\n{err.decode()[-3000:]}"
    return result


async def test_reactor_sdk_streams_and_gets_correlated_answers_from_our_runtime(interop_tools: None) -> None:
    async with serve_runtime(RuntimeConfig(port=0)) as url:
        result = await drive(url)
        async with httpx.AsyncClient(base_url=url) as http:
            sessions_after = (await http.get("/health")).json()["sessions"]
    frames = result["frames"]
    assert len(frames) >= 10 and all((w, h) == (640, 360) for w, h, _ in frames)
    assert len({checksum for _w, _h, checksum in frames}) > 1, "the video does not move"
    ping = result["ping"]["reply"]
    assert ping["type"] == "pong" and isinstance(ping["data"]["frame"], int | float)
    assert result["ack"] == {"reply": None}  # acknowledged, no body
    assert result["out_of_schema"]["error"]["code"] == "INVALID_COMMAND"
    assert "value" in result["out_of_schema"]["error"]["message"]
    assert result["unknown"]["error"]["code"] == "UNKNOWN_COMMAND"
    assert sessions_after == 0  # its disconnect ended the session
