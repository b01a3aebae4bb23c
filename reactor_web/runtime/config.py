"""Settings of the embedded local runtime."""

from __future__ import annotations

from dataclasses import dataclass, field

from reactor_web.protocol.schemas import IceServer


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
    ping_timeout_s: float = 20.0
    #: Time a session (or a fresh offer) gets to open its data channel before it is released.
    connect_timeout_s: float = 30.0
    max_upload_bytes: int = 8 * 1024 * 1024
    model_name: str = "reactor-web-demo"
    model_version: str = "0.1.0"
    #: Returned by ``GET .../ice_servers`` and used by the runtime's own peer connections.
    ice_servers: list[IceServer] = field(default_factory=list)
