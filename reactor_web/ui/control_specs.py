"""What a generated control panel shows for each command: pure data, no UI toolkit.

The UI renders one form per :class:`CommandControls`, one input per :class:`FieldControl`, from the model's
capabilities (either schema form, once parsed into :class:`CommandSpec`). The choice of input follows the
JS SDK's ``ReactorController`` where it has one (a slider for a bounded number, a select for an enum),
and adds a checkbox for booleans and a file input for upload parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reactor_web.protocol.capabilities import UPLOAD_TYPE, Capabilities, CommandSpec

ControlKind = Literal["slider", "number", "select", "checkbox", "text", "file"]
#: A bounded ``number`` slider moves in this many steps from minimum to maximum.
SLIDER_STEPS = 100


@dataclass(frozen=True, slots=True)
class FieldControl:
    """One parameter's input. ``value_type`` is the declared JSON type ("upload" for a file), which the UI
    needs to turn what the input holds into the value sent."""

    name: str
    kind: ControlKind
    value_type: str
    required: bool = False
    description: str = ""
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    options: tuple[Any, ...] = ()
    max_length: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "value_type": self.value_type,
            "required": self.required,
            "description": self.description,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "step": self.step,
            "options": list(self.options),
            "max_length": self.max_length,
        }


@dataclass(frozen=True, slots=True)
class CommandControls:
    """A command's form: sending it calls ``send_command(name, {field: value, ...})``."""

    name: str
    description: str
    fields: tuple[FieldControl, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "fields": [f.to_dict() for f in self.fields]}


def control_specs(caps: Capabilities) -> list[CommandControls]:
    """The controls of every command ``caps`` declares, in declaration order."""
    return [command_controls(spec) for spec in caps.commands]


def command_controls(spec: CommandSpec) -> CommandControls:
    fields = tuple(field_control(name, param) for name, param in spec.schema.items())
    return CommandControls(spec.name, spec.description, fields)


def field_control(name: str, param: dict[str, Any]) -> FieldControl:
    """The input for one flat-form parameter."""
    value_type = param.get("type") if isinstance(param.get("type"), str) else "string"
    common: dict[str, Any] = {
        "name": name,
        "value_type": value_type,
        "required": bool(param.get("required")),
        "description": str(param.get("description") or ""),
        "default": param.get("default"),
    }
    if value_type == UPLOAD_TYPE:
        return FieldControl(kind="file", **common)
    enum = param.get("enum")
    if isinstance(enum, list) and enum:
        return FieldControl(kind="select", options=tuple(enum), **common)
    if value_type == "boolean":
        return FieldControl(kind="checkbox", **common)
    if value_type in ("number", "integer"):
        low, high = _number(param.get("minimum")), _number(param.get("maximum"))
        step = _number(param.get("multipleOf"))
        if step is None and value_type == "integer":
            step = 1
        if low is not None and high is not None and high > low:
            if step is None:
                step = (high - low) / SLIDER_STEPS
            return FieldControl(kind="slider", minimum=low, maximum=high, step=step, **common)
        return FieldControl(kind="number", minimum=low, maximum=high, step=step, **common)
    max_length = param.get("maxLength")
    valid_length = isinstance(max_length, int) and not isinstance(max_length, bool)
    return FieldControl(kind="text", max_length=max_length if valid_length else None, **common)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value
