"""The message vocabulary of the ``data`` and ``control`` channels, once for both wire versions.

Client and runtime speak these typed objects; a codec (:mod:`reactor_web.protocol.codec`) turns them into the
frames of one wire version and back: v0, the JSON of Part A §7 and Part B §B.2, or v1, the protobuf of Part C.
Which physical channel a message travels on is the codec's business too (v0 puts the platform messages on
``data`` under ``{"scope":"runtime"}``; v1 puts them on ``control``).

A decoded frame is a :class:`Received`: the message, the ``request_id`` it carries (``""`` for none) and the
payload the client's ``message`` / ``runtime_message`` events carry for it, as the JS SDK would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reactor_web.protocol.constants import Scope

Channel = Literal["data", "control"]
WireVersion = Literal["v0", "v1"]
TrackVerbName = Literal["pause_track", "resume_track", "unpublish_track"]

# -- client → runtime ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """A model command (JS SDK ``sendCommand``; reactor-sdk ``send_command``): ``data`` a JSON value (None:
    none), ``uploads`` parameter name → ``{"upload_id","name","mime_type","size"}``."""

    name: str
    data: Any = None
    uploads: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class Ping:
    """The client's liveness signal (v0: runtime ``ping`` on ``data``; v1: ``control`` ``ping``)."""


@dataclass(frozen=True, slots=True)
class RequestSchema:
    """Asks for the model's OpenAPI document (answered by :class:`ModelSchema`)."""


@dataclass(frozen=True, slots=True)
class RequestCapabilities:
    """The deprecated flat capabilities request (v0 only; answered by :class:`ModelCapabilities`)."""


@dataclass(frozen=True, slots=True)
class FileUploaded:
    """An upload finished (Part A §8): its reference."""

    upload_id: str
    name: str = ""
    mime_type: str = ""
    size: int = 0


@dataclass(frozen=True, slots=True)
class RequestClip:
    """The last ``duration_s`` seconds of the session's recording (Part C §C.4)."""

    duration_s: float


@dataclass(frozen=True, slots=True)
class RequestRecording:
    """The whole recording so far (Part C §C.4)."""


@dataclass(frozen=True, slots=True)
class PublishTrack:
    """Claims the input slot ``name`` (a control request: answered by :class:`PublishGranted` or a refusal)."""

    name: str


@dataclass(frozen=True, slots=True)
class TrackVerb:
    """``pause_track`` / ``resume_track`` (an output this connection receives) or ``unpublish_track``."""

    verb: TrackVerbName
    name: str


@dataclass(frozen=True, slots=True)
class ClientStats:
    """The client's optional telemetry (v1 ``client_stats``); the runtime only notes which tracks it covers."""

    track_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuntimeCommand:
    """Any other runtime-scope message a caller sends (``send_command(..., scope="runtime")``). The codec maps
    the names it knows (``ping``, ``requestSchema``, ``fileUploaded``, ``requestClip``, ``requestRecording``)
    to their own messages; v1 has no frame for the others."""

    type: str
    data: Any = None
    uploads: Mapping[str, Mapping[str, Any]] | None = None


ClientMessage = (
    Command
    | Ping
    | RequestSchema
    | RequestCapabilities
    | FileUploaded
    | RequestClip
    | RequestRecording
    | PublishTrack
    | TrackVerb
    | ClientStats
    | RuntimeCommand
)

# -- runtime → client ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelMessage:
    """A message from the model: the reply to a command (correlated in v1) or a broadcast."""

    type: str
    data: Any = None


@dataclass(frozen=True, slots=True)
class Ack:
    """A command was handled and the model returned nothing (v1 only: v0 has no acknowledgements)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused message: a command the model or the runtime refused (``scope`` ``application``) or a frame the
    runtime could not take (``runtime``). ``command`` names what was refused when known (v0 frames say it; v1
    answers are matched to the request), ``channel`` is the channel of what it refuses."""

    code: str
    message: str
    command: str | None = None
    scope: Scope = "runtime"
    channel: Channel = "data"


@dataclass(frozen=True, slots=True)
class ModelSchema:
    """The model's OpenAPI 3.1 document (Part B §B.3)."""

    openapi: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """The deprecated flat capabilities answer (v0 only): ``{"commands": [...]}``."""

    commands: list[Any]


@dataclass(frozen=True, slots=True)
class ClipReady:
    """A clip or recording promised (Part C §C.4): markers in seconds into the recording, the predicted ready
    time in epoch milliseconds, the playlist's URL."""

    session_id: str
    kind: str
    start_marker: float
    end_marker: float
    now_marker: float
    predicted_ready_at_ms: int
    playlist_url: str

    def to_dict(self) -> dict[str, Any]:
        """The v0 ``clipReady`` data, keys as reactor-runtime writes them."""
        return {
            "session_id": self.session_id,
            "kind": self.kind,
            "start_marker": self.start_marker,
            "end_marker": self.end_marker,
            "now_marker": self.now_marker,
            "predicted_ready_at_ms": self.predicted_ready_at_ms,
            "playlist_url": self.playlist_url,
        }


@dataclass(frozen=True, slots=True)
class ClipFailed:
    """A clip or recording that will not come, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Moderation:
    """A content-moderation verdict: ``action`` is ``warn`` or ``terminate``."""

    action: str
    message: str = ""
    input_kind: str = ""
    command: str = ""
    categories: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The v0 ``moderation`` data, keys as reactor-runtime writes them."""
        return {
            "action": self.action,
            "input_kind": self.input_kind,
            "command": self.command,
            "categories": list(self.categories),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """The runtime ends the session, and says why."""

    reason: str


@dataclass(frozen=True, slots=True)
class PublishGranted:
    """The answer to a granted :class:`PublishTrack` (a refused one is a :class:`Refusal` on ``control``)."""

    name: str = ""


@dataclass(frozen=True, slots=True)
class RuntimeNotice:
    """Any other runtime-scope message (v0: ``mediaStats`` and what a runtime adds): passed on as it is."""

    type: str
    data: Any = None


@dataclass(frozen=True, slots=True)
class Opaque:
    """A v0 frame that is not a typed message (no envelope, raw text, binary): the JS SDK hands the whole value
    to its ``message`` listeners (Part A §7.3). ``scope`` is the envelope's when it had one."""

    value: Any
    scope: Scope | None = None


ServerMessage = (
    ModelMessage
    | Ack
    | Refusal
    | ModelSchema
    | ModelCapabilities
    | ClipReady
    | ClipFailed
    | Moderation
    | SessionEnded
    | PublishGranted
    | RuntimeNotice
    | Opaque
)


@dataclass(frozen=True, slots=True)
class Received:
    """A decoded frame: its message, its ``request_id`` (``""``: none) and, for a runtime → client message, the
    payload its ``message`` / ``runtime_message`` event carries (what the v0 frame held, or its equivalent)."""

    message: ClientMessage | ServerMessage
    request_id: str = ""
    payload: Any = field(default=None, compare=False)


def event_payload(
    message: ServerMessage | ClientMessage,
) -> tuple[Literal["message", "runtime_message"], Any] | None:
    """The client event a runtime → client message raises and what it carries, the same whatever the wire
    version: ``message`` for the model's messages (and its refusals), ``runtime_message`` for the runtime's,
    each ``{"type": <the v0 type>, "data": ...}``; None for an acknowledgement, a publish answer and a client
    message."""
    if isinstance(message, ModelMessage):
        return "message", {"type": message.type, "data": message.data}
    if isinstance(message, Refusal):
        data: dict[str, Any] = {"code": message.code, "message": message.message}
        if message.command is not None:
            data["command"] = message.command
        return ("message" if message.scope == "application" else "runtime_message"), {"type": "error", "data": data}
    if isinstance(message, Opaque):
        return ("runtime_message" if message.scope == "runtime" else "message"), message.value
    runtime: dict[type, Any] = {
        ModelSchema: lambda m: ("modelSchema", dict(m.openapi)),
        ModelCapabilities: lambda m: ("modelCapabilities", {"commands": m.commands}),
        ClipReady: lambda m: ("clipReady", m.to_dict()),
        ClipFailed: lambda m: ("clipFailed", {"reason": m.reason}),
        Moderation: lambda m: ("moderation", m.to_dict()),
        SessionEnded: lambda m: ("sessionEnded", {"reason": m.reason}),
        RuntimeNotice: lambda m: (m.type, m.data),
    }
    build = runtime.get(type(message))
    if build is None:
        return None
    kind, data = build(message)
    return "runtime_message", {"type": kind, "data": data}
