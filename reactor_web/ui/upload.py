"""``image_upload()``: drop an image and the model blends it over its picture (``set_image``).

The file travels page → this backend (Reflex's upload endpoint) → the model session (the client's
``upload_file``), then ``set_image`` refers to it. The data is checked against the model's schema before
the upload, so a model without ``set_image`` (or a refused opacity) costs no transfer. What the panel
shows is what the model says: the image it confirmed, or its refusal.
"""

from __future__ import annotations

import math

import reflex as rx
from reflex_base.vars.object import ObjectVar
from reflex_base.vars.sequence import ArrayVar

from reactor_web.client import ReactorError
from reactor_web.relay.handle import TabHandle
from reactor_web.ui.command_form import check, pending_ref
from reactor_web.ui.controller import error_text, not_ready_text, upload_to_session
from reactor_web.ui.state import ReactorState

UPLOAD_ID = "image-upload"
DEFAULT_OPACITY = 0.5
SET_IMAGE, CLEAR_IMAGE = "set_image", "clear_image"
CHOOSE_IMAGE = "choose a PNG, JPEG or WebP file."


class ImageUploadState(ReactorState):
    """The Image panel: the opacity chosen, and what went wrong with the last attempt.

    The panel names an image only once the model confirmed it (``image`` in its ``state_update``); a refusal
    by the model (``INVALID_IMAGE``, ``UNKNOWN_UPLOAD``...) is shown in the panel, and every new attempt
    clears the previous one's error.
    """

    opacity: float = DEFAULT_OPACITY
    #: This panel's own finding on the last attempt (not an image, not connected, upload refused).
    attempt_error: str = ""

    @rx.var
    def image_name(self) -> str:
        """The image the model says it blends (empty when none)."""
        image = self.model_state.get("image")
        return image if isinstance(image, str) else ""

    @rx.var
    def image_error(self) -> str:
        """The last attempt's error: the panel's own, else the model's refusal of set_image or clear_image."""
        refusals = self.refusals
        return self.attempt_error or refusals.get(SET_IMAGE, "") or refusals.get(CLEAR_IMAGE, "")

    @rx.event
    def set_opacity(self, value: list[float]) -> None:
        """The opacity slider moved: ``value`` is its ``[0..1]``; anything else from the page is ignored."""
        try:
            opacity = float(value[0])
        except (TypeError, ValueError, IndexError):
            return
        if math.isfinite(opacity):
            self.opacity = opacity

    async def _new_attempt(self) -> TabHandle:
        """A new try: the model's last word on the previous one no longer applies. Raises ReactorError."""
        self.attempt_error = ""
        tab = await self._tab()
        await tab.clear_refusals(SET_IMAGE, CLEAR_IMAGE)
        return tab

    @rx.event
    async def reject_files(self, names: list[str]) -> None:
        """The drop zone refused files that are not images (their names, read in the page)."""
        try:
            await self._new_attempt()
        except ReactorError as exc:
            self.attempt_error = error_text(exc)
            return
        shown = ", ".join(str(name)[:80] for name in names[:3] if isinstance(name, str) and name)
        self.attempt_error = f"{shown or 'The file'} is not an image: {CHOOSE_IMAGE}"

    @rx.event
    async def upload_image(self, files: list[rx.UploadFile]) -> None:
        """Upload the dropped image to the model session and set it with ``set_image``."""
        if not files:  # the drop zone refused them all: ``reject_files`` says why
            return
        try:
            tab = await self._new_attempt()
            if self.status != "ready":
                self.attempt_error = not_ready_text(self.status)
                return
            file = files[0]
            mime_type = file.headers.get("content-type") or "application/octet-stream"
            if not mime_type.startswith("image/"):
                self.attempt_error = f"{file.name or 'The file'} is not an image ({mime_type}): {CHOOSE_IMAGE}"
                return
            caps = await tab.capabilities()
            planned = {
                "image": pending_ref(file.name or "image", mime_type, file.size or 0),
                "opacity": self.opacity,
            }
            problem = check(caps, SET_IMAGE, planned) if caps is not None else not_ready_text(self.status)
            if problem is not None:
                self.attempt_error = problem
                return
            ref = await upload_to_session(tab, file)
            await tab.send_command(SET_IMAGE, {"image": ref, "opacity": self.opacity})
        except ReactorError as exc:
            self.attempt_error = error_text(exc)

    @rx.event
    async def clear_image(self) -> None:
        """Remove the image (``clear_image``); the name goes once the model confirms."""
        try:
            tab = await self._new_attempt()
            if self.status != "ready":
                self.attempt_error = not_ready_text(self.status)
                return
            await tab.send_command(CLEAR_IMAGE, {})
        except ReactorError as exc:
            self.attempt_error = error_text(exc)


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
            # react-dropzone's records hold the File itself: pass its name, which is all the message needs.
            on_drop_rejected=lambda rejected: ImageUploadState.reject_files(
                rejected.to(ArrayVar).map(lambda record: record.to(ObjectVar)["file"].to(ObjectVar)["name"])
            ),
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
