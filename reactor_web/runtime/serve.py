"""Run the runtime in-process, on the current event loop (tests, embedding)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from starlette.types import ASGIApp

from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.server import create_app


@contextlib.asynccontextmanager
async def serve_runtime(config: RuntimeConfig) -> AsyncIterator[str]:
    """Serve a fresh runtime app; yields its base URL (``port=0`` picks a free port).

    On exit the server stops and every session is closed (app lifespan shutdown).
    """
    async with serve_app(create_app(config), config.host, config.port) as url:
        yield url


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp, host: str, port: int) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on the current loop; yields its base URL once started."""
    # Binding here (not inside uvicorn) makes a busy port raise OSError to the caller instead of
    # uvicorn's sys.exit from within a task, and tells us the real port when port is 0.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("runtime server stopped during startup")
            await asyncio.sleep(0.01)
        yield f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
