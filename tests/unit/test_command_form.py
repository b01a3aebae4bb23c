"""What the generated controls send: submitted form strings, typed by the schema and checked before sending."""

from __future__ import annotations

from reactor_web.protocol.capabilities import Capabilities, CommandSpec
from reactor_web.runtime.model import COMMANDS
from reactor_web.ui.command_form import check, form_to_data, pending_ref
from reactor_web.ui.control_specs import command_controls

TUNE = CommandSpec(
    "tune",
    "Every kind of field.",
    {
        "gain": {"type": "number", "minimum": 0},  # one bound only: a number input
        "steps": {"type": "integer", "minimum": 1, "maximum": 10, "required": True},  # a slider
        "mode": {"type": "integer", "enum": [1, 2, 4]},
        "loud": {"type": "boolean"},
        "label": {"type": "string", "maxLength": 5},
    },
)
CAPS = Capabilities(tracks=(), commands=(TUNE, *COMMANDS))


def data(command: CommandSpec, form: dict[str, str], files: dict | None = None) -> dict:
    return form_to_data(command_controls(command), form, files or {})


def test_values_are_typed_by_the_declared_schema() -> None:
    sent = data(TUNE, {"gain": "1.5", "steps": "3", "mode": "4", "loud": "on", "label": "hi"})
    assert sent == {"gain": 1.5, "steps": 3, "mode": 4, "loud": True, "label": "hi"}
    assert check(CAPS, "tune", sent) is None


def test_empty_optional_inputs_are_left_out_and_an_unchecked_box_is_false() -> None:
    assert data(TUNE, {"gain": "", "steps": "2", "label": ""}) == {"steps": 2, "loud": False}


def test_a_number_out_of_range_is_refused_with_the_schema_message() -> None:
    message = check(CAPS, "tune", data(TUNE, {"gain": "-2", "steps": "2"}))
    assert message == "tune: gain: -2.0 is less than the minimum of 0 (minimum)"


def test_text_that_is_not_a_number_is_refused_not_guessed() -> None:
    message = check(CAPS, "tune", data(TUNE, {"gain": "loud", "steps": "2"}))
    assert message == "tune: gain: 'loud' is not of type 'number' (type)"


def test_a_fraction_for_an_integer_is_refused() -> None:
    assert check(CAPS, "tune", data(TUNE, {"steps": "2.5"})) == "tune: steps: 2.5 is not of type 'integer' (type)"


def test_too_long_text_and_a_missing_required_value_are_refused() -> None:
    assert "label: 'toolong' is too long (maxLength)" in str(
        check(CAPS, "tune", data(TUNE, {"steps": "2", "label": "toolong"}))
    )
    assert check(CAPS, "tune", data(TUNE, {})) == "tune: steps: required parameter is missing"


def test_a_required_text_may_be_empty() -> None:
    prompt = next(c for c in COMMANDS if c.name == "set_prompt")
    assert data(prompt, {"text": ""}) == {"text": ""}  # an empty prompt clears it


def test_an_upload_field_takes_the_chosen_file_and_is_required_without_one() -> None:
    set_image = next(c for c in COMMANDS if c.name == "set_image")
    ref = pending_ref("red.png", "image/png", 120)
    assert data(set_image, {"opacity": "1"}, {"image": ref}) == {"image": ref, "opacity": 1.0}
    assert check(CAPS, "set_image", {"image": ref, "opacity": 1.0}) is None
    message = check(CAPS, "set_image", data(set_image, {"opacity": "1"}))
    assert message == "set_image: image: required parameter is missing"
