"""The ``control`` data channel of reactor-runtime 3.x in v0 JSON (Part B §B.2): track verbs as JSON frames.

``request_id`` is written as given: v0 peers send integers, and reactor-runtime echoes them back as strings.
"""

from __future__ import annotations

from typing import Any, Literal

from reactor_web.protocol.envelope import encode_json

ControlEvent = Literal["pause_track", "resume_track", "unpublish_track"]


def control_request(method: str, request_id: int | str, data: dict[str, Any]) -> str:
    return encode_json({"type": "request", "method": method, "request_id": request_id, "data": data})


def control_response(
    method: str, request_id: int | str, data: dict[str, Any] | None = None, error: dict[str, str] | None = None
) -> str:
    frame: dict[str, Any] = {"type": "response", "method": method, "request_id": request_id, "data": data or {}}
    if error is not None:
        frame["error"] = error
    return encode_json(frame)


def control_notification(event: ControlEvent, name: str) -> str:
    return encode_json({"type": "notification", "event": event, "data": {"name": name}})
