"""One browser tab's session: its GPU session (a Reactor client) and its browser-leg peer.

The tab owns both and closes both. Every track the GPU session receives (each declared output, video or
audio) flows GPU → the peer's output hubs of that name (encoded, forwarded as is, or decoded when the page's
codec differs) → browser; every input the page offers (camera, microphone) flows browser → the peer's input
hubs → a view the tab publishes to the GPU under the same name, when the model declares it and the user
allows it (the camera switch for video inputs, the microphone switch for audio ones). No direction queues
more than one video frame or :data:`~reactor_web._media.AUDIO_MAX_FRAMES` audio frames
(``reactor_web/_media.py``). Long operations (connect can
wait minutes for a GPU) run as tasks owned by the tab, so the UI's event handlers return at once and a
Disconnect click is never stuck behind a Connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiortc import RTCIceServer

from reactor_web._encoded import RelayMode
from reactor_web._media import FrameView
from reactor_web.client import PeerOptions, Reactor, ReactorError, RefusalError, ResumePoint, TokenProvider
from reactor_web.client.stats import DEFAULT_PEER_TIMEOUT_S, ConnectionStats
from reactor_web.client.tracks import ReceivedTrack
from reactor_web.protocol.capabilities import Capabilities
from reactor_web.protocol.constants import MAIN_VIDEO_TRACK, MICROPHONE_TRACK, STATS_INTERVAL_S, WEBCAM_TRACK, TrackKind
from reactor_web.protocol.schemas import FileRef, IceServer
from reactor_web.relay.inbox import TabInbox
from reactor_web.relay.peer import (
    DEFAULT_HEARTBEAT_TIMEOUT_S,
    RELAY_CONNECT_TIMEOUT_S,
    BrowserPeer,
    RelayHubs,
    RelayOffer,
)
from reactor_web.relay.retry import Retrier, RetryPolicy
from reactor_web.relay.timeline import ConnectTimeline, PageMarks
from reactor_web.tasks import OwnedTasks

logger = logging.getLogger(__name__)

#: The stats panel charts the last minute of the client's stats (one sample every STATS_INTERVAL_S).
STATS_HISTORY_POINTS = int(60 / STATS_INTERVAL_S)


def publish_key(track: str) -> str:
    """The ``refusals`` key of a refused publish of page input ``track`` (commands use their own name)."""
    return f"publish:{track}"


#: The key under which a refused camera publish is reported in ``refusals``.
PUBLISH_WEBCAM = publish_key(WEBCAM_TRACK)
#: The key under which a refused microphone publish is reported in ``refusals``.
PUBLISH_MICROPHONE = publish_key(MICROPHONE_TRACK)
#: Why a tab's relay ended, as ``last_error["code"]`` (the page re-offers a fresh relay).
RELAY_RELEASED = "RELAY_RELEASED"


@dataclass(frozen=True, slots=True)
class TabSettings:
    """How a tab reaches its model."""

    model_name: str
    api_url: str | None = None
    local: bool = True
    #: Returns a fresh JWT for production mode (None in local mode); the client calls it again before expiry.
    token_provider: TokenProvider | None = None
    browser_ice_servers: list[RTCIceServer] = field(default_factory=list)
    #: Replaces the GPU leg's ICE servers (None: the ones the runtime or coordinator hands out).
    gpu_ice_servers: list[IceServer] | None = None
    heartbeat_timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S
    #: How long the page's relay has to come up (from the tab's first event, or from each offer) before the tab
    #: is released as gone.
    relay_connect_timeout_s: float = RELAY_CONNECT_TIMEOUT_S
    #: Silence on the GPU leg before the session counts as lost (the client's watchdog).
    peer_timeout_s: float = DEFAULT_PEER_TIMEOUT_S
    #: How both legs' peer connections are configured (host addresses, jitter buffer); None: the defaults.
    peer_options: PeerOptions | None = None
    #: Retry by itself after a recoverable failure (the tab's switch can change it).
    auto_retry: bool = False
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)


def plain(value: Any) -> Any:
    """A JSON-friendly copy of client objects (dataclasses, errors) for UI state."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _kind(track: ReceivedTrack) -> TrackKind:
    return "audio" if track.kind == "audio" else "video"


class TabListener(Protocol):
    """What a :class:`TabSession` tells its owner (the registry)."""

    def on_closed(self, tab: TabSession) -> None:
        """``tab`` started closing (once): it is no longer its page's."""

    def on_resume_point(self, point: ResumePoint | None) -> None:
        """The session's resume point once it is ready, None once it has ended (for a worker taking over)."""


class _PeerEvents:
    """The tab's side of its browser peer's :class:`~reactor_web.relay.peer.PeerListener`."""

    def __init__(self, tab: TabSession) -> None:
        self._tab = tab

    def on_relay_mode(self, mode: str) -> None:
        self._tab.inbox.set("relay_mode", mode)

    def on_inputs_offered(self, inputs: dict[str, RelayHubs]) -> None:
        self._tab._spawn(self._tab._publish_inputs())

    def on_browser_stats(self, stats: dict[str, Any]) -> None:
        self._tab.inbox.set("browser_stats", stats)

    def on_page_marks(self, marks: PageMarks) -> None:
        self._tab._on_page_marks(marks)

    def on_frame_sent(self, name: str, at: float) -> None:
        self._tab._on_frame_sent(name, at)

    async def on_dead(self, reason: str) -> None:
        await self._tab._release(reason)


class TabSession:
    def __init__(self, settings: TabSettings, listener: TabListener | None = None) -> None:
        """Create the tab's client and relay peer (inside a running event loop); ``listener`` hears when it closes
        and of its resume points."""
        self.settings = settings
        self.inbox = TabInbox()
        self.reactor = Reactor(
            settings.model_name,
            api_url=settings.api_url,
            local=settings.local,
            ice_servers=settings.gpu_ice_servers,
            peer_timeout_s=settings.peer_timeout_s,
            token_provider=settings.token_provider,
            peer_options=settings.peer_options,
        )
        self.peer = BrowserPeer(
            ice_servers=settings.browser_ice_servers,
            heartbeat_timeout_s=settings.heartbeat_timeout_s,
            connect_timeout_s=settings.relay_connect_timeout_s,
            listener=_PeerEvents(self),
            peer_options=settings.peer_options,
        )
        #: The latest connect the page asked for, timed from the click to its first frame shown.
        self._timeline: ConnectTimeline | None = None
        #: Whether the user lets the page's camera (video inputs) and microphone (audio inputs) reach the model.
        self.want_webcam = False
        self.want_microphone = False
        #: The tab's own view of each GPU output it relays (app code can still read the client's).
        self._output_views: dict[str, ReceivedTrack] = {}
        #: Each page input as the GPU session receives it: one view per input for the tab's life, published on
        #: every connect (the client sends its own view of it on each peer connection and never stops it).
        self._input_views: dict[str, FrameView] = {}
        #: The inputs published on the current GPU connection: name → kind.
        self._published: dict[str, str] = {}
        self.stats_history: deque[dict[str, Any]] = deque(maxlen=STATS_HISTORY_POINTS)
        self.closed = False
        #: Closed by :meth:`hand_over`: the GPU session goes on, for another worker to resume.
        self.handed_over = False
        self._listener = listener
        self._tasks = OwnedTasks(logger, "tab")
        self._waiting_clock: asyncio.Task[None] | None = None
        #: What the model (or the runtime) refused, by what was sent: ``{command or PUBLISH_WEBCAM: "CODE: message"}``.
        self._refusals: dict[str, str] = {}
        #: The model's latest reply to each command this tab sent: ``{command: {"type","data"} or None}``.
        self._replies: dict[str, Any] = {}
        self._last_command: str | None = None
        self.retrier = Retrier(
            self.reactor, self.inbox, self._spawn, enabled=settings.auto_retry, policy=settings.retry_policy
        )
        self._wire_events()

    def _wire_events(self) -> None:
        r, inbox = self.reactor, self.inbox
        r.on("status_changed", self._on_status)
        r.on("session_id_changed", self._on_session_id)
        r.on("capabilities_received", lambda caps: inbox.set("capabilities", plain(caps)))
        r.on("message", inbox.add_message)
        r.on("message", self._on_model_message)
        r.on("error", self._on_error)
        r.on("session_info_changed", lambda info: inbox.set("queue_position", info.queue_position))
        r.on("session_expiration_changed", lambda ts: inbox.set("session_expiration", ts))
        r.on("stats_update", self._on_stats)
        r.on("track_received", self._on_track)

    def _on_session_id(self, session_id: str | None) -> None:
        self.inbox.set("session_id", session_id)
        if session_id is None and self._listener is not None and not self.handed_over:
            self._listener.on_resume_point(None)
        # What the model confirmed or refused belongs to the session that said it.
        self.inbox.set("model_state", {})
        self._refusals.clear()
        self._replies.clear()
        self._last_command = None
        self.inbox.set("refusals", {})
        self.inbox.set("replies", {})

    def _on_model_message(self, message: Any) -> None:
        """The model's ``state_update`` is its own state: what the components show as confirmed."""
        if (
            isinstance(message, dict)
            and message.get("type") == "state_update"
            and isinstance(message.get("data"), dict)
        ):
            self.inbox.set("model_state", dict(message["data"]))

    def _on_error(self, error: ReactorError) -> None:
        """A refusal goes beside what it refuses; any other error is the session's ``last_error``.

        A runtime-level refusal names no command: the runtime answers each frame as it arrives, so it refuses
        the last frame this tab sent, which is the last command unless an upload came after it."""
        if isinstance(error, RefusalError):
            key = error.command or (self._last_command if error.scope == "runtime" else None)
            if key is not None:
                self._refuse(key, f"{error.code}: {error.message}")
                return
        self.inbox.set("last_error", error.to_dict())
        self.retrier.on_error(error)

    def _refuse(self, key: str, text: str) -> None:
        self._refusals[key] = text
        self.inbox.set("refusals", dict(self._refusals))

    def clear_refusals(self, *keys: str) -> None:
        """Forget earlier refusals of ``keys`` (command names, or ``PUBLISH_WEBCAM``): a new attempt starts clean."""
        if any(self._refusals.pop(key, None) is not None for key in keys):
            self.inbox.set("refusals", dict(self._refusals))

    def _on_stats(self, stats: ConnectionStats) -> None:
        timings = stats.connection_timings
        if self._timeline is not None and timings is not None and self._timeline.client_timings(timings):
            self._report_timeline()  # once with the connect's timings, once more with its first frame
        sample = stats.to_dict()
        self.inbox.set("stats", sample)
        # The history is kept here, at the source: the inbox keeps only a field's latest value, so samples
        # the page's pump had not read yet would be missing from a history built from the `stats` field.
        self.stats_history.append(sample)
        self.inbox.set("_stats_samples", list(self.stats_history))

    def _on_page_marks(self, marks: PageMarks) -> None:
        if self._timeline is not None:
            self._timeline.page_marks(marks)
            self._report_timeline()

    def _on_frame_sent(self, name: str, at: float) -> None:
        if name == MAIN_VIDEO_TRACK and self._timeline is not None and self._timeline.relayed(at):
            self._report_timeline()

    def _report_timeline(self) -> None:
        if self._timeline is not None:
            self.inbox.set("connect_breakdown", self._timeline.breakdown())

    def _on_track(self, name: str, track: ReceivedTrack) -> None:
        # The relay reads its own view of each output (video: only when it transcodes), and forwards the encoded
        # frames otherwise. A reconnect brings new tracks: each old view is closed and the new one takes its place.
        old = self._output_views.pop(name, None)
        if old is not None:
            old.stop()
        view = self._output_views[name] = track.subscribe()
        self.peer.set_source(name, _kind(track), view, self.reactor.encoded_track(name))

    def _drop_outputs(self) -> None:
        """The GPU connection ended: the relay has no sources until the next one (its hubs wait)."""
        views, self._output_views = self._output_views, {}
        for name, view in views.items():
            view.stop()
            self.peer.set_source(name, _kind(view), None, None)

    def _on_status(self, status: str) -> None:
        self.inbox.set("status", status)
        if status != "ready":
            self._published.clear()
            self.inbox.set("camera_relay_mode", "")  # a publish on the next connection says again
        if status == "disconnected":
            self._drop_outputs()
        self._time_waiting(status == "waiting")
        if status != "waiting":
            self.inbox.set("queue_position", None)
        self.retrier.on_status(status)
        if status == "ready":
            self.inbox.set("last_error", None)  # recovered: the error no longer describes the session
            if self._listener is not None:
                self._listener.on_resume_point(self.reactor.resume_point())
            self._spawn(self._publish_inputs())

    def _time_waiting(self, waiting: bool) -> None:
        """While the session waits (for a GPU, in production), tell the UI how long it has waited."""
        if waiting and self._waiting_clock is None:
            self._waiting_clock = asyncio.get_running_loop().create_task(self._tick_waiting())
        elif not waiting and self._waiting_clock is not None:
            self._waiting_clock.cancel()
            self._waiting_clock = None
            self.inbox.set("waited_s", None)

    async def _tick_waiting(self) -> None:
        started = time.monotonic()
        while True:
            self.inbox.set("waited_s", int(time.monotonic() - started))
            await asyncio.sleep(1.0)  # a clock's tick, not a wait for an outcome

    def _wanted(self, found: RelayHubs) -> bool:
        return self.want_webcam if found.kind == "video" else self.want_microphone

    async def _publish_inputs(self) -> None:
        """Publish each input the page offers and the user allows to the model, once per GPU connection.

        An input the model does not take (or refuses) is reported under ``publish:<name>``; when no input of its
        kind could be sent, that kind's switch goes back off (the true state), and turning it on retries."""
        caps = self.reactor.get_capabilities()
        if caps is None or self.reactor.status != "ready":
            return
        refused: set[str] = set()
        for name, found in sorted(self.peer.offered_inputs.items()):
            if name in self._published or not self._wanted(found):
                continue
            spec = caps.track(name)
            what = "camera" if found.kind == "video" else "microphone"
            if spec is None or spec.direction != "sendonly" or spec.kind != found.kind:
                self._refuse(
                    publish_key(name), f"The model takes no {found.kind} input {name!r}: the {what} is not sent."
                )
                refused.add(found.kind)
                continue
            view = self._input_views.get(name)
            if view is None or view.hub is not found.frames:  # first publish, or the name's kind changed
                if view is not None:
                    view.stop()
                view = self._input_views[name] = found.frames.subscribe()
            self._published[name] = found.kind
            try:
                # Video as the browser encoded it when the GPU leg's codec allows (no decode, no encode here).
                await self.reactor.publish_track(name, view, encoded=found.encoded)
            except ReactorError as exc:
                del self._published[name]
                self._refuse(publish_key(name), f"{exc.code}: {exc.message}")
                refused.add(found.kind)
                continue
            if found.kind == "video":
                mode = RelayMode.PASSTHROUGH if self.reactor.sends_encoded(name) else RelayMode.TRANSCODE
                self.inbox.set("camera_relay_mode", mode)
        for kind in refused - set(self._published.values()):
            self._switch_off(kind)

    def _switch_off(self, kind: str) -> None:
        if kind == "video":
            self.want_webcam = False
            self.inbox.set("webcam_publish", False)
        else:
            self.want_microphone = False
            self.inbox.set("microphone_publish", False)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = self._tasks.spawn(self._guard(coro))
        # A task cancelled before it ran (the tab closed at once) never awaited ``coro``: close it quietly.
        task.add_done_callback(lambda _task: coro.close())

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

    def connect(self, requested_at: float | None = None, handled_at: float | None = None) -> None:
        """Start the session unless it has one, timed for ``connect_breakdown`` from ``requested_at`` (the
        user's click, ms since the epoch on the page's clock) and ``handled_at`` (when the UI's event handler ran,
        ms since the epoch on its worker's clock); either None when not known."""
        self.retrier.cancel()
        if self.reactor.status != "disconnected":
            return
        timeline = self._timeline = ConnectTimeline(requested_at=requested_at, handled_at=handled_at)
        self.peer.time_next_frame(MAIN_VIDEO_TRACK)
        self._report_timeline()
        self._spawn(self._connect(timeline))

    async def _connect(self, timeline: ConnectTimeline) -> None:
        timeline.client_started(time.time() * 1000)
        await self.reactor.connect()

    def disconnect(self) -> None:
        self.retrier.cancel()
        self._spawn(self.reactor.disconnect())

    def resume(self, point: ResumePoint) -> None:
        """Take over the GPU session another worker held (it stopped or died); failures land in ``last_error``."""
        self.retrier.cancel()
        if self.reactor.status == "disconnected":
            self._spawn(self.reactor.resume(point))

    def reconnect(self) -> None:
        self.retrier.cancel()
        self._spawn(self.reactor.reconnect())

    def retry(self) -> None:
        """Reconnect if the session survived the last failure, else connect anew."""
        self.retrier.retry_now(self.reactor.get_last_error())

    @property
    def status(self) -> str:
        """The model session's status (``disconnected``, ``connecting``, ``waiting``, ``ready``)."""
        return self.reactor.status

    def capabilities(self) -> Capabilities | None:
        """The model's declared commands and tracks, once connected (None before)."""
        return self.reactor.get_capabilities()

    async def upload_file(self, content: bytes, *, name: str | None, mime_type: str | None) -> FileRef:
        """Upload ``content`` to the model session; the reference goes into a command. Raises ReactorError."""
        self._last_command = None  # the upload's own runtime frame comes after: a runtime error is not a command's
        return await self.reactor.upload_file(content, name=name, mime_type=mime_type)

    async def send_command(self, command: str, data: Any = None) -> None:
        """Send a command; the model's refusal of it lands in ``refusals[command]`` (on v1 as its answer, on v0
        when it comes). Raises ReactorError when the client refuses it first (not ready, not declared, schema,
        size) or no answer comes."""
        self.clear_refusals(command)
        if command in self._replies:
            del self._replies[command]
            self.inbox.set("replies", dict(self._replies))
        self._last_command = command
        with contextlib.suppress(RefusalError):  # filed under refusals[command] by the error event
            # The reply (v1), or None: acknowledged without one (v1), or sent (v0, which has no answers).
            self._replies[command] = await self.reactor.send_command(command, data)
            self.inbox.set("replies", dict(self._replies))

    async def screenshot(self, track: str) -> bytes:
        """The model's current frame of video output ``track`` as PNG bytes; raises ReactorError ``NO_FRAME``."""
        return await self.reactor.screenshot(track)

    def set_auto_retry(self, enabled: bool) -> None:
        """Turn the automatic retry after a recoverable failure on or off."""
        self.retrier.set_enabled(enabled)

    def set_webcam_wanted(self, wanted: bool) -> None:
        """Publish the page's camera (its video inputs) to the model whenever ready, or stop; a refusal lands in
        ``refusals``."""
        self.want_webcam = wanted
        if not wanted:
            self.inbox.set("camera_relay_mode", "")
        self._inputs_wanted("video", wanted)

    def set_microphone_wanted(self, wanted: bool) -> None:
        """Publish the page's microphone (its audio inputs) to the model whenever ready, or stop; a refusal lands
        in ``refusals``."""
        self.want_microphone = wanted
        self._inputs_wanted("audio", wanted)

    def _inputs_wanted(self, kind: str, wanted: bool) -> None:
        names = {n for n, k in self._published.items() if k == kind}
        names |= {n for n, found in self.peer.offered_inputs.items() if found.kind == kind}
        if kind == "video":
            names.add(WEBCAM_TRACK)  # its refusal may come before the page's first offer
        self.clear_refusals(*(publish_key(n) for n in names))
        if not wanted:
            # Also while disconnected: a reconnect must not send again an input the user turned off.
            for name in sorted(names):
                self._published.pop(name, None)
                self._spawn(self.reactor.unpublish_track(name))
        elif self.reactor.status == "ready":
            self._spawn(self._publish_inputs())

    async def _release(self, reason: str) -> None:
        """The relay ended on its own (the page stopped beating): say why, then close."""
        self.inbox.set("last_error", ReactorError(RELAY_RELEASED, reason, component="gpu").to_dict())
        await self.close(reason)

    async def hand_over(self, reason: str = "the backend worker is restarting") -> None:
        """This worker stops but the tab's GPU session goes on: let go of it without ending it (another worker
        resumes it from its resume point), and end the relay telling the page ``reason`` (it offers again, to
        whichever worker its events reach now). Idempotent; a closed tab stays closed."""
        if self.closed:
            return
        self.handed_over = True
        await self._shut(reason, end_session=False)

    async def close(self, reason: str = "the tab session closed") -> None:
        """Release the GPU session and the browser peer (telling the page ``reason``); idempotent."""
        if self.closed:
            return
        await self._shut(reason, end_session=True)

    async def _shut(self, reason: str, *, end_session: bool) -> None:
        self.closed = True
        if self._listener is not None:
            # First, whatever fails below: a closing tab is no longer this page's (a re-offer makes a new one).
            self._listener.on_closed(self)
        self.retrier.cancel()
        self._time_waiting(False)
        await self._tasks.cancel_all()
        try:
            if not end_session:
                await self.reactor.detach()
            elif self.reactor.status != "disconnected" or self.reactor.get_session_id() is not None:
                await self.reactor.disconnect()
        finally:
            self._drop_outputs()
            for view in self._input_views.values():
                view.stop()
            await self.peer.close(reason)
            self.inbox.close()
