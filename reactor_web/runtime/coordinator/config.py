"""Settings of the coordinator emulation (``python -m reactor_web.runtime --coordinator``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reactor_web.protocol.checks import check_int, check_listen_host, check_port, check_seconds

#: Tokens live this long unless ``POST /tokens`` asks for less; production documents up to 6 h.
DEFAULT_TOKEN_TTL_S = 3600
MAX_TOKEN_TTL_S = 6 * 3600


@dataclass
class CoordinatorConfig:
    """How the coordinator listens, who may use it, and the GPU workers (runtime processes) it runs."""

    host: str = "127.0.0.1"
    port: int = 8090
    #: Worker processes, each holding one session at a time: the emulated GPUs.
    gpus: int = 1
    #: Keys accepted by ``POST /tokens`` (header ``Reactor-API-Key``).
    api_keys: list[str] = field(default_factory=list)
    #: Sessions one API key may hold at once, waiting or active; more answer 429.
    max_sessions_per_key: int = 4
    token_ttl_s: int = DEFAULT_TOKEN_TTL_S
    #: The model the workers serve; ``POST /sessions`` for another answers 404.
    model_name: str = "reactor-web-demo"
    #: Extra arguments for every worker (``python -m reactor_web.runtime ...``): size, fps, ping timeout.
    worker_args: list[str] = field(default_factory=list)
    #: A waiting session nobody has polled for this long is dropped (its client went away).
    waiting_timeout_s: float = 60.0
    #: ``Retry-After`` of a 429.
    retry_after_s: int = 5
    worker_startup_timeout_s: float = 60.0
    cluster: str = "local-emulated"

    def __post_init__(self) -> None:
        # A bad option stops the coordinator at startup with a message naming it.
        check_listen_host("host", self.host)
        check_port("port", self.port)
        check_int("gpus", self.gpus, 0, 64)  # 0: a waiting line with no worker (tests)
        check_int("max_sessions_per_key", self.max_sessions_per_key, 1, 1000)
        check_int("token_ttl_s", self.token_ttl_s, 1, MAX_TOKEN_TTL_S)
        check_seconds("waiting_timeout_s", self.waiting_timeout_s)
        check_int("retry_after_s", self.retry_after_s, 0, 3600)
        check_seconds("worker_startup_timeout_s", self.worker_startup_timeout_s)
        if not self.model_name.strip():
            raise ValueError("model_name must not be empty")
        if any(not key.strip() for key in self.api_keys):
            raise ValueError("api_keys must not hold an empty key")
