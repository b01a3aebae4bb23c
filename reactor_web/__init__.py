"""reactor-web: Reactor's realtime AI video in a Reflex web app, from Python."""

from reactor_web.protocol.schemas import FileRef

__all__ = ["FileRef"]
