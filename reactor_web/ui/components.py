"""Reflex components, the equivalents of the JS SDK's ``ReactorView`` and ``WebcamStream``, plus a microphone and
a clip recorder.

The JavaScript is in ``frontend/`` beside this module (one ES module per component, see
``reactor_web.ui.frontend``), shipped in the package. ``reactor_provider`` owns the tab's relay peer (one per page,
like the JS ``ReactorProvider``); the other components use it. Each component names the model tracks it uses (any
the model declares, video or audio); the relay negotiates those and every track the model declares, and offers
again when a component or a new session needs one it lacks.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.components.component import field
from reflex_base.event import passthrough_event_spec
from reflex_components_core.core.banner import has_connection_errors

from reactor_web.protocol.constants import MAIN_AUDIO_TRACK, MAIN_VIDEO_TRACK, MICROPHONE_TRACK, WEBCAM_TRACK
from reactor_web.ui.frontend import MODULES
from reactor_web.ui.settings import settings
from reactor_web.ui.state import ReactorState

#: The npm package Recorder.jsx imports (the Recorder writes the clip's duration into its WebM file with it).
FIX_WEBM_DURATION = "fix-webm-duration@1.0.6"


class ReactorProvider(rx.Component):
    """The JS SDK's ``ReactorProvider``: owns the tab's relay peer to the backend (mount once per page)."""

    # Each component's library is its own module: Reflex's shared assets, linked into the app's assets when
    # reactor_web.ui.frontend is imported (its docstring says how, and why every module is declared there).
    library = MODULES["ReactorProvider.jsx"]
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
    tracks: rx.Var[list[dict[str, str]] | None] = field(
        doc='The model\'s declared tracks [{"name", "kind", "direction"}] (ReactorState.declared_tracks): the relay '
        "negotiates them all."
    )
    on_offer: rx.EventHandler[passthrough_event_spec(str)] = field(  # type: ignore[type-arg,valid-type]
        doc="Receives the page's relay offer as JSON text (ReactorState.relay_offer)."
    )


class ReactorView(rx.Component):
    """The JS SDK's ``ReactorView``: the model's video, or the status text in its place."""

    library = MODULES["ReactorView.jsx"]
    tag = "ReactorView"

    status: rx.Var[str] = field(doc="The session status shown while there is no live video.")
    track: rx.Var[str] = field(doc=f'The model\'s video output to show (default "{MAIN_VIDEO_TRACK}").')
    audio_track: rx.Var[str | None] = field(
        doc=f'The model\'s audio output to play with it (e.g. "{MAIN_AUDIO_TRACK}"); None: no sound.'
    )
    muted: rx.Var[bool] = field(
        doc="Mute the audio. Unmuted, a browser refusing sound before a user gesture gets a 'Click to unmute'."
    )
    object_fit: rx.Var[str] = field(doc='CSS object-fit of the <video>: "contain", "cover", "fill"...')
    on_live_change: rx.EventHandler[passthrough_event_spec(bool)] = field(  # type: ignore[type-arg,valid-type]
        doc="Receives True when the view starts showing live video (ready, frames arriving), False when it stops."
    )


class WebcamStream(rx.Component):
    """The JS SDK's ``WebcamStream``: asks for the camera, previews it, sends it to the model while publishing."""

    library = MODULES["WebcamStream.jsx"]
    tag = "WebcamStream"

    track: rx.Var[str] = field(doc=f'The model\'s video input the camera is sent on (default "{WEBCAM_TRACK}").')
    audio: rx.Var[str | None] = field(
        doc=f'The model\'s audio input to send the microphone on with the camera (e.g. "{MICROPHONE_TRACK}"); '
        "None: no microphone."
    )
    publish: rx.Var[bool] = field(doc="Send the camera to the backend (ReactorState.webcam_publish).")
    publish_audio: rx.Var[bool] = field(doc="Send the microphone to the backend (ReactorState.microphone_publish).")
    video_constraints: rx.Var[dict[str, Any] | None] = field(
        doc="The getUserMedia video constraints, e.g. {'width': {'ideal': 640}}; None: ideal 1280x720."
    )
    show_webcam: rx.Var[bool] = field(doc="Show the preview; False hides it while the camera is still sent.")
    object_fit: rx.Var[str] = field(doc="CSS object-fit of the preview <video>.")
    on_camera_change: rx.EventHandler[passthrough_event_spec(str)] = field(  # type: ignore[type-arg,valid-type]
        doc='Receives the camera state: "starting", "on", "denied" or "error".'
    )


class Microphone(rx.Component):
    """The microphone (the JS SDK publishes one with ``publish(name, track)``): asks for it, shows its level, sends
    it to a model audio input while publishing."""

    library = MODULES["Microphone.jsx"]
    tag = "Microphone"

    track: rx.Var[str] = field(doc=f'The model\'s audio input it is sent on (default "{MICROPHONE_TRACK}").')
    publish: rx.Var[bool] = field(
        doc="Open the microphone and send it to the backend (ReactorState.microphone_publish); off: closed."
    )
    audio_constraints: rx.Var[dict[str, Any] | None] = field(
        doc="The getUserMedia audio constraints, e.g. {'echoCancellation': False}; None: the browser's defaults."
    )
    on_microphone_change: rx.EventHandler[passthrough_event_spec(str)] = field(  # type: ignore[type-arg,valid-type]
        doc='Receives the microphone state: "off", "starting", "on", "denied" or "error".'
    )


class Recorder(rx.Component):
    """A Record button: records the model's video (and audio) in the browser and downloads the clip (WebM)."""

    library = MODULES["Recorder.jsx"]
    tag = "Recorder"
    lib_dependencies: list[str] = [FIX_WEBM_DURATION]

    track: rx.Var[str] = field(doc=f'The model\'s video output to record (default "{MAIN_VIDEO_TRACK}").')
    audio_track: rx.Var[str | None] = field(doc="The model's audio output recorded with it; None: video only.")
    max_seconds: rx.Var[float] = field(doc="A recording stops by itself after this many seconds (default 300).")
    filename: rx.Var[str] = field(doc='The download\'s name before "-<time>.webm" (default "reactor-clip").')
    on_recording_change: rx.EventHandler[passthrough_event_spec(bool)] = field(  # type: ignore[type-arg,valid-type]
        doc="Receives True when a recording starts, False when it stops (its clip is then downloaded)."
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
        tracks=state.declared_tracks,
        on_offer=state.relay_offer,
        **props,
    )


def reactor_view(
    track: str = MAIN_VIDEO_TRACK,
    muted: bool | rx.Var[bool] = True,
    object_fit: str = "contain",
    *,
    audio_track: str | None = None,
    state: type[ReactorState] = ReactorState,
    **props: Any,
) -> rx.Component:
    """The model's video (JS SDK ``ReactorView``); until frames arrive, the status text in its place.

    Args:
        track: The model's video output to show (any the model declares; another name shows a message).
        muted: Mute its audio (a bool or a state var). Unmuted, when the browser refuses to play sound before a
            user gesture, the video plays muted and a "Click to unmute" button shows.
        audio_track: The model's audio output to play with it (``"main_audio"`` for the demo model); None: none.
        object_fit: CSS ``object-fit`` of the video (``"contain"``, ``"cover"``, ``"fill"``...).
        state: The ``ReactorState`` (sub)class whose ``status`` is shown.
        props: Other props (``id``, ``width``, ``style``...) for the wrapper ``<div>``, and
            ``on_live_change`` (an event handler taking a bool: the view shows live video or not).
    """
    return ReactorView.create(
        status=state.status, track=track, audio_track=audio_track, muted=muted, object_fit=object_fit, **props
    )


def webcam_stream(
    track: str = WEBCAM_TRACK,
    video_constraints: dict[str, Any] | None = None,
    show_webcam: bool = True,
    object_fit: str = "cover",
    *,
    audio: str | None = None,
    state: type[ReactorState] = ReactorState,
    **props: Any,
) -> rx.Component:
    """The user's camera (JS SDK ``WebcamStream``): asked for on mount, published while ready, stopped on unmount.

    Args:
        track: The model's video input it is sent on (a name the model does not take is refused beside the
            camera switch, ``refusals["publish:<track>"]``).
        audio: The model's audio input to send the microphone on too (``"microphone"`` for the demo model),
            while ``state.microphone_publish``; None: the microphone is not asked for.
        video_constraints: getUserMedia ``video`` constraints (None: ideal 1280x720).
        show_webcam: Show the preview; False hides it, and the camera is still sent.
        object_fit: CSS ``object-fit`` of the preview.
        state: The ``ReactorState`` (sub)class whose ``webcam_publish`` says whether to send it.
        props: Other props (``id``, ``width``, ``style``...) for the wrapper ``<div>``.
    """
    return WebcamStream.create(
        track=track,
        audio=audio,
        publish=state.webcam_publish,
        publish_audio=state.microphone_publish,
        video_constraints=video_constraints,
        show_webcam=show_webcam,
        object_fit=object_fit,
        on_camera_change=state.set_camera_state,
        **props,
    )


def microphone(
    track: str = MICROPHONE_TRACK,
    audio_constraints: dict[str, Any] | None = None,
    *,
    state: type[ReactorState] = ReactorState,
    **props: Any,
) -> rx.Component:
    """The user's microphone, with a level meter: opened (permission asked for) when ``state.microphone_publish``
    turns on (off by default), sent to the model's audio input ``track`` while ready, closed when it turns off or
    on unmount. A denied permission shows "Microphone access denied..." (``state.microphone_state`` is then
    ``"denied"``).

    Args:
        track: The model's audio input (a name the model does not take is refused: ``refusals["publish:<track>"]``).
        audio_constraints: getUserMedia ``audio`` constraints (None: the browser's defaults).
        state: The ``ReactorState`` (sub)class whose ``microphone_publish`` says whether to send it.
        props: Other props (``id``, ``width``, ``style``...) for the wrapper ``<div>``.
    """
    return Microphone.create(
        track=track,
        publish=state.microphone_publish,
        audio_constraints=audio_constraints,
        on_microphone_change=state.set_microphone_state,
        **props,
    )


def recorder(
    track: str = MAIN_VIDEO_TRACK,
    audio_track: str | None = None,
    max_seconds: float = 300,
    filename: str = "reactor-clip",
    **props: Any,
) -> rx.Component:
    """A Record button for the model's output: records in the browser (MediaRecorder on the relay's received
    tracks: no load on the backend, and the live view keeps every frame) until clicked again or ``max_seconds``,
    then downloads ``<filename>-<time>.webm`` (VP8, with Opus audio when ``audio_track`` is given).

    Args:
        track: The model's video output to record.
        audio_track: The model's audio output to record with it (``"main_audio"`` for the demo model); None: none.
        max_seconds: The longest clip, in seconds.
        filename: The downloaded file's name before the time stamp.
        props: Other props (``id``, ``style``..., ``on_recording_change``) for the wrapper ``<div>``.
    """
    return Recorder.create(track=track, audio_track=audio_track, max_seconds=max_seconds, filename=filename, **props)
