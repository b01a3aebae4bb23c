"""Reactor's components for any Reflex app: ``ReactorState`` and the components, the React SDK's equivalents.

One call sets an app up (the model endpoint), then the components go anywhere on its pages::

    import reflex as rx
    import reactor_web.ui

    app = rx.App()
    reactor_web.ui.setup(app)

See the README's "Use it in your own Reflex app".
"""

from reactor_web.relay.tab import PUBLISH_MICROPHONE, PUBLISH_WEBCAM, publish_key
from reactor_web.relay.timeline import ConnectBreakdown
from reactor_web.ui.components import microphone, reactor_provider, reactor_view, recorder, webcam_stream
from reactor_web.ui.controller import reactor_controller
from reactor_web.ui.state import (
    CapabilitiesInfo,
    CommandInfo,
    ErrorInfo,
    MessageInfo,
    ReactorState,
    StatsInfo,
    TimingsInfo,
    TrackInfo,
)
from reactor_web.ui.stats_panel import stats_panel
from reactor_web.ui.upload import image_upload
from reactor_web.ui.wiring import setup

__all__ = [
    "PUBLISH_MICROPHONE",
    "PUBLISH_WEBCAM",
    "CapabilitiesInfo",
    "CommandInfo",
    "ConnectBreakdown",
    "ErrorInfo",
    "MessageInfo",
    "ReactorState",
    "StatsInfo",
    "TimingsInfo",
    "TrackInfo",
    "image_upload",
    "microphone",
    "publish_key",
    "reactor_controller",
    "reactor_provider",
    "reactor_view",
    "recorder",
    "setup",
    "stats_panel",
    "webcam_stream",
]
