"""ReactorError classification and the event emitter."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from reactor_web.client import ErrorCode, ReactorError
from reactor_web.client.errors import ApiError, parse_retry_after, to_reactor_error
from reactor_web.client.events import ALIASES, EVENTS, EventEmitter, canonical_event
from reactor_web.protocol.capabilities import ProtocolError


@pytest.mark.parametrize(
    ("status", "code", "recoverable"),
    [
        (401, "AUTHENTICATION_FAILED", False),
        (403, "AUTHENTICATION_FAILED", False),
        (404, "CONNECTION_FAILED", False),
        (400, "CONNECTION_FAILED", False),
        (409, "CONNECTION_FAILED", True),
        (429, "CONNECTION_FAILED", True),
        (500, "CONNECTION_FAILED", True),
        (503, "CONNECTION_FAILED", True),
        (426, "CONNECTION_FAILED", False),
        (501, "CONNECTION_FAILED", False),
        (None, "CONNECTION_FAILED", True),  # network error
    ],
)
def test_http_status_mapping(status: int | None, code: str, recoverable: bool) -> None:
    error = to_reactor_error(
        ApiError("boom", status, retry_after=3.0), ErrorCode.CONNECTION_FAILED, "Connection failed"
    )
    assert (error.code, error.recoverable, error.component) == (code, recoverable, "coordinator")
    assert error.message.startswith("Connection failed: ")


def test_retry_after_is_kept_and_other_failures_are_classified() -> None:
    error = to_reactor_error(ApiError("slow down", 429, retry_after=7.0), ErrorCode.RECONNECTION_FAILED, "x")
    assert (error.code, error.retry_after) == ("RECONNECTION_FAILED", 7.0)
    bad_body = to_reactor_error(ProtocolError("missing"), ErrorCode.CONNECTION_FAILED, "x")
    assert (bad_body.component, bad_body.recoverable) == ("coordinator", False)
    webrtc = to_reactor_error(RuntimeError(), ErrorCode.CONNECTION_FAILED, "x")
    assert (webrtc.component, webrtc.recoverable, webrtc.message) == ("gpu", True, "x: RuntimeError")
    same = ReactorError(ErrorCode.MESSAGE_TOO_LARGE, "big")
    assert to_reactor_error(same, ErrorCode.CONNECTION_FAILED, "x") is same


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= (parse_retry_after(later) or 0) <= 60


def test_error_to_dict() -> None:
    error = ReactorError(ErrorCode.AUTHENTICATION_FAILED, "no", component="coordinator", recoverable=False)
    data = error.to_dict()
    assert list(data) == ["code", "message", "component", "recoverable", "retry_after", "command", "timestamp"]
    assert data["code"] == "AUTHENTICATION_FAILED" and isinstance(data["timestamp"], int)
    assert isinstance(error, Exception) and str(error) == "no"


def test_every_js_alias_names_an_event() -> None:
    assert set(ALIASES.values()) <= set(EVENTS)
    assert canonical_event("statusChanged") == "status_changed"
    assert canonical_event("newMessage") == canonical_event("message") == "message"
    with pytest.raises(ValueError, match="unknown event"):
        canonical_event("nope")


async def test_emitter_runs_sync_and_async_handlers_and_survives_failures(caplog: pytest.LogCaptureFixture) -> None:
    emitter = EventEmitter()
    seen: list[str] = []
    done = asyncio.Event()

    def broken(_status: str) -> None:
        raise RuntimeError("handler bug")

    async def later(status: str) -> None:
        seen.append(f"async {status}")
        done.set()

    def sync(status: str) -> None:
        seen.append(f"sync {status}")

    emitter.on("statusChanged", broken)
    emitter.on("status_changed", later)
    emitter.on("status_changed", sync)
    with caplog.at_level(logging.ERROR):
        emitter.emit("status_changed", "ready")
    assert seen == ["sync ready"] and "handler bug" in caplog.text
    await asyncio.wait_for(done.wait(), 5)
    assert seen == ["sync ready", "async ready"]

    emitter.off("statusChanged", sync)
    emitter.emit("status_changed", "waiting")
    await emitter.aclose()
    assert "sync waiting" not in seen
