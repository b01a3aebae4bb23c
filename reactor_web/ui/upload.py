"""``image_upload()``: drop an image and the model blends it over its picture (``set_image``).

The file travels page → this backend (Reflex's upload endpoint) → the model session (the client's
``upload_file``), then ``set_image`` refers to it. The data is checked against the model's schema before
the upload, so a model without ``set_image`` (or a refused opacity) costs no transfer.
"""

from __future__ import annotations

import reflex as rx

from reactor_web.client import ReactorError
from reactor_web.ui.command_form import check, pending_ref
from reactor_web.ui.controller import error_text, not_ready_text, upload_to_session
from reactor_web.ui.state import ReactorState

UPLOAD_ID = "image-upload"
DEFAULT_OPACITY = 0.5


class ImageUploadState(ReactorState):
    opacity: float = DEFAULT_OPACITY
    image_error: str = ""
    #: The image set, and the model session it was set in (a new session starts without it).
    image_set: dict[str, str] = {}

    @rx.var
    def image_name(self) -> str:
        return self.image_set.get("name", "") if self.image_set.get("session_id") == self.session_id else ""

    @rx.event
    def set_opacity(self, value: list[float]) -> None:
        self.opacity = float(value[0])

    @rx.event
    async def upload_image(self, files: list[rx.UploadFile]) -> None:
        if not files:
            return
        self.image_error = ""
        if self.status != "ready":
            self.image_error = not_ready_text(self.status)
            return
        file, tab = files[0], self._tab()
        caps = tab.reactor.get_capabilities()
        mime_type = file.headers.get("content-type") or "application/octet-stream"
        planned = {
            "image": pending_ref(file.name or "image", mime_type, file.size or 0),
            "opacity": self.opacity,
        }
        problem = check(caps, "set_image", planned) if caps is not None else not_ready_text(self.status)
        if problem is not None:
            self.image_error = problem
            return
        try:
            ref = await upload_to_session(tab, file)
            await tab.send_command("set_image", {"image": ref, "opacity": self.opacity})
        except ReactorError as exc:
            self.image_error = error_text(exc)
            return
        self.image_set = {"name": ref.name, "session_id": self.session_id or ""}

    @rx.event
    async def clear_image(self) -> None:
        self.image_error = ""
        if self.status != "ready":
            self.image_error = not_ready_text(self.status)
            return
        try:
            await self._tab().send_command("clear_image", {})
        except ReactorError as exc:
            self.image_error = error_text(exc)
            return
        self.image_set = {}


def image_upload() -> rx.Component:
    """A drop zone for an image, the opacity it is blended with, and a button to remove it."""
    return rx.vstack(
        rx.heading("Image", size="4"),
        rx.upload.root(
            rx.vstack(
                rx.icon("image-up", size=28, color="var(--gray-9)"),
                rx.text("Drop an image here, or click to choose one", size="2"),
                align="center",
                spacing="1",
            ),
            id=UPLOAD_ID,
            accept={"image/*": []},
            multiple=False,
            max_files=1,
            on_drop=ImageUploadState.upload_image(rx.upload_files(upload_id=UPLOAD_ID)),
            width="100%",
            padding="1.25em",
            border="1px dashed var(--gray-a7)",
            border_radius="8px",
            cursor="pointer",
        ),
        rx.hstack(
            rx.text("Opacity", size="2"),
            rx.slider(
                default_value=[DEFAULT_OPACITY],
                min=0,
                max=1,
                step=0.05,
                on_value_commit=ImageUploadState.set_opacity,
                flex="1",
                id="image-opacity",
            ),
            rx.text(ImageUploadState.opacity, size="2", min_width="3em"),
            width="100%",
            align="center",
        ),
        rx.hstack(
            rx.text(
                rx.cond(ImageUploadState.image_name != "", ImageUploadState.image_name, "No image"),
                size="2",
                color_scheme="gray",
                id="image-name",
            ),
            rx.spacer(),
            rx.button(
                "Clear image",
                on_click=ImageUploadState.clear_image,
                variant="soft",
                size="1",
                disabled=ImageUploadState.image_name == "",
                id="clear-image-button",
            ),
            width="100%",
            align="center",
        ),
        rx.cond(
            ImageUploadState.image_error != "",
            rx.callout(ImageUploadState.image_error, icon="triangle_alert", color_scheme="red", id="image-error"),
        ),
        width="100%",
        spacing="3",
    )
