"""Reflex components, the equivalents of the JS SDK's ``ReactorView`` and ``WebcamStream``.

The JavaScript is ``components.jsx`` beside this module, shipped in the package. ``reactor_provider`` owns
the tab's relay peer (one per page, like the JS ``ReactorProvider``); the other components use it.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.components.component import field
from reflex_base.event import passthrough_event_spec
from reflex_components_core.core.banner import has_connection_errors

from reactor_web.protocol.constants import MAIN_VIDEO_TRACK, WEBCAM_TRACK
from reactor_web.ui.settings import settings
from reactor_web.ui.state import ReactorState

#: Reflex's shared asset: at compile time it links components.jsx into the app's assets/external/ folder,
#: so any app that imports this module gets the JavaScript (see the README on why this form).
_LIBRARY = rx.asset("components.jsx", shared=True).importable_path


class ReactorProvider(rx.Component):
    """The JS SDK's ``ReactorProvider``: owns the tab's relay peer to the backend (mount once per page)."""

    library = _LIBRARY
    tag = "ReactorProvider"

    answer: rx.Var[str] = field(doc="The backend's answer to the page's relay offer (ReactorState.relay_answer).")
    ice_servers: rx.Var[list[dict[str, Any]]] = field(
        doc='ICE servers for the page ⇄ backend leg: [{"urls": [...], "username"?, "credential"?}].'
    )
    ice_transport_policy: rx.Var[str] = field(
        doc='The page\'s RTCPeerConnection iceTransportPolicy: "all", or "relay" (TURN candidates only).'
    )
    events_connected: rx.Var[bool] = field(
        doc="The page's Reflex websocket is up; while it is not, the relay heartbeat says so (see the README)."
    )
    on_offer: rx.EventHandler[passthrough_event_spec(str)] = field(  # type: ignore[type-arg,valid-type]
        doc="Receives the page's relay offer as JSON text (ReactorState.relay_offer)."
    )


class ReactorView(rx.Component):
    """The JS SDK's ``ReactorView``: the model's video, or the status text in its place."""

    library = _LIBRARY
    tag = "ReactorView"

    status: rx.Var[str] = field(doc="The session status shown while there is no live video.")
    track: rx.Var[str] = field(
        doc=f'The model track to show. The relay carries "{MAIN_VIDEO_TRACK}" only; another name shows a '
        "message in place of the video."
    )
    muted: rx.Var[bool] = field(doc="Mute the <video> element (autoplay needs it in most browsers).")
    object_fit: rx.Var[str] = field(doc='CSS object-fit of the <video>: "contain", "cover", "fill"...')
    on_live_change: rx.EventHandler[passthrough_event_spec(bool)] = field(  # type: ignore[type-arg,valid-type]
        doc="Receives True when the view starts showing live video (ready, frames arriving), False when it stops."
    )


class WebcamStream(rx.Component):
    """The JS SDK's ``WebcamStream``: asks for the camera, previews it, sends it to the model while publishing."""

    library = _LIBRARY
    tag = "WebcamStream"

    track: rx.Var[str] = field(
        doc=f'The model track the camera is sent on. The relay sends it as "{WEBCAM_TRACK}" only; another '
        "name sends nothing and shows a message."
    )
    publish: rx.Var[bool] = field(doc="Send the camera to the backend (ReactorState.webcam_publish).")
    video_constraints: rx.Var[dict[str, Any] | None] = field(
        doc="The getUserMedia video constraints, e.g. {'width': {'ideal': 640}}; None: ideal 1280x720."
    )
    show_webcam: rx.Var[bool] = field(doc="Show the preview; False hides it while the camera is still sent.")
    object_fit: rx.Var[str] = field(doc="CSS object-fit of the preview <video>.")
    on_camera_change: rx.EventHandler[passthrough_event_spec(str)] = field(  # type: ignore[type-arg,valid-type]
        doc='Receives the camera state: "starting", "on", "denied" or "error".'
    )


def reactor_provider(*children: rx.Component, state: type[ReactorState] = ReactorState, **props: Any) -> rx.Component:
    """Mount once per page: the tab's WebRTC link to the backend, which holds the model session.

    Args:
        children: The page; ``reactor_view()`` and ``webcam_stream()`` must be inside it.
        state: The ``ReactorState`` (sub)class whose ``relay_offer``/``relay_answer`` carry the signalling.
        props: Other props for the wrapper.
    """
    return ReactorProvider.create(
        *children,
        answer=state.relay_answer,
        ice_servers=settings.ice_servers,
        ice_transport_policy=settings.ice_transport_policy,
        events_connected=~has_connection_errors,
        on_offer=state.relay_offer,
        **props,
    )


def reactor_view(
    track: str = MAIN_VIDEO_TRACK,
    muted: bool = True,
    object_fit: str = "contain",
    *,
    state: type[ReactorState] = ReactorState,
    **props: Any,
) -> rx.Component:
    """The model's video (JS SDK ``ReactorView``); until frames arrive, the status text in its place.

    Args:
        track: The model track to show; the relay carries ``"main_video"`` only (another name shows a message).
        muted: Mute the video element.
        object_fit: CSS ``object-fit`` of the video (``"contain"``, ``"cover"``, ``"fill"``...).
        state: The ``ReactorState`` (sub)class whose ``status`` is shown.
        props: Other props (``id``, ``width``, ``style``...) for the wrapper ``<div>``, and
            ``on_live_change`` (an event handler taking a bool: the view shows live video or not).
    """
    return ReactorView.create(status=state.status, track=track, muted=muted, object_fit=object_fit, **props)


def webcam_stream(
    track: str = WEBCAM_TRACK,
    video_constraints: dict[str, Any] | None = None,
    show_webcam: bool = True,
    object_fit: str = "cover",
    *,
    state: type[ReactorState] = ReactorState,
    **props: Any,
) -> rx.Component:
    """The user's camera (JS SDK ``WebcamStream``): asked for on mount, published while ready, stopped on unmount.

    Args:
        track: The model track it is sent on; the relay sends ``"webcam"`` only (another name shows a message).
        video_constraints: getUserMedia ``video`` constraints (None: ideal 1280x720).
        show_webcam: Show the preview; False hides it, and the camera is still sent.
        object_fit: CSS ``object-fit`` of the preview.
        state: The ``ReactorState`` (sub)class whose ``webcam_publish`` says whether to send it.
        props: Other props (``id``, ``width``, ``style``...) for the wrapper ``<div>``.
    """
    return WebcamStream.create(
        track=track,
        publish=state.webcam_publish,
        video_constraints=video_constraints,
        show_webcam=show_webcam,
        object_fit=object_fit,
        on_camera_change=state.set_camera_state,
        **props,
    )
