"""``ReactorState``: the Reflex equivalent of the JS SDK's ``useReactor``.

Each tab (Reflex client token) has its own GPU session and relay peer in this backend process
(:mod:`reactor_web.relay`). Handlers return at once; what the session reports (status, messages, errors,
stats) reaches the tab through one background ``pump`` per tab.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, TypedDict, cast

import reflex as rx
from reflex_base.event import EventSpec

from reactor_web.client import ReactorError
from reactor_web.protocol.constants import MAIN_VIDEO_TRACK
from reactor_web.relay.handle import TabHandle
from reactor_web.relay.peer import OfferError, RelayOffer
from reactor_web.relay.registry import tabs
from reactor_web.relay.tab import TabSession, TabSettings
from reactor_web.relay.timeline import ConnectBreakdown, finite
from reactor_web.ui.embedded import tab_settings, the_app
from reactor_web.ui.settings import settings

logger = logging.getLogger(__name__)

MAX_MESSAGES = 50


# The shapes of what the session reports, as Reflex state var types: a page's ``rx.cond``/``rx.foreach`` on their
# fields (``ReactorState.last_error.code``) is type-checked. TypedDicts rather than dataclasses: the values stay
# the plain dicts the client produces (``ReactorError.to_dict()``, ``ConnectionStats.to_dict()``), so nothing
# converts them on the way and backend code reads them as before.


class ErrorInfo(TypedDict):
    """``ReactorState.last_error``: a :class:`reactor_web.ReactorError` (the JS SDK's ``ReactorError``)."""

    code: str
    message: str
    component: str  # "coordinator" or "gpu"
    recoverable: bool
    retry_after: float | None  # seconds
    command: str | None  # the refused command, for a refusal that names one
    timestamp: int  # ms since the epoch


class TimingsInfo(TypedDict):
    """``StatsInfo.connection_timings``, in milliseconds."""

    session_creation_ms: float
    transport_connecting_ms: float
    total_ms: float
    first_frame_ms: float | None


class StatsInfo(TypedDict, total=False):
    """``ReactorState.stats``: the GPU leg's last sample (every 2 s while connected; empty before the first)."""

    timestamp: int  # ms since the epoch
    rtt: float | None  # ms
    candidate_type: str | None  # host / srflx / prflx / relay
    available_outgoing_bitrate: float | None  # bits/s
    frames_per_second: float | None
    packet_loss_ratio: float | None  # 0..1
    jitter: float | None  # s
    inbound_bitrate: float | None  # bits/s
    outbound_bitrate: float | None  # bits/s
    connection_timings: TimingsInfo | None


class TrackInfo(TypedDict):
    """A track the model declares: ``kind`` "video"/"audio", ``direction`` from the model's side."""

    name: str
    kind: str
    direction: str


class CommandInfo(TypedDict):
    """A command the model declares, with its flat parameter schema (parameter name → JSON-schema-like spec)."""

    name: str
    description: str
    schema: dict[str, dict[str, Any]]


class CapabilitiesInfo(TypedDict, total=False):
    """``ReactorState.capabilities``: what the model declared when the session became ready."""

    protocol_version: str
    tracks: list[TrackInfo]
    commands: list[CommandInfo]
    emission_fps: float


class MessageInfo(TypedDict, total=False):
    """An entry of ``ReactorState.messages``: a model's application message, normally ``{"type", "data"}``
    (other keys the model sends are kept)."""

    type: str
    data: Any


def error_info(exc: ReactorError) -> ErrorInfo:
    """``exc`` as ``ReactorState.last_error`` holds it: ``ReactorError.to_dict()``, whose keys ErrorInfo names."""
    return cast(ErrorInfo, exc.to_dict())


def _overriding_states(state: type[rx.State]) -> Iterator[type[ReactorState]]:
    """Every registered subclass below ``state`` whose ``on_message`` is not the base's no-op."""
    for sub in state.get_substates():
        if issubclass(sub, ReactorState):
            if sub.on_message is not ReactorState.on_message:
                yield sub
            yield from _overriding_states(sub)


class ReactorState(rx.State):
    """This tab's model session, the JS SDK's ``useReactor``: ``status`` ("disconnected", "connecting",
    "waiting", "ready"), ``last_error`` (:class:`ErrorInfo` or None), ``messages`` (the last 50
    :class:`MessageInfo`, oldest first), ``session_id``, ``capabilities`` (:class:`CapabilitiesInfo` or None),
    ``stats`` (:class:`StatsInfo`); handlers ``connect``, ``disconnect``, ``reconnect``, ``retry_now``,
    ``send_command(command, data)``.

    Subclass it for your own page state; a subclass overriding :meth:`on_message` is called for every message.
    """

    status: str = "disconnected"
    last_error: ErrorInfo | None = None
    messages: list[MessageInfo] = []
    session_id: str | None = None
    capabilities: CapabilitiesInfo | None = None
    stats: StatsInfo = {}
    browser_stats: dict[str, Any] = {}
    #: How the backend sends the model's video to this page: "passthrough" (as the GPU encoded it), "transcode"
    #: (decoded and encoded again: the page's codec differs), or "" while the page's relay is not connected.
    relay_mode: str = ""
    #: How the page's camera goes on to the GPU: "passthrough" (as the browser encoded it), "transcode", or ""
    #: while it is not published.
    camera_relay_mode: str = ""
    #: The backend's answer to the page's relay offer, as JSON ``{"id", "sdp"}`` (or ``{"id","error"}``).
    relay_answer: str = ""
    webcam_publish: bool = True
    camera_state: str = "starting"
    #: Publish the page's microphone (``microphone()``, ``webcam_stream(audio=...)``) to the model while ready. Off
    #: until the user turns it on: ``microphone()`` opens the microphone only then.
    microphone_publish: bool = False
    microphone_state: str = "off"
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
    #: The model's latest reply to each command this page sent, by command: ``{"type", "data"}`` (a v1 session's
    #: correlated reply, as reactor-sdk's ``send_command`` returns it), or None once the command was acknowledged
    #: without one (or, on a v0 session, which has no answers, sent). A new send of the command clears its entry
    #: until the answer; a new session starts empty. Read it as ``ReactorState.replies["ping"]``.
    replies: dict[str, Any] = {}
    #: The model's own state, from its latest ``state_update`` message (empty until it sends one).
    model_state: dict[str, Any] = {}
    #: Where the latest connect's time went, from the click to the first frame shown (``ConnectBreakdown``, ms;
    #: filled in as the stages complete); None before the first connect.
    connect_breakdown: ConnectBreakdown | None = None
    #: The GPU leg's stats samples of the last minute (what the stats panel charts), oldest first.
    _stats_samples: list[dict[str, Any]] = []

    def on_message(self, message: Any) -> None:
        """Called for every application message from the model (the JS SDK's ``useReactorMessage``).

        Override it in a subclass: every subclass that overrides it (on any page) is called once per message,
        in arrival order, on that subclass's own state, with the message as the model sent it (normally a dict
        ``{"type", "data"}``); the state changes it makes reach the page like a handler's. An exception it
        raises is logged and the next message is still delivered.
        """

    # -- the tab's session -----------------------------------------------------------------------

    async def _tab(self) -> TabHandle:
        """This tab's session: on this worker, or forwarded to the worker that holds it (several workers)."""

        def new_tab() -> tuple[TabSettings, bool, bool]:
            # A new tab session (first use, after the last one was released, or taken over from a worker that is
            # gone) starts with this tab's choices.
            tab = dataclasses.replace(tab_settings(), auto_retry=self.auto_retry)
            return tab, self.webcam_publish, self.microphone_publish

        return await tabs.handle(self.router.session.client_token, new_tab)

    @rx.event
    async def relay_offer(self, offer: str) -> None:
        """The page's relay peer offers (on load, and again after a network failure)."""
        offer_id: Any = None
        try:
            offer_id = RelayOffer.parse(offer).id
            tab = await self._tab()
            sdp = await tab.accept_offer(offer)
            self.relay_answer = json.dumps({"id": offer_id, "sdp": sdp})
        except (OfferError, ReactorError) as exc:
            logger.warning("relay offer refused: %s", exc)
            # The id lets the page tell a refusal of its current offer from an old one, and offer again.
            self.relay_answer = json.dumps({"id": offer_id, "error": str(exc)})
            return
        if settings.auto_connect and self.status == "disconnected":
            await tab.connect()

    async def _deliver(self, messages: list[Any]) -> None:
        """Add ``messages`` to ``messages`` and hand each to every ``on_message`` override.

        The pump writes the ``ReactorState`` instance, so overrides are reached through their own states."""
        receivers = [await self.get_state(sub) for sub in _overriding_states(ReactorState)]
        for message in messages:
            self.messages = [*self.messages, message][-MAX_MESSAGES:]
            for receiver in receivers:
                try:
                    receiver.on_message(message)
                except Exception:
                    logger.exception("%s.on_message failed", type(receiver).__name__)

    async def _run(self, op: str, *args: Any) -> None:
        """Run a tab operation; an error in it (the tab's owner unreachable) becomes ``last_error``."""
        try:
            tab = await self._tab()
            await getattr(tab, op)(*args)
        except ReactorError as exc:
            self.last_error = error_info(exc)

    @rx.event
    async def connect(self) -> None:
        """Start this tab's model session (JS ``connect()``); returns at once, ``status`` follows
        (connecting → waiting → ready). Failures land in ``last_error``; does nothing unless disconnected."""
        self.last_error = None
        await self._run("connect", None, time.time() * 1000)

    @rx.event
    async def connect_at(self, requested_at: float) -> None:
        """:meth:`connect`, timed from the user's click: ``requested_at`` is the page's ``Date.now()`` when the
        user asked (ms since the epoch; ``on_click=ReactorState.connect_at(rx.Var("Date.now()"))``), so that
        ``connect_breakdown`` also has the click → backend stage and the click → first frame total. A value that
        is not a finite number is ignored."""
        self.last_error = None
        await self._run("connect", finite(requested_at), time.time() * 1000)

    @rx.event
    async def disconnect(self) -> None:
        """Stop the model session (JS ``disconnect()``): the GPU session is released, ``status`` → disconnected."""
        await self._run("disconnect")

    @rx.event
    async def reconnect(self) -> None:
        """A fresh connection to the same model session (JS ``reconnect()``), e.g. after a network failure."""
        await self._run("reconnect")

    @rx.event
    async def retry_now(self) -> None:
        """After a recoverable error: reconnect if the session survived, else connect anew (the Retry button)."""
        self.last_error = None
        await self._run("retry")

    @rx.event
    async def set_auto_retry(self, enabled: bool) -> None:
        """Retry by itself after a recoverable failure (backoff 1, 2, 4… s, at least ``Retry-After``) or not."""
        self.auto_retry = enabled
        await self._run("set_auto_retry", enabled)

    @rx.event
    async def send_command(self, command: str, data: dict[str, Any] | None = None) -> None:
        """Send ``command`` with ``data`` (a JSON object, default ``{}``) to the model (JS ``sendCommand``).

        Checked against the model's declared schema first; when not ready, for an unknown command or an invalid
        value nothing is sent and ``last_error`` says why (a ``ReactorError``'s code and message)."""
        await self._run("send_command", command, data or {})

    @rx.event
    async def set_webcam_publish(self, publish: bool) -> None:
        """Publish the page's camera (``webcam_stream``) to the model while ready, or stop publishing it."""
        self.webcam_publish = publish
        await self._run("set_webcam_wanted", publish)

    @rx.event
    async def set_microphone_publish(self, publish: bool) -> None:
        """Publish the page's microphone to the model's declared audio input while ready, or stop publishing it."""
        self.microphone_publish = publish
        await self._run("set_microphone_wanted", publish)

    @rx.event
    def set_microphone_state(self, microphone_state: str) -> None:
        """``microphone()`` reports its microphone: "off", "starting", "on", "denied" or "error"."""
        self.microphone_state = microphone_state

    @rx.event
    async def screenshot(self, track: str = MAIN_VIDEO_TRACK) -> EventSpec | None:
        """Download the model's current frame of video output ``track`` as a PNG (``<track>-<time>.png``); when
        there is no frame (not ready, no such track), ``last_error`` says why (code ``NO_FRAME``)."""
        try:
            png = await (await self._tab()).screenshot(track)
        except ReactorError as exc:
            self.last_error = error_info(exc)
            return None
        return rx.download(data=png, filename=f"{track}-{time.strftime('%Y%m%d-%H%M%S')}.png")

    @rx.event
    def set_camera_state(self, camera_state: str) -> None:
        """``webcam_stream`` reports its camera: "starting", "on", "denied" or "error"."""
        self.camera_state = camera_state

    @rx.var
    def declared_tracks(self) -> list[TrackInfo] | None:
        """The tracks the session's model declares (None before a session declared any): what the relay carries."""
        return self.capabilities.get("tracks") if self.capabilities else None

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
        """Whether ``last_error`` can be retried (JS ``ReactorError.recoverable``); False without an error."""
        return bool(self.last_error and self.last_error.get("recoverable"))

    @rx.var
    def error_text(self) -> str:
        """The last error as ``<code>: <message>``, or empty."""
        if not self.last_error:
            return ""
        return f"{self.last_error.get('code')}: {self.last_error.get('message')}"


async def pump(token: str, tab: TabSession) -> None:
    """Carry ``tab``'s updates into the page state of tab ``token`` until the tab closes.

    Runs on the worker that holds the tab's session, as the registry's task; Reflex routes the state change to
    whichever worker holds the page's websocket. A page that is gone (no websocket) is skipped, not waited on."""
    while True:
        update = await tab.inbox.next()
        try:
            async with the_app().modify_state(rx.BaseStateToken(ident=token, cls=ReactorState)) as root:
                state = await root.get_state(ReactorState)
                for name, value in update.fields.items():
                    setattr(state, name, value)
                if update.messages:
                    await state._deliver(update.messages)
        except Exception:
            logger.exception("could not update tab %s's state", token[:8])
        if update.closed:
            return
