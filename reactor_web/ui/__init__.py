"""Reflex state and components of reactor-web."""

from reactor_web.ui.components import reactor_provider, reactor_view, webcam_stream
from reactor_web.ui.controller import reactor_controller
from reactor_web.ui.state import ReactorState
from reactor_web.ui.stats_panel import stats_panel
from reactor_web.ui.upload import image_upload

__all__ = [
    "ReactorState",
    "image_upload",
    "reactor_controller",
    "reactor_provider",
    "reactor_view",
    "stats_panel",
    "webcam_stream",
]
