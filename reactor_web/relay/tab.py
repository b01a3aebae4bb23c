"""One browser tab's session: its GPU session (a Reactor client) and its browser-leg peer.

The tab owns both and closes both. Frames flow GPU ``main_video`` → :class:`LatestFrameTrack` → browser,
and browser camera → :class:`LatestFrameTrack` → GPU ``webcam``; neither direction queues more than one
frame. Long operations (connect can wait minutes for a GPU) run as tasks owned by the tab, so the UI's
event handlers return at once and a Disconnect click is never stuck behind a Connect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCIceServer

from reactor_web.client import Reactor, ReactorError
from reactor_web.client.stats import ConnectionStats
from reactor_web.client.tracks import ReceivedTrack
from reactor_web.protocol.constants import STATS_INTERVAL_S, WEBCAM_TRACK
from reactor_web.protocol.schemas import IceServer
from reactor_web.relay.inbox import TabInbox
from reactor_web.relay.peer import BrowserPeer, RelayOffer

logger = logging.getLogger(__name__)

#: The stats panel charts the last minute of the client's stats (one sample every STATS_INTERVAL_S).
STATS_HISTORY_POINTS = int(60 / STATS_INTERVAL_S)


@dataclass(frozen=True, slots=True)
class TabSettings:
    """How a tab reaches its model."""

    model_name: str
    api_url: str | None = None
    local: bool = True
    #: Returns a JWT for production mode (None in local mode).
    token_provider: Callable[[], Awaitable[str | None]] | None = None
    browser_ice_servers: list[RTCIceServer] = field(default_factory=list)
    #: Replaces the GPU leg's ICE servers (None: the ones the runtime or coordinator hands out).
    gpu_ice_servers: list[IceServer] | None = None
    heartbeat_timeout_s: float = 5.0
    #: Silence on the GPU leg before the session counts as lost (the client's watchdog).
    peer_timeout_s: float = 15.0


def plain(value: Any) -> Any:
    """A JSON-friendly copy of client objects (dataclasses, errors) for UI state."""
    if isinstance(value, ReactorError):
        return value.to_dict()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


class TabSession:
    def __init__(self, settings: TabSettings, *, on_closed: Callable[[TabSession], None] | None = None) -> None:
        self.settings = settings
        self.inbox = TabInbox()
        self.reactor = Reactor(
            settings.model_name,
            api_url=settings.api_url,
            local=settings.local,
            ice_servers=settings.gpu_ice_servers,
            peer_timeout_s=settings.peer_timeout_s,
        )
        self.peer = BrowserPeer(
            ice_servers=settings.browser_ice_servers,
            heartbeat_timeout_s=settings.heartbeat_timeout_s,
            on_dead=self.close,
        )
        self.peer.on_browser_stats = lambda stats: self.inbox.set("browser_stats", stats)
        self.want_webcam = False
        self._model_view: ReceivedTrack | None = None
        self.stats_history: deque[dict[str, Any]] = deque(maxlen=STATS_HISTORY_POINTS)
        self.closed = False
        self._on_closed = on_closed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wire_events()

    def _wire_events(self) -> None:
        r, inbox = self.reactor, self.inbox
        r.on("status_changed", self._on_status)
        r.on("session_id_changed", lambda sid: inbox.set("session_id", sid))
        r.on("capabilities_received", lambda caps: inbox.set("capabilities", plain(caps)))
        r.on("message", inbox.add_message)
        r.on("error", lambda err: inbox.set("last_error", plain(err)))
        r.on("stats_update", lambda stats: inbox.set("stats", plain(stats)))
        r.on("stream_changed", self._on_stream)
        r.on("stats_update", self._record_stats)

    def _record_stats(self, stats: ConnectionStats) -> None:
        # Accumulated here, at the source: the inbox keeps only a field's latest value, so samples the
        # page's pump had not read yet would be missing from a history built from the `stats` field.
        self.stats_history.append(stats.to_dict())

    def _on_stream(self, track: ReceivedTrack | None) -> None:
        # The relay reads its own view of the model's video, so app code can still read the client's.
        # A reconnect brings a new track: the old view is closed and the new one takes its place.
        if self._model_view is not None:
            self._model_view.stop()
        self._model_view = track.subscribe() if track is not None else None
        self.peer.model_video.set_source(self._model_view)

    def _on_status(self, status: str) -> None:
        self.inbox.set("status", status)
        if status == "ready" and self.want_webcam:
            self._spawn(self._publish_webcam())

    async def _publish_webcam(self) -> None:
        if self.reactor.get_capabilities() is None or self.reactor.status != "ready":
            return
        caps = self.reactor.get_capabilities()
        if caps is not None and caps.track(WEBCAM_TRACK) is not None:
            await self.reactor.publish_track(WEBCAM_TRACK, self.peer.webcam)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro: Coroutine[Any, Any, Any]) -> None:
        # Errors are already emitted on the client's `error` event (→ inbox); don't lose other ones.
        try:
            await coro
        except ReactorError:
            pass
        except Exception as exc:
            logger.exception("tab operation failed")
            self.inbox.set("last_error", ReactorError("INTERNAL_ERROR", str(exc), component="gpu").to_dict())

    # -- operations the UI calls; each returns at once -------------------------------------------

    async def accept_offer(self, offer: RelayOffer) -> str:
        return await self.peer.accept_offer(offer)

    def connect(self) -> None:
        if self.reactor.status != "disconnected":
            return
        self._spawn(self._connect())

    async def _connect(self) -> None:
        token = await self.settings.token_provider() if self.settings.token_provider else None
        await self.reactor.connect(token)

    def disconnect(self) -> None:
        self._spawn(self.reactor.disconnect())

    def reconnect(self) -> None:
        self._spawn(self.reactor.reconnect())

    async def send_command(self, command: str, data: Any = None) -> None:
        await self.reactor.send_command(command, data)

    def set_webcam_wanted(self, wanted: bool) -> None:
        self.want_webcam = wanted
        if self.reactor.status != "ready":
            return
        if wanted:
            self._spawn(self._publish_webcam())
        else:
            self._spawn(self.reactor.unpublish_track(WEBCAM_TRACK))

    async def close(self) -> None:
        """Release the GPU session and the browser peer; idempotent."""
        if self.closed:
            return
        self.closed = True
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        try:
            if self.reactor.status != "disconnected" or self.reactor.get_session_id() is not None:
                await self.reactor.disconnect()
        finally:
            self._on_stream(None)
            await self.peer.close()
            self.inbox.close()
            if self._on_closed is not None:
                self._on_closed(self)
