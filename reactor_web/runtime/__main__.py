"""``python -m reactor_web.runtime``: serve the embedded runtime with uvicorn.

With ``--coordinator`` it serves the production-coordinator emulation instead: tokens from API keys,
a waiting line, and ``--gpus`` worker runtimes (which get the model options given here).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets

import uvicorn

from reactor_web.runtime.config import STAMP_FRAMES_ENV, RuntimeConfig, stamp_frames_from_env
from reactor_web.runtime.coordinator import CoordinatorConfig, create_coordinator_app
from reactor_web.runtime.server import create_app

log = logging.getLogger("reactor_web.runtime")

#: API keys for ``--coordinator`` when no ``--api-key`` is given (comma-separated).
API_KEYS_ENV = "REACTOR_COORDINATOR_API_KEYS"


def build_parser() -> argparse.ArgumentParser:
    """The command line; defaults are the configs' own (read without building one, which validates)."""
    defaults, coordinator = RuntimeConfig, CoordinatorConfig
    parser = argparse.ArgumentParser(prog="python -m reactor_web.runtime", description=__doc__)
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument(
        "--port", type=int, default=None, help=f"{defaults.port}, or {coordinator.port} with --coordinator"
    )
    parser.add_argument("--max-sessions", type=int, default=defaults.max_sessions)
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--height", type=int, default=defaults.height)
    parser.add_argument("--fps", type=int, default=defaults.fps)
    parser.add_argument("--ping-timeout", type=float, default=defaults.ping_timeout_s, help="seconds")
    parser.add_argument(
        "--lease", type=float, default=None, help="stop this many seconds after the last POST /lease (shared runtime)"
    )
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
        default=None,
        help=f"draw the render time into every frame (default: on when {STAMP_FRAMES_ENV}=1)",
    )
    group = parser.add_argument_group("coordinator emulation")
    group.add_argument("--coordinator", action="store_true", help="serve the production-coordinator emulation")
    group.add_argument("--gpus", type=int, default=coordinator.gpus, help="GPU worker processes")
    group.add_argument(
        "--api-key", action="append", default=[], help=f"accepted API key (repeatable; else ${API_KEYS_ENV})"
    )
    group.add_argument("--max-sessions-per-key", type=int, default=coordinator.max_sessions_per_key)
    group.add_argument("--token-ttl-s", type=int, default=coordinator.token_ttl_s)
    return parser


def runtime_config(args: argparse.Namespace) -> RuntimeConfig:
    return RuntimeConfig(
        host=args.host,
        port=args.port if args.port is not None else RuntimeConfig.port,
        max_sessions=args.max_sessions,
        width=args.width,
        height=args.height,
        fps=args.fps,
        ping_timeout_s=args.ping_timeout,
        lease_s=args.lease,
        model_name=args.model_name,
        max_upload_bytes=args.max_upload_bytes,
        max_session_upload_bytes=args.max_session_upload_bytes,
        stamp_frames=_stamp_frames(args),
    )


def _stamp_frames(args: argparse.Namespace) -> bool:
    return stamp_frames_from_env() if args.stamp_frames is None else bool(args.stamp_frames)


def coordinator_config(args: argparse.Namespace) -> CoordinatorConfig:
    keys = args.api_key or [k.strip() for k in os.environ.get(API_KEYS_ENV, "").split(",") if k.strip()]
    if not keys:
        keys = [f"rk_local_{secrets.token_urlsafe(18)}"]
        log.warning("no --api-key given: generated %s", keys[0])
    worker_args = ["--width", str(args.width), "--height", str(args.height), "--fps", str(args.fps)]
    worker_args += ["--ping-timeout", str(args.ping_timeout), "--model-name", args.model_name]
    worker_args += ["--max-upload-bytes", str(args.max_upload_bytes)]
    worker_args += ["--max-session-upload-bytes", str(args.max_session_upload_bytes)]
    worker_args += ["--stamp-frames" if _stamp_frames(args) else "--no-stamp-frames"]
    return CoordinatorConfig(
        host=args.host,
        port=args.port if args.port is not None else CoordinatorConfig.port,
        gpus=args.gpus,
        api_keys=keys,
        max_sessions_per_key=args.max_sessions_per_key,
        token_ttl_s=args.token_ttl_s,
        model_name=args.model_name,
        worker_args=worker_args,
    )


#: Option names as the command line spells them, for the config fields they set.
_OPTION_OF_FIELD = {
    "host": "--host",
    "port": "--port",
    "max_sessions": "--max-sessions",
    "width": "--width",
    "height": "--height",
    "fps": "--fps",
    "ping_timeout_s": "--ping-timeout",
    "lease_s": "--lease",
    "model_name": "--model-name",
    "max_upload_bytes": "--max-upload-bytes",
    "max_session_upload_bytes": "--max-session-upload-bytes",
    "gpus": "--gpus",
    "max_sessions_per_key": "--max-sessions-per-key",
    "token_ttl_s": "--token-ttl-s",
    "api_keys": "--api-key",
    "stamped frames": "--stamp-frames/--width",
}


def _name_option(message: str) -> str:
    """A config error with the field replaced by the option that set it (``width`` → ``--width``)."""
    field_name = next((f for f in _OPTION_OF_FIELD if message.startswith(f + " ")), None)
    return message if field_name is None else _OPTION_OF_FIELD[field_name] + message[len(field_name) :]


def main(argv: list[str] | None = None) -> None:
    """Parse the options, validate them (a bad one exits with status 2 and a message naming it), serve."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.coordinator:
            config: RuntimeConfig | CoordinatorConfig = coordinator_config(args)
            runtime_config(args)  # the workers' options: refused here rather than in every worker
        else:
            config = runtime_config(args)
    except ValueError as exc:
        parser.error(_name_option(str(exc)))
    app = create_coordinator_app(config) if isinstance(config, CoordinatorConfig) else create_app(config)
    uvicorn.run(app, host=config.host, port=config.port, log_level="info")


if __name__ == "__main__":
    main()
