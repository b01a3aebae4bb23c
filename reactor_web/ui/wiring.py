"""``setup(app)``: what an app calls once so that the components work (the model endpoint, the tabs' state)."""

from __future__ import annotations

import reflex as rx

from reactor_web.relay.registry import tabs
from reactor_web.ui.embedded import model_endpoint, use_app
from reactor_web.ui.state import pump


def setup(app: rx.App) -> rx.App:
    """Set a Reflex app up for the components: call once, after ``app = rx.App(...)``.

    Registers :func:`model_endpoint` as the app's lifespan task: with neither ``REACTOR_API_KEY`` nor
    ``REACTOR_RUNTIME_URL`` set, it starts the embedded runtime when the backend starts and stops it (and
    every tab's session) when the backend stops. Settings are read from the environment (README,
    "Settings"); a malformed one raises ``ValueError`` naming the variable when ``reactor_web.ui`` is
    imported. Returns ``app``.
    """
    use_app(app)
    tabs.set_pump(pump)
    app.register_lifespan_task(model_endpoint)
    return app
