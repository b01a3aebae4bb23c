"""HTTP to the control plane: headers, version checks, and the session lifecycle (Part A §3-§4).

:class:`HttpApi` owns the one ``httpx.AsyncClient`` a connection uses (the signalling in
``signalling.py`` shares it) and closes it in :meth:`HttpApi.aclose`. :class:`Coordinator` is the
production flow (``POST /sessions`` then polling), :class:`LocalCoordinator` the local one
(``POST /start_session``).
"""

from __future__ import annotations

import logging
from asyncio import sleep
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from reactor_web.client._http import (
    DEFAULT_HTTP_TIMEOUT_S,
    VersionKind,
    check_version,
    http_failure,
    new_http_client,
    parse_json,
)
from reactor_web.client.errors import ApiError, parse_retry_after
from reactor_web.protocol.capabilities import Capabilities, ProtocolError, commands_from_openapi
from reactor_web.protocol.constants import (
    API_VERSION,
    HEADER_API_ACCEPT_VERSION,
    HEADER_API_VERSION,
    HEADER_WEBRTC_VERSION,
    LOCAL_BEARER,
    SESSION_POLL_CAP_S,
    SESSION_POLL_INITIAL_S,
    SESSION_POLL_MAX_ATTEMPTS,
    TERMINAL_SESSION_STATES,
    WEBRTC_VERSION,
)
from reactor_web.protocol.envelope import UNDEFINED, encode_json
from reactor_web.protocol.schemas import SessionResponse, create_session_body

if TYPE_CHECKING:
    from reactor_web.client.token import TokenManager

logger = logging.getLogger(__name__)

#: While connected, the production session is checked this often, so a session the coordinator ended
#: (its GPU worker died) is noticed in seconds rather than when WebRTC gives up.
SESSION_WATCH_INTERVAL_S = 5.0

#: How long a local start_session keeps retrying while the runtime answers 503 (model still loading).
LOADING_WAIT_S = 30.0


class HttpApi:
    """Requests with the right headers; maps version and network failures to :class:`ApiError`."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenManager | None,
        *,
        local: bool,
        timeout: float = DEFAULT_HTTP_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.local = local
        self.tokens = tokens
        self._client = new_http_client(timeout, transport)

    def _bearer(self) -> str:
        return f"Bearer {LOCAL_BEARER if self.local or self.tokens is None else self.tokens.token}"

    def coordinator_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if not self.local:
            headers["Authorization"] = self._bearer()
        headers[HEADER_API_VERSION] = API_VERSION
        headers[HEADER_API_ACCEPT_VERSION] = API_VERSION
        return headers

    def transport_headers(self, *, with_api_version: bool) -> dict[str, str]:
        """Part A §5 sends only auth + WebRTC version; the 3.x routes (Part B §B.1) add the API versions."""
        headers = {"Authorization": self._bearer()}
        if with_api_version:
            headers[HEADER_API_VERSION] = API_VERSION
            headers[HEADER_API_ACCEPT_VERSION] = API_VERSION
        headers[HEADER_WEBRTC_VERSION] = WEBRTC_VERSION
        return headers

    async def request(
        self,
        op: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any = UNDEFINED,
        *,
        version_check: VersionKind | None = "api",
    ) -> httpx.Response:
        """Send one request; ``op`` names it in error messages ("create session").

        A 401 on a bearer-authenticated call is retried once with a token fresh from the provider
        (the old one has most likely expired), when there is a provider.
        """
        headers = dict(headers)
        content: str | None = None
        if body is not UNDEFINED:
            content = encode_json(body)  # byte-compatible with JSON.stringify (Part A §0)
            headers["Content-Type"] = "application/json"
        response = await self._send(op, method, path, headers, content)
        tokens = self.tokens
        if response.status_code == 401 and not self.local and tokens is not None and tokens.can_renew:
            logger.info("%s answered 401: renewing the token and retrying once", op)
            await tokens.renew()
            headers["Authorization"] = self._bearer()
            response = await self._send(op, method, path, headers, content)
        if version_check is not None:
            check_version(response, version_check)
        return response

    async def _send(
        self, op: str, method: str, path: str, headers: dict[str, str], content: str | None
    ) -> httpx.Response:
        try:
            return await self._client.request(method, self.base_url + path, headers=headers, content=content)
        except httpx.HTTPError as exc:
            raise ApiError(f"Failed to {op}: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()


class CoordinatorListener(Protocol):
    """What a :class:`Coordinator` tells its owner (the Reactor) while a session starts."""

    def on_session_created(self, session_id: str) -> None:
        """The session exists (its id), before it is ready."""

    def on_session_info(self, session: SessionResponse) -> None:
        """Each descriptor of the session: the created one, then every poll (state, queue position)."""


class Coordinator:
    """Production session lifecycle: ``POST /sessions``, poll ``GET /sessions/{id}``, ``DELETE``; reports the
    session's id and descriptors to ``listener``."""

    def __init__(self, api: HttpApi, model_name: str, listener: CoordinatorListener) -> None:
        self.api = api
        self.model_name = model_name
        self._listener = listener

    async def start_session(self) -> SessionResponse:
        """Create a session, report its id and each descriptor to the listener, and poll until it is ready."""
        response = await self.api.request(
            "create session", "POST", "/sessions", self.api.coordinator_headers(), create_session_body(self.model_name)
        )
        if not response.is_success:
            raise http_failure("create session", response)
        created = SessionResponse.parse(parse_json("create session", response))
        self._listener.on_session_created(created.session_id)
        self._listener.on_session_info(created)
        return await self.poll_session(created.session_id)

    async def poll_session(self, session_id: str) -> SessionResponse:
        """Part A §3.2: 20 attempts, sleeping 200 ms doubling to 10 s, also after the last attempt; each
        descriptor goes to the listener."""
        backoff = SESSION_POLL_INITIAL_S
        for _ in range(SESSION_POLL_MAX_ATTEMPTS):
            response = await self.api.request(
                "poll session", "GET", f"/sessions/{session_id}", self.api.coordinator_headers()
            )
            if not response.is_success:
                raise http_failure("poll session", response)
            session = SessionResponse.parse(parse_json("poll session", response))
            self._listener.on_session_info(session)
            if session.state in TERMINAL_SESSION_STATES:
                raise ApiError(
                    f'Session entered terminal state "{session.state}" while waiting for capabilities',
                    recoverable=False,
                )
            if session.ready:
                return session
            await sleep(backoff)
            backoff = min(backoff * 2, SESSION_POLL_CAP_S)
        raise ApiError(
            f"Session polling exceeded maximum attempts ({SESSION_POLL_MAX_ATTEMPTS}). "
            "The model may be unavailable or overloaded."
        )

    async def watch_session(self, session_id: str) -> str:
        """Check the session every :data:`SESSION_WATCH_INTERVAL_S` while connected; returns why it ended
        (a terminal state, or 404). Failed checks (network, 5xx) are skipped: WebRTC has its own watchdog."""
        while True:
            await sleep(SESSION_WATCH_INTERVAL_S)
            try:
                response = await self.api.request(
                    "check session", "GET", f"/sessions/{session_id}", self.api.coordinator_headers()
                )
            except ApiError as exc:
                logger.info("session check failed: %s", exc)
                continue
            if response.status_code == 404:
                return "the session no longer exists"
            try:
                body = parse_json("check session", response) if response.is_success else None
            except ProtocolError:
                body = None
            state = body.get("state") if isinstance(body, dict) else None
            if state in TERMINAL_SESSION_STATES:
                return f'the session entered terminal state "{state}"'

    async def terminate_session(self, session_id: str) -> None:
        """``DELETE /sessions/{id}``: no body, no version check, 404 counts as done (Part A §3.7)."""
        response = await self.api.request(
            "terminate session",
            "DELETE",
            f"/sessions/{session_id}",
            self.api.coordinator_headers(),
            version_check=None,
        )
        if not response.is_success and response.status_code != 404:
            raise http_failure("terminate session", response)

    async def complete_capabilities(self, session: SessionResponse) -> Capabilities:
        """The session's capabilities; the production descriptor already lists the commands."""
        assert session.capabilities is not None
        return session.capabilities


class LocalCoordinator(Coordinator):
    """Local runtime: ``POST /start_session`` answers a ready session at once (Part A §4)."""

    async def start_session(self) -> SessionResponse:
        waited = 0.0
        while True:
            response = await self.api.request(
                "start session", "POST", "/start_session", self.api.coordinator_headers(), {}, version_check=None
            )
            # 503 + Retry-After: a 3.x runtime still loading its model (Part B §B.1). Wait it out, briefly.
            delay = parse_retry_after(response.headers.get("Retry-After")) or 1.0
            if response.status_code != 503 or waited + delay > LOADING_WAIT_S:
                break
            await sleep(delay)
            waited += delay
        if not response.is_success:
            raise http_failure("start session", response)
        session = SessionResponse.parse(parse_json("start session", response))
        self._listener.on_session_created(session.session_id)
        self._listener.on_session_info(session)
        if not session.ready:
            raise ProtocolError("start session: the response has no capabilities or selected_transport")
        return session

    async def complete_capabilities(self, session: SessionResponse) -> Capabilities:
        """3.x runtimes answer ``commands: []`` and describe commands in an OpenAPI document instead:
        the descriptor's ``schema`` (Part B §B.1) or ``GET /schema`` (docs/interop-notes.md). Without
        either the capabilities stay as they are: commands are informative, never required."""
        capabilities = await super().complete_capabilities(session)
        if capabilities.commands:
            return capabilities
        schema = session.raw.get("schema")
        try:
            if not isinstance(schema, dict):
                response = await self.api.request("fetch schema", "GET", "/schema", self.api.coordinator_headers())
                schema = parse_json("fetch schema", response) if response.is_success else None
            commands = commands_from_openapi(schema) if schema else []
        except (ApiError, ProtocolError) as exc:
            logger.info("no command schema from the runtime: %s", exc)
            return capabilities
        return replace(capabilities, commands=tuple(commands))

    async def terminate_session(self, session_id: str) -> None:
        """``POST /stop_session``; the JS SDK sends no body, we name the session so a multi-session
        runtime knows which to stop. The status is ignored, as in the JS SDK."""
        response = await self.api.request(
            "stop session",
            "POST",
            "/stop_session",
            self.api.coordinator_headers(),
            {"session_id": session_id},
            version_check=None,
        )
        if not response.is_success:
            logger.info("stop_session answered %s %s", response.status_code, response.text[:200])
