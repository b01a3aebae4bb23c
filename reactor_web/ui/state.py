"""``ReactorState``: the Reflex equivalent of the JS SDK's ``useReactor``.

Each tab (Reflex client token) has its own GPU session and relay peer in this backend process
(:mod:`reactor_web.relay`). Handlers return at once; what the session reports (status, messages, errors,
stats) reaches the tab through one background ``pump`` per tab.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import reflex as rx

from reactor_web.client import ReactorError
from reactor_web.relay.peer import OfferError, RelayOffer
from reactor_web.relay.registry import tabs
from reactor_web.relay.tab import TabSession
from reactor_web.ui.embedded import tab_settings
from reactor_web.ui.settings import settings

logger = logging.getLogger(__name__)

MAX_MESSAGES = 50


class ReactorState(rx.State):
    """Status, last error, messages, session id, capabilities and stats of this tab's model session."""

    status: str = "disconnected"
    last_error: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = []
    session_id: str | None = None
    capabilities: dict[str, Any] | None = None
    stats: dict[str, Any] = {}
    browser_stats: dict[str, Any] = {}
    #: The backend's answer to the page's relay offer, as JSON ``{"id", "sdp"}`` (or ``{"id","error"}``).
    relay_answer: str = ""
    webcam_publish: bool = True
    camera_state: str = "starting"
    #: Production mode (a coordinator hands out GPUs): the place in line while waiting, and time waited.
    queue_position: int | None = None
    waited_s: int | None = None
    #: When the session's token expires (epoch seconds); the backend renews it before then.
    session_expiration: float | None = None
    #: ``{"in_s", "attempt", "of"}`` while an automatic retry counts down.
    retry: dict[str, Any] | None = None
    auto_retry: bool = settings.auto_retry
    #: What the model refused, by what was sent: ``{command: "CODE: message"}`` (``"publish:webcam"`` for the
    #: camera). A new send of the command clears its entry; a new session starts empty.
    refusals: dict[str, str] = {}
    #: The model's own state, from its latest ``state_update`` message (empty until it sends one).
    model_state: dict[str, Any] = {}
    _pumping: bool = False

    def on_message(self, message: Any) -> None:
        """Called for every application message from the model; override in a subclass."""

    # -- the tab's session -----------------------------------------------------------------------

    def _tab(self) -> TabSession:
        token = self.router.session.client_token
        tab = tabs.get(token)
        if tab is None or tab.closed:
            # A new tab session (first use, or after the last one was released) starts with this tab's choices.
            tab = tabs.open(token, dataclasses.replace(tab_settings(), auto_retry=self.auto_retry))
            tab.set_webcam_wanted(self.webcam_publish)
        return tab

    def _ensure_pump(self) -> Any:
        if self._pumping:
            return None
        self._pumping = True
        return ReactorState.pump

    @rx.event
    async def relay_offer(self, offer: str) -> Any:
        """The page's relay peer offers (on load, and again after a network failure)."""
        try:
            parsed = RelayOffer.parse(offer)
            answer_id = json.loads(offer).get("id")
            sdp = await self._tab().accept_offer(parsed)
            self.relay_answer = json.dumps({"id": answer_id, "sdp": sdp})
        except OfferError as exc:
            logger.warning("bad relay offer: %s", exc)
            self.relay_answer = json.dumps({"error": str(exc)})
            return None
        pump = self._ensure_pump()
        if settings.auto_connect and self.status == "disconnected":
            self._tab().connect()
        return pump

    @rx.event(background=True)
    async def pump(self) -> None:
        """Carry the tab session's updates into this tab's state until the session closes."""
        async with self:
            tab = self._tab()
        try:
            while True:
                update = await tab.inbox.next()
                async with self:
                    for name, value in update.fields.items():
                        setattr(self, name, value)
                    for message in update.messages:
                        self.messages = [*self.messages, message][-MAX_MESSAGES:]
                        self.on_message(message)
                    if update.closed:
                        # Decided under the state lock, which a re-offer's handler also holds: either it already
                        # made the tab's next session (carry on with it) or it will start a new pump.
                        following = tabs.get(self.router.session.client_token)
                        if following is None or following.closed:
                            self._pumping = False
                            return
                        tab = following
        except BaseException:
            async with self:
                self._pumping = False
            raise

    @rx.event
    def connect(self) -> Any:
        self.last_error = None
        self._tab().connect()
        return self._ensure_pump()

    @rx.event
    def disconnect(self) -> None:
        self._tab().disconnect()

    @rx.event
    def reconnect(self) -> Any:
        self._tab().reconnect()
        return self._ensure_pump()

    @rx.event
    def retry_now(self) -> Any:
        self.last_error = None
        self._tab().retry()
        return self._ensure_pump()

    @rx.event
    def set_auto_retry(self, enabled: bool) -> None:
        self.auto_retry = enabled
        self._tab().set_auto_retry(enabled)

    @rx.event
    async def send_command(self, command: str, data: dict[str, Any] | None = None) -> None:
        try:
            await self._tab().send_command(command, data or {})
        except ReactorError as exc:
            self.last_error = exc.to_dict()

    @rx.event
    def set_webcam_publish(self, publish: bool) -> None:
        self.webcam_publish = publish
        self._tab().set_webcam_wanted(publish)

    @rx.event
    def set_camera_state(self, camera_state: str) -> None:
        self.camera_state = camera_state

    @rx.var
    def waiting_text(self) -> str:
        """``Waiting for a GPU · position 2 in line · 14 s`` (the parts that are known)."""
        parts = ["Waiting for a GPU"]
        if self.queue_position is not None:
            parts.append(f"position {self.queue_position} in line")
        if self.waited_s is not None:
            parts.append(f"{self.waited_s} s")
        return " · ".join(parts)

    @rx.var
    def retry_text(self) -> str:
        """The countdown of a recoverable error: an automatic retry, or when a retry is allowed."""
        if not self.retry:
            return ""
        if self.retry.get("auto"):
            return f"Retrying in {self.retry['in_s']} s (attempt {self.retry['attempt']} of {self.retry['of']})"
        return f"Retry possible in {self.retry['in_s']} s"

    @rx.var
    def error_recoverable(self) -> bool:
        return bool(self.last_error and self.last_error.get("recoverable"))

    @rx.var
    def error_text(self) -> str:
        """The last error as ``<code>: <message>``, or empty."""
        if not self.last_error:
            return ""
        return f"{self.last_error.get('code')}: {self.last_error.get('message')}"
