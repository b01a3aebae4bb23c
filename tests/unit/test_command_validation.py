"""Command validation and generated controls, from both schema forms (flat and OpenAPI)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from reactor_web.protocol.capabilities import Capabilities, CommandSpec, commands_from_openapi, commands_to_openapi
from reactor_web.protocol.validation import CommandValidationError, command_json_schema, validate_command
from reactor_web.runtime.model import COMMANDS
from reactor_web.ui.control_specs import control_specs

FLAT = Capabilities(tracks=(), commands=COMMANDS)
OPENAPI = Capabilities(
    tracks=(), commands=tuple(commands_from_openapi(commands_to_openapi(COMMANDS, (), title="t", version="1")))
)
REF = {"upload_id": "u1", "name": "cat.png", "mime_type": "image/png", "size": 10}


@pytest.fixture(params=["flat", "openapi"])
def caps(request: pytest.FixtureRequest) -> Capabilities:
    return FLAT if request.param == "flat" else OPENAPI


@pytest.mark.parametrize(
    ("command", "data"),
    [
        ("set_brightness", {"value": 0}),
        ("set_brightness", {"value": 100.0}),
        ("set_effect", {"name": "invert"}),
        ("set_prompt", {"text": ""}),
        ("set_image", {"image": REF}),
        ("set_image", {"image": REF, "opacity": 0.25}),
        ("clear_image", None),
        ("ping", {}),
    ],
)
def test_valid_commands_pass(caps: Capabilities, command: str, data: Any) -> None:
    validate_command(caps, command, data)


@pytest.mark.parametrize(
    ("command", "data", "field", "constraint", "words"),
    [
        ("set_brightness", {"value": 101}, "value", "maximum", ["value", "101", "maximum of 100"]),
        ("set_brightness", {"value": "5"}, "value", "type", ["value", "integer"]),
        ("set_brightness", {}, "value", "required", ["value", "required"]),
        ("set_effect", {"name": "sepia"}, "name", "enum", ["name", "sepia"]),
        ("set_prompt", {"text": "x" * 201}, "text", "maxLength", ["text", "too long"]),
        ("set_prompt", {"text": "a", "colour": 1}, "colour", "additionalProperties", ["colour", "unknown"]),
        ("set_image", {"image": "cat.png"}, "image", "type", ["image", "object"]),
        ("set_image", {"image": {"upload_id": "u1"}}, "image", "required", ["image", "name"]),
        ("set_image", {"image": REF, "opacity": -0.5}, "opacity", "minimum", ["opacity", "minimum"]),
        ("set_brightness", [50], None, "type", ["object"]),
    ],
)
def test_invalid_data_names_the_field_and_the_constraint(
    caps: Capabilities, command: str, data: Any, field: str | None, constraint: str, words: list[str]
) -> None:
    with pytest.raises(CommandValidationError) as raised:
        validate_command(caps, command, data)
    error = raised.value
    assert (error.command, error.field, error.constraint) == (command, field, constraint)
    assert str(error).startswith(f"{command}: ")
    for word in words:
        assert word in str(error)


def test_unknown_command_lists_the_known_ones(caps: Capabilities) -> None:
    with pytest.raises(CommandValidationError) as raised:
        validate_command(caps, "explode", {})
    assert raised.value.constraint == "command" and "'explode'" in str(raised.value)
    assert "set_brightness" in str(raised.value)


def test_schemas_are_draft_2020_12_and_round_trip(caps: Capabilities) -> None:
    for spec in caps.commands:
        jsonschema.Draft202012Validator.check_schema(command_json_schema(spec))
    assert {c.name: c.schema for c in OPENAPI.commands} == {c.name: c.schema for c in COMMANDS}


def test_openapi_inline_upload_object_is_an_upload() -> None:
    document = {
        "paths": {
            "/events/set_mask": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"mask": {"type": "object", "properties": {"upload_id": {}}}},
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    [spec] = commands_from_openapi(document)
    assert spec.schema == {"mask": {"type": "upload"}} and spec.upload_params() == ("mask",)


def test_controls_for_the_demo_model(caps: Capabilities) -> None:
    controls = {c.name: c for c in control_specs(caps)}
    assert list(controls) == [c.name for c in COMMANDS]
    [brightness] = controls["set_brightness"].fields
    assert (brightness.kind, brightness.minimum, brightness.maximum, brightness.step) == ("slider", 0, 100, 1)
    assert brightness.required and brightness.description == "Brightness, 0..100"
    [effect] = controls["set_effect"].fields
    assert effect.kind == "select" and effect.options[:2] == ("none", "invert")
    [text] = controls["set_prompt"].fields
    assert (text.kind, text.max_length) == ("text", 200)
    image, opacity = controls["set_image"].fields
    assert (image.kind, image.value_type, image.required) == ("file", "upload", True)
    assert (opacity.kind, opacity.step, opacity.default, opacity.required) == ("slider", 0.01, 0.5, False)
    assert controls["ping"].fields == ()
    # Plain data: what the UI gets is JSON.
    assert json.loads(json.dumps([c.to_dict() for c in controls.values()]))[0]["fields"][0]["kind"] == "slider"


def test_controls_for_other_parameter_shapes() -> None:
    spec = CommandSpec(
        "tune",
        "",
        {
            "seed": {"type": "integer", "minimum": 0},
            "speed": {"type": "number"},
            "loop": {"type": "boolean", "default": True},
            "label": {"type": "string"},
            "gain": {"type": "number", "minimum": 0, "maximum": 2, "multipleOf": 0.5},
        },
    )
    fields = {f.name: f for f in control_specs(Capabilities(tracks=(), commands=(spec,)))[0].fields}
    assert (fields["seed"].kind, fields["seed"].minimum, fields["seed"].step) == ("number", 0, 1)
    assert (fields["speed"].kind, fields["speed"].step) == ("number", None)
    assert (fields["loop"].kind, fields["loop"].default) == ("checkbox", True)
    assert (fields["label"].kind, fields["label"].max_length) == ("text", None)
    assert (fields["gain"].kind, fields["gain"].step) == ("slider", 0.5)
