"""HTTP bodies of the coordinator and transport APIs (Part A §3-§5, Part B §B.1).

Parsing is Zod-like: unknown keys are ignored, a missing or mistyped required field raises
:class:`ProtocolError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reactor_web.protocol.capabilities import Capabilities, ProtocolError, TrackSpec, require_field
from reactor_web.protocol.checks import check_ice_urls
from reactor_web.protocol.constants import SDK_TYPE, SDK_VERSION


def client_info(sdk_version: str = SDK_VERSION, sdk_type: str = SDK_TYPE) -> dict[str, str]:
    return {"sdk_version": sdk_version, "sdk_type": sdk_type}


def create_session_body(model_name: str, extra_args: dict[str, Any] | None = None) -> dict[str, Any]:
    """``POST /sessions`` body, key order as the JS SDK."""
    body: dict[str, Any] = {
        "model": {"name": model_name},
        "client_info": client_info(),
        "supported_transports": [{"protocol": "webrtc", "version": "1.0"}],
    }
    if extra_args is not None:
        body["extra_args"] = extra_args
    return body


def token_request_body(model: str | None = None, expires_after: int | None = None) -> dict[str, Any] | None:
    """``POST /tokens`` body (Part B §B.4): None (JSON ``null``, an unscoped token) unless narrowed.

    ``model`` scopes the token to that model and one concurrent session; ``expires_after`` (seconds)
    asks for a lifetime shorter than the coordinator's default.
    """
    body: dict[str, Any] = {}
    if model is not None:
        body["authorization_details"] = [
            {"type": "session", "resources": {"models": {"match": [model]}}, "constraints": {"max_sessions": 1}}
        ]
    if expires_after is not None:
        body["expires_after"] = expires_after
    return body or None


@dataclass(frozen=True, slots=True)
class SessionResponse:
    """A session descriptor (create, poll, or local ``start_session``)."""

    session_id: str
    state: str
    cluster: str
    model_name: str
    model_version: str | None
    server_version: str
    selected_transport: dict[str, str] | None
    capabilities: Capabilities | None
    raw: dict[str, Any]

    @classmethod
    def parse(cls, obj: Any) -> SessionResponse:
        where = "session response"
        session_id = require_field(obj, "session_id", str, where)
        state = require_field(obj, "state", str, where)
        cluster = require_field(obj, "cluster", str, where)
        model = require_field(obj, "model", dict, where)
        model_name = require_field(model, "name", str, f"{where}.model")
        model_version = model.get("version")
        if model_version is not None and not isinstance(model_version, str):
            raise ProtocolError(f"{where}.model.version: wrong type")
        server_info = require_field(obj, "server_info", dict, where)
        server_version = require_field(server_info, "server_version", str, f"{where}.server_info")
        selected = obj.get("selected_transport")
        if selected is not None:
            require_field(selected, "protocol", str, f"{where}.selected_transport")
            require_field(selected, "version", str, f"{where}.selected_transport")
        caps_raw = obj.get("capabilities")
        capabilities = Capabilities.parse(caps_raw) if caps_raw is not None else None
        return cls(
            session_id=session_id,
            state=state,
            cluster=cluster,
            model_name=model_name,
            model_version=model_version,
            server_version=server_version,
            selected_transport=dict(selected) if selected else None,
            capabilities=capabilities,
            raw=dict(obj),
        )

    @property
    def queue_position(self) -> int | None:
        """1-based place in the coordinator's waiting line, when the server reports one (this project's
        coordinator emulation does, as ``queue_position``; the JS SDK knows no such field)."""
        position = self.raw.get("queue_position")
        return position if isinstance(position, int) and not isinstance(position, bool) else None

    @property
    def ready(self) -> bool:
        """True when both capabilities and a selected transport are present (Part A §3.2 step 6)."""
        return self.capabilities is not None and self.selected_transport is not None


@dataclass(frozen=True, slots=True)
class IceServer:
    urls: list[str]
    username: str | None = None
    credential: str | None = None


def parse_ice_servers_body(obj: Any) -> list[IceServer]:
    """The wire form, ``GET .../ice_servers`` → ``{"ice_servers":[{"uris":[...],"credentials"?:{...}}]}``
    (the inverse of :func:`ice_servers_body`); raises :class:`ProtocolError`."""
    entries = require_field(obj, "ice_servers", list, "ice_servers response")
    servers: list[IceServer] = []
    for i, entry in enumerate(entries):
        where = f"ice_servers[{i}]"
        uris = require_field(entry, "uris", list, where)
        if not all(isinstance(u, str) for u in uris):
            raise ProtocolError(f"{where}.uris: expected strings")
        creds = entry.get("credentials")
        if creds is not None:
            servers.append(
                IceServer(
                    uris,
                    require_field(creds, "username", str, f"{where}.credentials"),
                    require_field(creds, "password", str, f"{where}.credentials"),
                )
            )
        else:
            servers.append(IceServer(uris))
    return servers


def parse_ice_server_list(obj: Any, name: str) -> list[IceServer]:
    """The configuration form (a browser's ``RTCIceServer`` JSON): ``[{"urls": str | [str], "username"?,
    "credential"?}]``, each URL ``stun:``, ``turn:`` or ``turns:``. Raises ``ValueError`` naming ``name``."""
    if not isinstance(obj, list):
        raise ValueError(f'{name} must be a JSON list of {{"urls": [...], ...}} objects')
    servers = []
    for i, entry in enumerate(obj):
        where = f"{name}[{i}]"
        if not isinstance(entry, dict) or "urls" not in entry:
            raise ValueError(f'{where} must be an object with "urls"')
        urls = entry["urls"]
        urls = check_ice_urls(where, [urls] if isinstance(urls, str) else urls if isinstance(urls, list) else [urls])
        username, credential = entry.get("username"), entry.get("credential")
        if not isinstance(username, str | None) or not isinstance(credential, str | None):
            raise ValueError(f"{where}: username and credential must be strings")
        servers.append(IceServer(urls, username, credential))
    return servers


def ice_server_list(servers: list[IceServer]) -> list[dict[str, Any]]:
    """The configuration form of ``servers`` (what a browser's ``RTCPeerConnection`` takes)."""
    out = []
    for s in servers:
        entry: dict[str, Any] = {"urls": list(s.urls)}
        if s.username is not None:
            entry["username"] = s.username
        if s.credential is not None:
            entry["credential"] = s.credential
        out.append(entry)
    return out


def ice_servers_body(servers: list[IceServer]) -> dict[str, Any]:
    out = []
    for s in servers:
        entry: dict[str, Any] = {"uris": list(s.urls)}
        if s.username is not None and s.credential is not None:
            entry["credentials"] = {"username": s.username, "password": s.credential}
        out.append(entry)
    return {"ice_servers": out}


def track_mapping_entry(mid: str, track: TrackSpec) -> dict[str, str]:
    """One ``track_mapping`` entry, key order ``mid, name, kind, direction`` (Part A §5.2)."""
    return {"mid": mid, "name": track.name, "kind": track.kind, "direction": track.direction}


def sdp_offer_body(sdp: str, mapping: list[dict[str, str]]) -> dict[str, Any]:
    return {"sdp_offer": sdp, "client_info": client_info(), "track_mapping": mapping}


def parse_sdp_offer(obj: Any) -> tuple[str, list[dict[str, str]]]:
    """Validate an SDP offer body on the server side; returns ``(sdp, track_mapping)``."""
    where = "sdp_params body"
    sdp = require_field(obj, "sdp_offer", str, where)
    if not sdp.startswith("v=0"):
        raise ProtocolError(f"{where}.sdp_offer: not an SDP document (must start with 'v=0')")
    mapping = obj.get("track_mapping") or []
    if not isinstance(mapping, list):
        raise ProtocolError(f"{where}.track_mapping: expected an array")
    out: list[dict[str, str]] = []
    for i, entry in enumerate(mapping):
        track = TrackSpec.parse(entry, f"{where}.track_mapping[{i}]")
        mid = require_field(entry, "mid", str, f"{where}.track_mapping[{i}]")
        out.append(track_mapping_entry(mid, track))
    return sdp, out


def parse_sdp_answer(obj: Any) -> str:
    return require_field(obj, "sdp_answer", str, "sdp answer")


@dataclass(frozen=True, slots=True)
class FileRef:
    """An uploaded file (Part A §8 step 6). Put it as a parameter value in a command's data: it travels in
    the envelope's ``uploads`` as :meth:`to_dict` (Part A §7.1)."""

    upload_id: str
    name: str
    mime_type: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        """``{"upload_id","name","mime_type","size"}``, in the JS SDK's key order."""
        return {"upload_id": self.upload_id, "name": self.name, "mime_type": self.mime_type, "size": self.size}


@dataclass(frozen=True, slots=True)
class UploadSlot:
    presigned_id: str
    presigned_url: str
    path: str

    @classmethod
    def parse(cls, obj: Any) -> UploadSlot:
        where = "upload slot"
        return cls(
            require_field(obj, "presigned_id", str, where),
            require_field(obj, "presigned_url", str, where),
            require_field(obj, "path", str, where),
        )
