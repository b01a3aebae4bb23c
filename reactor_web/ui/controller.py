"""``reactor_controller()``: a form for every command the model declares, generated from its capabilities.

The JS SDK's ``ReactorController`` in Reflex, with two differences: Send submits what the inputs hold at
that moment (the JS one sends values captured earlier), and data is checked against the model's schema
in the backend first, so a refused value shows its message under the command and nothing is sent.

Reflex compiles one static component tree, so the forms come from ``rx.foreach`` over :class:`CommandView`
(built in the backend from ``control_specs``) and each input from ``rx.match`` on the field's kind. Every
command, input and message carries a ``data-testid`` (``command-<cmd>``, ``control-<cmd>-<field>``,
``send-<cmd>``, ``command-error-<cmd>``, ``command-sent-<cmd>``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from reactor_web.client import ReactorError
from reactor_web.protocol.capabilities import Capabilities, ProtocolError
from reactor_web.protocol.schemas import FileRef
from reactor_web.relay.handle import TabHandle
from reactor_web.ui.command_form import COMMAND_KEY, check, form_to_data
from reactor_web.ui.control_specs import CommandControls, FieldControl, control_specs
from reactor_web.ui.state import ReactorState

#: "Sent" notes quote the data, cut to this length.
_MAX_SENT_CHARS = 120


@dataclass
class FieldView:
    """One input, with everything the page needs already formatted (the page cannot format Vars freely)."""

    name: str
    key: str  # "<command>/<field>"
    kind: str
    test_id: str
    required: bool = False
    description: str = ""
    hint: str = ""  # the range or the length limit, shown beside the name
    default_text: str = ""
    default_checked: bool = False
    slider_default: float = 0.0
    minimum: float = 0.0
    maximum: float = 0.0
    step: float = 1.0
    current: str = ""  # a slider's last committed value
    options: list[str] = field(default_factory=list)
    max_length: int | None = None
    file_name: str = ""  # the file chosen for an upload field in this session


@dataclass
class CommandView:
    name: str
    description: str
    test_id: str
    fields: list[FieldView]
    error: str = ""
    sent: str = ""


async def upload_to_session(tab: TabHandle, file: rx.UploadFile) -> FileRef:
    """Upload a file the page sent to this backend on to the tab's model session (raises ReactorError)."""
    content = await file.read()
    mime_type = file.headers.get("content-type") or None
    return await tab.upload_file(content, name=file.name or None, mime_type=mime_type)


def error_text(exc: ReactorError) -> str:
    return f"{exc.code}: {exc.message}"


def not_ready_text(status: str) -> str:
    return f'Not connected (status is "{status}"): connect first.'


class ControllerState(ReactorState):
    """Per-command outcome of the last Send, committed slider values, and files chosen for upload fields.

    A command's error is this form's own finding (schema, not connected) or else the model's refusal of the
    command (``refusals``, routed by the tab session from the model's ``error`` message).
    """

    errors: dict[str, str] = {}
    sent: dict[str, str] = {}
    slider_values: dict[str, str] = {}
    #: "<command>/<field>" -> {"session_id", "ref"}: a reference is only good in the session it went to.
    chosen_files: dict[str, dict[str, Any]] = {}

    @rx.var
    def commands(self) -> list[CommandView]:
        """The forms to show, rebuilt whenever the capabilities or an outcome change."""
        if not self.capabilities:
            return []
        try:
            specs = control_specs(Capabilities.parse(self.capabilities))
        except ProtocolError:
            return []
        refusals = self.refusals
        return [self._command_view(spec, refusals.get(spec.name, "")) for spec in specs]

    def _command_view(self, spec: CommandControls, refusal: str) -> CommandView:
        error = self.errors.get(spec.name, "") or refusal
        return CommandView(
            name=spec.name,
            description=spec.description,
            test_id=f"command-{spec.name}",
            fields=[self._field_view(spec.name, f) for f in spec.fields],
            error=error,
            # "Sent" until the model refuses it.
            sent="" if error else self.sent.get(spec.name, ""),
        )

    def _field_view(self, command: str, control: FieldControl) -> FieldView:
        key = f"{command}/{control.name}"
        default = control.default
        view = FieldView(
            name=control.name,
            key=key,
            kind=control.kind,
            test_id=f"control-{command}-{control.name}",
            required=control.required,
            description=control.description,
            default_text="" if default is None else str(default),
            default_checked=default is True,
            options=[str(o) for o in control.options],
            max_length=control.max_length,
            file_name=self._session_file(key).get("name", ""),
        )
        if control.kind == "slider":
            low, high = control.minimum or 0.0, control.maximum or 0.0
            start = default if isinstance(default, (int, float)) and not isinstance(default, bool) else low
            view.minimum, view.maximum, view.step, view.slider_default = low, high, control.step or 1.0, start
            view.current = self.slider_values.get(key, _number_text(start))
            view.hint = f"{_number_text(low)} to {_number_text(high)}"
        elif control.kind == "select":
            view.default_text = view.default_text or (view.options[0] if view.options else "")
        elif control.kind == "number":
            bounds = [f"≥ {_number_text(control.minimum)}" if control.minimum is not None else ""]
            bounds.append(f"≤ {_number_text(control.maximum)}" if control.maximum is not None else "")
            view.hint = ", ".join(b for b in bounds if b)
        elif control.kind == "text" and control.max_length is not None:
            view.hint = f"up to {control.max_length} characters"
        return view

    def _session_file(self, key: str) -> dict[str, Any]:
        chosen = self.chosen_files.get(key)
        if chosen is None or chosen.get("session_id") != self.session_id:
            return {}
        return chosen["ref"]

    def _outcome(self, command: str, *, error: str = "", sent: str = "") -> None:
        self.errors = {**self.errors, command: error}
        self.sent = {**self.sent, command: sent}

    @rx.event
    def commit_slider(self, key: str, value: list[float]) -> None:
        """Show a slider's value once it is let go (the form reads the slider itself on Send)."""
        self.slider_values = {**self.slider_values, key: _number_text(value[0])}

    @rx.event
    async def choose_file(self, files: list[rx.UploadFile], key: str) -> None:
        """A file for an upload field: it goes to the model session now, and Send refers to it."""
        command = key.split("/", 1)[0]
        if not files:
            return
        try:
            tab = await self._tab()
            await tab.clear_refusals(command)  # a new attempt: the model's last word on the old one no longer applies
            if self.status != "ready":
                self._outcome(command, error=not_ready_text(self.status))
                return
            ref = await upload_to_session(tab, files[0])
        except ReactorError as exc:
            self._outcome(command, error=error_text(exc))
            return
        self.chosen_files = {**self.chosen_files, key: {"session_id": self.session_id, "ref": ref.to_dict()}}
        self._outcome(command)

    @rx.event
    async def send(self, form: dict[str, Any]) -> None:
        """Send a command with the values its form holds now, unless the model's schema refuses them."""
        name = str(form.get(COMMAND_KEY, ""))
        try:
            tab = await self._tab()
            caps = await tab.capabilities()
        except ReactorError as exc:
            self._outcome(name, error=error_text(exc))
            return
        if self.status != "ready" or caps is None:
            self._outcome(name, error=not_ready_text(self.status))
            return
        controls = next((c for c in control_specs(caps) if c.name == name), None)
        if controls is None:  # a form left from a model this session no longer talks to
            self._outcome(name, error=f"The model does not declare {name!r}.")
            return
        files = {f.name: FileRef(**ref) for f in controls.fields if (ref := self._session_file(f"{name}/{f.name}"))}
        data = form_to_data(controls, form, files)
        problem = check(caps, name, data)
        if problem is not None:
            self._outcome(name, error=problem)
            return
        try:
            await tab.send_command(name, data)
        except ReactorError as exc:
            self._outcome(name, error=error_text(exc))
            return
        self._outcome(name, sent=_describe(data))


def _number_text(value: float) -> str:
    return f"{value:g}"


def _describe(data: dict[str, Any]) -> str:
    shown = {k: v.name if isinstance(v, FileRef) else v for k, v in data.items()}
    text = json.dumps(shown, ensure_ascii=False)
    return text if len(text) <= _MAX_SENT_CHARS else text[: _MAX_SENT_CHARS - 1] + "…"


# -- the page --------------------------------------------------------------------------------------


def _testid(value: Any) -> dict[str, Any]:
    return {"data-testid": value}


def _slider(f: Any) -> rx.Component:
    return rx.hstack(
        rx.slider(
            default_value=[f.slider_default],
            min=f.minimum,
            max=f.maximum,
            step=f.step,
            name=f.name,
            on_value_commit=lambda value: ControllerState.commit_slider(f.key, value),
            flex="1",
        ),
        rx.text(f.current, size="2", min_width="3em", text_align="right", custom_attrs=_testid(f.test_id + "-value")),
        width="100%",
        align="center",
    )


def file_field(test_id: rx.Var[str], field_key: rx.Var[str], file_name: rx.Var[str]) -> rx.Component:
    """An upload field's drop zone. A memo, i.e. its own React component: the drop zone is a React hook,
    and hooks cannot run inside the loop that ``rx.foreach`` compiles to."""
    # Registered as a memo when the page is built, not at import: Reflex's AppHarness empties its memo registry
    # when it starts an app, so a memo registered when the package was imported earlier (as tests do) was left
    # out of the build while the page still imported it: a blank page.
    return rx.memo(_file_field)(test_id=test_id, field_key=field_key, file_name=file_name)


def _file_field(test_id: rx.Var[str], field_key: rx.Var[str], file_name: rx.Var[str]) -> rx.Component:
    return rx.upload.root(
        rx.button("Choose file…", type="button", variant="soft", size="1"),
        rx.text(rx.cond(file_name != "", file_name, "no file"), size="1", color_scheme="gray"),
        id=test_id,
        multiple=False,
        max_files=1,
        # Reflex types upload_id as a str, but a Var works (each field has its own drop zone id).
        on_drop=ControllerState.choose_file(rx.upload_files(upload_id=test_id), field_key),  # type: ignore[arg-type]
        display="flex",
        gap="2",
        align_items="center",
    )


def _input(f: Any) -> rx.Component:
    return rx.match(
        f.kind,
        ("slider", _slider(f)),
        ("number", rx.input(type="number", name=f.name, default_value=f.default_text, step="any", width="100%")),
        ("select", rx.select(f.options, name=f.name, default_value=f.default_text)),
        ("checkbox", rx.checkbox(name=f.name, default_checked=f.default_checked)),
        ("file", file_field(test_id=f.test_id, field_key=f.key, file_name=f.file_name)),
        # A limit stops typing past it; null (no limit) leaves the attribute out.
        rx.input(name=f.name, default_value=f.default_text, custom_attrs={"maxLength": f.max_length}, width="100%"),
    )


def _field(f: Any) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(f.name, size="2", weight="medium"),
            rx.cond(f.required, rx.text("*", color_scheme="red", size="2", title="required")),
            rx.text(f.hint, size="1", color_scheme="gray"),
            spacing="1",
            align="baseline",
        ),
        _input(f),
        rx.cond(f.description != "", rx.text(f.description, size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
        custom_attrs=_testid(f.test_id),
    )


def _command(c: Any) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.hstack(
                rx.code(c.name, size="2"),
                rx.spacer(),
                rx.button("Send", type="submit", size="1", custom_attrs=_testid("send-" + c.name)),
                width="100%",
                align="center",
            ),
            rx.cond(c.description != "", rx.text(c.description, size="1", color_scheme="gray")),
            rx.el.input(type="hidden", name=COMMAND_KEY, value=c.name),
            rx.foreach(c.fields, _field),
            rx.cond(
                c.error != "",
                rx.text(c.error, size="1", color_scheme="red", custom_attrs=_testid("command-error-" + c.name)),
            ),
            rx.cond(
                c.sent != "",
                rx.text(
                    "Sent ", c.sent, size="1", color_scheme="green", custom_attrs=_testid("command-sent-" + c.name)
                ),
            ),
            spacing="2",
            width="100%",
        ),
        # The schema, not the browser, decides what is valid: its message is the one shown.
        no_validate=True,
        on_submit=ControllerState.send,
        width="100%",
        padding="0.75em",
        border="1px solid var(--gray-a5)",
        border_radius="8px",
        custom_attrs=_testid(c.test_id),
    )


def reactor_controller() -> rx.Component:
    """A form per command of the connected model (nothing until the model's capabilities arrive)."""
    return rx.vstack(
        rx.heading("Model controls", size="4"),
        rx.cond(
            ControllerState.commands.length() > 0,
            rx.vstack(rx.foreach(ControllerState.commands, _command), spacing="3", width="100%"),
            rx.text("Connect to see the commands the model accepts.", size="2", color_scheme="gray"),
        ),
        width="100%",
        spacing="3",
        id="reactor-controller",
    )
