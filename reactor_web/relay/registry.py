"""The backend's tabs, by Reflex client token: one GPU session per tab, nothing shared between tabs.

One worker (no Redis): every tab is this process's. Several workers or hosts (:meth:`TabRegistry.join` with a
:class:`~reactor_web.relay.cluster.Cluster`): a tab belongs to the worker that opened it, and :meth:`handle`
hands a UI either that tab (here) or a :class:`TabHandle` that forwards to its owner; a tab whose owner is gone
is taken over here and its GPU session resumed by id (``Reactor.resume``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from redis.exceptions import RedisError

from reactor_web.client import ResumePoint
from reactor_web.relay.cluster import Cluster, OwnerGone, OwnerTimeout
from reactor_web.relay.handle import TabHandle, run_op
from reactor_web.relay.tab import TabSession, TabSettings
from reactor_web.tasks import OwnedTasks

logger = logging.getLogger(__name__)

#: ``pump(token, tab)``: the UI's task that carries a tab's inbox into its page state until the inbox closes.
PumpFactory = Callable[[str, TabSession], Coroutine[Any, Any, None]]
#: What a new tab starts with: its settings, and whether the page wants its camera and its microphone published.
NewTab = Callable[[], tuple[TabSettings, bool, bool]]

OWNER_UNREACHABLE = "OWNER_UNREACHABLE"


def _unreachable(message: str) -> dict[str, Any]:
    return {"error": {"kind": "reactor", "code": OWNER_UNREACHABLE, "message": message, "recoverable": True}}


class _TabEvents:
    """The registry's side of one tab's :class:`~reactor_web.relay.tab.TabListener`: ``token`` is the tab's, and
    its resume points are recorded in ``cluster`` (the one the worker was in when it opened the tab; None: none)."""

    def __init__(self, registry: TabRegistry, token: str, cluster: Cluster | None) -> None:
        self._registry, self._token, self._cluster = registry, token, cluster

    def on_closed(self, tab: TabSession) -> None:
        self._registry._forget(self._token, tab)

    def on_resume_point(self, point: ResumePoint | None) -> None:
        if self._cluster is not None:
            self._registry._tasks.spawn(self._registry._record(self._cluster, self._token, point))


class TabRegistry:
    """This worker's tabs, and with a cluster the way to every other worker's."""

    def __init__(self) -> None:
        self._tabs: dict[str, TabSession] = {}
        self._cluster: Cluster | None = None
        self._pump: PumpFactory | None = None
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._tasks = OwnedTasks(logger, "tab registry")

    def __len__(self) -> int:
        return len(self._tabs)

    @property
    def cluster(self) -> Cluster | None:
        """The cluster this worker joined (None: a single worker)."""
        return self._cluster

    def get(self, token: str) -> TabSession | None:
        """This worker's own tab ``token`` (None when it has none: not opened, closed, or another worker's)."""
        return self._tabs.get(token)

    def set_pump(self, pump: PumpFactory | None) -> None:
        """The task each tab opened from now on runs to carry its inbox into the page (the UI's)."""
        self._pump = pump

    def open(self, token: str, settings: TabSettings) -> TabSession:
        """This worker's tab ``token``, created on first use (and again after it was closed)."""
        tab = self._tabs.get(token)
        if tab is None or tab.closed:
            tab = TabSession(settings, _TabEvents(self, token, self._cluster))
            self._tabs[token] = tab
            if self._pump is not None:
                self._pumps[token] = self._tasks.spawn(self._pump(token, tab))
        return tab

    async def _record(self, cluster: Cluster, token: str, point: ResumePoint | None) -> None:
        try:
            await cluster.set_resume(token, point.to_dict() if point is not None else None)
        except RedisError as exc:
            logger.warning("cannot record tab %s's resume point: %s", token[:8], exc)

    def _forget(self, token: str, tab: TabSession) -> None:
        if self._tabs.get(token) is tab:
            del self._tabs[token]
            self._pumps.pop(token, None)  # it ends by itself once the inbox is closed
            if self._cluster is not None and not tab.handed_over:
                self._tasks.spawn(self._release(self._cluster, token))

    async def _release(self, cluster: Cluster, token: str) -> None:
        with contextlib.suppress(RedisError):
            await cluster.release(token)

    # -- a tab for a UI, wherever it is --------------------------------------------------------------

    async def handle(self, token: str, new_tab: NewTab) -> TabHandle:
        """The tab ``token`` for a UI's event: this worker's, opened here (``new_tab()`` gives what it starts
        with), taken over here from a worker that is gone, or forwarded to the worker that owns it."""
        tab = self._tabs.get(token)
        if tab is not None and not tab.closed:
            return self._local(tab)
        cluster = self._cluster
        if cluster is None:
            return self._local(self._new(token, new_tab, None))
        try:
            for _ in range(3):  # a lost race for a claim sends us to the winner; losing thrice is a bug
                owner, resume = await cluster.owner(token)
                if owner is not None and owner != cluster.worker_id and await cluster.alive(owner):
                    return self._remote(cluster, owner, token, new_tab)
                if await cluster.claim(token, replacing=owner):
                    return self._local(self._new(token, new_tab, resume if owner != cluster.worker_id else None))
        except RedisError as exc:
            logger.warning("Redis unreachable for tab %s: %s", token[:8], exc)
            answer = _unreachable(f"the backend cannot reach Redis: {exc}")
            return TabHandle(lambda op, args: _async(answer))
        raise RuntimeError(f"tab {token[:8]}: no owner could be settled")

    def _new(self, token: str, new_tab: NewTab, resume: dict[str, Any] | None) -> TabSession:
        settings, webcam, microphone = new_tab()
        tab = self.open(token, settings)
        tab.set_webcam_wanted(webcam)
        tab.set_microphone_wanted(microphone)
        if resume is not None:
            try:
                tab.resume(ResumePoint.from_dict(resume))
            except ValueError as exc:
                logger.warning("tab %s: unusable resume point: %s", token[:8], exc)
        return tab

    def _local(self, tab: TabSession) -> TabHandle:
        async def invoke(op: str, args: dict[str, Any]) -> dict[str, Any]:
            return await run_op(tab, op, args)

        return TabHandle(invoke, local=tab)

    def _remote(self, cluster: Cluster, owner: str, token: str, new_tab: NewTab) -> TabHandle:
        async def invoke(op: str, args: dict[str, Any]) -> dict[str, Any]:
            try:
                answer = await cluster.call(owner, token, op, args)
            except OwnerGone:
                answer = {"error": {"kind": "gone"}}
            except OwnerTimeout as exc:
                return _unreachable(f"the worker holding this tab's session did not answer: {exc}")
            except RedisError as exc:
                return _unreachable(f"the backend cannot reach Redis: {exc}")
            if answer.get("error", {}).get("kind") != "gone":
                return dict(answer)
            # Nobody took the request (the owner stopped or died): take the tab over, then run it here.
            if not await cluster.claim(token, replacing=owner):
                return _unreachable("another worker is taking this tab over: try again")
            _, resume = await cluster.owner(token)
            return await run_op(self._new(token, new_tab, resume), op, args)

        return TabHandle(invoke)

    async def _serve(self, token: str, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """Another worker forwards a tab's operation here."""
        tab = self._tabs.get(token)
        if tab is None or tab.closed:
            return {"error": {"kind": "gone"}}
        return await run_op(tab, op, args)

    # -- lifecycle -----------------------------------------------------------------------------------

    async def join(self, cluster: Cluster) -> None:
        """Share tabs with the other workers through ``cluster`` (started here). Raises ``RedisError``."""
        await cluster.start(self._serve)
        self._cluster = cluster

    async def close_all(self) -> None:
        """The worker stops. Alone, it ends every tab's session; in a cluster it hands each GPU session over
        (kept on the GPU side, resumed by the worker that gets the tab's next event) and leaves the cluster."""
        cluster, self._cluster = self._cluster, None
        tabs = list(self._tabs.values())
        if cluster is None:
            await asyncio.gather(*(tab.close() for tab in tabs), return_exceptions=True)
        else:
            # The page must not see the handover as "disconnected": its state is left as it is for the successor.
            for token in list(self._pumps):
                self._pumps.pop(token).cancel()
            await asyncio.gather(*(tab.hand_over() for tab in tabs), return_exceptions=True)
            await cluster.stop()
        await self._tasks.cancel_all()


async def _async(value: dict[str, Any]) -> dict[str, Any]:
    return value


#: This backend process's tabs.
tabs = TabRegistry()
