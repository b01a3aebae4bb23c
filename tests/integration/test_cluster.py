"""The cluster's Redis primitives against a real ``redis-server`` (Debian's): ownership, takeover, forwarding."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from reactor_web.relay.cluster import Cluster, OwnerGone
from tests.cluster_servers import redis_server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


async def echo(token: str, op: str, args: dict[str, Any]) -> Any:
    return {"ok": [token, op, args]}


@pytest.fixture
async def workers(redis_url: str) -> AsyncIterator[tuple[Cluster, Cluster]]:
    a, b = Cluster(redis_url), Cluster(redis_url)
    await a.start(echo)
    await b.start(echo)
    yield a, b
    await a.stop()
    await b.stop()


async def test_one_owner_per_tab_and_takeover_only_from_the_owner_seen_gone(workers: tuple[Cluster, Cluster]) -> None:
    a, b = workers
    assert await a.claim("t1")
    assert not await b.claim("t1")  # taken
    assert not await b.claim("t1", replacing="someone-else")  # not the owner it saw
    await a.set_resume("t1", {"session_id": "s", "flow": "connections", "connection_id": "1"})
    assert await b.owner("t1") == (a.worker_id, {"session_id": "s", "flow": "connections", "connection_id": "1"})
    assert await b.claim("t1", replacing=a.worker_id)
    await a.set_resume("t1", None)  # no longer a's: ignored
    assert (await a.owner("t1"))[1] is not None
    await a.release("t1")  # not a's: kept
    assert (await a.owner("t1"))[0] == b.worker_id
    await b.release("t1")
    assert await a.owner("t1") == (None, None)


async def test_forwarded_call_and_a_stopped_worker(redis_url: str, workers: tuple[Cluster, Cluster]) -> None:
    a, b = workers
    assert await a.call(b.worker_id, "tok", "send_command", {"command": "ping"}) == {
        "ok": ["tok", "send_command", {"command": "ping"}]
    }
    assert await a.alive(b.worker_id)
    gone = Cluster(redis_url)
    await gone.start(echo)
    await gone.stop()
    assert not await a.alive(gone.worker_id)  # known at once, not after the liveness key expires
    with pytest.raises(OwnerGone):
        await a.call(gone.worker_id, "tok", "connect", {})
