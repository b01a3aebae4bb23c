"""Which local addresses aiortc offers as ICE host candidates.

aioice offers every interface address except loopback. ``REACTOR_ICE_HOST_ADDRESSES`` (a comma-separated
list, e.g. ``127.0.0.1``) replaces that list for both WebRTC legs: use it to pin media to one interface
in a container, or to loopback in tests, where nothing must leave the machine.
"""

from __future__ import annotations

import os

import aioice.ice

ENV_VAR = "REACTOR_ICE_HOST_ADDRESSES"
_original_get_host_addresses = aioice.ice.get_host_addresses


def apply_host_address_override() -> list[str] | None:
    """Install the override from the environment; returns the pinned addresses, or None when unset."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        aioice.ice.get_host_addresses = _original_get_host_addresses
        return None
    addresses = [a.strip() for a in raw.split(",") if a.strip()]

    def pinned(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = pinned
    return addresses
