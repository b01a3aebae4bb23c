"""Checks of settings and arguments, shared by the client, the dashboard settings and the runtime's options.

Each raises ``ValueError`` with a message that starts with ``name`` (the setting, option or argument), so
that a process refusing a value at start says which one.
"""

from __future__ import annotations

import ipaddress
import math
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

#: ICE server URL schemes aiortc understands (RFC 7064/7065).
ICE_URL_SCHEMES = ("stun", "turn", "turns")


def check_int(name: str, value: object, low: int, high: int) -> int:
    """``value`` if it is an integer (not a bool) in ``[low, high]``."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, not {value!r}")
    return value


def check_port(name: str, value: object) -> int:
    """A TCP port to listen on: 0 (any free port) to 65535."""
    return check_int(name, value, 0, 65_535)


def check_seconds(name: str, value: object) -> float:
    """``value`` if it is a positive, finite number (of seconds)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def check_listen_host(name: str, value: object) -> str:
    """An address to listen on: an IP literal (``0.0.0.0`` for every interface) or a name this machine resolves."""
    if isinstance(value, str) and value.strip():
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            try:
                socket.getaddrinfo(value, None)
                return value
            except OSError:
                pass
    raise ValueError(f"{name} must be an IP address or a host name this machine resolves, not {value!r}")


def check_http_url(name: str, value: object) -> str:
    """``value`` if it is an absolute http:// or https:// URL with a host."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an http(s) URL, not {value!r}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        raise ValueError(f"{name} must be an http(s) URL, not {value!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL such as http://127.0.0.1:8080, not {value!r}")
    return value


def check_ice_urls(name: str, urls: Iterable[object]) -> list[str]:
    """The URLs of one ICE server: non-empty strings starting ``stun:``, ``turn:`` or ``turns:``."""
    checked = []
    for url in urls:
        scheme = url.split(":", 1)[0].lower() if isinstance(url, str) and ":" in url else ""
        if scheme not in ICE_URL_SCHEMES or not url[len(scheme) + 1 :].strip():  # type: ignore[index]
            raise ValueError(f"{name}: {url!r} is not a stun:, turn: or turns: URL")
        checked.append(url)
    if not checked:
        raise ValueError(f"{name}: an ICE server needs at least one URL")
    return checked  # type: ignore[return-value]
