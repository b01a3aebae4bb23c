"""The codec of each wire version (kept apart from :mod:`~reactor_web.protocol.codec`, which both import)."""

from __future__ import annotations

from reactor_web.protocol.codec import Codec
from reactor_web.protocol.codec_v0 import V0
from reactor_web.protocol.codec_v1 import V1
from reactor_web.protocol.messages import WireVersion


def codec_for(version: WireVersion) -> Codec:
    """The codec of ``version`` (codecs hold no state: one instance of each is shared)."""
    return V1 if version == "v1" else V0
