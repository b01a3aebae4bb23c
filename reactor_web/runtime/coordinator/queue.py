"""Sessions of the coordinator emulation: the waiting line, the GPU worker pool, and the session states.

States (the JS SDK's ``SessionState`` names, Part A §1): ``WAITING`` in line for a free worker (with
``queue_position``), ``PENDING`` while a worker starts the session, ``ACTIVE`` once it runs (the
descriptor then carries ``capabilities`` and ``selected_transport``), then ``CLOSED`` when the client
deleted it or the runtime ended it, or ``INACTIVE`` when its worker died. The two last are the
terminal states clients poll for (Part A §3.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from reactor_web.protocol.constants import MAX_JSON_BODY_BYTES
from reactor_web.protocol.json_safe import loads
from reactor_web.runtime.coordinator.config import CoordinatorConfig
from reactor_web.runtime.coordinator.workers import Worker, WorkerStartError
from reactor_web.tasks import OwnedTasks

log = logging.getLogger(__name__)

WAITING, PENDING, ACTIVE, CLOSED, INACTIVE = "WAITING", "PENDING", "ACTIVE", "CLOSED", "INACTIVE"
LIVE_STATES = frozenset({WAITING, PENDING, ACTIVE})
#: Ended sessions stay visible (as CLOSED/INACTIVE) this long, so a polling client learns how it ended.
ENDED_RETENTION_S = 600.0
#: How often a busy worker is asked whether its session still runs (it ends one whose client vanished).
SESSION_CHECK_S = 1.0
#: Pause before restarting a worker that failed to start.
RESTART_BACKOFF_S = 1.0


class TooManySessions(Exception):
    pass


@dataclass
class Session:
    id: str
    owner: str  # the API key's id
    model: str
    state: str = WAITING
    last_seen: float = 0.0
    worker: Worker | None = None
    worker_session_id: str | None = None
    #: The worker's ``start_session`` descriptor (capabilities, selected_transport, ...).
    descriptor: dict[str, Any] | None = None
    ended_at: float | None = None
    reason: str | None = None
    _checker: asyncio.Task[None] | None = None


class Scheduler:
    """Owns the workers and their supervisor tasks; :meth:`start` … :meth:`aclose`."""

    def __init__(self, config: CoordinatorConfig) -> None:
        self.config = config
        self.sessions: dict[str, Session] = {}
        self.workers = [Worker(i, config.worker_args, config.host) for i in range(config.gpus)]
        self._http = httpx.AsyncClient(timeout=10.0)
        self._tasks = OwnedTasks(log, "coordinator")
        self._first_start: list[asyncio.Event] = [asyncio.Event() for _ in self.workers]

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every worker; returns once each has answered ``/health`` once."""
        for worker in self.workers:
            self._tasks.spawn(self._supervise(worker))
        async with asyncio.timeout(self.config.worker_startup_timeout_s * 2):
            await asyncio.gather(*(event.wait() for event in self._first_start))

    async def aclose(self) -> None:
        await self._tasks.cancel_all()
        await asyncio.gather(*(worker.stop() for worker in self.workers))
        await self._http.aclose()

    async def _supervise(self, worker: Worker) -> None:
        """Keep the worker running: start it, admit sessions, and on its death end its session and restart it."""
        while True:
            try:
                await worker.start(self.config.worker_startup_timeout_s)
            except WorkerStartError as exc:
                log.error("%s; retrying", exc)
                worker.state = "dead"
                await asyncio.sleep(RESTART_BACKOFF_S)
                continue
            self._first_start[worker.index].set()
            self._admit()
            code = await worker.wait_exit()
            log.warning("GPU worker %d (pid %s) exited with %s; restarting it", worker.index, worker.pid, code)
            worker.state = "dead"
            for session in self.sessions.values():
                if session.worker is worker and session.state in LIVE_STATES:
                    self._end(session, INACTIVE, "the GPU worker running this session died")

    # -- sessions ----------------------------------------------------------------------------------

    def create(self, owner: str, model: str) -> Session:
        self._housekeeping()
        held = sum(1 for s in self.sessions.values() if s.owner == owner and s.state in LIVE_STATES)
        if held >= self.config.max_sessions_per_key:
            raise TooManySessions(
                f"this API key already holds {held} session(s), the limit is {self.config.max_sessions_per_key}"
            )
        session = Session(uuid.uuid4().hex, owner, model, last_seen=time.monotonic())
        self.sessions[session.id] = session
        self._admit()
        return session

    def get(self, session_id: str, owner: str) -> Session | None:
        """The session, only for its owner (another key's session id reads as unknown)."""
        self._housekeeping()
        session = self.sessions.get(session_id)
        if session is None or session.owner != owner:
            return None
        session.last_seen = time.monotonic()
        return session

    def queue_position(self, session: Session) -> int | None:
        """1-based place among waiting sessions, first come first served."""
        if session.state != WAITING:
            return None
        waiting = [s for s in self.sessions.values() if s.state == WAITING]
        return waiting.index(session) + 1

    async def delete(self, session: Session) -> None:
        if session.state in LIVE_STATES:
            self._end(session, CLOSED, "deleted by the client")

    # -- scheduling --------------------------------------------------------------------------------

    def _admit(self) -> None:
        """Give each idle worker the longest-waiting session (dicts keep insertion order: FIFO)."""
        idle = [w for w in self.workers if w.state == "idle"]
        waiting = [s for s in self.sessions.values() if s.state == WAITING]
        for worker, session in zip(idle, waiting, strict=False):
            worker.state = "busy"
            session.state, session.worker = PENDING, worker
            self._tasks.spawn(self._activate(session, worker))

    async def _activate(self, session: Session, worker: Worker) -> None:
        try:
            response = await self._http.post(f"{worker.url}/start_session", json={})
            response.raise_for_status()
            descriptor = loads(response.content, max_bytes=MAX_JSON_BODY_BYTES, what="worker descriptor")
            worker_session_id = str(descriptor["session_id"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if worker.state == "busy":  # alive, but it failed this session: let it try the next one
                worker.state = "idle"
            if session.state == PENDING:  # not ended meanwhile by a DELETE or the worker's death
                self._end(session, INACTIVE, f"the GPU worker could not start the session: {exc!r}")
            else:
                self._admit()
            return
        session.worker_session_id, session.descriptor = worker_session_id, descriptor
        if session.state != PENDING:
            # Deleted while the worker was starting it: stop it there too, then free the worker.
            await self._release(worker, session.worker_session_id)
            return
        session.state = ACTIVE
        session._checker = self._tasks.spawn(self._check(session, worker))
        log.info("session %s active on GPU worker %d", session.id, worker.index)

    async def _check(self, session: Session, worker: Worker) -> None:
        """End the session when the worker forgets it: the runtime ended it (its client went silent)."""
        while session.state == ACTIVE:
            await asyncio.sleep(SESSION_CHECK_S)
            with contextlib.suppress(httpx.HTTPError):
                response = await self._http.get(f"{worker.url}/sessions/{session.worker_session_id}")
                if response.status_code == 404 and session.state == ACTIVE:
                    self._end(session, CLOSED, "the runtime ended the session")

    def _end(self, session: Session, state: str, reason: str) -> None:
        """Mark the session ended, release its worker (stopping the session there) and admit the next."""
        session.state, session.reason, session.ended_at = state, reason, time.monotonic()
        log.info("session %s %s: %s", session.id, state, reason)
        checker, session._checker = session._checker, None
        if checker is not None and checker is not asyncio.current_task():
            checker.cancel()
        worker, session.worker = session.worker, None
        if worker is not None and worker.state == "busy":
            if session.worker_session_id is not None:
                self._tasks.spawn(self._release(worker, session.worker_session_id))
            # Without a worker session id the start is still in flight: _activate releases it.
        self._admit()

    async def _release(self, worker: Worker, worker_session_id: str) -> None:
        await self._stop_on_worker(worker, worker_session_id)
        if worker.state == "busy":
            worker.state = "idle"
            self._admit()

    async def _stop_on_worker(self, worker: Worker, worker_session_id: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await self._http.post(f"{worker.url}/stop_session", json={"session_id": worker_session_id})

    def _housekeeping(self) -> None:
        """Drop waiting sessions nobody polls any more, and forget long-ended ones."""
        now = time.monotonic()
        for session in list(self.sessions.values()):
            if session.state == WAITING and now - session.last_seen > self.config.waiting_timeout_s:
                self._end(session, CLOSED, "nobody polled the waiting session")
            elif session.ended_at is not None and now - session.ended_at > ENDED_RETENTION_S:
                del self.sessions[session.id]
