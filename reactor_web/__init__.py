"""reactor-web: Reactor's realtime AI video in a Reflex web app, from Python.

Three public modules (README, "Public API"); everything else is internal:

* ``reactor_web``: the client, without Reflex: ``from reactor_web import Reactor, ReactorError, fetch_jwt``.
  Its names are loaded on first use, so that importing the package (as the runtime and the coordinator do)
  does not pull in the client and aiortc.
* ``reactor_web.ui``: ``ReactorState`` and the components for any Reflex app, and ``setup(app)``.
* ``reactor_web.runtime``: the embedded local runtime and its demo model.
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
        "PeerOptions",
        "Reactor",
        "ReactorError",
        "ReceivedTrack",
        "RefusalError",
        "ResumePoint",
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
