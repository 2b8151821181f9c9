"""PostwiseClient over a connection the server drops: an idempotent request is signed anew
and sent again, a POST is not (the server may have acted on it)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from serving.auth import generate_signing_key
from serving.client import PostwiseClient

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


@pytest.fixture
def dropping_server() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback server that drops its first connection after reading the request, and
    answers 200 on the next; yields its URL and the requests it read."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        for number in range(2):
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                seen.append(connection.recv(65536))
                if number == 1:
                    connection.sendall(ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    address = listener.getsockname()
    yield f"http://127.0.0.1:{address[1]}", seen
    if thread.is_alive():  # still waiting for a connection: give it one to end on
        socket.create_connection(address).close()
    thread.join(timeout=5)
    listener.close()


def client_for(url: str) -> PostwiseClient:
    private, _ = generate_signing_key()
    return PostwiseClient(url, "pk_test", private, timeout=5)


def test_an_idempotent_request_is_signed_anew_and_sent_again(dropping_server) -> None:
    url, seen = dropping_server
    client = client_for(url)
    try:
        answer = client.get("/v1/me")
    finally:
        client.close()
    assert answer.status_code == 200
    nonces = [
        line.split(b":", 1)[1].strip()
        for request in seen
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"x-postwise-nonce:")
    ]
    assert len(nonces) == 2 and nonces[0] != nonces[1]  # never a replayed signature


def test_a_post_is_not_sent_twice(dropping_server) -> None:
    url, seen = dropping_server
    client = client_for(url)
    try:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post("/v1/messages", json={"x": 1})
    finally:
        client.close()
    assert len(seen) == 1
