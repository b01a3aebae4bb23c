"""Constants of the Reactor wire protocol (see shared/reactor-protocol.md, Part A §1 and Part B)."""

from typing import Final, Literal

#: Version this package reports in ``client_info.sdk_version``.
SDK_VERSION: Final = "0.1.0"
#: ``client_info.sdk_type`` of this client (the JS SDK sends ``"js"``).
SDK_TYPE: Final = "python"

API_VERSION: Final = "1"
WEBRTC_VERSION: Final = "1.0"

DEFAULT_BASE_URL: Final = "https://api.reactor.inc"
LOCAL_BASE_URL: Final = "http://localhost:8080"

HEADER_API_VERSION: Final = "Reactor-API-Version"
HEADER_API_ACCEPT_VERSION: Final = "Reactor-API-Accept-Version"
HEADER_WEBRTC_VERSION: Final = "Reactor-WebRTC-Version"
HEADER_API_KEY: Final = "Reactor-API-Key"

#: Token the JS SDK sends on transport calls in local mode.
LOCAL_BEARER: Final = "local"

# Polling schedules (Part A §3.2 and §5.3).
SESSION_POLL_INITIAL_S: Final = 0.2
SESSION_POLL_CAP_S: Final = 10.0
SESSION_POLL_MAX_ATTEMPTS: Final = 20
SDP_POLL_INITIAL_S: Final = 0.2
#: Our addition: the pace of the uncounted polls during the first backoff step.
SDP_FAST_POLL_S: Final = 0.04
SDP_POLL_CAP_S: Final = 15.0
SDP_POLL_DEFAULT_MAX_ATTEMPTS: Final = 6

PING_INTERVAL_S: Final = 5.0
STATS_INTERVAL_S: Final = 2.0
#: A runtime drops a session that has not pinged for this long (Part B §B.2); our runtime's default.
PING_TIMEOUT_S: Final = 20.0
#: How long the client waits, after applying the SDP answer, for the peer connection and its data channels
#: to open (ICE + DTLS + SCTP); past it, connect() reports GPU_CONNECTION_ERROR and disconnects.
READY_TIMEOUT_S: Final = 20.0

DATA_CHANNEL_LABEL: Final = "data"
CONTROL_CHANNEL_LABEL: Final = "control"
#: What the JS SDK assumes when ``pc.sctp.maxMessageSize`` is unknown; also what every aiortc peer advertises
#: in its SDP (``aiortc.rtcsctptransport.LOCAL_MAX_MESSAGE_SIZE``), so the largest frame our client and relay
#: accept from the other side.
DEFAULT_MAX_MESSAGE_SIZE: Final = 262_144
#: The largest data-channel frame (UTF-8 bytes) our runtime accepts on ``data`` and ``control``. Its SDP
#: answer advertises exactly this as ``a=max-message-size``, so a client refuses a bigger frame before sending.
MAX_MESSAGE_SIZE: Final = 65_536
#: The largest JSON body an HTTP route of the runtime or the coordinator emulation accepts, and the largest
#: JSON response the client reads (SDP offers and session descriptors are a few KB).
MAX_JSON_BODY_BYTES: Final = 1_048_576

#: Session states the client treats as terminal while polling (exact, case-sensitive).
TERMINAL_SESSION_STATES: Final = frozenset({"CLOSED", "INACTIVE"})

Scope = Literal["application", "runtime"]
Status = Literal["disconnected", "connecting", "waiting", "ready"]
TrackKind = Literal["video", "audio"]
TrackDirection = Literal["recvonly", "sendonly"]

#: The main video track's name, as in the JS SDK's ``ReactorView`` default.
MAIN_VIDEO_TRACK: Final = "main_video"
WEBCAM_TRACK: Final = "webcam"
#: The usual names of a model's audio output and microphone input (the JS SDK's ``audioTrack`` example is
#: ``"main_audio"``); the components default to them.
MAIN_AUDIO_TRACK: Final = "main_audio"
MICROPHONE_TRACK: Final = "microphone"
