"""The dashboard deployed on several workers and hosts: Redis, an nginx load balancer and `reflex run --env prod`.

Every `reflex run --env prod` serves the page, the websocket and the backend on one port (tests/prod_server.py).
Sharing Redis, one such process runs several granian workers (``serve_workers``), and several such processes behind
one nginx address are the shape of a multi-host deployment (``serve_backends``). Redis and nginx are Debian's
(scripts/setup.sh --browser), run in the foreground on loopback, with every file they write under the test's folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from reactor_web.runtime.process import free_port
from tests.prod_server import ROOT, TEST_ENV, serve_prod, wait_until_serving

REDIS_SERVER = "/usr/bin/redis-server"
NGINX = "/usr/sbin/nginx"
#: How long a stopped process (group) gets to exit before it is killed.
STOP_TIMEOUT_S = 20.0


@dataclass
class Backend:
    """One `reflex run --env prod` process behind the load balancer: its own port, log and process group."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """The backend's own address, bypassing the load balancer."""
        return f"http://127.0.0.1:{self.port}"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group: reflex, its granian workers and the runtime they started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """A throwaway Redis on a free loopback port, nothing persisted; yields its URL; stops it on exit."""
    _require(REDIS_SERVER)
    port = free_port()
    cmd = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    cmd += ["--dir", str(tmp)]
    log = tmp / "redis.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"redis://127.0.0.1:{port}"
    try:
        with redis.Redis.from_url(url, socket_timeout=1) as client:
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"redis-server did not answer {url} (exit code {proc.poll()}):\n{log.read_text()}")
                    time.sleep(0.1)
        yield url
    finally:
        _stop([proc])


@contextlib.contextmanager
def load_balancer(tmp: Path, backends: list[int]) -> Iterator[int]:
    """nginx on a free loopback port, round robin over ``backends`` (ports), websockets included; yields its port.

    Page requests and Reflex's websockets (``/_event``) take turns separately, so successive tabs' websockets go to
    successive backends. A backend that refuses or does not answer a connection is skipped for the next one, and a
    long-lived websocket is left open. The access log, ``tmp/access.log``, names the backend (``upstream=``) of
    every request: a websocket's line, status 101, is written when it closes.
    """
    _require(NGINX)
    while (port := free_port()) in backends:
        pass
    conf = tmp / "nginx.conf"
    conf.write_text(_nginx_conf(tmp, port, backends))
    log = tmp / "nginx.log"
    cmd = [NGINX, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log"), "-g", "daemon off;"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not _accepts(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                errors = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                pytest.fail(f"nginx did not listen on {port} (exit code {proc.poll()}):\n{log.read_text()}{errors}")
            time.sleep(0.1)
        yield port
    finally:
        _stop([proc])


@contextlib.contextmanager
def serve_backends(
    log_dir: Path, n: int, redis_url: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, list[Backend]]]:
    """``n`` `reflex run --env prod` processes sharing Redis, behind one nginx; yields (its URL, the backends).

    The page is built to talk to the load balancer (``REFLEX_API_URL``), so its websocket and HTTP calls go through
    nginx wherever it was served from. Every process rebuilds the shared ``.web`` folder before it serves, so they
    start one after another: a build under way would pull the frontend from under workers still starting. With
    Redis each process runs several granian workers; ``env`` overrides that (``GRANIAN_WORKERS``) and the rest.
    On exit the backends are stopped, then the load balancer.
    """
    ports: list[int] = []
    while len(ports) < n:
        if (candidate := free_port()) not in ports:
            ports.append(candidate)
    with load_balancer(log_dir, ports) as lb_port:
        lb_url = f"http://127.0.0.1:{lb_port}"
        full_env = {**os.environ, **TEST_ENV, "REFLEX_REDIS_URL": redis_url, "REFLEX_API_URL": lb_url, **(env or {})}
        backends: list[Backend] = []
        try:
            for i, port in enumerate(ports):
                cmd = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-port", str(port)]
                log = log_dir / f"reflex-{i}.log"
                with log.open("wb") as out:
                    proc = subprocess.Popen(
                        cmd, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                    )
                backends.append(Backend(port, proc, log))
                wait_until_serving(proc, backends[-1].url, log)
            # The later builds replaced the frontend the earlier backends serve: check that they all still do.
            for backend in backends:
                wait_until_serving(backend.proc, backend.url, backend.log, timeout_s=30)
            yield lb_url, backends
        finally:
            _stop([backend.proc for backend in backends])


@contextlib.contextmanager
def serve_workers(log: Path, redis_url: str, workers: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """One `reflex run --env prod` with Redis and ``workers`` granian workers on its port; yields its URL."""
    with serve_prod(log, {"REFLEX_REDIS_URL": redis_url, "GRANIAN_WORKERS": str(workers), **(env or {})}) as url:
        yield url


def _nginx_conf(tmp: Path, port: int, backends: list[int]) -> str:
    """A self-contained nginx config: everything it writes under ``tmp``, no root paths."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in backends)
    # As root, nginx runs its workers as `nobody`, who cannot reach a pytest tmp folder (mode 0700).
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    return f"""\
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{
    worker_connections 1024;
}}
http {{
    log_format upstream '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                        'upstream=$upstream_addr rt=$request_time';
    access_log {tmp}/access.log upstream;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' close;
    }}
    # Two pools over the same backends, each with its own rotation: a page load fetches a fixed number of files,
    # so one shared rotation would put every tab's websocket on the same backend. Successive ones alternate here.
    upstream pages {{
{servers}
    }}
    upstream events {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 100m;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_buffering off;
        proxy_connect_timeout 2s;
        proxy_read_timeout 1h;
        proxy_send_timeout 1h;
        proxy_next_upstream error timeout http_502 http_503 http_504;
        location / {{
            proxy_pass http://pages;
        }}
        location /_event {{
            proxy_pass http://events;
        }}
    }}
}}
"""


def _accepts(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process group, wait up to ``STOP_TIMEOUT_S`` for its leader, then SIGKILL what is left of it."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the leader if it is stuck, and anything it left behind
        proc.wait()


def _require(binary: str) -> None:
    if not Path(binary).exists():
        pytest.fail(f"{binary} not found: run scripts/setup.sh --browser")
