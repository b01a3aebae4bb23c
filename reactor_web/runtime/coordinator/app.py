"""HTTP API of the coordinator emulation: the production routes (Part A §3, §5; Part B §B.4).

``POST /tokens`` takes ``Reactor-API-Key``; every session route takes ``Authorization: Bearer <jwt>``.
Transport and upload routes are forwarded to the session's GPU worker. Errors are JSON
``{"error": {"code", "message"}}``; a 401 adds ``WWW-Authenticate``, a 429 ``Retry-After``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reactor_web.protocol.constants import (
    API_VERSION,
    HEADER_API_ACCEPT_VERSION,
    HEADER_API_KEY,
    HEADER_API_VERSION,
    HEADER_WEBRTC_VERSION,
    MAX_JSON_BODY_BYTES,
    SDK_VERSION,
)
from reactor_web.runtime.coordinator.config import CoordinatorConfig
from reactor_web.runtime.coordinator.queue import ACTIVE, LIVE_STATES, WAITING, Scheduler, Session, TooManySessions
from reactor_web.runtime.coordinator.tokens import TokenAuthority, TokenError, allows_model
from reactor_web.runtime.server import RouteError, error_response, http_error, read_body, read_json, server_error

log = logging.getLogger(__name__)

#: Request headers a worker needs to see on forwarded transport calls (not the coordinator's JWT).
_FORWARDED = ("Content-Type", HEADER_API_VERSION, HEADER_API_ACCEPT_VERSION, HEADER_WEBRTC_VERSION)


class CoordinatorError(RouteError):
    """A coordinator refusal: the runtime's JSON error body, plus response headers (``Retry-After`` of a 429)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, code, message)
        self.headers = headers or {}


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RouteError)
    log.info("%s %s → %d %s: %s", request.method, request.url.path, exc.status, exc.code, exc.message)
    response = error_response(exc.status, exc.code, exc.message)
    response.headers.update(getattr(exc, "headers", {}))
    return response


def create_coordinator_app(config: CoordinatorConfig) -> Starlette:
    """A fresh coordinator; its workers start with the app's lifespan (and stop with it)."""
    authority = TokenAuthority(config.api_keys, config.token_ttl_s)
    scheduler = Scheduler(config)
    forwarder = httpx.AsyncClient(timeout=30.0)

    def claims_of(request: Request) -> dict[str, Any]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise TokenError("MISSING_TOKEN", "send Authorization: Bearer <jwt> (from POST /tokens)")
            return authority.verify(token.strip())
        except TokenError as exc:
            challenge = f'Bearer error="invalid_token", error_description="{exc.code}"'
            raise CoordinatorError(401, exc.code, exc.message, {"WWW-Authenticate": challenge}) from None

    def check_api_version(request: Request) -> None:
        version = request.headers.get(HEADER_API_VERSION)
        if version is not None and version != API_VERSION:
            raise CoordinatorError(501, "UNSUPPORTED_API_VERSION", f"this server speaks API version {API_VERSION}")

    def owned_session(request: Request) -> Session:
        claims = claims_of(request)
        session = scheduler.get(request.path_params["sid"], claims["sub"])
        if session is None:
            raise CoordinatorError(404, "SESSION_NOT_FOUND", f"no session {request.path_params['sid']!r}")
        return session

    def descriptor(session: Session) -> dict[str, Any]:
        """Part A §3.1/§3.2: capabilities and selected_transport only once ACTIVE."""
        body: dict[str, Any] = {
            "session_id": session.id,
            "state": session.state,
            "cluster": config.cluster,
            "model": {"name": session.model},
            "server_info": {"server_version": SDK_VERSION},
        }
        if session.state == WAITING:
            body["queue_position"] = scheduler.queue_position(session)
        if session.state == ACTIVE and session.descriptor is not None:
            body["model"] = session.descriptor.get("model", body["model"])
            body["selected_transport"] = session.descriptor["selected_transport"]
            body["capabilities"] = session.descriptor["capabilities"]
        if session.reason is not None:
            body["reason"] = session.reason
        return body

    async def tokens(request: Request) -> Response:
        kid = authority.key_id_of(request.headers.get(HEADER_API_KEY))
        if kid is None:
            raise CoordinatorError(401, "INVALID_API_KEY", f"missing or unknown {HEADER_API_KEY}")
        try:
            token = authority.mint(kid, await read_json(request))
        except ValueError as exc:
            raise CoordinatorError(400, "INVALID_BODY", str(exc)) from None
        return JSONResponse({"jwt": token})

    async def create_session(request: Request) -> Response:
        claims = claims_of(request)
        check_api_version(request)
        body = await read_json(request)
        model = body.get("model") if isinstance(body, dict) else None
        name = model.get("name") if isinstance(model, dict) else None
        if not isinstance(name, str) or not name:
            raise CoordinatorError(400, "INVALID_BODY", 'expected {"model": {"name": string}, ...}')
        if name != config.model_name:
            raise CoordinatorError(404, "MODEL_NOT_FOUND", f"no model {name!r} here (serving {config.model_name!r})")
        if not allows_model(claims, name):
            raise CoordinatorError(403, "FORBIDDEN", f"this token is not valid for model {name!r}")
        try:
            session = scheduler.create(claims["sub"], name)
        except TooManySessions as exc:
            retry = {"Retry-After": str(config.retry_after_s)}
            raise CoordinatorError(429, "TOO_MANY_SESSIONS", str(exc), retry) from None
        return JSONResponse(descriptor(session), status_code=201)

    async def get_session(request: Request) -> Response:
        session = owned_session(request)
        check_api_version(request)
        return JSONResponse(descriptor(session))

    async def session_info(request: Request) -> Response:
        session = owned_session(request)
        return JSONResponse({"session_id": session.id, "state": session.state, "cluster": config.cluster})

    async def delete_session(request: Request) -> Response:
        session = owned_session(request)
        await scheduler.delete(session)
        return JSONResponse(descriptor(session))

    async def forward(request: Request) -> Response:
        """Transport and upload calls go to the session's worker, under the worker's own session id."""
        session = owned_session(request)
        if session.state != ACTIVE or session.worker is None:
            status = 409 if session.state in LIVE_STATES else 410
            raise CoordinatorError(status, "SESSION_NOT_ACTIVE", f"the session is {session.state}")
        prefix = f"/sessions/{session.id}"
        path = f"/sessions/{session.worker_session_id}" + request.url.path[len(prefix) :]
        headers = {name: request.headers[name] for name in _FORWARDED if name in request.headers}
        content = await read_body(request, MAX_JSON_BODY_BYTES)
        try:
            response = await forwarder.request(
                request.method, session.worker.url + path, headers=headers, content=content
            )
        except httpx.HTTPError as exc:
            raise CoordinatorError(502, "GPU_WORKER_UNREACHABLE", f"the GPU worker did not answer: {exc!r}") from None
        return Response(response.content, response.status_code, media_type=response.headers.get("content-type"))

    async def health(request: Request) -> Response:
        workers = [
            {
                "index": w.index,
                "state": w.state,
                "pid": w.pid,
                "session_id": next((s.id for s in scheduler.sessions.values() if s.worker is w), None),
            }
            for w in scheduler.workers
        ]
        live = [s for s in scheduler.sessions.values() if s.state in LIVE_STATES]
        return JSONResponse(
            {
                "status": "healthy",
                "model": config.model_name,
                "workers": workers,
                "waiting": sum(1 for s in live if s.state == WAITING),
                "sessions": len(live),
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await scheduler.start()
        try:
            yield
        finally:
            await scheduler.aclose()
            await forwarder.aclose()

    session_path = "/sessions/{sid}"
    routes = [
        Route("/tokens", tokens, methods=["POST"]),
        Route("/sessions", create_session, methods=["POST"]),
        Route(session_path, get_session, methods=["GET"]),
        Route(session_path, delete_session, methods=["DELETE"]),
        Route(session_path + "/info", session_info, methods=["GET"]),
        Route(session_path + "/transport/webrtc/{rest:path}", forward, methods=["GET", "POST", "PUT"]),
        Route(session_path + "/uploads", forward, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", HEADER_API_KEY, *_FORWARDED[1:]],
        expose_headers=["Retry-After", "WWW-Authenticate"],
    )
    app = Starlette(
        routes=routes,
        middleware=[cors],
        lifespan=lifespan,
        exception_handlers={RouteError: _error, HTTPException: http_error, Exception: server_error},
    )
    app.state.scheduler = scheduler
    return app
