"""Dashboard settings, read from the environment once when the backend starts (documented in the README).

Every variable is validated here: a value that cannot work (an address this host does not have, a URL
that is not http(s), an ICE server URL that is not stun:/turn:/turns:, a timeout that is not a positive
number, a flag that is not a yes/no word) stops the backend with a ``ValueError`` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCIceServer

from reactor_web._aiortc import rtc_ice_servers
from reactor_web._playout import ENV_VAR as PLAYOUT_DELAY_VAR
from reactor_web._playout import ZERO_PLAYOUT_DELAY, playout_delay_from_env
from reactor_web.client.stats import DEFAULT_PEER_TIMEOUT_S
from reactor_web.ice import ENV_VAR as ICE_HOST_ADDRESSES_VAR
from reactor_web.ice import host_addresses_from_env
from reactor_web.protocol.checks import check_http_url, check_seconds
from reactor_web.protocol.constants import DEFAULT_BASE_URL
from reactor_web.protocol.json_safe import JsonInputError, loads
from reactor_web.protocol.schemas import IceServer, ice_server_list, parse_ice_server_list
from reactor_web.relay.peer import DEFAULT_HEARTBEAT_TIMEOUT_S

DEFAULT_MODEL = "reactor-web-demo"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
#: ``REACTOR_ICE_TRANSPORT_POLICY``: the page's ``RTCPeerConnection`` ``iceTransportPolicy``.
ICE_TRANSPORT_POLICIES = ("all", "relay")
#: An ICE server list variable is small JSON; this bounds what is parsed.
_MAX_SETTING_BYTES = 65_536


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A yes/no variable: 1/true/yes/on or 0/false/no/off (any case); blank is the default."""
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be one of {', '.join(sorted(_TRUE | _FALSE))}, not {env[name]!r}")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive number of seconds, not {raw!r}") from None
    return check_seconds(name, value)


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    return check_http_url(name, raw) if raw else None


def parse_ice_servers(raw: str, variable: str = "REACTOR_ICE_SERVERS") -> list[IceServer]:
    """An ICE server list variable: a JSON list of ``{"urls": [...], "username"?, "credential"?}``, each
    URL stun:/turn:/turns:. Raises ``ValueError`` naming ``variable``.

    Put the TURN entry first: aiortc uses only the first STUN and the first TURN URL it is given.
    """
    if not raw.strip():
        return []
    try:
        servers = loads(raw, max_bytes=_MAX_SETTING_BYTES, what=variable)
    except JsonInputError as exc:
        raise ValueError(f"{variable} is not JSON: {exc}") from None
    return parse_ice_server_list(servers, variable)


def _ice_transport_policy(env: Mapping[str, str], ice_servers: list[IceServer]) -> str:
    """``REACTOR_ICE_TRANSPORT_POLICY``: ``all`` (default) or ``relay``; ``relay`` needs a TURN server."""
    name = "REACTOR_ICE_TRANSPORT_POLICY"
    policy = env.get(name, "").strip().lower() or "all"
    if policy not in ICE_TRANSPORT_POLICIES:
        raise ValueError(f"{name} must be one of {', '.join(ICE_TRANSPORT_POLICIES)}, not {env[name]!r}")
    if policy == "relay" and not any(u.startswith(("turn:", "turns:")) for s in ice_servers for u in s.urls):
        raise ValueError(f"{name}=relay needs a turn: or turns: server in REACTOR_ICE_SERVERS")
    return policy


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """The dashboard's settings; :meth:`from_env` reads and validates them."""

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
    #: Browser ⇄ backend ICE servers, in the browser's form (the same list is given to the page and to the
    #: backend's peer).
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    #: The page's ``iceTransportPolicy``: ``"relay"`` uses TURN candidates only (strict firewalls).
    ice_transport_policy: str = "all"
    #: Backend ⇄ GPU ICE servers; empty uses the ones the runtime or coordinator hands out.
    gpu_ice_servers: list[IceServer] = field(default_factory=list)
    #: ``REACTOR_ICE_HOST_ADDRESSES``: the host candidates of the backend's peers (None: every interface).
    ice_host_addresses: tuple[str, ...] | None = None
    #: ``REACTOR_PLAYOUT_DELAY_MS``: the playout delay (min, max ms) the relay asks the page's browser for; None:
    #: the browser's own.
    playout_delay_ms: tuple[int, int] | None = ZERO_PLAYOUT_DELAY
    heartbeat_timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S
    peer_timeout_s: float = DEFAULT_PEER_TIMEOUT_S

    @property
    def production(self) -> bool:
        """True when an API key is set (Reactor's coordinator, JWTs)."""
        return self.api_key is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DashboardSettings:
        """Read and validate every variable (``os.environ`` by default); ``ValueError`` names a bad one."""
        env = os.environ if environ is None else environ
        api_key = env.get("REACTOR_API_KEY", "").strip() or None
        runtime_url = _url(env, "REACTOR_RUNTIME_URL")
        if api_key is not None and runtime_url is not None:
            raise ValueError(
                "REACTOR_API_KEY (production: Reactor's coordinator) and REACTOR_RUNTIME_URL (local mode) "
                "are both set: unset one"
            )
        model_name = env.get("REACTOR_MODEL", DEFAULT_MODEL).strip()
        if not model_name:
            raise ValueError("REACTOR_MODEL must not be empty (unset it for the demo model)")
        ice_servers = parse_ice_servers(env.get("REACTOR_ICE_SERVERS", ""))
        return cls(
            model_name=model_name,
            api_key=api_key,
            api_url=_url(env, "REACTOR_API_URL") or DEFAULT_BASE_URL,
            runtime_url=runtime_url,
            auto_connect=_flag(env, "REACTOR_AUTO_CONNECT"),
            auto_retry=_flag(env, "REACTOR_AUTO_RETRY"),
            ice_servers=ice_server_list(ice_servers),
            ice_transport_policy=_ice_transport_policy(env, ice_servers),
            gpu_ice_servers=parse_ice_servers(env.get("REACTOR_GPU_ICE_SERVERS", ""), "REACTOR_GPU_ICE_SERVERS"),
            ice_host_addresses=host_addresses_from_env({ICE_HOST_ADDRESSES_VAR: env.get(ICE_HOST_ADDRESSES_VAR, "")}),
            playout_delay_ms=playout_delay_from_env({PLAYOUT_DELAY_VAR: env.get(PLAYOUT_DELAY_VAR, "")}),
            heartbeat_timeout_s=_seconds(env, "REACTOR_HEARTBEAT_TIMEOUT_S", DEFAULT_HEARTBEAT_TIMEOUT_S),
            peer_timeout_s=_seconds(env, "REACTOR_PEER_TIMEOUT_S", DEFAULT_PEER_TIMEOUT_S),
        )

    def rtc_ice_servers(self) -> list[RTCIceServer]:
        """The browser-leg ICE servers for the backend's aiortc peer."""
        return rtc_ice_servers(parse_ice_server_list(self.ice_servers, "ice_servers"))

    def gpu_ice_override(self) -> list[IceServer] | None:
        """The GPU-leg ICE servers that replace the runtime's, or None to use the runtime's."""
        return list(self.gpu_ice_servers) or None


settings = DashboardSettings.from_env()
