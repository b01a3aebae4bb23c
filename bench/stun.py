"""A minimal STUN binding responder on loopback, so that ICE gathering with a STUN server finishes at once.

reactor-runtime hands its STUN servers (``STUN_SERVERS``) to clients and gathers with them itself; with
nothing listening at the URL, both sides wait out their gathering timeouts (seconds) on every connect.
That would measure a dead server, not the clients. This answers each Binding request with the sender's
address, as a real STUN server on the same host would.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from aioice import stun


def _serve(sock: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            data, addr = sock.recvfrom(2048)
        except TimeoutError:
            continue  # wake up now and then to notice ``stop``
        try:
            request = stun.parse_message(data)
        except ValueError:
            continue  # not STUN
        if request.message_method != stun.Method.BINDING or request.message_class != stun.Class.REQUEST:
            continue
        response = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, request.transaction_id)
        response.attributes["XOR-MAPPED-ADDRESS"] = addr
        response.add_fingerprint()
        sock.sendto(bytes(response), addr)


@contextlib.contextmanager
def stun_responder(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve STUN in a daemon thread; yields its ``stun:host:port`` URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    sock.settimeout(0.2)
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(sock, stop), name="stun-responder", daemon=True)
    thread.start()
    try:
        yield f"stun:{host}:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        sock.close()
