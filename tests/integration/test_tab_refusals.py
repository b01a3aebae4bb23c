"""The tab session routes what the model answers to what was sent, and says why it ends its relay."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from PIL import Image
from test_relay_peer import Page

from reactor_web.protocol.constants import Scope
from reactor_web.protocol.messages import Received, Refusal
from reactor_web.relay.tab import RELAY_RELEASED, TabSession, TabSettings
from reactor_web.runtime import RuntimeConfig, serve_runtime

WAIT_S = 15.0


@pytest.fixture
async def runtime() -> AsyncIterator[str]:
    async with serve_runtime(RuntimeConfig(port=0)) as url:
        yield url


class Seen:
    """Everything the tab told its UI so far, latest value per field."""

    def __init__(self, tab: TabSession) -> None:
        self.tab, self.fields, self.closed = tab, {}, False

    async def until(self, predicate: Callable[[dict[str, Any]], bool], within: float = WAIT_S) -> dict[str, Any]:
        async def loop() -> dict[str, Any]:
            while not predicate(self.fields):
                if self.closed:
                    raise AssertionError(f"the tab closed first; saw {self.fields}")
                update = await self.tab.inbox.next()
                self.fields.update(update.fields)
                self.closed = update.closed
            return self.fields

        return await asyncio.wait_for(loop(), within)


def model_sends(tab: TabSession, scope: Scope, error: dict[str, Any]) -> None:
    """An uncorrelated refusal on the session's data channel, as the transport hands a decoded one to the client
    (whatever the wire version: a v1 refusal that answers a command is test_refusals_and_confirmed_state...)."""
    transport = tab.reactor._transport
    assert transport is not None
    refusal = Refusal(error["code"], error["message"], error.get("command"), scope)
    transport._listener.on_message(transport, Received(refusal))


def png(rgb: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), rgb).save(out, format="PNG")
    return out.getvalue()


async def test_refusals_and_confirmed_state_are_routed_by_command_and_end_with_the_session(runtime: str) -> None:
    tab = TabSession(TabSettings(model_name="reactor-web-demo", api_url=runtime))
    seen = Seen(tab)
    try:
        tab.connect()
        await seen.until(lambda f: f.get("status") == "ready")

        bad = await tab.upload_file(b"not a picture", name="corrupt.png", mime_type="image/png")
        await tab.send_command("set_image", {"image": bad})
        fields = await seen.until(lambda f: "set_image" in f.get("refusals", {}))
        assert fields["refusals"]["set_image"].startswith("INVALID_IMAGE: ")
        assert "corrupt.png" in fields["refusals"]["set_image"]
        assert not fields.get("model_state", {}).get("image")

        good = await tab.upload_file(png((30, 200, 40)), name="green.png", mime_type="image/png")
        await tab.send_command("set_image", {"image": good, "opacity": 1.0})
        fields = await seen.until(lambda f: f.get("model_state", {}).get("image") == "green.png")
        assert "set_image" not in fields["refusals"]  # the new send cleared the old refusal

        await tab.send_command("ping", {})  # another command: its own entry, nothing else touched
        await tab.send_command("clear_image", {})
        fields = await seen.until(lambda f: f.get("model_state", {}).get("image") is None)
        assert fields["refusals"] == {}
        # The answers (v1): the pong for ping, None for an acknowledged command; the refused one has none.
        fields = await seen.until(lambda f: {"ping", "clear_image"} <= set(f.get("replies", {})))
        assert fields["replies"]["ping"]["type"] == "pong" and fields["replies"]["clear_image"] is None
        assert "set_image" in fields["replies"]  # the accepted (second) set_image: acknowledged

        tab.disconnect()
        fields = await seen.until(lambda f: f.get("status") == "disconnected" and f.get("session_id") is None)
        assert fields["model_state"] == {} and fields["refusals"] == {}  # they belonged to that session
        assert fields["replies"] == {}
    finally:
        await tab.close()


async def test_a_released_tab_tells_its_ui_why_and_the_page_why(runtime: str) -> None:
    tab = TabSession(TabSettings(model_name="reactor-web-demo", api_url=runtime, heartbeat_timeout_s=0.5))
    seen = Seen(tab)
    page = Page()
    bye: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    page.channel.on("message", lambda m: bye.done() or bye.set_result(m))
    try:
        await page.answer(await tab.accept_offer(await page.offer()))
        tab.connect()
        # The page never beats: released, and both the page and the UI hear why.
        assert "without a heartbeat" in await asyncio.wait_for(bye, WAIT_S)
        while not seen.closed:
            update = await asyncio.wait_for(tab.inbox.next(), WAIT_S)
            seen.fields.update(update.fields)
            seen.closed = update.closed
        assert seen.fields["status"] == "disconnected"
        error = seen.fields["last_error"]
        assert error["code"] == RELAY_RELEASED
        assert error["message"] == "released after 0.5 s without a heartbeat from the page"
        assert tab.closed
        async with httpx.AsyncClient(base_url=runtime) as http:
            assert (await http.get("/health")).json()["sessions"] == 0
    finally:
        await page.pc.close()
        await tab.close()


async def test_a_connected_tab_whose_page_never_offers_releases_its_gpu_session(runtime: str) -> None:
    """Connect clicked, then the page gone before its relay offered: the GPU session is not held forever."""
    tab = TabSession(
        TabSettings(model_name="reactor-web-demo", api_url=runtime, heartbeat_timeout_s=0.5, relay_connect_timeout_s=6)
    )
    seen = Seen(tab)
    try:
        tab.connect()
        await seen.until(lambda f: f.get("status") == "ready")
        async with httpx.AsyncClient(base_url=runtime) as http:
            assert (await http.get("/health")).json()["sessions"] == 1
        while not seen.closed:
            update = await asyncio.wait_for(tab.inbox.next(), WAIT_S)
            seen.fields.update(update.fields)
            seen.closed = update.closed
        assert seen.fields["status"] == "disconnected"
        assert seen.fields["last_error"]["code"] == RELAY_RELEASED
        assert seen.fields["last_error"]["message"] == "released after 6 s without the page's relay connecting"
        async with httpx.AsyncClient(base_url=runtime) as http:
            assert (await http.get("/health")).json()["sessions"] == 0
    finally:
        await tab.close()


async def test_an_error_naming_no_command_is_the_sessions_and_a_runtime_refusal_the_last_commands(runtime: str) -> None:
    tab = TabSession(TabSettings(model_name="reactor-web-demo", api_url=runtime))
    seen = Seen(tab)
    try:
        tab.connect()
        await seen.until(lambda f: f.get("status") == "ready")
        # The demo model always names the command it refuses, and our client sends nothing the runtime
        # refuses: these frames stand in for a model and a runtime that do, delivered as the client does.
        model_sends(tab, "application", {"code": "OUT_OF_MEMORY", "message": "model restarted"})
        fields = await seen.until(lambda f: f.get("last_error") is not None)
        assert (fields["last_error"]["code"], fields["last_error"]["message"]) == ("OUT_OF_MEMORY", "model restarted")

        await tab.send_command("ping", {})
        model_sends(tab, "runtime", {"code": "MESSAGE_TOO_LARGE", "message": "big"})
        fields = await seen.until(lambda f: "ping" in f.get("refusals", {}))
        assert fields["refusals"]["ping"] == "MESSAGE_TOO_LARGE: big"
    finally:
        await tab.close()
