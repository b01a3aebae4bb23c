"""Tabs across backend workers and hosts, on Redis: who owns each tab, and how another worker reaches the owner.

With several backend workers (Reflex + Redis), a tab's websocket, and so its events, can land on any worker,
and each reconnect (a reload, a blip) picks again. Media cannot follow an event: the worker that opened a tab's
session keeps it (GPU session, relay peer, the task that writes the tab's state) and is its **owner**; a worker
that gets an event for a tab it does not own forwards the operation to the owner and returns its answer. Reflex
itself routes the owner's state updates to whichever worker holds the websocket (its token manager).

When the owner is gone (stopped, killed), the next worker to get one of the tab's events takes the tab over with
an atomic compare-and-set of its owner and resumes the GPU session by id from the tab's resume point.

Redis keys (prefix ``reactor_web:``): ``tab:{token}`` is a hash ``owner`` (worker id), ``resume`` (the session's
:class:`~reactor_web.client.ResumePoint` as JSON, once known). Channels: ``rpc:{id}`` carries requests to a worker
and the answers to the requests it sent; a worker is alive while it listens there (Redis drops a killed process's
subscription as soon as its connection closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from reactor_web.tasks import OwnedTasks

logger = logging.getLogger(__name__)

PREFIX = "reactor_web:"
#: How long a forwarded operation may take at the owner (a connect returns at once; an offer waits for ICE
#: gathering; an upload carries the file) before the caller reports the owner as unresponsive.
CALL_TIMEOUT_S = 20.0
#: A tab nobody touched for a day is forgotten by Redis even if its owner died without releasing it.
TAB_KEY_TTL_S = 24 * 3600
#: How long a stopping worker waits for Redis to confirm it no longer listens (then it just closes).
UNSUBSCRIBE_TIMEOUT_S = 2.0

#: ``serve(token, op, args)`` runs an operation on a tab this worker owns and returns a JSON-able answer.
Serve = Callable[[str, str, dict[str, Any]], Awaitable[Any]]

# Set the owner to ARGV[1] if there is none, or if it is still ARGV[2] (the owner the caller saw die).
_CLAIM = """
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner == false or owner == ARGV[2] then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""
# Delete the tab's record if ARGV[1] still owns it.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Set a field if ARGV[1] still owns the tab.
_SET_IF_OWNER = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0
"""


class OwnerGone(Exception):
    """The tab's owner did not take the request (no worker listens on its channel: it stopped or died)."""


class OwnerTimeout(Exception):
    """The owner took the request but sent no answer within :data:`CALL_TIMEOUT_S` (the operation may have run)."""


class Cluster:
    """This worker's membership: liveness, tab ownership and requests between workers.

    ``redis_url`` is Reflex's ``REFLEX_REDIS_URL``. Start it with :meth:`start` (inside the worker's event loop)
    and stop it with :meth:`stop`; both are the lifespan's. Raises ``RedisError`` when Redis cannot be reached.
    """

    def __init__(self, redis_url: str, *, worker_id: str | None = None) -> None:
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.redis_url = redis_url
        self._redis: Redis = Redis.from_url(redis_url, decode_responses=True)
        self._claim = self._redis.register_script(_CLAIM)
        self._release = self._redis.register_script(_RELEASE)
        self._set_if_owner = self._redis.register_script(_SET_IF_OWNER)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._tasks = OwnedTasks(logger, "cluster")
        self._serve: Serve | None = None
        self._subscribed = asyncio.Event()
        self._pubsub: PubSub | None = None
        #: Set once the listener has stopped, after Redis confirmed the unsubscribe when it could.
        self._unsubscribed = asyncio.Event()

    @property
    def redis(self) -> Redis:
        """The client this worker talks to Redis with (shared by the embedded runtime's election)."""
        return self._redis

    def _channel(self, worker: str) -> str:
        return f"{PREFIX}rpc:{worker}"

    def _tab_key(self, token: str) -> str:
        return f"{PREFIX}tab:{token}"

    async def start(self, serve: Serve) -> None:
        """Answer other workers' requests with ``serve``; returns once this worker listens (counts as alive)."""
        self._serve = serve
        self._tasks.spawn(self._listen())
        await self._subscribed.wait()

    async def stop(self) -> None:
        """Stop answering; this worker counts as dead at once."""
        pubsub = self._pubsub
        if pubsub is not None:
            # Unsubscribe and wait for Redis's confirmation (the listener ends on it): from then on every other
            # connection's PUBSUB NUMSUB says 0. Closing the connection alone is noticed by Redis a moment later.
            with contextlib.suppress(RedisError, TimeoutError):
                await pubsub.unsubscribe()
                async with asyncio.timeout(UNSUBSCRIBE_TIMEOUT_S):
                    await self._unsubscribed.wait()
        await self._tasks.cancel_all()
        for future in self._pending.values():
            future.cancel()
        await self._redis.aclose()

    async def alive(self, worker: str) -> bool:
        """Whether ``worker`` listens for requests."""
        counts = await self._redis.pubsub_numsub(self._channel(worker))
        return bool(counts and counts[0][1])

    # -- ownership ----------------------------------------------------------------------------------

    async def owner(self, token: str) -> tuple[str | None, dict[str, Any] | None]:
        """The tab's owner (worker id or None) and its resume point (a dict, or None)."""
        record: dict[str, str] = await self._redis.hgetall(self._tab_key(token))  # type: ignore[misc]
        resume = record.get("resume")
        return record.get("owner"), (json.loads(resume) if resume else None)

    async def claim(self, token: str, *, replacing: str | None = None) -> bool:
        """Become the tab's owner if it has none, or if its owner is still ``replacing`` (a worker seen gone)."""
        args: list[str | int] = [self.worker_id, replacing or "", TAB_KEY_TTL_S]
        return bool(await self._claim(keys=[self._tab_key(token)], args=args))

    async def set_resume(self, token: str, resume: dict[str, Any] | None) -> None:
        """Record where a successor picks the tab's GPU session up (None: there is no session)."""
        await self._set_if_owner(
            keys=[self._tab_key(token)], args=[self.worker_id, "resume", json.dumps(resume), TAB_KEY_TTL_S]
        )

    async def release(self, token: str) -> None:
        """Forget the tab if this worker still owns it (the tab closed, or its session was handed over)."""
        await self._release(keys=[self._tab_key(token)], args=[self.worker_id])

    # -- requests -----------------------------------------------------------------------------------

    async def call(self, worker: str, token: str, op: str, args: dict[str, Any]) -> Any:
        """Run ``op`` on ``worker``'s tab ``token`` and return its answer. Raises :class:`OwnerGone` when no
        worker listens on its channel, :class:`OwnerTimeout` when the answer does not come in time."""
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {"id": request_id, "from": self.worker_id, "token": token, "op": op, "args": args}
        try:
            if not await self._redis.publish(self._channel(worker), json.dumps(message)):
                raise OwnerGone(f"worker {worker} is not listening")
            try:
                async with asyncio.timeout(CALL_TIMEOUT_S):
                    return await future
            except TimeoutError:
                raise OwnerTimeout(f"worker {worker} did not answer {op!r} in {CALL_TIMEOUT_S:g} s") from None
        finally:
            self._pending.pop(request_id, None)

    async def _listen(self) -> None:
        pubsub = self._pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel(self.worker_id))
        self._subscribed.set()
        try:
            async for message in pubsub.listen():  # ends once the unsubscribe of stop() is confirmed
                if message.get("type") == "message":
                    self._dispatch(message.get("data"))
        finally:
            self._unsubscribed.set()
            with contextlib.suppress(RedisError):
                await pubsub.aclose()

    def _dispatch(self, data: Any) -> None:
        try:
            message = json.loads(data)
            request_id = message["id"]
        except (TypeError, ValueError, KeyError):
            logger.warning("ignored a malformed cluster message")
            return
        if "answer" in message:
            future = self._pending.get(request_id)
            if future is not None and not future.done():
                future.set_result(message["answer"])
        else:
            self._tasks.spawn(self._answer(message))

    async def _answer(self, message: dict[str, Any]) -> None:
        assert self._serve is not None
        try:
            answer = await self._serve(str(message["token"]), str(message["op"]), dict(message["args"]))
        except Exception as exc:  # serve answers errors itself; anything else must still reach the caller
            logger.exception("cluster request %s failed", message.get("op"))
            answer = {"error": {"kind": "internal", "message": str(exc)}}
        reply = {"id": message["id"], "answer": answer}
        with contextlib.suppress(RedisError):
            await self._redis.publish(self._channel(str(message["from"])), json.dumps(reply))


async def live_workers(redis: Redis) -> set[str]:
    """The ids of the workers that listen for requests now (on any host)."""
    channels = await redis.pubsub_channels(f"{PREFIX}rpc:*")
    return {str(channel).removeprefix(f"{PREFIX}rpc:") for channel in channels}
