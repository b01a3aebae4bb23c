"""Reflex components, the equivalents of the JS SDK's ``ReactorView`` and ``WebcamStream``.

The JavaScript is ``components.jsx`` beside this module, shipped in the package. ``reactor_provider`` owns
the tab's relay peer (one per page, like the JS ``ReactorProvider``); the other components use it.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.event import passthrough_event_spec

from reactor_web.ui.settings import settings
from reactor_web.ui.state import ReactorState

#: Reflex's shared asset: at compile time it links components.jsx into the app's assets/external/ folder,
#: so any app that imports this module gets the JavaScript (see the README on why this form).
_LIBRARY = rx.asset("components.jsx", shared=True).importable_path


class ReactorProvider(rx.Component):
    library = _LIBRARY
    tag = "ReactorProvider"

    answer: rx.Var[str]
    ice_servers: rx.Var[list[dict[str, Any]]]
    on_offer: rx.EventHandler[passthrough_event_spec(str)]  # type: ignore[type-arg,valid-type]


class ReactorView(rx.Component):
    library = _LIBRARY
    tag = "ReactorView"

    status: rx.Var[str]
    track: rx.Var[str]
    audio_track: rx.Var[str | None]
    muted: rx.Var[bool]
    object_fit: rx.Var[str]


class WebcamStream(rx.Component):
    library = _LIBRARY
    tag = "WebcamStream"

    track: rx.Var[str]
    publish: rx.Var[bool]
    video_constraints: rx.Var[dict[str, Any] | None]
    show_webcam: rx.Var[bool]
    object_fit: rx.Var[str]
    on_camera_change: rx.EventHandler[passthrough_event_spec(str)]  # type: ignore[type-arg,valid-type]


def reactor_provider(*children: rx.Component, state: type[ReactorState] = ReactorState, **props: Any) -> rx.Component:
    """Mount once per page: the tab's WebRTC link to the backend, which holds the model session."""
    return ReactorProvider.create(
        *children,
        answer=state.relay_answer,
        ice_servers=settings.ice_servers,
        on_offer=state.relay_offer,
        **props,
    )


def reactor_view(
    track: str = "main_video",
    audio_track: str | None = None,
    muted: bool = True,
    object_fit: str = "contain",
    *,
    state: type[ReactorState] = ReactorState,
    **props: Any,
) -> rx.Component:
    """The model's video; while there is none, the status text in its place."""
    return ReactorView.create(
        status=state.status, track=track, audio_track=audio_track, muted=muted, object_fit=object_fit, **props
    )


def webcam_stream(
    track: str = "webcam",
    video_constraints: dict[str, Any] | None = None,
    show_webcam: bool = True,
    object_fit: str = "cover",
    *,
    state: type[ReactorState] = ReactorState,
    **props: Any,
) -> rx.Component:
    """The user's camera: asked for on mount, published to the model while ready, stopped on unmount."""
    return WebcamStream.create(
        track=track,
        publish=state.webcam_publish,
        video_constraints=video_constraints,
        show_webcam=show_webcam,
        object_fit=object_fit,
        on_camera_change=state.set_camera_state,
        **props,
    )
