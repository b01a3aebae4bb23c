"""``python -m reactor_web.runtime``: serve the embedded runtime with uvicorn."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.server import create_app


def parse_args(argv: list[str] | None = None) -> RuntimeConfig:
    defaults = RuntimeConfig()
    parser = argparse.ArgumentParser(prog="python -m reactor_web.runtime", description=__doc__)
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--max-sessions", type=int, default=defaults.max_sessions)
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--height", type=int, default=defaults.height)
    parser.add_argument("--fps", type=int, default=defaults.fps)
    parser.add_argument("--ping-timeout", type=float, default=defaults.ping_timeout_s, help="seconds")
    parser.add_argument("--model-name", default=defaults.model_name)
    parser.add_argument(
        "--max-upload-bytes", type=int, default=defaults.max_upload_bytes, help="largest file a client may upload"
    )
    parser.add_argument(
        "--max-session-upload-bytes",
        type=int,
        default=defaults.max_session_upload_bytes,
        help="uploads a session keeps; older ones are evicted past it",
    )
    parser.add_argument(
        "--stamp-frames",
        action=argparse.BooleanOptionalAction,
        default=defaults.stamp_frames,
        help="draw the render time into every frame (default: on when REACTOR_RUNTIME_STAMP_FRAMES=1)",
    )
    args = parser.parse_args(argv)
    return RuntimeConfig(
        host=args.host,
        port=args.port,
        max_sessions=args.max_sessions,
        width=args.width,
        height=args.height,
        fps=args.fps,
        ping_timeout_s=args.ping_timeout,
        model_name=args.model_name,
        max_upload_bytes=args.max_upload_bytes,
        max_session_upload_bytes=args.max_session_upload_bytes,
        stamp_frames=args.stamp_frames,
    )


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="info")


if __name__ == "__main__":
    main()
