"""Python Reactor client: a port of the JS SDK 2.9 ``Reactor`` on asyncio, httpx and aiortc.

Imports nothing from Reflex. See ``reactor.py`` for the status machine and ``tracks.py`` for how
received media is consumed.
"""

from reactor_web._aiortc import PeerOptions
from reactor_web.client.auth import fetch_insecure_jwt_token, fetch_jwt, jwt_expiry
from reactor_web.client.errors import ErrorCode, ReactorError, RefusalError
from reactor_web.client.events import ALIASES, EVENTS
from reactor_web.client.reactor import Reactor
from reactor_web.client.signalling import ResumePoint
from reactor_web.client.stats import ConnectionStats, ConnectionTimings
from reactor_web.client.token import TokenProvider
from reactor_web.client.tracks import ReceivedTrack
from reactor_web.protocol.schemas import FileRef, IceServer

__all__ = [
    "ALIASES",
    "EVENTS",
    "ConnectionStats",
    "ConnectionTimings",
    "ErrorCode",
    "FileRef",
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
]
