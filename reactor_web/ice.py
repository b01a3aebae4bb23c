"""Which local addresses aiortc offers as ICE host candidates: the ``REACTOR_ICE_HOST_ADDRESSES`` setting.

aioice offers every interface address except loopback. ``REACTOR_ICE_HOST_ADDRESSES`` (a comma-separated
list of IP literals this host has, e.g. ``127.0.0.1``) replaces that list for the peer connections
reactor-web creates (the client, the relay, the runtime; ``_aiortc.PeerOptions.host_addresses``), never
for other aiortc peers in the process: use it to pin media to one interface in a container, or to
loopback in tests, where nothing must leave the machine.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable

import ifaddr

ENV_VAR = "REACTOR_ICE_HOST_ADDRESSES"


def local_addresses() -> set[str]:
    """Every IP address of this host's interfaces (loopback included), as aioice would name them."""
    found: set[str] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            found.add(ip.ip if isinstance(ip.ip, str) else ip.ip[0])
    return found


def validate_host_addresses(addresses: Iterable[str], name: str = ENV_VAR) -> tuple[str, ...]:
    """``addresses`` checked: non-empty, each an IP literal that one of this host's interfaces has.

    Raises ``ValueError`` naming ``name`` (the setting) and the bad entry: an address this host does not
    have would make every connection wait for media that can never arrive.
    """
    cleaned = tuple(a.strip() for a in addresses)
    if not cleaned or any(not a for a in cleaned):
        raise ValueError(f"{name}: expected comma-separated IP addresses of this host, got an empty entry")
    mine = local_addresses()
    for address in cleaned:
        try:
            canonical = str(ipaddress.ip_address(address))
        except ValueError:
            raise ValueError(f"{name}: {address!r} is not an IP address") from None
        if canonical not in mine:
            have = ", ".join(sorted(mine)) or "none"
            raise ValueError(f"{name}: {address} is not an address of this host (it has: {have})")
    return cleaned


def host_addresses_from_env(environ: dict[str, str] | None = None) -> tuple[str, ...] | None:
    """The validated setting, or None when it is unset or blank (aioice's own choice). Raises ``ValueError``."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR)
    if raw is None or raw == "":
        return None
    return validate_host_addresses(raw.split(","))
