"""One embedded runtime for all of an app's backend workers (Reflex + Redis), started once and stopped with the app.

The first worker to take the Redis lock starts ``python -m reactor_web.runtime --lease S`` in a session of its own
(so that it outlives that worker) and records its URL; the others use that URL. Every worker renews the runtime's
lease while it runs. The last worker to stop ends the lease at once; if none can (all killed), the runtime stops
itself :data:`LEASE_S` after the last renewal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from reactor_web.relay.cluster import live_workers
from reactor_web.runtime.process import RuntimeProcess

logger = logging.getLogger(__name__)

URL_KEY = "reactor_web:runtime"
LOCK_KEY = "reactor_web:runtime:lock"
#: The runtime stops this long after the last renewal (each worker renews every third of it).
LEASE_S = 10.0
#: How long a worker waits for another to start the runtime (it starts in seconds; the lock expires after this).
START_TIMEOUT_S = 60.0


async def _renew(http: httpx.AsyncClient, url: str, seconds: float) -> bool:
    try:
        return (await http.post(f"{url}/lease", json={"seconds": seconds})).status_code == 200
    except httpx.HTTPError:
        return False


async def _elect(redis: Redis, http: httpx.AsyncClient, worker_id: str) -> str:
    """The shared runtime's URL, started here if no worker has a live one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while loop.time() < deadline:
        url = await redis.get(URL_KEY)
        if url and await _renew(http, url, LEASE_S):
            return str(url)
        if await redis.set(LOCK_KEY, worker_id, nx=True, px=int(START_TIMEOUT_S * 1000)):
            try:
                process = RuntimeProcess(args=["--lease", str(LEASE_S)], detached=True)
                await asyncio.to_thread(process.start)
                await redis.set(URL_KEY, process.url)
                logger.info("shared embedded runtime started at %s", process.url)
                return process.url
            finally:
                await redis.delete(LOCK_KEY)
        await asyncio.sleep(0.2)  # another worker is starting it: look again shortly
    raise TimeoutError(f"no shared runtime came up within {START_TIMEOUT_S:g} s")


async def _keep(http: httpx.AsyncClient, url: str) -> None:
    while True:
        await asyncio.sleep(LEASE_S / 3)  # a renewal's period, not a wait for an outcome
        if not await _renew(http, url, LEASE_S):
            logger.warning("the shared runtime at %s did not renew its lease", url)


@contextlib.asynccontextmanager
async def shared_runtime(redis_url: str, worker_id: str) -> AsyncIterator[str]:
    """Use (or start) the app's shared runtime while the block runs; yields its URL.

    On exit this worker stops renewing, and when no other worker is alive any more the runtime is stopped now.
    Raises ``RedisError`` or ``TimeoutError`` when no runtime can be had."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    async with httpx.AsyncClient(timeout=5.0) as http:
        try:
            url = await _elect(redis, http, worker_id)
            keeper = asyncio.get_running_loop().create_task(_keep(http, url))
            try:
                yield url
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
                with contextlib.suppress(RedisError):
                    if not await live_workers(redis) - {worker_id}:
                        await _renew(http, url, 0)
                        await redis.delete(URL_KEY)
        finally:
            await redis.aclose()
