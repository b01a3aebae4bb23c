"""Browser tests of the dashboard deployed on several workers and hosts: Redis, nginx and two backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import browser, camera_clip, playwright_session  # noqa: F401 (fixtures)
from tests.cluster_servers import Backend, redis_server, serve_backends

#: Two hosts' worth of backends, two granian workers each: a tab's events can land on any of four workers.
WORKERS_PER_BACKEND = "2"


@pytest.fixture(scope="package")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def deployment(tmp: Path, redis_url: str) -> Iterator[tuple[str, list[Backend]]]:
    with serve_backends(tmp, 2, redis_url, env={"GRANIAN_WORKERS": WORKERS_PER_BACKEND}) as served:
        yield served


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[str, list[Backend]]]:
    """The deployment the tests that kill nothing share: (the load balancer's URL, the backends)."""
    yield from deployment(tmp_path_factory.mktemp("cluster"), redis_url)
