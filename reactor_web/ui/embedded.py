"""An app's model endpoint: Reactor's coordinator, a configured runtime, or the embedded one.

* ``REACTOR_API_KEY`` set: production mode. Tabs create sessions on the coordinator at ``REACTOR_API_URL``
  with JWTs the backend fetches (and renews) with the key; the key never leaves the backend.
* ``REACTOR_RUNTIME_URL`` set: local mode against that runtime.
* Neither: the app starts ``python -m reactor_web.runtime`` as a child process on a free port when the
  backend starts and stops it when the backend stops. A separate process keeps the model's rendering
  and encoding off the backend's event loop (and its GIL), as a real GPU would be. With several workers
  (``REFLEX_REDIS_URL``) they share one runtime (:mod:`reactor_web.ui.shared_runtime`).

With ``REFLEX_REDIS_URL`` set, each worker also joins the app's cluster (:mod:`reactor_web.relay.cluster`): a
tab's events reach the worker holding its session wherever they land, and a worker that stops hands its tabs'
GPU sessions over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import reflex as rx
from redis.exceptions import RedisError
from reflex.utils.prerequisites import parse_redis_url
from reflex.utils.token_manager import RedisTokenManager

from reactor_web.client import PeerOptions, Reactor, fetch_jwt
from reactor_web.relay.cluster import PREFIX, TAB_KEY_TTL_S, Cluster
from reactor_web.relay.registry import tabs
from reactor_web.relay.tab import TabSettings
from reactor_web.runtime.process import RuntimeProcess
from reactor_web.ui.settings import settings
from reactor_web.ui.shared_runtime import shared_runtime

logger = logging.getLogger(__name__)

_runtime_url: str | None = settings.runtime_url
_embedded: RuntimeProcess | None = None
_app: rx.App | None = None


def the_app() -> rx.App:
    """The app ``reactor_web.ui.setup`` was given (its state is what the tabs' updates are written to)."""
    if _app is None:
        raise RuntimeError("reactor_web.ui.setup(app) was not called")
    return _app


def use_app(app: rx.App) -> None:
    """Remember ``app`` (see :func:`the_app`)."""
    global _app
    _app = app


def runtime_url() -> str:
    """The local runtime the tabs connect to."""
    if _runtime_url is None:
        raise RuntimeError("the embedded runtime is not running (the app's lifespan did not start it)")
    return _runtime_url


def keep_tokens_of_dead_workers(app: rx.App, cluster: Cluster) -> None:
    """Let a page whose worker died keep its Reflex token, and so its state and its GPU session.

    Reflex (0.10) gives a connecting page a new token, and so a new, empty state, when a socket record for its token
    exists in Redis: it takes that for the same token open in a second tab. A worker killed outright leaves its
    records behind, so every page it served would lose its session on reconnect. A record whose worker no longer
    listens in the cluster is dropped first; a live duplicate still gets a new token. Uses the token manager's
    private record API (Reflex is pinned)."""
    manager = getattr(app.event_namespace, "_token_manager", None)
    if not isinstance(manager, RedisTokenManager):
        return
    link = manager.link_token_to_sid
    redis = cluster.redis

    async def link_token_to_sid(token: str, sid: str) -> str | None:
        try:
            # Which cluster worker is this Reflex instance (its id changes when the worker forks).
            await redis.set(f"{PREFIX}reflex:{manager.instance_id}", cluster.worker_id, ex=TAB_KEY_TTL_S)
            record = await manager._fetch_socket_record(token)
            if record is not None and record.instance_id != manager.instance_id:
                worker = await redis.get(f"{PREFIX}reflex:{record.instance_id}")
                if worker is not None and not await cluster.alive(worker):
                    await manager.redis.delete(manager._get_redis_key(token))
        except RedisError as exc:
            logger.warning("cannot check token %s's previous worker: %s", token[:8], exc)
        return await link(token, sid)

    manager.link_token_to_sid = link_token_to_sid  # type: ignore[method-assign]


def tab_settings() -> TabSettings:
    """How a new tab reaches the model, from the dashboard's settings."""
    common: dict[str, Any] = {
        "model_name": settings.model_name,
        "browser_ice_servers": settings.rtc_ice_servers(),
        "gpu_ice_servers": settings.gpu_ice_override(),
        "heartbeat_timeout_s": settings.heartbeat_timeout_s,
        "peer_timeout_s": settings.peer_timeout_s,
        "auto_retry": settings.auto_retry,
        "peer_options": PeerOptions(
            host_addresses=settings.ice_host_addresses, playout_delay=settings.playout_delay_ms
        ),
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
    """Reflex lifespan task: own the embedded runtime (if needed) and every tab's session; pre-warm the client;
    with Redis, join the app's other workers."""
    global _runtime_url, _embedded
    redis_url = parse_redis_url()
    cluster = Cluster(redis_url) if redis_url else None  # several workers share tabs and one runtime
    # What the first Connect would otherwise pay; the runtime starts meanwhile.
    prewarm = asyncio.create_task(asyncio.to_thread(Reactor.prewarm))
    async with contextlib.AsyncExitStack() as stack:
        if settings.runtime_url is None and not settings.production:
            if cluster is not None:
                _runtime_url = await stack.enter_async_context(shared_runtime(cluster.redis_url, cluster.worker_id))
            else:
                process = RuntimeProcess()
                await asyncio.to_thread(process.start)
                _runtime_url, _embedded = process.url, process
                stack.push_async_callback(asyncio.to_thread, process.stop)
            logger.info("embedded runtime serving %s at %s", settings.model_name, _runtime_url)
        await prewarm
        if cluster is not None:
            await tabs.join(cluster)
            keep_tokens_of_dead_workers(the_app(), cluster)
            logger.info("backend worker %s joined the cluster at %s", cluster.worker_id, cluster.redis_url)
        try:
            yield
        finally:
            await tabs.close_all()
            _runtime_url, _embedded = settings.runtime_url, None
