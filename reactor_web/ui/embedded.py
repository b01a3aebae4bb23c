"""An app's model endpoint: Reactor's coordinator, a configured runtime, or the embedded one.

* ``REACTOR_API_KEY`` set: production mode. Tabs create sessions on the coordinator at ``REACTOR_API_URL``
  with JWTs the backend fetches (and renews) with the key; the key never leaves the backend.
* ``REACTOR_RUNTIME_URL`` set: local mode against that runtime.
* Neither: the app starts ``python -m reactor_web.runtime`` as a child process on a free port when the
  backend starts and stops it when the backend stops. A separate process keeps the model's rendering
  and encoding off the backend's event loop (and its GIL), as a real GPU would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import reflex as rx

from reactor_web.client import PeerOptions, Reactor, fetch_jwt
from reactor_web.relay.registry import tabs
from reactor_web.relay.tab import TabSettings
from reactor_web.runtime.process import RuntimeProcess
from reactor_web.ui.settings import settings

logger = logging.getLogger(__name__)

_runtime_url: str | None = settings.runtime_url
_embedded: RuntimeProcess | None = None


def runtime_url() -> str:
    """The local runtime the tabs connect to."""
    if _runtime_url is None:
        raise RuntimeError("the embedded runtime is not running (the app's lifespan did not start it)")
    return _runtime_url


def tab_settings() -> TabSettings:
    """How a new tab reaches the model, from the dashboard's settings."""
    common: dict[str, Any] = {
        "model_name": settings.model_name,
        "browser_ice_servers": settings.rtc_ice_servers(),
        "gpu_ice_servers": settings.gpu_ice_override(),
        "heartbeat_timeout_s": settings.heartbeat_timeout_s,
        "peer_timeout_s": settings.peer_timeout_s,
        "auto_retry": settings.auto_retry,
        "peer_options": PeerOptions(host_addresses=settings.ice_host_addresses),
    }
    if settings.production:
        api_key, api_url, model = settings.api_key, settings.api_url, settings.model_name
        assert api_key is not None

        async def fresh_token() -> str:
            return await fetch_jwt(api_key, api_url=api_url, model=model)

        return TabSettings(api_url=api_url, local=False, token_provider=fresh_token, **common)
    return TabSettings(api_url=runtime_url(), local=True, **common)


def embedded_runtime() -> RuntimeProcess | None:
    """The runtime process this app started, if it started one (tests kill and restart it)."""
    return _embedded


@contextlib.asynccontextmanager
async def model_endpoint() -> AsyncIterator[None]:
    """Reflex lifespan task: own the embedded runtime (if needed) and every tab's session; pre-warm the client."""
    global _runtime_url, _embedded
    process: RuntimeProcess | None = None
    # What the first Connect would otherwise pay; the runtime starts meanwhile.
    prewarm = asyncio.create_task(asyncio.to_thread(Reactor.prewarm))
    if settings.runtime_url is None and not settings.production:
        process = RuntimeProcess()
        await asyncio.to_thread(process.start)
        _runtime_url, _embedded = process.url, process
        logger.info("embedded runtime serving %s at %s", settings.model_name, process.url)
    await prewarm
    try:
        yield
    finally:
        await tabs.close_all()
        if process is not None:
            await asyncio.to_thread(process.stop)
            _runtime_url, _embedded = None, None


def setup(app: rx.App) -> rx.App:
    """Set a Reflex app up for the components: call once, after ``app = rx.App(...)``.

    Registers :func:`model_endpoint` as the app's lifespan task: with neither ``REACTOR_API_KEY`` nor
    ``REACTOR_RUNTIME_URL`` set, it starts the embedded runtime when the backend starts and stops it (and
    every tab's session) when the backend stops. Settings are read from the environment (README,
    "Settings"); a malformed one raises ``ValueError`` naming the variable when ``reactor_web.ui`` is
    imported. Returns ``app``.
    """
    app.register_lifespan_task(model_endpoint)
    return app
