"""reactor-web: Reactor's realtime AI video in a Reflex web app, from Python.

``from reactor_web import Reactor, fetch_jwt, FileRef, ...``: the client's public names are re-exported
here on first use, so that importing the package (as the runtime and the coordinator do) does not pull
in the client and aiortc.
"""

from __future__ import annotations

import importlib
from typing import Any

from reactor_web.protocol.schemas import FileRef

_CLIENT_EXPORTS = frozenset(
    {
        "ConnectionStats",
        "ConnectionTimings",
        "ErrorCode",
        "IceServer",
        "Reactor",
        "ReactorError",
        "ReceivedTrack",
        "TokenProvider",
        "fetch_insecure_jwt_token",
        "fetch_jwt",
        "jwt_expiry",
    }
)

__all__ = ["FileRef", *sorted(_CLIENT_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _CLIENT_EXPORTS:
        return getattr(importlib.import_module("reactor_web.client"), name)
    raise AttributeError(f"module 'reactor_web' has no attribute {name!r}")
