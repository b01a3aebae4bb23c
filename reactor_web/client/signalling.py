"""WebRTC signalling over HTTP, in the two route families a server may speak.

* flat (Part A §5, JS SDK 2.9 and the production coordinator): ``{T}/sdp_params``;
* connections (Part B §B.1, reactor-runtime 3.x): ``{T}/connections`` → ``{T}/connections/{cid}/sdp_params``,
  plus a final ``ice_candidates`` post and a second ``control`` data channel.

``T`` is ``/sessions/{id}/transport/webrtc``. :func:`open_signalling` picks the family: ``"auto"`` tries
connections first and falls back to flat when the server answers 404/405 on ``POST .../connections``.
"""

from __future__ import annotations

import logging
from asyncio import sleep
from dataclasses import dataclass
from typing import Any, Literal

from reactor_web.client._http import http_failure, parse_json
from reactor_web.client.coordinator import HttpApi
from reactor_web.client.errors import ApiError
from reactor_web.protocol.capabilities import ProtocolError
from reactor_web.protocol.constants import SDP_FAST_POLL_S, SDP_POLL_CAP_S, SDP_POLL_INITIAL_S
from reactor_web.protocol.schemas import (
    IceServer,
    client_info,
    parse_ice_servers_body,
    parse_sdp_answer,
    sdp_offer_body,
)

logger = logging.getLogger(__name__)

Flow = Literal["flat", "connections"]
FlowPreference = Literal["auto", "flat", "connections"]


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where another client can pick a session up (:meth:`Reactor.resume`): the session id, the route family
    and, for the connections routes, the connection to re-offer on (so the runtime replaces that client's peer
    connection, with its publisher slots, instead of keeping a second one). JSON-friendly (:meth:`to_dict`)."""

    session_id: str
    flow: Flow
    connection_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"session_id": self.session_id, "flow": self.flow, "connection_id": self.connection_id}

    @classmethod
    def from_dict(cls, value: Any) -> ResumePoint:
        """Raises ``ValueError`` for anything :meth:`to_dict` did not make."""
        if not isinstance(value, dict):
            raise ValueError("a resume point is a JSON object")
        sid, flow, cid = value.get("session_id"), value.get("flow"), value.get("connection_id")
        if not isinstance(sid, str) or not sid or flow not in ("flat", "connections"):
            raise ValueError(f"not a resume point: {value!r}")
        if cid is not None and not isinstance(cid, str):
            raise ValueError(f"not a resume point: {value!r}")
        return cls(sid, flow, cid)


class Signalling:
    """What both route families share: ICE servers, posting an offer (exactly 202), polling the answer."""

    flow: Flow

    def __init__(self, api: HttpApi, session_id: str):
        self.api = api
        self.base = f"/sessions/{session_id}/transport/webrtc"

    def _headers(self) -> dict[str, str]:
        return self.api.transport_headers(with_api_version=self.flow == "connections")

    async def ice_servers(self) -> list[IceServer]:
        response = await self.api.request(
            "fetch ICE servers", "GET", f"{self.base}/ice_servers", self._headers(), version_check="webrtc"
        )
        if not response.is_success:
            # The JS SDK leaves the body out of this one message (Part A §5.1).
            raise ApiError(f"Failed to fetch ICE servers: {response.status_code}", response.status_code)
        return parse_ice_servers_body(parse_json("fetch ICE servers", response))

    async def exchange(self, sdp: str, mapping: list[dict[str, str]], *, reoffer: bool, max_attempts: int) -> str:
        """Send the offer (POST, or PUT when ``reoffer``) and return the answer SDP."""
        raise NotImplementedError

    async def _post_offer(self, path: str, sdp: str, mapping: list[dict[str, str]], *, reoffer: bool) -> None:
        response = await self.api.request(
            "send SDP offer",
            "PUT" if reoffer else "POST",
            path,
            self._headers(),
            sdp_offer_body(sdp, mapping),
            version_check="webrtc",
        )
        if response.status_code != 202:  # 200/201 are failures too (Part A §5.2)
            raise http_failure("send SDP offer", response)

    async def _poll_answer(self, path: str, max_attempts: int) -> str:
        """Part A §5.3: 200 → answer, 202 → sleep 200 ms doubling to 15 s (also after the last try).

        Better than the JS SDK: an answer usually takes 0.1-0.3 s, so through the first 200 ms the
        client also asks every 40 ms (uncounted), instead of idling a whole backoff step.
        """
        for _ in range(round(SDP_POLL_INITIAL_S / SDP_FAST_POLL_S)):
            if (answer := await self._get_answer(path)) is not None:
                return answer
            await sleep(SDP_FAST_POLL_S)
        backoff = SDP_POLL_INITIAL_S
        for _ in range(max_attempts):
            if (answer := await self._get_answer(path)) is not None:
                return answer
            await sleep(backoff)
            backoff = min(backoff * 2, SDP_POLL_CAP_S)
        raise ApiError(f"SDP polling exceeded maximum attempts ({max_attempts})")

    async def _get_answer(self, path: str) -> str | None:
        """The answer (200), or None while it is not ready yet (202)."""
        response = await self.api.request("poll SDP answer", "GET", path, self._headers(), version_check="webrtc")
        if response.status_code == 200:
            return parse_sdp_answer(parse_json("poll SDP answer", response))
        if response.status_code != 202:
            raise http_failure("poll SDP answer", response)
        return None


class FlatSignalling(Signalling):
    """Part A §5: POST (first offer) or PUT (re-offer) ``{T}/sdp_params``, then poll GET."""

    flow: Flow = "flat"

    async def exchange(self, sdp: str, mapping: list[dict[str, str]], *, reoffer: bool, max_attempts: int) -> str:
        await self._post_offer(f"{self.base}/sdp_params", sdp, mapping, reoffer=reoffer)
        return await self._poll_answer(f"{self.base}/sdp_params", max_attempts)


class ConnectionsSignalling(Signalling):
    """Part B §B.1: one registered connection per peer connection; re-offers go to the same connection."""

    flow: Flow = "connections"

    def __init__(self, api: HttpApi, session_id: str):
        super().__init__(api, session_id)
        self.connection_id: str | None = None

    async def open_connection(self) -> None:
        """``POST {T}/connections`` → 201 ``{"connection_id": ...}``."""
        response = await self.api.request(
            "create connection", "POST", f"{self.base}/connections", self._headers(), {}, version_check="webrtc"
        )
        if response.status_code != 201:
            raise http_failure("create connection", response)
        body = parse_json("create connection", response)
        cid = body.get("connection_id") if isinstance(body, dict) else None
        if isinstance(cid, bool) or not isinstance(cid, (int, str)):
            raise ProtocolError("create connection: response has no connection_id")
        self.connection_id = str(cid)

    async def exchange(self, sdp: str, mapping: list[dict[str, str]], *, reoffer: bool, max_attempts: int) -> str:
        if self.connection_id is None:
            await self.open_connection()
            reoffer = False
        try:
            await self._post_offer(self._sdp_path(), sdp, mapping, reoffer=reoffer)
        except ApiError as exc:
            if not (reoffer and exc.status == 404):
                raise
            # The runtime forgot the connection (it dropped us): register a new one and offer there.
            logger.info("connection %s is gone; registering a new one", self.connection_id)
            await self.open_connection()
            await self._post_offer(self._sdp_path(), sdp, mapping, reoffer=False)
        await self._send_final_candidates()
        return await self._poll_answer(self._sdp_path(), max_attempts)

    def _sdp_path(self) -> str:
        return f"{self.base}/connections/{self.connection_id}/sdp_params"

    async def _send_final_candidates(self) -> None:
        """All candidates are in the offer (aiortc gathers before it); tell the runtime there are no more."""
        body = {"candidates": [], "is_final": True, "client_info": client_info()}
        response = await self.api.request(
            "send ICE candidates",
            "POST",
            f"{self.base}/connections/{self.connection_id}/ice_candidates",
            self._headers(),
            body,
            version_check="webrtc",
        )
        if not response.is_success:
            # Optional by Part B: a runtime without trickle support can still answer.
            logger.info("ice_candidates answered %s; continuing", response.status_code)


def resumed_signalling(api: HttpApi, point: ResumePoint) -> Signalling:
    """The signalling another client used, continued: re-offers go where it offered."""
    if point.flow == "flat":
        return FlatSignalling(api, point.session_id)
    signalling = ConnectionsSignalling(api, point.session_id)
    signalling.connection_id = point.connection_id
    return signalling


async def open_signalling(api: HttpApi, session_id: str, preference: FlowPreference) -> Signalling:
    """The signalling to use; with ``"auto"``, connections unless the server answers 404/405."""
    if preference == "flat":
        return FlatSignalling(api, session_id)
    signalling = ConnectionsSignalling(api, session_id)
    try:
        await signalling.open_connection()
    except ApiError as exc:
        if preference == "auto" and exc.status in (404, 405):
            logger.info("server has no connections routes (%s); using flat sdp_params", exc.status)
            return FlatSignalling(api, session_id)
        raise
    return signalling
