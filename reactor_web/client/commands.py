"""The Reactor's commands, uploads and track publishing (Part A §6.7, §7.1, §8), apart from its connection logic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from aiortc.mediastreams import MediaStreamTrack

from reactor_web._media import DECODED, EncodedHub, FrameHub, MediaHub
from reactor_web.client.command_data import prepare_command
from reactor_web.client.coordinator import HttpApi
from reactor_web.client.errors import ErrorCode, ReactorError, refusal_error
from reactor_web.client.transport import ConnectionClosed, PeerTransport
from reactor_web.client.uploads import UploadSource, upload
from reactor_web.protocol.capabilities import Capabilities
from reactor_web.protocol.checks import check_seconds
from reactor_web.protocol.codec import WireError
from reactor_web.protocol.constants import Scope, Status
from reactor_web.protocol.messages import ClientMessage, Command, ModelMessage, Refusal, RuntimeCommand
from reactor_web.protocol.schemas import FileRef
from reactor_web.protocol.validation import CommandValidationError

#: How long :meth:`CommandsMixin.send_command` waits for a v1 command's answer by default (seconds): a model's
#: handler runs between two frames, so a live runtime answers well within it.
COMMAND_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Publication:
    """A caller's track published under a name, and the hub that reads it. The Reactor owns the hub (it
    lives until the track is unpublished or the session ends, across recoverable disconnects); each
    transport sends its own view of it. The caller's track is never stopped by the client, nor its
    ``encoded`` hub (the same media as encoded frames, forwarded when the codec allows) closed."""

    track: MediaStreamTrack
    hub: FrameHub
    encoded: EncodedHub | None = None


class CommandsMixin:
    """Needs the Reactor's state below and ``_report``; every failure is reported, then raised."""

    _status: Status
    _transport: PeerTransport | None
    _published: dict[str, Publication]
    _capabilities: Capabilities | None
    _api: HttpApi | None
    _session_id: str | None
    _http_timeout_s: float
    _http_transport: httpx.AsyncBaseTransport | None

    def _report(self, error: ReactorError) -> None:
        raise NotImplementedError

    async def send_command(
        self, command: str, data: Any = None, scope: Scope = "application", *, timeout_s: float = COMMAND_TIMEOUT_S
    ) -> dict[str, Any] | None:
        """Send a command to the model (JS SDK ``sendCommand``; reactor-sdk 1.13 ``send_command``).

        ``data``: a JSON object (a string is JSON-parsed first; None sends none); :class:`FileRef` values travel
        as uploads. An application command is checked against the model's declared commands first
        (``INVALID_COMMAND``, naming the field).

        On a v1 session (the connections routes: reactor-runtime 3.x, our runtime) the runtime answers every
        command and this waits for the answer, at most ``timeout_s`` seconds: it returns the model's reply as
        ``{"type", "data"}``, None for a bodyless acknowledgement, and raises the model's refusal as a
        :class:`RefusalError` carrying the model's code (also emitted as the ``error`` event, as every refusal is).
        On a v0 session (flat routes) and for ``scope="runtime"`` it returns None once sent; a refusal then
        arrives as the ``error`` event only.

        Raises (and emits) :class:`ReactorError`: ``MESSAGE_SEND_FAILED`` (not ready, channel closed, data that
        is not JSON), ``ENCODE_FAILED`` (a value the wire cannot carry, named), ``MESSAGE_TOO_LARGE``,
        ``REQUEST_TIMEOUT`` (no answer in time), ``DISCONNECTED`` (the connection closed first). Unlike the JS
        SDK, which only logs, every one of these reaches the caller.
        """
        transport = self._transport
        if self._status != "ready" or transport is None:
            raise self._fail(ErrorCode.MESSAGE_SEND_FAILED, f"Cannot send {command!r}: status is {self._status!r}")
        try:
            timeout_s = check_seconds("timeout_s", timeout_s)
            payload, uploads = prepare_command(self._capabilities, scope, command, data)
        except CommandValidationError as exc:
            raise self._fail(ErrorCode.INVALID_COMMAND, str(exc), False) from exc
        except (TypeError, ValueError) as exc:
            raise self._fail(ErrorCode.MESSAGE_SEND_FAILED, f"Cannot send {command!r}: {exc}", False) from exc
        message: ClientMessage = (
            Command(command, payload, uploads) if scope == "application" else RuntimeCommand(command, payload, uploads)
        )
        if scope == "application" and transport.codec.answers_commands:
            return await self._request_command(transport, message, command, timeout_s)
        try:
            encoded = transport.encode(message)
        except WireError as exc:
            raise self._encode_failure(command, exc) from exc
        try:
            if encoded is not None:
                transport.send(encoded)
        except Exception as exc:
            raise self._fail(ErrorCode.MESSAGE_SEND_FAILED, f"Failed to send message: {exc}") from exc
        return None

    async def _request_command(
        self, transport: PeerTransport, message: ClientMessage, command: str, timeout_s: float
    ) -> dict[str, Any] | None:
        """Send a correlated command and turn its answer into :meth:`send_command`'s result."""
        request_id = transport.next_request_id()
        try:
            answer = await transport.request(message, command, timeout_s, request_id=request_id)
        except WireError as exc:
            raise self._encode_failure(command, exc) from exc
        except TimeoutError:
            text = f"No answer to command {command!r} (request {request_id}) within {timeout_s:g} s"
            raise self._fail(ErrorCode.REQUEST_TIMEOUT, text) from None
        except ConnectionClosed as exc:
            raise self._fail(ErrorCode.DISCONNECTED, f"No answer to command {command!r}: {exc}") from None
        except Exception as exc:
            raise self._fail(ErrorCode.MESSAGE_SEND_FAILED, f"Failed to send message: {exc}") from exc
        if isinstance(answer, Refusal):
            raise refusal_error(answer)  # the error event went out with the answer (Reactor._on_message)
        if isinstance(answer, ModelMessage):
            return {"type": answer.type, "data": answer.data}
        return None  # an acknowledgement

    def _encode_failure(self, command: str, exc: WireError) -> ReactorError:
        if exc.code == "MESSAGE_TOO_LARGE":
            return self._fail(ErrorCode.MESSAGE_TOO_LARGE, f"Cannot send {command!r}: {exc.message}")
        return self._fail(ErrorCode.ENCODE_FAILED, f"Cannot send {command!r}: {exc.message}", False)

    async def upload_file(
        self, source: UploadSource, *, name: str | None = None, mime_type: str | None = None
    ) -> FileRef:
        """Upload a file (a path, bytes or a binary file object) to the session, announce it to the runtime
        (``fileUploaded``), and return its reference for :meth:`send_command` data (Part A §8). Requires
        ``ready``; raises (and emits) ``UPLOAD_TOO_LARGE`` or ``UPLOAD_FAILED``."""
        api, session_id = self._api, self._session_id
        if self._status != "ready" or api is None or session_id is None:
            message = f'Cannot upload file, status is "{self._status}". Must be "ready".'
            raise self._fail(ErrorCode.UPLOAD_FAILED, message, False)
        try:
            ref = await upload(
                api,
                session_id,
                source,
                name=name,
                mime_type=mime_type,
                http_timeout_s=self._http_timeout_s,
                transport=self._http_transport,
            )
        except ReactorError as exc:
            self._report(exc)
            raise
        await self.send_command("fileUploaded", ref.to_dict(), "runtime")
        return ref

    @property
    def published_tracks(self) -> dict[str, MediaStreamTrack]:
        """The caller's tracks published by name (a copy). A recoverable disconnect keeps them and
        :meth:`reconnect` sends them again; one that cannot be restored is dropped with an ``error`` event."""
        return {name: publication.track for name, publication in self._published.items()}

    def sends_encoded(self, name: str) -> bool:
        """Whether published track ``name`` goes to the GPU as the encoded frames given to :meth:`publish_track`
        (passthrough) on the current peer connection; False when decoded and encoded again, or not sent."""
        published = self._transport.published.get(name) if self._transport is not None else None
        return published is not None and published.passthrough

    async def publish_track(self, name: str, track: MediaStreamTrack, *, encoded: EncodedHub | None = None) -> None:
        """Send ``track`` on the sendonly capability track ``name`` (``publishTrack``; requires ``ready``).

        The client reads ``track`` (latest frame only) and sends it on every peer connection of the
        session until :meth:`unpublish_track` or a non-recoverable disconnect; it never stops ``track``.
        ``encoded``, when given, carries the same media as encoded frames (what a relay received from a
        browser): on a peer connection whose negotiated codec is theirs, they are sent as they are and
        ``track`` is not read (not an argument of the JS SDK, which has no such source).
        Publishing the same track again is a no-op; another track replaces it. Raises (and emits)
        ``TRACK_PUBLISH_FAILED``: not ready, a name the model does not take (not recoverable), or a
        claim the runtime refused.
        """
        transport = self._transport
        if self._status != "ready" or transport is None:
            raise self._fail(
                ErrorCode.TRACK_PUBLISH_FAILED, f'Failed to publish track "{name}": status is {self._status!r}'
            )
        current = self._published.get(name)
        publication = current
        if publication is None or publication.track is not track or publication.encoded is not encoded:
            publication = Publication(track, MediaHub(track.kind, DECODED, name=name), encoded)
            publication.hub.set_source(track)
            # Recorded at once: a second call while the runtime answers the claim finds it attached.
            self._published[name] = publication
        try:
            await transport.publish(name, publication.hub, publication.encoded)
        except BaseException as exc:
            # The transport detached the name: neither the new track nor the one it replaced is sent.
            if self._published.get(name) is publication:
                del self._published[name]
            await publication.hub.close()
            if current is not None and current is not publication:
                await current.hub.close()
            if not isinstance(exc, Exception):
                raise
            detail = str(exc) or type(exc).__name__
            raise self._fail(
                ErrorCode.TRACK_PUBLISH_FAILED,
                f'Failed to publish track "{name}": {detail}',
                not isinstance(exc, ValueError),  # a ValueError is a caller mistake: no retry will help
            ) from exc
        if current is not None and current is not publication:
            await current.hub.close()

    async def unpublish_track(self, name: str) -> None:
        """Stop sending on ``name`` (``unpublishTrack``), also for a later :meth:`reconnect`; a no-op when
        nothing is published there. Raises (and emits) ``TRACK_UNPUBLISH_FAILED``."""
        publication = self._published.pop(name, None)
        try:
            if self._transport is not None:
                self._transport.unpublish(name)
        except Exception as exc:
            raise self._fail(ErrorCode.TRACK_UNPUBLISH_FAILED, f'Failed to unpublish track "{name}": {exc}') from exc
        finally:
            if publication is not None:
                await publication.hub.close()

    async def _restore_publications(self, transport: PeerTransport) -> None:
        """After a reconnect: send every publication again on the new ``transport``. One that cannot be
        restored is dropped and reported as ``TRACK_PUBLISH_FAILED``."""
        for name, publication in list(self._published.items()):
            try:
                await transport.publish(name, publication.hub, publication.encoded)
            except Exception as exc:
                if transport is not self._transport or self._published.get(name) is not publication:
                    continue  # torn down or replaced meanwhile: nothing to report
                del self._published[name]
                await publication.hub.close()
                detail = str(exc) or type(exc).__name__
                self._fail(
                    ErrorCode.TRACK_PUBLISH_FAILED,
                    f'Track "{name}" is no longer published: it could not be restored after reconnecting: {detail}',
                    not isinstance(exc, ValueError),
                )

    async def _drop_publications(self) -> None:
        """End every publication's hub (the session is over); the callers' tracks are left running."""
        publications, self._published = list(self._published.values()), {}
        for publication in publications:
            await publication.hub.close()

    def _fail(self, code: ErrorCode, message: str, recoverable: bool = True) -> ReactorError:
        """Report a GPU-side error and return it for the caller to raise."""
        error = ReactorError(code, message, component="gpu", recoverable=recoverable)
        self._report(error)
        return error
