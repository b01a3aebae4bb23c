"""What a UI does with a tab, wherever the tab lives: :class:`TabHandle`.

Every operation goes through :func:`run_op` with JSON-able arguments and a JSON-able answer, both when the tab is
this worker's own and when it is another worker's (forwarded through :mod:`reactor_web.relay.cluster`): the
forwarded path is the same code as the local one, so every single-worker test exercises it too.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from reactor_web.client import ReactorError
from reactor_web.protocol.capabilities import Capabilities
from reactor_web.protocol.schemas import FileRef
from reactor_web.relay.peer import OfferError, RelayOffer
from reactor_web.relay.tab import TabSession

logger = logging.getLogger(__name__)

#: ``invoke(op, args)`` → the answer envelope ``{"ok": value}`` or ``{"error": {...}}``.
Invoke = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _accept_offer(tab: TabSession, offer: str) -> str:
    return await tab.accept_offer(RelayOffer.parse(offer))


async def _upload_file(tab: TabSession, content: str, name: str | None, mime_type: str | None) -> dict[str, Any]:
    ref = await tab.upload_file(base64.b64decode(content), name=name, mime_type=mime_type)
    return ref.to_dict()


async def _send_command(tab: TabSession, command: str, data: Any) -> None:
    await tab.send_command(command, _restored(data))


async def _screenshot(tab: TabSession, track: str) -> str:
    return base64.b64encode(await tab.screenshot(track)).decode("ascii")


def _capabilities(tab: TabSession) -> dict[str, Any] | None:
    caps = tab.capabilities()
    return caps.to_dict() if caps is not None else None


#: The operations a tab takes from a UI, by name: each returns a JSON-able value (or an awaitable of one).
OPS: dict[str, Callable[..., Any]] = {
    "accept_offer": _accept_offer,
    "connect": TabSession.connect,
    "disconnect": TabSession.disconnect,
    "reconnect": TabSession.reconnect,
    "retry": TabSession.retry,
    "set_auto_retry": TabSession.set_auto_retry,
    "set_webcam_wanted": TabSession.set_webcam_wanted,
    "set_microphone_wanted": TabSession.set_microphone_wanted,
    "clear_refusals": lambda tab, keys: tab.clear_refusals(*keys),
    "send_command": _send_command,
    "upload_file": _upload_file,
    "screenshot": _screenshot,
    "capabilities": _capabilities,
}


async def run_op(tab: TabSession, op: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run ``op`` on ``tab``: ``{"ok": answer}``, or ``{"error": {"kind": "reactor"|"offer"|"internal", ...}}``.

    Never raises for what the caller sent (an unknown op, wrong arguments): a forwarded request comes from
    another process and its failure must reach the caller, not the listener."""
    fn = OPS.get(op)
    if fn is None:
        return {"error": {"kind": "internal", "message": f"unknown tab operation {op!r}"}}
    try:
        answer = fn(tab, **args)
        if isinstance(answer, Awaitable):
            answer = await answer
    except ReactorError as exc:
        return {"error": {"kind": "reactor", **exc.to_dict()}}
    except OfferError as exc:
        return {"error": {"kind": "offer", "message": str(exc)}}
    except Exception as exc:
        logger.exception("tab operation %s failed", op)
        return {"error": {"kind": "internal", "message": f"{type(exc).__name__}: {exc}"}}
    return {"ok": answer}


def _raise(error: dict[str, Any]) -> None:
    kind = error.get("kind")
    message = str(error.get("message", ""))
    if kind == "offer":
        raise OfferError(message)
    if kind == "reactor":
        raised = ReactorError(
            str(error.get("code", "INTERNAL_ERROR")),
            message,
            component="coordinator" if error.get("component") == "coordinator" else "gpu",
            recoverable=bool(error.get("recoverable", True)),
            retry_after=error.get("retry_after"),
            command=error.get("command"),
        )
        raise raised
    raise ReactorError("INTERNAL_ERROR", message or "the tab operation failed", component="gpu")


class TabHandle:
    """A tab's operations for a UI, on this worker's :class:`TabSession` or forwarded to the worker that owns it.

    Every method is async and returns once the owner has taken the operation (long ones, like a connect, run on
    there as the tab's tasks; their outcome arrives as state). Errors: ``ReactorError`` as the tab raised it (a
    refused command, a failed upload), and ``ReactorError("OWNER_UNREACHABLE", ...)`` when the tab's owner could
    not be reached; :meth:`accept_offer` raises ``OfferError`` for an offer the relay cannot use.
    """

    def __init__(self, invoke: Invoke, *, local: TabSession | None = None) -> None:
        self._invoke = invoke
        #: The TabSession when it is this worker's (None when forwarded).
        self.local = local

    async def _call(self, op: str, **args: Any) -> Any:
        envelope = await self._invoke(op, args)
        if "error" in envelope:
            _raise(envelope["error"])
        return envelope.get("ok")

    async def accept_offer(self, offer: str) -> str:
        """The page's relay offer (its JSON text, see ``RelayOffer.parse``) → the relay's SDP answer."""
        return str(await self._call("accept_offer", offer=offer))

    async def connect(self, requested_at: float | None = None, handled_at: float | None = None) -> None:
        """Start the tab's session if it has none (JS ``connect()``); ``requested_at`` (the click on the page's
        clock) and ``handled_at`` (the event handler, on this worker's), ms since the epoch, time it."""
        await self._call("connect", requested_at=requested_at, handled_at=handled_at)

    async def disconnect(self) -> None:
        """End the tab's session (JS ``disconnect()``)."""
        await self._call("disconnect")

    async def reconnect(self) -> None:
        """A fresh peer connection to the same session (JS ``reconnect()``)."""
        await self._call("reconnect")

    async def retry(self) -> None:
        """Reconnect if the session survived the last failure, else connect anew."""
        await self._call("retry")

    async def set_auto_retry(self, enabled: bool) -> None:
        """Retry by itself after a recoverable failure, or not."""
        await self._call("set_auto_retry", enabled=enabled)

    async def set_webcam_wanted(self, wanted: bool) -> None:
        """Publish the page's camera whenever ready, or stop."""
        await self._call("set_webcam_wanted", wanted=wanted)

    async def set_microphone_wanted(self, wanted: bool) -> None:
        """Publish the page's microphone whenever ready, or stop."""
        await self._call("set_microphone_wanted", wanted=wanted)

    async def clear_refusals(self, *keys: str) -> None:
        """Forget earlier refusals of ``keys`` (command names, or ``publish:<track>``)."""
        await self._call("clear_refusals", keys=list(keys))

    async def send_command(self, command: str, data: Any = None) -> None:
        """Send a command (JS ``sendCommand``); ``data`` a JSON object whose ``FileRef`` values are uploads."""
        await self._call("send_command", command=command, data=_plain(data))

    async def screenshot(self, track: str) -> bytes:
        """The model's current frame of video output ``track`` as PNG bytes; raises ReactorError ``NO_FRAME``."""
        return base64.b64decode(await self._call("screenshot", track=track))

    async def upload_file(self, content: bytes, *, name: str | None, mime_type: str | None) -> FileRef:
        """Upload ``content`` to the session; returns the reference to put into a command (JS ``uploadFile``)."""
        ref = await self._call(
            "upload_file", content=base64.b64encode(content).decode("ascii"), name=name, mime_type=mime_type
        )
        return FileRef(**ref)

    async def capabilities(self) -> Capabilities | None:
        """The model's declared commands and tracks, once connected (None before)."""
        caps = await self._call("capabilities")
        return Capabilities.parse(caps) if caps is not None else None


#: How a :class:`FileRef` inside a command's data travels to the owner (the client sends FileRefs as uploads).
_FILE_REF = "__reactor_web_file_ref__"


def _restored(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_FILE_REF}:
            return FileRef(**value[_FILE_REF])
        return {k: _restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restored(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """``value`` with its :class:`FileRef` values marked, to be made FileRefs again at the owner."""
    if isinstance(value, FileRef):
        return {_FILE_REF: value.to_dict()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
