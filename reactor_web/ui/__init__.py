"""Reflex state and components of reactor-web."""

from reactor_web.ui.components import reactor_provider, reactor_view, webcam_stream
from reactor_web.ui.state import ReactorState

__all__ = ["ReactorState", "reactor_provider", "reactor_view", "webcam_stream"]
