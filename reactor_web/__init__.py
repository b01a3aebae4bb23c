"""reactor-web: Reactor's realtime AI video in a Reflex web app, from Python."""

from __future__ import annotations

from typing import Any

#: Re-exported from ``reactor_web.client`` on first use: importing the package (as the runtime and the
#: coordinator do) must not pull in the client and aiortc.
_CLIENT_EXPORTS = frozenset({"fetch_jwt", "fetch_insecure_jwt_token"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT_EXPORTS:
        from reactor_web.client import auth

        return getattr(auth, name)
    raise AttributeError(f"module 'reactor_web' has no attribute {name!r}")
