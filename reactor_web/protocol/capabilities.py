"""Capabilities: tracks and commands a model declares (Part A §3.3, §7.4; Part B §B.3).

Commands come in two schema forms that describe the same thing:
* the flat form ``{param: {type, description?, minimum?, maximum?, enum?, required?, maxLength?}}``
  (JS SDK ``modelCapabilities``), and
* the OpenAPI 3.1 form (reactor-runtime 3.x ``modelSchema``), one ``/events/<name>`` path per command.
Both convert to and from :class:`CommandSpec`; :meth:`CommandSpec.json_schema` gives a JSON Schema for
validating a command's data.

A parameter that takes an uploaded file (Part A §8) has the flat type ``"upload"``, an extension of this
project: the JS SDK's controller renders nothing for a type it does not know. In OpenAPI it is a
``$ref`` to ``components.schemas.ReactorUploadReference`` (Part B §B.3), and its value is the
``{upload_id, name, mime_type, size}`` object that travels in the envelope's ``uploads``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reactor_web.protocol.constants import TrackDirection, TrackKind

_KINDS = ("video", "audio")
_DIRECTIONS = ("recvonly", "sendonly")
_PARAM_TYPES = ("number", "integer", "string", "boolean")
_CONSTRAINT_KEYS = ("minimum", "maximum", "enum", "maxLength", "minLength", "multipleOf", "default")
#: Flat ``type`` of a parameter whose value is an uploaded file's reference.
UPLOAD_TYPE = "upload"
UPLOAD_REFERENCE = "ReactorUploadReference"
_UPLOAD_REF = f"#/components/schemas/{UPLOAD_REFERENCE}"
#: JSON Schema of a file reference, the value of an ``uploads`` entry (Part A §7.1, Part B §B.3).
UPLOAD_REFERENCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "upload_id": {"type": "string"},
        "name": {"type": "string"},
        "mime_type": {"type": "string"},
        "size": {"type": "integer", "minimum": 0},
    },
    "required": ["upload_id", "name", "mime_type", "size"],
}


class ProtocolError(ValueError):
    """A message or HTTP body does not match the protocol's schema."""


def require_field(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict):
        raise ProtocolError(f"{where}: expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise ProtocolError(f"{where}: missing required field {key!r}")
    value = obj[key]
    if not isinstance(value, kind):
        raise ProtocolError(f"{where}.{key}: wrong type {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class TrackSpec:
    """A media track; ``direction`` is from the client's point of view."""

    name: str
    kind: TrackKind
    direction: TrackDirection

    @classmethod
    def parse(cls, obj: Any, where: str = "track") -> TrackSpec:
        name = require_field(obj, "name", str, where)
        kind = require_field(obj, "kind", str, where)
        direction = require_field(obj, "direction", str, where)
        if kind not in _KINDS:
            raise ProtocolError(f"{where}.kind: {kind!r} is not 'video' or 'audio'")
        if direction not in _DIRECTIONS:
            raise ProtocolError(f"{where}.direction: {direction!r} is not 'recvonly' or 'sendonly'")
        return cls(name, kind, direction)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "direction": self.direction}


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A model command with its flat parameter schema."""

    name: str
    description: str = ""
    schema: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, obj: Any, where: str = "command") -> CommandSpec:
        name = require_field(obj, "name", str, where)
        description = obj.get("description", "")
        if not isinstance(description, str):
            raise ProtocolError(f"{where}.description: wrong type")
        schema = obj.get("schema") or {}
        if not isinstance(schema, dict):
            raise ProtocolError(f"{where}.schema: expected an object")
        return cls(name, description, {str(k): dict(v) for k, v in schema.items() if isinstance(v, dict)})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "schema": self.schema}

    def upload_params(self) -> tuple[str, ...]:
        """Parameters whose value is an uploaded file's reference."""
        return tuple(p for p, spec in self.schema.items() if spec.get("type") == UPLOAD_TYPE)

    def json_schema(self, *, upload_ref: str | None = None) -> dict[str, Any]:
        """JSON Schema (draft 2020-12) for this command's ``data`` object, with upload parameters'
        references merged in. ``upload_ref`` writes upload parameters as that ``$ref`` instead of inline."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        for param, spec in self.schema.items():
            prop: dict[str, Any] = {}
            if spec.get("type") == UPLOAD_TYPE:
                prop = {"$ref": upload_ref} if upload_ref else {**UPLOAD_REFERENCE_SCHEMA}
            elif spec.get("type") in _PARAM_TYPES:
                prop["type"] = spec["type"]
            for key in _CONSTRAINT_KEYS:  # "default" is an annotation only: validation ignores it
                if key in spec:
                    prop[key] = spec[key]
            if "description" in spec:
                prop["description"] = spec["description"]
            properties[param] = prop
            if spec.get("required"):
                required.append(param)
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The ``capabilities`` object of a session response."""

    tracks: tuple[TrackSpec, ...]
    commands: tuple[CommandSpec, ...] = ()
    protocol_version: str = "v0"
    emission_fps: float | None = None

    @classmethod
    def parse(cls, obj: Any) -> Capabilities:
        protocol_version = require_field(obj, "protocol_version", str, "capabilities")
        tracks = require_field(obj, "tracks", list, "capabilities")
        commands = obj.get("commands") or []
        if not isinstance(commands, list):
            raise ProtocolError("capabilities.commands: expected an array")
        fps = obj.get("emission_fps")
        if fps is not None and (isinstance(fps, bool) or not isinstance(fps, (int, float))):
            raise ProtocolError("capabilities.emission_fps: expected a number or null")
        return cls(
            tracks=tuple(TrackSpec.parse(t, f"capabilities.tracks[{i}]") for i, t in enumerate(tracks)),
            commands=tuple(CommandSpec.parse(c, f"capabilities.commands[{i}]") for i, c in enumerate(commands)),
            protocol_version=protocol_version,
            emission_fps=fps,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "protocol_version": self.protocol_version,
            "tracks": [t.to_dict() for t in self.tracks],
            "commands": [c.to_dict() for c in self.commands],
        }
        if self.emission_fps is not None:
            out["emission_fps"] = self.emission_fps
        return out

    def track(self, name: str) -> TrackSpec | None:
        return next((t for t in self.tracks if t.name == name), None)

    def command(self, name: str) -> CommandSpec | None:
        return next((c for c in self.commands if c.name == name), None)


def commands_to_openapi(
    commands: tuple[CommandSpec, ...] | list[CommandSpec],
    tracks: tuple[TrackSpec, ...] | list[TrackSpec],
    *,
    title: str,
    version: str,
    description: str = "",
    messages: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 model schema of Part B §B.3."""
    paths: dict[str, Any] = {}
    for cmd in commands:
        body = cmd.json_schema(upload_ref=_UPLOAD_REF)
        body.pop("additionalProperties", None)
        paths[f"/events/{cmd.name}"] = {
            "post": {
                "operationId": cmd.name,
                "summary": cmd.description,
                "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                "responses": {"202": {"description": "accepted"}},
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "x-reactor": {
            "tracks": [
                {"name": t.name, "kind": t.kind, "direction": "out" if t.direction == "recvonly" else "in"}
                for t in tracks
            ]
        },
        "paths": paths,
        "webhooks": {
            name: {"post": {"requestBody": {"content": {"application/json": {"schema": schema}}}}}
            for name, schema in (messages or {}).items()
        },
        "components": {
            "schemas": {
                UPLOAD_REFERENCE: UPLOAD_REFERENCE_SCHEMA,
            }
        },
    }


def commands_from_openapi(schema: Any) -> list[CommandSpec]:
    """Read commands back from an OpenAPI model schema (Part B §B.3) into the flat form."""
    if not isinstance(schema, dict) or not isinstance(schema.get("paths"), dict):
        raise ProtocolError("model schema: expected an OpenAPI object with 'paths'")
    commands: list[CommandSpec] = []
    for path, item in schema["paths"].items():
        if not isinstance(path, str) or not path.startswith("/events/") or not isinstance(item, dict):
            continue
        post = item.get("post") or {}
        body = ((post.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema") or {}
        body = _resolve_ref(schema, body)
        required = set(body.get("required") or [])
        flat: dict[str, dict[str, Any]] = {}
        for param, raw in (body.get("properties") or {}).items():
            prop = _resolve_ref(schema, raw)
            entry: dict[str, Any] = {}
            kind = prop.get("type")
            if _is_upload_reference(raw, prop):
                entry["type"] = UPLOAD_TYPE
                prop = {**prop, **raw}  # a description next to the $ref describes the parameter
            elif kind in _PARAM_TYPES:
                entry["type"] = kind
            elif isinstance(kind, list):
                entry["type"] = next((k for k in kind if k in _PARAM_TYPES), "string")
            elif prop.get("$ref") or prop.get("properties"):
                entry["type"] = "object"
            for key in ("description", *_CONSTRAINT_KEYS):
                if key in prop:
                    entry[key] = prop[key]
            if param in required:
                entry["required"] = True
            flat[param] = entry
        description = post.get("summary") or post.get("description") or ""
        commands.append(CommandSpec(path.removeprefix("/events/"), description, flat))
    return commands


def _is_upload_reference(raw: Any, resolved: dict[str, Any]) -> bool:
    """A ``$ref`` to ``ReactorUploadReference``, or an inline object with an ``upload_id`` property."""
    ref = raw.get("$ref") if isinstance(raw, dict) else None
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] == UPLOAD_REFERENCE:
        return True
    properties = resolved.get("properties")
    return resolved.get("type") == "object" and isinstance(properties, dict) and "upload_id" in properties


def _resolve_ref(root: dict[str, Any], node: Any) -> dict[str, Any]:
    """Follow one local ``$ref`` (``#/components/schemas/X``) if present."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}
    return node
