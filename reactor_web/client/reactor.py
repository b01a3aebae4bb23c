"""The Reactor client: a Python port of the JS SDK 2.9 ``Reactor`` (Part A §10-§11), asyncio-based.

Status machine: ``disconnected → connecting → waiting → ready`` on connect, ``disconnected →
connecting → ready`` on reconnect, and back to ``disconnected`` on any teardown. Ownership: the
Reactor owns the HTTP client (:class:`HttpApi`, closed on a non-recoverable disconnect), the current
:class:`PeerTransport` (closed on every disconnect), the hubs that read the caller's published tracks
(closed on unpublish or a non-recoverable disconnect; a reconnect sends them again), the
connect/reconnect task, the stats monitor task, and the tasks it spawns to react to transport events.
``disconnect()`` leaves none running.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from types import TracebackType
from typing import Any, Literal

import av
import httpx
from aiortc.mediastreams import MediaStreamError
from PIL import Image

from reactor_web._aiortc import PeerOptions, default_peer_options
from reactor_web._media import EncodedHub
from reactor_web.client._http import tls_context
from reactor_web.client.auth import authentication_error
from reactor_web.client.commands import CommandsMixin, Publication
from reactor_web.client.coordinator import DEFAULT_HTTP_TIMEOUT_S, Coordinator, HttpApi, LocalCoordinator
from reactor_web.client.errors import ErrorCode, ReactorError, refusal_error, to_reactor_error
from reactor_web.client.events import EventEmitter, Handler
from reactor_web.client.signalling import (
    ConnectionsSignalling,
    Flow,
    FlowPreference,
    ResumePoint,
    Signalling,
    open_signalling,
    resumed_signalling,
)
from reactor_web.client.stats import DEFAULT_PEER_TIMEOUT_S, ConnectionStats, ConnectionTimings, monitor
from reactor_web.client.token import TokenManager, TokenProvider
from reactor_web.client.tracks import ReceivedTrack
from reactor_web.client.transport import PeerTransport
from reactor_web.client.validate import validate_reactor_arguments
from reactor_web.protocol.capabilities import Capabilities, ProtocolError
from reactor_web.protocol.codec import WireError
from reactor_web.protocol.codecs import codec_for
from reactor_web.protocol.constants import (
    DEFAULT_BASE_URL,
    LOCAL_BASE_URL,
    MAIN_VIDEO_TRACK,
    READY_TIMEOUT_S,
    SDP_POLL_DEFAULT_MAX_ATTEMPTS,
    Status,
)
from reactor_web.protocol.messages import Channel, Received, Refusal, WireVersion, event_payload
from reactor_web.protocol.schemas import IceServer, SessionResponse
from reactor_web.tasks import OwnedTasks

logger = logging.getLogger(__name__)

#: ``Reactor(wire=...)``: "auto" speaks v1 on the connections routes and v0 on the flat ones; "v0" always v0.
WirePreference = Literal["auto", "v0"]

#: How long ``screenshot()`` waits for a frame (a keyframe is asked for; at 30 fps one comes within ~0.1 s).
SCREENSHOT_TIMEOUT_S = 5.0


def _png(frame: av.VideoFrame) -> bytes:
    out = io.BytesIO()
    Image.fromarray(frame.to_ndarray(format="rgb24")).save(out, format="PNG")
    return out.getvalue()


class _Listener:
    """How the Reactor's own objects report to it: its transports (``TransportListener``), its token manager
    (``TokenListener``), its coordinator (``CoordinatorListener``) and its stats monitor (``StatsListener``),
    each call handed to the Reactor's handler."""

    def __init__(self, reactor: Reactor) -> None:
        self._reactor = reactor

    def on_ready(self, transport: PeerTransport) -> None:
        self._reactor._on_ready(transport)

    def on_connection_lost(self, transport: PeerTransport, state: str) -> None:
        self._reactor._on_connection_lost(transport, state)

    def on_message(self, transport: PeerTransport, received: Received) -> None:
        self._reactor._on_message(transport, received)

    def on_bad_frame(self, transport: PeerTransport, channel: Channel, error: WireError) -> None:
        self._reactor._on_bad_frame(transport, channel, error)

    def on_track(self, transport: PeerTransport, name: str, track: ReceivedTrack) -> None:
        self._reactor._on_track(transport, name, track)

    def on_expiration(self, expiration: float | None) -> None:
        self._reactor._emit("session_expiration_changed", expiration)

    def on_renewal_failed(self, error: ReactorError) -> None:
        self._reactor._report(error)

    def on_session_created(self, session_id: str) -> None:
        self._reactor._on_session_created(session_id)

    def on_session_info(self, session: SessionResponse) -> None:
        self._reactor._on_session_info(session)

    def connection_timings(self) -> ConnectionTimings | None:
        return self._reactor._timings

    def on_stats(self, stats: ConnectionStats) -> None:
        self._reactor._on_stats(stats)


class Reactor(CommandsMixin):
    """A connection to one Reactor model session. Create it and call :meth:`connect` on a running loop."""

    def __init__(
        self,
        model_name: str,
        *,
        api_url: str | None = None,
        local: bool = False,
        ice_servers: list[IceServer] | None = None,
        signalling: FlowPreference = "auto",
        peer_timeout_s: float | None = DEFAULT_PEER_TIMEOUT_S,
        http_timeout_s: float = DEFAULT_HTTP_TIMEOUT_S,
        http_transport: httpx.AsyncBaseTransport | None = None,
        token_provider: TokenProvider | None = None,
        ready_timeout_s: float | None = READY_TIMEOUT_S,
        peer_options: PeerOptions | None = None,
        wire: WirePreference = "auto",
    ) -> None:
        """``ice_servers`` replaces the servers the coordinator hands out; ``signalling`` forces a route
        family ("auto": local mode tries the 3.x connections routes, then the flat ones; production
        uses flat); ``peer_timeout_s=None`` waits for ICE consent instead of the traffic watchdog;
        ``http_transport`` is handed to httpx (proxies, custom networking, in-process test servers);
        ``token_provider`` returns a fresh JWT (e.g. ``lambda: fetch_jwt(key)``): ``connect()`` without a
        token calls it, and it renews the token before ``exp`` and after a 401 (see ``token.py``);
        ``ready_timeout_s`` bounds the wait for the media connection after the SDP answer (then
        ``GPU_CONNECTION_ERROR`` and ``disconnected``; None waits for ever); ``peer_options`` configures this
        client's peer connections (default: the marker-bit jitter buffer, and ``REACTOR_ICE_HOST_ADDRESSES``
        when set); ``wire`` the data-channel protocol ("auto": v1 protobuf on the connections routes, which
        reactor-runtime 3.x and our runtime serve, v0 JSON on the flat ones; "v0": the JSON everywhere, as the JS
        SDK 2.9 speaks). Raises ``ValueError`` naming the argument that cannot work (an empty model name, an
        ``api_url`` that is not http(s), a timeout that is not a positive number, an ICE server URL that is
        not stun:/turn:/turns:, a host address this host does not have)."""
        validate_reactor_arguments(
            model_name=model_name,
            api_url=api_url,
            ice_servers=ice_servers,
            signalling=signalling,
            peer_timeout_s=peer_timeout_s,
            http_timeout_s=http_timeout_s,
            ready_timeout_s=ready_timeout_s,
            peer_options=peer_options,
            wire=wire,
        )
        self._wire = wire
        self._peer_options = peer_options if peer_options is not None else default_peer_options()
        self._ready_timeout_s = ready_timeout_s
        self._ready_watch: asyncio.Task[None] | None = None
        self.model_name = model_name
        self.local = local
        self.api_url = api_url if api_url is not None else (LOCAL_BASE_URL if local else DEFAULT_BASE_URL)
        self._ice_servers = ice_servers
        # Remembered per instance once a server has told us which routes it speaks.
        self._flow: FlowPreference = signalling if signalling != "auto" or local else "flat"
        self._peer_timeout_s = peer_timeout_s
        self._http_timeout_s = http_timeout_s
        self._http_transport = http_transport
        self._token_provider = token_provider
        self._tokens: TokenManager | None = None
        self._events = EventEmitter()
        self._listener = _Listener(self)
        self._status: Status = "disconnected"
        self._session_id: str | None = None
        self._session: SessionResponse | None = None
        self._capabilities: Capabilities | None = None
        self._last_error: ReactorError | None = None
        self._stats: ConnectionStats | None = None
        self._timings: ConnectionTimings | None = None
        self._api: HttpApi | None = None
        self._coordinator: Coordinator | None = None
        self._signalling: Signalling | None = None
        self._transport: PeerTransport | None = None
        self._published: dict[str, Publication] = {}
        self._max_attempts = SDP_POLL_DEFAULT_MAX_ATTEMPTS
        self._op_task: asyncio.Task[None] | None = None
        self._live_tasks: list[asyncio.Task[None]] = []  # while ready: stats monitor, session watch
        self._tasks = OwnedTasks(logger, "reactor")
        self._teardown_lock = asyncio.Lock()
        self._started_at = 0.0
        self._session_ms = 0.0
        self._transport_ms: float | None = None

    # -- read-only state -----------------------------------------------------------------------------

    @property
    def status(self) -> Status:
        return self._status

    @property
    def tracks(self) -> dict[str, ReceivedTrack]:
        """Received tracks by name (a copy). Each holds only its newest frame(s); see ``tracks.py``."""
        transport = self._transport
        return {name: feed.track for name, feed in transport.feeds.items()} if transport else {}

    @staticmethod
    def prewarm() -> None:
        """Do once, ahead of the first :meth:`connect`, what it would otherwise pay (blocking, ~40 ms): build
        the TLS context the client's HTTP uses. Optional; safe from any thread. Not in the JS SDK."""
        tls_context()

    def encoded_track(self, name: str) -> EncodedHub | None:
        """The encoded frames (VP8 or H.264 video, Opus audio, as the GPU sent them) of received track ``name``,
        for forwarding without decoding (the relay's passthrough); None when no such track is received.
        Reading ``tracks[name]`` decodes; this does not. Not in the JS SDK (a browser cannot forward)."""
        transport = self._transport
        feed = transport.feeds.get(name) if transport is not None else None
        return feed.encoded if feed is not None else None

    async def screenshot(self, track: str = MAIN_VIDEO_TRACK, *, timeout_s: float = SCREENSHOT_TIMEOUT_S) -> bytes:
        """The next frame of received video track ``track``, as PNG bytes (the track's own size). The feed decodes
        for it (from the next keyframe, which it asks the GPU for) and stops again after. Not in the JS SDK.

        Raises :class:`ReactorError` ``NO_FRAME`` when no such video track is received, or none of its frames
        arrives within ``timeout_s`` seconds."""
        transport = self._transport
        feed = transport.feeds.get(track) if transport is not None else None
        if feed is None or feed.kind != "video":
            raise ReactorError(ErrorCode.NO_FRAME, f'No video track "{track}" is received now')
        view = feed.subscribe()
        try:
            async with asyncio.timeout(timeout_s):
                frame = await view.recv()
        except (TimeoutError, MediaStreamError):
            raise ReactorError(ErrorCode.NO_FRAME, f'No frame of "{track}" arrived in {timeout_s:g} s') from None
        finally:
            view.stop()
        assert isinstance(frame, av.VideoFrame)  # a video feed yields video frames
        return await asyncio.to_thread(_png, frame)

    @property
    def wire_version(self) -> WireVersion | None:
        """The data-channel protocol of the current connection ("v0" JSON or "v1" protobuf); None when there
        is none. Also in :class:`ConnectionStats` ``protocol``."""
        return self._transport.codec.version if self._transport is not None else None

    @property
    def signalling(self) -> Flow | None:
        """The route family this client uses with its server ("flat" or "connections"), once known."""
        return self._flow if self._flow != "auto" else None

    @property
    def session_expiration(self) -> float | None:
        """When the production token expires (``exp``, seconds since the epoch); None when unknown."""
        return self._tokens.expiration if self._tokens is not None else None

    def resume_point(self) -> ResumePoint | None:
        """Where another client can take this session over (:meth:`resume`); None before the transport's
        signalling is known (connect in progress) and after a non-recoverable disconnect."""
        signalling = self._signalling
        if self._session_id is None or signalling is None:
            return None
        cid = signalling.connection_id if isinstance(signalling, ConnectionsSignalling) else None
        return ResumePoint(self._session_id, signalling.flow, cid)

    def get_status(self) -> Status:
        return self._status

    def get_session_id(self) -> str | None:
        return self._session_id

    def get_last_error(self) -> ReactorError | None:
        return self._last_error

    def get_capabilities(self) -> Capabilities | None:
        return self._capabilities

    def get_session_info(self) -> SessionResponse | None:
        return self._session

    def get_stats(self) -> ConnectionStats | None:
        return self._stats

    # -- events --------------------------------------------------------------------------------------

    def on(self, event: str, handler: Handler) -> None:
        """Subscribe to an event (snake_case or the JS SDK's camelCase name)."""
        self._events.on(event, handler)

    def off(self, event: str, handler: Handler) -> None:
        self._events.off(event, handler)

    # -- connect / reconnect / disconnect ------------------------------------------------------------

    async def connect(self, jwt_token: str | None = None, *, max_attempts: int = SDP_POLL_DEFAULT_MAX_ATTEMPTS) -> None:
        """Create a session and start the transport. Returns once the answer is applied; ``ready``
        follows as a status event. On failure emits the error, disconnects, and raises it."""
        if self._status != "disconnected":
            raise ReactorError(ErrorCode.CONNECTION_FAILED, "Already connected or connecting", recoverable=False)
        if not self.local and jwt_token is None and self._token_provider is None:
            raise authentication_error("No authentication provided and not in local mode: pass a JWT to connect()")
        if self._session_id is not None:
            # A session kept by a recoverable disconnect would otherwise be left running on the server.
            await self.disconnect(False)
        self._max_attempts = max_attempts
        self._started_at = time.monotonic()
        self._set_status("connecting")
        task = self._op_task = asyncio.ensure_future(self._connect_flow(jwt_token))
        await self._finish_op(task, ErrorCode.CONNECTION_FAILED, "Connection failed", recoverable=False)

    async def reconnect(self, *, max_attempts: int | None = None) -> None:
        """Re-offer on a fresh peer connection (PUT sdp_params), keeping the session id. A no-op when ready;
        raises when there is no session to go back to. On failure emits RECONNECTION_FAILED and raises it."""
        if self._status == "ready":
            return
        if self._status != "disconnected":
            raise ReactorError(
                ErrorCode.RECONNECTION_FAILED, f"Cannot reconnect while {self._status}", recoverable=False
            )
        if self._session_id is None or self._api is None or self._capabilities is None:
            raise ReactorError(
                ErrorCode.RECONNECTION_FAILED,
                "No session to reconnect to: call connect()",
                component="coordinator",
                recoverable=False,
            )
        if max_attempts is not None:
            self._max_attempts = max_attempts
        self._started_at = time.monotonic()
        self._session_ms = 0.0
        self._set_status("connecting")
        task = self._op_task = asyncio.ensure_future(self._open_transport(reoffer=True))
        await self._finish_op(task, ErrorCode.RECONNECTION_FAILED, "Failed to reconnect", recoverable=True)

    async def resume(
        self, point: ResumePoint, jwt_token: str | None = None, *, max_attempts: int = SDP_POLL_DEFAULT_MAX_ATTEMPTS
    ) -> None:
        """Take over a session another client holds or held (:meth:`resume_point` of that client, e.g. a
        backend worker that stopped or died): fetch its descriptor (``GET /sessions/{id}``), then re-offer where
        that client offered, so the runtime replaces its peer connection. No JS SDK equivalent (its closest is
        ``reconnect()`` on the same instance). Status: ``connecting`` → ``waiting`` → ``ready``. On failure
        (the session no longer exists: 404) emits ``RECONNECTION_FAILED`` (not recoverable), ends the session
        (which this client now owns) if it still exists, and raises it."""
        if self._status != "disconnected" or self._session_id is not None:
            raise ReactorError(ErrorCode.RECONNECTION_FAILED, "Already holding a session", recoverable=False)
        if not self.local and jwt_token is None and self._token_provider is None:
            raise authentication_error("No authentication provided and not in local mode: pass a JWT to resume()")
        self._max_attempts = max_attempts
        self._started_at = time.monotonic()
        self._set_status("connecting")
        task = self._op_task = asyncio.ensure_future(self._resume_flow(jwt_token, point))
        # Not recoverable: the resumer owns the session now, so one it cannot reach is ended (404 counts as done).
        await self._finish_op(task, ErrorCode.RECONNECTION_FAILED, "Failed to resume the session", recoverable=False)

    async def disconnect(self, recoverable: bool = False) -> None:
        """Tear down. Recoverable keeps the server session (for :meth:`reconnect`); otherwise the session
        is deleted (production ``DELETE /sessions/{id}``, local ``POST /stop_session``)."""
        await self._abort_op()
        # Shielded: a caller cancelled half-way must not leave a half-closed peer connection behind.
        task = self._tasks.spawn(self._teardown(recoverable))
        await asyncio.shield(task)

    async def detach(self) -> None:
        """Let go of the session without ending it, for another client to :meth:`resume` (a backend worker
        handing its tabs over as it stops): closes the transport and the HTTP client, status → disconnected,
        session id → None; the GPU side keeps the session until its own timeout."""
        await self._abort_op()
        task = self._tasks.spawn(self._teardown(False, end_session=False))
        await asyncio.shield(task)

    async def aclose(self) -> None:
        """Disconnect for good and cancel async event handlers still running."""
        await self.disconnect(False)
        await self._tasks.wait()
        await self._events.aclose()

    async def __aenter__(self) -> Reactor:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the connect and reconnect flows -------------------------------------------------------------

    async def _open_api(self, token: str | None) -> Coordinator:
        """The session's HTTP side: tokens (production), the HTTP client, the coordinator flavour."""
        tokens = None
        if not self.local:
            tokens = self._tokens = TokenManager(token, self._token_provider, self._listener)
            await tokens.obtain()
            tokens.start_refresh()
        api = self._api = HttpApi(
            self.api_url, tokens, local=self.local, timeout=self._http_timeout_s, transport=self._http_transport
        )
        flavour = LocalCoordinator if self.local else Coordinator
        coordinator = self._coordinator = flavour(api, self.model_name, self._listener)
        return coordinator

    async def _connect_flow(self, token: str | None) -> None:
        coordinator = await self._open_api(token)
        session = await coordinator.start_session()
        protocol = (session.selected_transport or {}).get("protocol")
        if protocol != "webrtc":
            raise ProtocolError(f"Unsupported transport protocol: {protocol}")
        await self._take_descriptor(coordinator, session)
        await self._open_transport(reoffer=False)

    async def _take_descriptor(self, coordinator: Coordinator, session: SessionResponse) -> None:
        """The session is ready: its descriptor and capabilities are this client's now."""
        self._session = session
        self._capabilities = await coordinator.complete_capabilities(session)
        self._emit("capabilities_received", self._capabilities)
        self._session_ms = (time.monotonic() - self._started_at) * 1000

    async def _resume_flow(self, token: str | None, point: ResumePoint) -> None:
        coordinator = await self._open_api(token)
        self._on_session_created(point.session_id)
        session = await coordinator.poll_session(point.session_id)
        await self._take_descriptor(coordinator, session)
        self._signalling = resumed_signalling(coordinator.api, point)
        self._flow = point.flow
        await self._open_transport(reoffer=True)

    def _on_session_created(self, session_id: str) -> None:
        self._session_id = session_id
        self._emit("session_id_changed", session_id)
        self._set_status("waiting")

    def _on_session_info(self, session: SessionResponse) -> None:
        self._session = session
        self._emit("session_info_changed", session)

    async def _open_transport(self, *, reoffer: bool) -> None:
        """ICE servers → peer connection → offer → answer (Part A §6.1, §6.4)."""
        assert self._api is not None and self._session_id is not None and self._capabilities is not None
        began = time.monotonic()
        self._transport_ms = None
        if self._signalling is None:
            self._signalling = await open_signalling(self._api, self._session_id, self._flow)
            self._flow = self._signalling.flow
        signalling = self._signalling
        ice_servers = self._ice_servers if self._ice_servers is not None else await signalling.ice_servers()
        # The connections routes' generation speaks v1 from our first frame on (Part C §C.2); the flat one v0 only.
        version: WireVersion = "v1" if signalling.flow == "connections" and self._wire == "auto" else "v0"
        transport = self._transport = PeerTransport(
            self._capabilities.tracks,
            ice_servers,
            self._listener,
            control=signalling.flow == "connections",
            peer_options=self._peer_options,
            reoffer=reoffer,
            codec=codec_for(version),
        )
        sdp, mapping = await transport.create_offer()
        answer = await signalling.exchange(sdp, mapping, reoffer=reoffer, max_attempts=self._max_attempts)
        await transport.apply_answer(answer)
        self._transport_ms = (time.monotonic() - began) * 1000
        if self._ready_timeout_s is not None and not transport.ready:
            self._ready_watch = self._tasks.spawn(self._watch_ready(transport, self._ready_timeout_s))

    async def _watch_ready(self, transport: PeerTransport, limit_s: float) -> None:
        """ICE/DTLS can wait for ever on candidates nothing answers: give up after ``limit_s``."""
        await asyncio.sleep(limit_s)
        if transport is self._transport and not transport.ready:
            message = f"Could not establish the media connection in {limit_s:g} s (ICE/DTLS did not complete)"
            self._report(ReactorError(ErrorCode.GPU_CONNECTION_ERROR, message))
            self._tasks.spawn(self.disconnect(False))

    def _cancel_ready_watch(self) -> None:
        watch, self._ready_watch = self._ready_watch, None
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()

    async def _finish_op(self, task: asyncio.Task[None], code: ErrorCode, context: str, *, recoverable: bool) -> None:
        """Await a connect/reconnect task: on error report it first, then disconnect, then raise it."""
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                await self.disconnect(recoverable)  # our caller gave up: do not leave a half-open session
                raise
            # Otherwise disconnect() aborted the operation; like the JS SDK, return quietly.
        except Exception as exc:
            error = to_reactor_error(exc, code, context)
            self._report(error)
            await self.disconnect(recoverable)
            if error is exc:
                raise
            raise error from exc
        finally:
            if self._op_task is task:
                self._op_task = None

    async def _abort_op(self) -> None:
        task = self._op_task
        if task is None or task.done() or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _teardown(self, recoverable: bool, *, end_session: bool = True) -> None:
        """Part A §11.1: end the session (unless recoverable, or handed over: not ``end_session``), close the
        transport, status → disconnected."""
        async with self._teardown_lock:
            if self._status == "disconnected" and self._session_id is None and self._api is None:
                return
            await self._stop_live_tasks()
            self._cancel_ready_watch()
            if not recoverable and end_session and self._coordinator is not None and self._session_id is not None:
                try:
                    await self._coordinator.terminate_session(self._session_id)
                except Exception as exc:
                    logger.warning("could not end session %s: %s", self._session_id, exc)
            transport, self._transport = self._transport, None
            if transport is not None:
                had_main_video = MAIN_VIDEO_TRACK in transport.feeds
                try:
                    await transport.close()
                except Exception:
                    logger.exception("closing the peer connection failed")  # still end up disconnected
                if had_main_video:
                    self._emit("stream_changed", None)
            self._set_status("disconnected")
            self._timings = None
            self._stats = None
            if recoverable:
                return
            await self._drop_publications()
            api, self._api, self._coordinator, self._signalling = self._api, None, None, None
            if api is not None:
                await api.aclose()
            tokens, self._tokens = self._tokens, None
            if tokens is not None:
                await tokens.aclose()
            self._session = None
            self._capabilities = None
            if self._session_id is not None:
                self._session_id = None
                self._emit("session_id_changed", None)

    # -- transport events (through _Listener) ------------------------------------------------------------

    def _on_ready(self, transport: PeerTransport) -> None:
        if transport is not self._transport:
            return
        total_ms = (time.monotonic() - self._started_at) * 1000
        transport_ms = self._transport_ms if self._transport_ms is not None else total_ms - self._session_ms
        self._timings = ConnectionTimings(self._session_ms, transport_ms, total_ms)
        self._cancel_ready_watch()
        self._set_status("ready")
        self._live_tasks = [self._tasks.spawn(self._monitor(transport))]
        if self._published:  # a reconnect: send again what the caller had published
            self._live_tasks.append(self._tasks.spawn(self._restore_publications(transport)))
        if not self.local and self._coordinator is not None and self._session_id is not None:
            self._live_tasks.append(self._tasks.spawn(self._watch_session(self._coordinator, self._session_id)))

    def _on_connection_lost(self, transport: PeerTransport, state: str) -> None:
        """PC ``disconnected``/``closed`` → recoverable teardown; ``failed`` → error, then delete the session."""
        if transport is not self._transport:
            return
        if state == "failed":
            self._report(ReactorError(ErrorCode.GPU_CONNECTION_ERROR, "Transport connection failed"))
            self._tasks.spawn(self.disconnect(False))
        else:
            self._tasks.spawn(self.disconnect(True))

    def _on_message(self, transport: PeerTransport, received: Received) -> None:
        """Part A §7.3, whatever the wire version: the model's messages (and refusals, and frames without an
        envelope) → ``message``, the runtime's → ``runtime_message``, with the payload the JS SDK would give;
        a refusal also → ``error``. Acknowledgements and publish answers raise no event."""
        if transport is not self._transport:
            return
        message = received.message
        event = event_payload(message)
        if event is not None:
            self._emit(event[0], received.payload if received.payload is not None else event[1])
        if isinstance(message, Refusal):
            self._report(refusal_error(message))  # a refusal must reach the caller, not only the message log

    def _on_bad_frame(self, transport: PeerTransport, channel: Channel, error: WireError) -> None:
        """A frame the runtime sent that this client cannot decode: reported, and the session goes on."""
        if transport is self._transport:
            text = f"Could not read a frame from the runtime on {channel}: {error.message}"
            self._report(ReactorError(error.code, text, recoverable=True))

    def _on_track(self, transport: PeerTransport, name: str, track: ReceivedTrack) -> None:
        if transport is not self._transport:
            return
        self._emit("track_received", name, track)
        if name == MAIN_VIDEO_TRACK:
            self._emit("stream_changed", track)

    # -- stats and liveness --------------------------------------------------------------------------

    async def _monitor(self, transport: PeerTransport) -> None:
        silent_s = await monitor(transport, self._listener, peer_timeout_s=self._peer_timeout_s)
        if transport is self._transport:
            message = f"Nothing received from the runtime for {silent_s:.0f} s: connection lost"
            self._report(ReactorError(ErrorCode.GPU_CONNECTION_ERROR, message))
            self._tasks.spawn(self.disconnect(True))

    def _on_stats(self, stats: ConnectionStats) -> None:
        self._stats = stats
        self._emit("stats_update", stats)

    async def _watch_session(self, coordinator: Coordinator, session_id: str) -> None:
        """The coordinator ending the session (its GPU worker died) ends the connection: nothing to reconnect to."""
        reason = await coordinator.watch_session(session_id)
        if self._session_id == session_id:
            self._report(ReactorError(ErrorCode.GPU_CONNECTION_ERROR, f"Session ended by the coordinator: {reason}"))
            self._tasks.spawn(self.disconnect(False))

    async def _stop_live_tasks(self) -> None:
        tasks, self._live_tasks = [t for t in self._live_tasks if t is not asyncio.current_task()], []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- helpers -------------------------------------------------------------------------------------

    def _set_status(self, status: Status) -> None:
        if status != self._status:
            self._status = status
            self._emit("status_changed", status)

    def _emit(self, event: str, *args: Any) -> None:
        self._events.emit(event, *args)

    def _report(self, error: ReactorError) -> None:
        self._last_error = error
        self._emit("error", error)
