"""Settings of the embedded local runtime."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from reactor_web._aiortc import PeerOptions
from reactor_web.ice import host_addresses_from_env
from reactor_web.protocol.checks import check_int, check_listen_host, check_port, check_seconds
from reactor_web.protocol.constants import PING_TIMEOUT_S
from reactor_web.protocol.schemas import IceServer
from reactor_web.protocol.stamp import STAMP_WIDTH

#: ``REACTOR_RUNTIME_STAMP_FRAMES=1`` turns :attr:`RuntimeConfig.stamp_frames` on by default.
STAMP_FRAMES_ENV = "REACTOR_RUNTIME_STAMP_FRAMES"


def stamp_frames_from_env() -> bool:
    """``REACTOR_RUNTIME_STAMP_FRAMES``: ``1`` on, ``0`` or unset off; anything else is a ``ValueError``."""
    raw = os.environ.get(STAMP_FRAMES_ENV, "").strip()
    if raw not in ("", "0", "1"):
        raise ValueError(f"{STAMP_FRAMES_ENV} must be 1 or 0, not {raw!r}")
    return raw == "1"


@dataclass
class RuntimeConfig:
    """How the runtime listens, how many sessions it holds, and what its demo model renders."""

    host: str = "127.0.0.1"
    port: int = 8080
    max_sessions: int = 4
    width: int = 640
    height: int = 360
    fps: int = 30
    #: A session whose data channel has been silent (no runtime ``ping``) this long is released.
    ping_timeout_s: float = PING_TIMEOUT_S
    #: Time a session (or a fresh offer) gets to open its data channel before it is released.
    connect_timeout_s: float = 30.0
    #: Largest file a client may upload; a bigger slot request gets 413 ``UPLOAD_TOO_LARGE``.
    max_upload_bytes: int = 8 * 1024 * 1024
    #: A session keeps at most this many bytes of uploads: a new slot evicts the oldest uploads past it,
    #: so a long session that keeps swapping images cannot grow without bound.
    max_session_upload_bytes: int = 32 * 1024 * 1024
    model_name: str = "reactor-web-demo"
    model_version: str = "0.1.0"
    #: Returned by ``GET .../ice_servers`` and used by the runtime's own peer connections.
    ice_servers: list[IceServer] = field(default_factory=list)
    #: Draw the render time into every output frame (``protocol.stamp``) for latency benchmarks. The
    #: default comes from the environment so that a runtime started by other tooling can be switched on.
    stamp_frames: bool = field(default_factory=lambda: stamp_frames_from_env())
    #: The addresses the runtime's peers offer as ICE host candidates (None: every interface); the default
    #: is ``REACTOR_ICE_HOST_ADDRESSES`` (``ice.py``), validated.
    ice_host_addresses: tuple[str, ...] | None = field(default_factory=lambda: host_addresses_from_env())
    #: Shared by several backend workers: the runtime stops this many seconds after the last ``POST /lease``
    #: (each worker renews it while it runs; None: it runs until stopped).
    lease_s: float | None = None
    #: Release each received video frame on its RTP marker bit (``jitter.py``), for the runtime's peers only.
    low_latency_jitter_buffer: bool = True

    @property
    def peer_options(self) -> PeerOptions:
        """How the runtime's peer connections are configured (``_aiortc.PeerOptions``)."""
        return PeerOptions(self.low_latency_jitter_buffer, self.ice_host_addresses)

    def __post_init__(self) -> None:
        # Checked here so that a bad setting stops the runtime at startup, not each session at creation.
        check_listen_host("host", self.host)
        check_port("port", self.port)
        check_int("max_sessions", self.max_sessions, 1, 1000)
        check_int("width", self.width, 16, 7680)
        check_int("height", self.height, 16, 4320)
        check_int("fps", self.fps, 1, 120)
        check_seconds("ping_timeout_s", self.ping_timeout_s)
        check_seconds("connect_timeout_s", self.connect_timeout_s)
        if self.lease_s is not None:
            check_seconds("lease_s", self.lease_s)
        check_int("max_upload_bytes", self.max_upload_bytes, 1, 2**40)
        check_int("max_session_upload_bytes", self.max_session_upload_bytes, self.max_upload_bytes, 2**40)
        if not self.model_name.strip():
            raise ValueError("model_name must not be empty")
        if self.stamp_frames and self.width < STAMP_WIDTH:
            raise ValueError(f"stamped frames need a width of at least {STAMP_WIDTH} pixels, not {self.width}")
