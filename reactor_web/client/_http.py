"""HTTP helpers every client module shares (a leaf: it imports no other client module but ``errors``)."""

from __future__ import annotations

import functools
import ssl
from typing import Any, Literal

import httpx

from reactor_web.client.errors import ApiError, parse_retry_after
from reactor_web.protocol.capabilities import ProtocolError
from reactor_web.protocol.constants import API_VERSION, MAX_JSON_BODY_BYTES, WEBRTC_VERSION
from reactor_web.protocol.json_safe import JsonInputError, loads

#: The JS SDK sets no timeout at all; a hung server would hang connect() forever, so bound each request.
DEFAULT_HTTP_TIMEOUT_S = 30.0

VersionKind = Literal["api", "webrtc"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context of the client's HTTP in this process (httpx's defaults: certifi's CA bundle, or
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``). httpx builds a new one, loading the whole bundle (~40 ms on a
    2-core machine), for every client it creates, and the client creates one per connect, upload and token
    fetch; built once instead, on first use or ahead of it (``Reactor.prewarm``)."""
    return httpx.create_ssl_context()


def new_http_client(timeout_s: float, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with ``timeout_s`` (seconds) per request and the shared TLS context
    (``transport``, when given, brings its own)."""
    return httpx.AsyncClient(timeout=timeout_s, transport=transport, verify=tls_context())


def check_version(response: httpx.Response, kind: VersionKind) -> None:
    """426/501 → the JS SDK's version errors (Part A §3, §5)."""
    what, version = ("API", API_VERSION) if kind == "api" else ("WebRTC", WEBRTC_VERSION)
    if response.status_code == 426:
        raise ApiError(
            f"CLIENT_VERSION_TOO_OLD: Client {what} version ({version}) is too old. "
            "Server requires a newer version. Please upgrade reactor-web.",
            426,
        )
    if response.status_code == 501:
        raise ApiError(
            f"SERVER_VERSION_TOO_OLD: Server does not support {what} version {version}. "
            "The server may need to be updated.",
            501,
        )


def http_failure(op: str, response: httpx.Response) -> ApiError:
    """``Failed to <op>: <status> <text>`` with ``Retry-After`` kept (429, 503)."""
    return ApiError(
        f"Failed to {op}: {response.status_code} {response.text}".rstrip(),
        response.status_code,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def parse_json(op: str, response: httpx.Response) -> Any:
    """The response's JSON body, read with the hardened decoder (size, nesting, numbers, surrogates);
    raises :class:`ProtocolError` naming ``op`` when it is not acceptable JSON."""
    try:
        return loads(response.content, max_bytes=MAX_JSON_BODY_BYTES, what=f"the {op} response")
    except JsonInputError as exc:
        raise ProtocolError(f"{op}: response is not JSON: {exc.message}") from exc
