"""The runtime's session registry: creation limits, descriptors, lookup of uploads."""

from __future__ import annotations

import logging
from typing import Any

from reactor_web.protocol.capabilities import Capabilities, TrackSpec, commands_to_openapi
from reactor_web.protocol.constants import (
    MAIN_AUDIO_TRACK,
    MAIN_VIDEO_TRACK,
    MICROPHONE_TRACK,
    SDK_VERSION,
    WEBCAM_TRACK,
    WEBRTC_VERSION,
)
from reactor_web.runtime.audio import SAMPLE_RATE
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.model import COMMANDS, EDGES_VIDEO_TRACK, MESSAGES
from reactor_web.runtime.session import RuntimeSession, Upload

log = logging.getLogger(__name__)

#: The descriptor's ``state`` for a live session (the JS SDK's ``SessionState`` enum; not CLOSED/INACTIVE).
SESSION_STATE = "ACTIVE"
WEBRTC_TRANSPORT = {"protocol": "webrtc", "version": WEBRTC_VERSION}
#: The demo model's tracks, in capabilities order (directions from the client's side): its picture, the
#: picture's edges (``model.edges_view``), its tone (``audio.tone_hz``), and the camera and microphone it
#: takes in. Clients create their transceivers in this order.
TRACKS: tuple[TrackSpec, ...] = (
    TrackSpec(MAIN_VIDEO_TRACK, "video", "recvonly"),
    TrackSpec(EDGES_VIDEO_TRACK, "video", "recvonly"),
    TrackSpec(MAIN_AUDIO_TRACK, "audio", "recvonly"),
    TrackSpec(WEBCAM_TRACK, "video", "sendonly"),
    TrackSpec(MICROPHONE_TRACK, "audio", "sendonly"),
)


class TooManySessions(Exception):
    pass


class SessionManager:
    """Holds the live sessions of one app; a session removes itself when it closes."""

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self.capabilities = Capabilities(
            tracks=TRACKS, commands=COMMANDS, protocol_version="v0", emission_fps=float(config.fps)
        )
        self.schema = commands_to_openapi(
            COMMANDS,
            TRACKS,
            title=config.model_name,
            version=config.model_version,
            description="CPU demo model of reactor-web's embedded runtime",
            messages=MESSAGES,
        )
        self.sessions: dict[str, RuntimeSession] = {}
        self._upload_owner: dict[str, RuntimeSession] = {}

    async def create(self) -> RuntimeSession:
        if len(self.sessions) >= self.config.max_sessions:
            raise TooManySessions(f"this runtime holds at most {self.config.max_sessions} session(s)")
        session = RuntimeSession(self.config, self.capabilities, self.schema, self)
        self.sessions[session.id] = session
        log.info("session %s started (%d/%d)", session.id, len(self.sessions), self.config.max_sessions)
        return session

    def get(self, session_id: str) -> RuntimeSession | None:
        return self.sessions.get(session_id)

    async def stop(self, session_id: str, reason: str) -> bool:
        session = self.sessions.get(session_id)
        if session is None:
            return False
        await session.close(reason)
        return True

    async def close_all(self) -> None:
        for session in list(self.sessions.values()):
            await session.close("runtime shutting down")

    def add_upload(self, session: RuntimeSession, upload: Upload) -> None:
        """Register a slot, first evicting the session's oldest uploads past ``max_session_upload_bytes``
        (a later command naming one gets ``UNKNOWN_UPLOAD``)."""
        held = sum(u.size for u in session.uploads.values())
        while session.uploads and held + upload.size > self.config.max_session_upload_bytes:
            oldest = next(iter(session.uploads.values()))
            del session.uploads[oldest.presigned_id]
            self._upload_owner.pop(oldest.presigned_id, None)
            held -= oldest.size
            log.info("session %s: evicted upload %s (%s)", session.id, oldest.presigned_id, oldest.name)
        session.uploads[upload.presigned_id] = upload
        self._upload_owner[upload.presigned_id] = session

    def find_upload(self, presigned_id: str) -> Upload | None:
        session = self._upload_owner.get(presigned_id)
        return session.uploads.get(presigned_id) if session is not None else None

    def on_session_closed(self, session: RuntimeSession) -> None:
        """Forget a closing session and its uploads (its :class:`~reactor_web.runtime.session.SessionListener`)."""
        self.sessions.pop(session.id, None)
        for upload_id in [u for u, s in self._upload_owner.items() if s is session]:
            del self._upload_owner[upload_id]

    def descriptor(self, session: RuntimeSession) -> dict[str, Any]:
        """The session response of Part A §3.2/§4 plus the Part B fields (schema, transports, generation)."""
        return {
            "session_id": session.id,
            "state": SESSION_STATE,
            "cluster": "local",
            "model": {"name": self.config.model_name, "version": self.config.model_version},
            "server_info": {"server_version": SDK_VERSION},
            "selected_transport": dict(WEBRTC_TRANSPORT),
            "capabilities": self.capabilities.to_dict(),
            "schema": self.schema,
            "transports": [dict(WEBRTC_TRANSPORT)],
            "generation": "streamed",
        }

    def track_map(self) -> dict[str, dict[str, Any]]:
        """Part B ``track_map``: directions from the model's view (``out`` = the client receives). ``rate``:
        for audio its sample rate in Hz (48000.0, both ways), as reactor-runtime 3.10 reports an audio track
        (its ``Audio.sample_rate``); for video the frames per second of an output (``fps``), 0.0 for an
        input, which takes whatever rate the client sends."""
        return {
            t.name: {
                "kind": t.kind,
                "direction": "out" if t.direction == "recvonly" else "in",
                "rate": self._rate(t),
            }
            for t in self.capabilities.tracks
        }

    def _rate(self, track: TrackSpec) -> float:
        if track.kind == "audio":
            return float(SAMPLE_RATE)
        return float(self.config.fps) if track.direction == "recvonly" else 0.0
