"""HTTP API of the embedded runtime: Part A local coordinator + transport routes and Part B's connections flow.

Every error is JSON ``{"error": {"code", "message"}}`` with a 4xx status; bad input never yields a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reactor_web.protocol.constants import (
    HEADER_API_ACCEPT_VERSION,
    HEADER_API_VERSION,
    HEADER_WEBRTC_VERSION,
    MAX_JSON_BODY_BYTES,
    MAX_MESSAGE_SIZE,
)
from reactor_web.protocol.json_safe import JsonInputError, loads
from reactor_web.protocol.schemas import ice_servers_body
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.manager import SessionManager, TooManySessions
from reactor_web.runtime.session import Connection, RuntimeSession, SignallingError, Upload

log = logging.getLogger(__name__)

#: A session holds at most this many Part B connections (each may own a peer connection).
MAX_CONNECTIONS_PER_SESSION = 8
#: The longest lease one ``POST /lease`` grants.
MAX_LEASE_S = 3600


class Lease:
    """A runtime shared by backend workers lives while one of them renews it: ``seconds`` from each renewal
    (0: the last worker has stopped), it stops itself as ``SIGTERM`` would (every session closed)."""

    def __init__(self, initial_s: float) -> None:
        self._deadline: float | None = None  # set when the runtime starts serving
        self._initial_s = initial_s
        self._renewed = asyncio.Event()

    def renew(self, seconds: float) -> None:
        self._deadline = asyncio.get_running_loop().time() + seconds
        self._renewed.set()

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + self._initial_s
        while (delay := self._deadline - loop.time()) > 0:
            self._renewed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._renewed.wait()
        log.info("lease expired: no backend worker renewed it; stopping")
        os.kill(os.getpid(), signal.SIGTERM)


class RouteError(Exception):
    """A refused request: becomes ``{"error": {"code", "message"}}`` with the 4xx ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RouteError | SignallingError)
    log.warning("%s %s → %d %s: %s", request.method, request.url.path, exc.status, exc.code, exc.message)
    return error_response(exc.status, exc.code, exc.message)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (unknown route, wrong method) as coded JSON errors."""
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
    log.warning("%s %s → %d", request.method, request.url.path, exc.status_code)
    return error_response(exc.status_code, code, str(exc.detail))


async def server_error(request: Request, exc: Exception) -> Response:
    """An unexpected failure: logged with its traceback, answered with a coded JSON 500 (never a trace)."""
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "SERVER_ERROR", "internal error")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (413 ``BODY_TOO_LARGE``; a ``Content-Length`` over the
    limit is refused before reading, a malformed one is a 400 ``INVALID_HEADER``)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise RouteError(400, "INVALID_HEADER", "Content-Length must be a non-negative integer")
        if int(declared) > limit:
            raise RouteError(413, "BODY_TOO_LARGE", f"request bodies are limited to {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RouteError(413, "BODY_TOO_LARGE", f"request bodies are limited to {limit} bytes")
    return bytes(body)


async def read_json(request: Request) -> Any:
    """The JSON body, or None when the body is empty (the JS SDK posts some requests without one)."""
    body = await read_body(request, MAX_JSON_BODY_BYTES)
    if not body.strip():
        return None
    try:
        return loads(body, max_bytes=MAX_JSON_BODY_BYTES, what="request body")
    except JsonInputError as exc:
        raise RouteError(400, "INVALID_JSON", exc.message) from None


_MAX_MESSAGE_SIZE_LINE = re.compile(r"^a=max-message-size:\d+(?=\r?$)", re.MULTILINE)


def advertise_max_message_size(sdp: str, limit: int = MAX_MESSAGE_SIZE) -> str:
    """The SDP with its ``a=max-message-size`` set to what the runtime enforces (aiortc writes its own
    receive limit, 262144, which the channel handler does not accept)."""
    return _MAX_MESSAGE_SIZE_LINE.sub(f"a=max-message-size:{limit}", sdp)


def create_app(config: RuntimeConfig) -> Starlette:
    """A fresh runtime app with its own session registry."""
    manager = SessionManager(config)

    def session_or_404(request: Request) -> RuntimeSession:
        session = manager.get(request.path_params["sid"])
        if session is None:
            raise RouteError(404, "SESSION_NOT_FOUND", f"no session {request.path_params['sid']!r}")
        return session

    def connection_or_404(request: Request) -> tuple[RuntimeSession, Connection]:
        session = session_or_404(request)
        conn = session.connections.get(request.path_params["cid"])
        if conn is None:
            raise RouteError(404, "CONNECTION_NOT_FOUND", f"no connection {request.path_params['cid']} in this session")
        return session, conn

    # ---------------------------------------------------------------- sessions

    async def start_session(request: Request) -> Response:
        await read_json(request)  # {} from the JS SDK; Part B's starting_input is accepted and ignored
        try:
            session = await manager.create()
        except TooManySessions as exc:
            raise RouteError(409, "TOO_MANY_SESSIONS", str(exc)) from None
        return JSONResponse(manager.descriptor(session))

    async def stop_session(request: Request) -> Response:
        # The JS SDK posts no body: that stops "the" session. A body must say which one, or it is refused,
        # so that a malformed request can never stop someone else's session.
        body = await read_json(request)
        if body is not None and not isinstance(body, dict):
            raise RouteError(400, "INVALID_BODY", 'expected {"session_id": "..."} or no body')
        sid = body.get("session_id") if body is not None else None
        if sid is not None and not (isinstance(sid, str) and sid):
            raise RouteError(400, "INVALID_BODY", "session_id must be a non-empty string")
        if sid is not None:
            stopped = [sid] if await manager.stop(sid, "stop_session") else []
        elif len(manager.sessions) <= 1:
            stopped = list(manager.sessions)
            for one in stopped:
                await manager.stop(one, "stop_session")
        else:
            raise RouteError(400, "SESSION_ID_REQUIRED", "several sessions are running: say which in session_id")
        return JSONResponse({"stopped": stopped})

    async def get_session(request: Request) -> Response:
        return JSONResponse(manager.descriptor(session_or_404(request)))

    async def delete_session(request: Request) -> Response:
        session = session_or_404(request)
        await session.close("DELETE /sessions")
        return JSONResponse({"stopped": [session.id]})

    async def health(request: Request) -> Response:
        full = len(manager.sessions) >= config.max_sessions
        return JSONResponse(
            {
                "status": "healthy",
                "model": config.model_name,
                "state": "busy" if full else "available",
                "sessions": len(manager.sessions),
                "max_sessions": config.max_sessions,
                "max_upload_bytes": config.max_upload_bytes,
                "max_message_size": MAX_MESSAGE_SIZE,
            }
        )

    async def schema(request: Request) -> Response:
        return JSONResponse(manager.schema)

    # -------------------------------------------------------------- transport

    async def ice_servers(request: Request) -> Response:
        session_or_404(request)
        return JSONResponse(ice_servers_body(config.ice_servers))

    async def flat_sdp(request: Request) -> Response:
        session = session_or_404(request)
        if request.method == "GET":
            conn = session.flat_connection(create=False)
            if conn is None:
                raise RouteError(404, "NO_OFFER", "no SDP offer was sent for this session")
            return answer_response(conn, with_cid=False)
        conn = session.flat_connection(create=True)
        assert conn is not None  # create=True always gives one
        return await take_offer(request, session, conn)

    async def create_connection(request: Request) -> Response:
        session = session_or_404(request)
        await read_json(request)
        if len(session.connections) >= MAX_CONNECTIONS_PER_SESSION:
            raise RouteError(409, "TOO_MANY_CONNECTIONS", f"at most {MAX_CONNECTIONS_PER_SESSION} per session")
        conn = session.new_connection(registered=True)
        return JSONResponse({"connection_id": conn.cid, "track_map": manager.track_map()}, status_code=201)

    async def ice_candidates(request: Request) -> Response:
        connection_or_404(request)
        await read_json(request)  # aiortc has no trickle ICE: the candidates in the offer are enough
        return JSONResponse({}, status_code=202)

    async def connection_sdp(request: Request) -> Response:
        session, conn = connection_or_404(request)
        if request.method == "GET":
            if conn.pc is None and conn.answer is None and conn.error is None:
                raise RouteError(404, "NO_OFFER", "no SDP offer was sent on this connection")
            return answer_response(conn, with_cid=True)
        return await take_offer(request, session, conn)

    async def take_offer(request: Request, session: RuntimeSession, conn: Connection) -> Response:
        body = await read_json(request)
        await session.offer(conn, body)
        return JSONResponse({"connection_id": conn.cid}, status_code=202)

    def answer_response(conn: Connection, *, with_cid: bool) -> Response:
        if conn.error is not None:
            raise conn.error
        if conn.answer is None:
            if conn.pc is None:
                raise RouteError(404, "NO_OFFER", "no SDP offer is pending (the peer connection was closed)")
            return JSONResponse({"status": "pending"}, status_code=202)
        body: dict[str, Any] = {"sdp_answer": advertise_max_message_size(conn.answer)}
        if with_cid:
            body["connection_id"] = conn.cid
        return JSONResponse(body)

    # ----------------------------------------------------------------- uploads

    async def create_upload(request: Request) -> Response:
        session = session_or_404(request)
        body = await read_json(request)
        name = body.get("name") if isinstance(body, dict) else None
        size = body.get("size") if isinstance(body, dict) else None
        mime_type = body.get("mime_type", "application/octet-stream") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name or not isinstance(mime_type, str):
            raise RouteError(400, "INVALID_BODY", 'expected {"name": string, "size": integer, "mime_type": string}')
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise RouteError(400, "INVALID_BODY", "size must be a positive integer")
        if size > config.max_upload_bytes:
            raise RouteError(413, "UPLOAD_TOO_LARGE", f"uploads are limited to {config.max_upload_bytes} bytes")
        upload = Upload(str(uuid.uuid4()), name, size, mime_type)
        manager.add_upload(session, upload)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "presigned_id": upload.presigned_id,
                "presigned_url": f"{base}/uploads/{upload.presigned_id}",
                "path": f"sessions/{session.id}/uploads/{upload.presigned_id}/{name}",
            },
            status_code=201,
        )

    async def put_upload(request: Request) -> Response:
        upload = manager.find_upload(request.path_params["uid"])
        if upload is None:
            raise RouteError(404, "UPLOAD_NOT_FOUND", "no such upload slot")
        if upload.data is not None:
            raise RouteError(409, "ALREADY_UPLOADED", "this upload slot has already been filled")
        try:
            data = await read_body(request, upload.size)
        except RouteError:
            raise RouteError(400, "SIZE_MISMATCH", f"expected {upload.size} bytes, got more") from None
        if len(data) != upload.size:
            raise RouteError(400, "SIZE_MISMATCH", f"expected {upload.size} bytes, got {len(data)}")
        upload.data = data
        return JSONResponse({"presigned_id": upload.presigned_id, "size": upload.size})

    lease = Lease(config.lease_s) if config.lease_s is not None else None

    async def renew_lease(request: Request) -> Response:
        body = await read_json(request)
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_LEASE_S:
            raise RouteError(400, "INVALID_BODY", f'expected {{"seconds": 0..{MAX_LEASE_S}}}')
        assert lease is not None
        lease.renew(float(seconds))
        return JSONResponse({"seconds": seconds})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watch = asyncio.get_running_loop().create_task(lease.watch()) if lease is not None else None
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
            await manager.close_all()

    transport = "/sessions/{sid}/transport/webrtc"
    connection = transport + "/connections/{cid:int}"
    routes = [
        Route("/start_session", start_session, methods=["POST"]),
        Route("/stop_session", stop_session, methods=["POST"]),
        Route("/sessions/{sid}", get_session, methods=["GET"]),
        Route("/sessions/{sid}", delete_session, methods=["DELETE"]),
        Route("/health", health, methods=["GET"]),
        *([Route("/lease", renew_lease, methods=["POST"])] if lease is not None else []),
        Route("/schema", schema, methods=["GET"]),
        Route(transport + "/ice_servers", ice_servers, methods=["GET"]),
        Route(transport + "/sdp_params", flat_sdp, methods=["GET", "POST", "PUT"]),
        Route(transport + "/connections", create_connection, methods=["POST"]),
        Route(connection + "/ice_candidates", ice_candidates, methods=["POST"]),
        Route(connection + "/sdp_params", connection_sdp, methods=["GET", "POST", "PUT"]),
        Route("/sessions/{sid}/uploads", create_upload, methods=["POST"]),
        Route("/uploads/{uid}", put_upload, methods=["PUT"]),
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            HEADER_API_VERSION,
            HEADER_API_ACCEPT_VERSION,
            HEADER_WEBRTC_VERSION,
        ],
    )
    app = Starlette(
        routes=routes,
        middleware=[cors],
        lifespan=lifespan,
        exception_handlers={
            RouteError: _api_error,
            SignallingError: _api_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.manager = manager
    return app
