"""Dashboard settings, read from the environment (documented in the README)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCIceServer

from reactor_web.protocol.constants import DEFAULT_BASE_URL
from reactor_web.protocol.schemas import IceServer

DEFAULT_MODEL = "reactor-web-demo"


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def parse_ice_servers(raw: str, variable: str = "REACTOR_ICE_SERVERS") -> list[dict[str, Any]]:
    """An ICE server list variable: a JSON list of ``{"urls": [...], "username"?, "credential"?}``.

    Put the TURN entry first: aiortc uses only the first STUN and the first TURN URL it is given.
    """
    if not raw.strip():
        return []
    try:
        servers = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{variable} is not JSON: {exc}") from None
    if not isinstance(servers, list) or not all(isinstance(s, dict) and "urls" in s for s in servers):
        raise ValueError(f'{variable} must be a JSON list of {{"urls": [...], ...}} objects')
    return servers


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    model_name: str = DEFAULT_MODEL
    #: Production mode: the key the backend trades for JWTs. Never sent to a browser.
    api_key: str | None = field(default=None, repr=False)
    #: The production coordinator (Reactor's, or ``python -m reactor_web.runtime --coordinator``).
    api_url: str = DEFAULT_BASE_URL
    #: A running local runtime (reactor-runtime or ours); None starts the embedded one (local mode).
    runtime_url: str | None = None
    auto_connect: bool = False
    #: Retry by itself after a recoverable failure (each tab can switch it).
    auto_retry: bool = False
    #: Browser ⇄ backend ICE servers (the same list is given to the page and to the backend's peer).
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    #: Backend ⇄ GPU ICE servers; empty uses the ones the runtime or coordinator hands out.
    gpu_ice_servers: list[dict[str, Any]] = field(default_factory=list)
    heartbeat_timeout_s: float = 5.0
    peer_timeout_s: float = 15.0

    @property
    def production(self) -> bool:
        return self.api_key is not None

    @classmethod
    def from_env(cls) -> DashboardSettings:
        api_key = os.environ.get("REACTOR_API_KEY", "").strip() or None
        runtime_url = os.environ.get("REACTOR_RUNTIME_URL") or None
        if api_key is not None and runtime_url is not None:
            raise ValueError(
                "REACTOR_API_KEY (production: Reactor's coordinator) and REACTOR_RUNTIME_URL (local mode) "
                "are both set: unset one"
            )
        return cls(
            model_name=os.environ.get("REACTOR_MODEL", DEFAULT_MODEL),
            api_key=api_key,
            api_url=os.environ.get("REACTOR_API_URL") or DEFAULT_BASE_URL,
            runtime_url=runtime_url,
            auto_connect=_flag("REACTOR_AUTO_CONNECT"),
            auto_retry=_flag("REACTOR_AUTO_RETRY"),
            ice_servers=parse_ice_servers(os.environ.get("REACTOR_ICE_SERVERS", "")),
            gpu_ice_servers=parse_ice_servers(os.environ.get("REACTOR_GPU_ICE_SERVERS", ""), "REACTOR_GPU_ICE_SERVERS"),
            heartbeat_timeout_s=float(os.environ.get("REACTOR_HEARTBEAT_TIMEOUT_S", "5")),
            peer_timeout_s=float(os.environ.get("REACTOR_PEER_TIMEOUT_S", "15")),
        )

    def rtc_ice_servers(self) -> list[RTCIceServer]:
        return [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in self.ice_servers
        ]

    def gpu_ice_override(self) -> list[IceServer] | None:
        if not self.gpu_ice_servers:
            return None
        return [IceServer(_as_list(s["urls"]), s.get("username"), s.get("credential")) for s in self.gpu_ice_servers]


def _as_list(urls: str | list[str]) -> list[str]:
    return [urls] if isinstance(urls, str) else list(urls)


settings = DashboardSettings.from_env()
