"""Checks of the :class:`~reactor_web.client.Reactor` constructor's arguments: what cannot work is refused
at once, with a ``ValueError`` naming the argument, instead of failing (or hanging) at connect time."""

from __future__ import annotations

from typing import Any

from reactor_web.ice import validate_host_addresses
from reactor_web.protocol.checks import check_http_url, check_ice_urls, check_seconds
from reactor_web.protocol.schemas import IceServer

_FLOWS = ("auto", "flat", "connections")
_WIRES = ("auto", "v0")


def validate_reactor_arguments(
    *,
    model_name: object,
    api_url: object,
    ice_servers: object,
    signalling: object,
    peer_timeout_s: object,
    http_timeout_s: object,
    ready_timeout_s: object,
    peer_options: Any,
    wire: object = "auto",
) -> None:
    """Raise ``ValueError`` naming the first argument of ``Reactor(...)`` that cannot work."""
    if not isinstance(model_name, str) or not model_name.strip():
        raise ValueError("model_name is required: a non-empty string")
    if api_url is not None:
        check_http_url("api_url", api_url)
    if ice_servers is not None:
        if not isinstance(ice_servers, list) or not all(isinstance(s, IceServer) for s in ice_servers):
            raise ValueError("ice_servers must be a list of IceServer")
        for i, server in enumerate(ice_servers):
            check_ice_urls(f"ice_servers[{i}]", server.urls)
    if signalling not in _FLOWS:
        raise ValueError(f"signalling must be one of {', '.join(_FLOWS)}, not {signalling!r}")
    if wire not in _WIRES:
        raise ValueError(f"wire must be one of {', '.join(_WIRES)}, not {wire!r}")
    if peer_timeout_s is not None:
        check_seconds("peer_timeout_s", peer_timeout_s)
    check_seconds("http_timeout_s", http_timeout_s)
    if ready_timeout_s is not None:
        check_seconds("ready_timeout_s", ready_timeout_s)
    if peer_options is not None and peer_options.host_addresses is not None:
        validate_host_addresses(peer_options.host_addresses, "peer_options.host_addresses")
