"""The reactor-web dashboard: the seed guide's "Complete React Example", on Reflex."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_components_core.core.banner import has_connection_errors

import reactor_web.ui
from reactor_web.ui import (
    PUBLISH_MICROPHONE,
    PUBLISH_WEBCAM,
    ReactorState,
    image_upload,
    microphone,
    reactor_controller,
    reactor_provider,
    reactor_view,
    recorder,
    stats_panel,
    webcam_stream,
)

STATUS_COLOURS = {
    "disconnected": "gray",
    "connecting": "amber",
    "waiting": "amber",
    "reconnecting": "amber",
    "ready": "grass",
}


class DashboardState(ReactorState):
    """The dashboard's own fields beside the session's: the brightness slider and whether video is live."""

    brightness: int = 50
    #: The view shows live video (frames arriving), as the view reports it.
    video_live: bool = False
    #: Play the model's audio with its video.
    sound: bool = True

    @rx.event
    def set_sound(self, sound: bool) -> None:
        """The Sound switch."""
        self.sound = sound

    @rx.var
    def muted(self) -> bool:
        """The main view's ``muted``: the Sound switch is off."""
        return not self.sound

    @rx.var
    def model_hears(self) -> str:
        """What the model reports of the microphone (its ``state_update``'s ``mic_level`` and ``mic_pitch_hz``)."""
        level, pitch = self.model_state.get("mic_level"), self.model_state.get("mic_pitch_hz")
        if not isinstance(level, int | float) or isinstance(level, bool):
            return "The model reports no microphone level."
        heard = f"The model hears level {level:.2f}"
        return f"{heard} at {pitch:.0f} Hz" if isinstance(pitch, int | float) and pitch else heard

    @rx.event
    def set_video_live(self, live: bool) -> None:
        """The view's ``on_live_change``: True while decoded frames arrive."""
        self.video_live = live

    @rx.var
    def model_brightness(self) -> int:
        """The brightness the model reports (its ``state_update``), else the last one chosen here."""
        value = self.model_state.get("brightness")
        return value if isinstance(value, int) and not isinstance(value, bool) else self.brightness

    @rx.event
    async def set_brightness(self, value: list[int | float]) -> None:
        """The slider moved: ``value`` is its ``[number]``; anything else from the page is ignored."""
        try:
            self.brightness = int(value[0])
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        await self.send_command("set_brightness", {"value": self.brightness})


def refusal(key: str, element_id: str) -> rx.Component:
    """The model's refusal of what the component beside it sent (``key``: a command, or ``PUBLISH_WEBCAM``)."""
    text = ReactorState.refusals.get(key, "")
    return rx.cond(text != "", rx.text(text, size="1", color_scheme="red", id=element_id))


def status_badge() -> rx.Component:
    # While the page's websocket to the backend is down (a network blip) the last status it got is stale, and
    # the backend keeps the session for the heartbeat grace period: say "reconnecting" until the socket is back.
    # Clicks meanwhile are queued by Reflex and sent once on reconnect.
    shown = rx.cond(has_connection_errors, "reconnecting", ReactorState.status)
    busy = (shown == "connecting") | (shown == "waiting") | (shown == "reconnecting")
    return rx.badge(
        rx.cond(busy, rx.spinner(size="1")),
        rx.text("Status: ", shown, id="status-text"),
        color_scheme=rx.match(
            shown,
            *((status, colour) for status, colour in STATUS_COLOURS.items()),
            "gray",
        ),
        size="3",
        variant="soft",
        id="status-badge",
    )


def video_state() -> rx.Component:
    """Beside the badge while the session is ready but no video reaches the page yet."""
    return rx.cond(
        (ReactorState.status == "ready") & ~DashboardState.video_live,
        rx.text("waiting for video", size="2", color_scheme="amber", id="video-waiting"),
    )


def controls() -> rx.Component:
    return rx.hstack(
        rx.cond(
            ReactorState.status == "disconnected",
            rx.button("Connect", on_click=ReactorState.connect_at(rx.Var("Date.now()")), id="connect-button"),
            rx.button(
                "Disconnect",
                on_click=ReactorState.disconnect,
                color_scheme="red",
                variant="soft",
                id="disconnect-button",
            ),
        ),
        rx.cond(
            ReactorState.status == "ready",
            rx.button(
                "Send Command",
                on_click=ReactorState.send_command("ping", {}),
                variant="outline",
                id="send-command-button",
            ),
        ),
        refusal("ping", "send-command-error"),
        spacing="3",
        align="center",
    )


def error_callout() -> rx.Component:
    """``<code>: <message>``; a recoverable error also shows its retry countdown and a Retry button."""
    retry_controls = rx.hstack(
        rx.cond(ReactorState.retry_text != "", rx.text(ReactorState.retry_text, size="2", id="retry-text")),
        rx.button(
            "Retry now",
            on_click=ReactorState.retry_now,
            size="1",
            variant="soft",
            color_scheme="red",
            disabled=(ReactorState.retry_text != "") & ~ReactorState.auto_retry,
            id="retry-button",
        ),
        align="center",
        spacing="3",
    )
    return rx.cond(
        ReactorState.error_text != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle_alert")),
            rx.callout.text(ReactorState.error_text, id="error-text"),
            rx.cond(ReactorState.error_recoverable & (ReactorState.status == "disconnected"), retry_controls),
            color_scheme="red",
            id="error-callout",
        ),
    )


def waiting_notice() -> rx.Component:
    return rx.cond(
        ReactorState.status == "waiting",
        rx.callout(ReactorState.waiting_text, icon="hourglass", color_scheme="amber", id="waiting-text"),
    )


def auto_retry_switch() -> rx.Component:
    return rx.hstack(
        rx.text("Auto-retry", size="2"),
        rx.switch(checked=ReactorState.auto_retry, on_change=ReactorState.set_auto_retry, id="auto-retry"),
        align="center",
        spacing="2",
    )


def brightness_control() -> rx.Component:
    return rx.vstack(
        rx.text("Brightness: ", DashboardState.model_brightness, size="2", weight="medium", id="brightness-text"),
        rx.slider(
            default_value=[50],
            min=0,
            max=100,
            step=1,
            on_value_commit=DashboardState.set_brightness,
            disabled=ReactorState.status != "ready",
            id="brightness-slider",
        ),
        refusal("set_brightness", "brightness-error"),
        width="100%",
        spacing="2",
    )


def publish_panel(
    title: str, checked: bool | rx.Var[bool], on_change: Any, switch_id: str, refusal_key: str, *body: rx.Component
) -> rx.Component:
    """A device and its Publish switch, with the model's refusal of it (``refusal_key``) between them."""
    return rx.vstack(
        rx.hstack(
            rx.text(title, weight="bold"),
            rx.spacer(),
            rx.text("Publish", size="2"),
            rx.switch(checked=checked, on_change=on_change, id=switch_id),
            width="100%",
            align="center",
        ),
        refusal(refusal_key, f"{switch_id}-error"),
        *body,
        width="100%",
    )


def webcam_panel() -> rx.Component:
    return publish_panel(
        "Webcam",
        ReactorState.webcam_publish,
        ReactorState.set_webcam_publish,
        "webcam-publish",
        PUBLISH_WEBCAM,
        webcam_stream(width="100%", style={"aspectRatio": "16 / 9", "borderRadius": "8px"}, id="webcam"),
    )


def microphone_panel() -> rx.Component:
    return publish_panel(
        "Microphone",
        ReactorState.microphone_publish,
        ReactorState.set_microphone_publish,
        "microphone-publish",
        PUBLISH_MICROPHONE,
        microphone(width="100%", id="microphone"),
        rx.text(DashboardState.model_hears, size="1", color_scheme="gray", id="model-hears"),
    )


def media_tools() -> rx.Component:
    """The model's second view, the Sound switch, the clip recorder and the screenshot button."""
    return rx.hstack(
        reactor_view(
            track="edges_video",
            width="240px",
            style={"aspectRatio": "16 / 9", "borderRadius": "6px"},
            id="edges-view",
        ),
        rx.vstack(
            rx.hstack(
                rx.text("Sound", size="2"),
                rx.switch(checked=DashboardState.sound, on_change=DashboardState.set_sound, id="sound-switch"),
                align="center",
                spacing="2",
            ),
            recorder(audio_track="main_audio", id="recorder"),
            rx.button(
                "Screenshot",
                on_click=ReactorState.screenshot("main_video"),
                disabled=ReactorState.status != "ready",
                variant="soft",
                id="screenshot-button",
            ),
            spacing="2",
        ),
        width="100%",
        spacing="4",
        align="start",
    )


def message_list() -> rx.Component:
    def row(message: Any) -> rx.Component:
        return rx.code(message.to_string(), size="1", class_name="message-row", width="100%")

    return rx.vstack(
        rx.heading("Messages", size="4"),
        rx.scroll_area(
            rx.vstack(rx.foreach(ReactorState.messages, row), spacing="1", id="messages"),
            type="auto",
            scrollbars="vertical",
            style={"height": "260px"},
        ),
        width="100%",
    )


def sample_image_link() -> rx.Component:
    """A picture to try the Image panel with (``assets/sample-image.png``), for a user who has none at hand."""
    return rx.text(
        "No picture at hand? ",
        rx.link(
            "Download a sample image",
            href="/sample-image.png",
            is_external=True,  # a plain link: the browser downloads it rather than the router navigating
            custom_attrs={"download": "sample-image.png"},
            id="sample-image-link",
        ),
        " and drop it above.",
        size="1",
        color_scheme="gray",
    )


def index() -> rx.Component:
    return reactor_provider(
        rx.container(
            rx.vstack(
                rx.hstack(
                    rx.image(src="/logo.svg", alt="", width="36px", height="36px", id="dashboard-logo"),
                    rx.heading("Reactor Demo", size="7"),
                    rx.spacer(),
                    video_state(),
                    status_badge(),
                    width="100%",
                    align="center",
                ),
                error_callout(),
                waiting_notice(),
                rx.cond(
                    ReactorState.session_id,
                    rx.text(
                        "Session ", rx.code(ReactorState.session_id, id="session-id"), size="1", color_scheme="gray"
                    ),
                ),
                rx.grid(
                    rx.vstack(
                        reactor_view(
                            audio_track="main_audio",
                            muted=DashboardState.muted,
                            on_live_change=DashboardState.set_video_live,
                            width="100%",
                            style={"aspectRatio": "16 / 9", "borderRadius": "10px"},
                            id="reactor-view",
                        ),
                        rx.hstack(controls(), rx.spacer(), auto_retry_switch(), width="100%", align="center"),
                        brightness_control(),
                        media_tools(),
                        width="100%",
                        spacing="4",
                    ),
                    rx.vstack(webcam_panel(), microphone_panel(), message_list(), width="100%", spacing="4"),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="6",
                    width="100%",
                ),
                rx.grid(
                    reactor_controller(),
                    rx.vstack(image_upload(), sample_image_link(), stats_panel(), width="100%", spacing="5"),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="6",
                    width="100%",
                ),
                spacing="5",
                padding_y="6",
            ),
            size="4",
        )
    )


def component_props() -> rx.Component:
    """The view and camera components with their props away from the defaults, side by side."""
    tile: dict[str, Any] = {"width": "320px", "height": "180px"}
    return reactor_provider(
        rx.vstack(
            rx.hstack(status_badge(), controls(), align="center", spacing="4"),
            rx.hstack(
                reactor_view(object_fit="cover", muted=False, id="view-cover", **tile),
                reactor_view(track="depth", id="view-missing-track", **tile),
                spacing="4",
            ),
            rx.text("The camera is sent at 160x120 with its preview hidden:", size="2"),
            webcam_stream(
                video_constraints={"width": {"ideal": 160}, "height": {"ideal": 120}},
                show_webcam=False,
                object_fit="fill",
                id="webcam-hidden",
                **tile,
            ),
            webcam_stream(track="depth_camera", id="webcam-missing-track", **tile),
            padding="1em",
            spacing="4",
        )
    )


# The theme is rxconfig.py's (RadixThemesPlugin); the favicon is assets/favicon.ico.
app = rx.App(head_components=[rx.el.link(rel="icon", href="/favicon.ico", type="image/x-icon")])
app.add_page(index, title="Reactor Demo")
app.add_page(component_props, route="/components", title="Reactor components")
reactor_web.ui.setup(app)
