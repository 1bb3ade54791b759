"""An HTTP client given a node's peer address instead of its HTTP one (the cluster
file names both, ``http`` and ``peer``; ``vdynamo put --node HOST:PEERPORT``) gets
an HTTP 400 naming the mix-up and the node's HTTP address, then the end of the
stream; the node logs and counts it as a refused peer, as before.

Before session 21's service probe the peer port read the request's first bytes
as a bad hello and closed the connection without a word: the Python client
raised ``OutcomeUnknownError`` ("Server disconnected without sending a response
... the write may have been made (outcome unknown): read the key before writing
again") for a put that was never made, and nothing named the wrong port (etcd's
peer port answers HTTP; Cassandra's storage port resets a CQL driver)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

import vdynamo
from impl.peer_auth import HELLO, HELLO_HEAD_BYTES, Dialer, HelloInfo
from impl.runtime import _HTTP_REQUEST, Address
from tests.runtime.live import SECRET, cluster, parse_response, read_to_end, run


def _ask(address: Address, data: bytes) -> tuple[bytes, str]:
    with socket.create_connection((address.host, address.port), timeout=5) as sock:
        sock.sendall(data)
        return read_to_end(sock)


@pytest.mark.parametrize("request_bytes", [
    b"GET /kv/k HTTP/1.1\r\nHost: x\r\n\r\n",
    b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + b"v" * 70000,
    b"GET /status HTTP/1.0\r\n\r\n",
])
def test_an_http_request_on_the_peer_port_is_answered_naming_the_http_port(
        tmp_path: Path, request_bytes: bytes) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            assert node.peer_address is not None and node.http_address is not None
            answer, ended = await asyncio.to_thread(_ask, node.peer_address, request_bytes)
            assert answer, f"no answer ({ended})"
            status, headers, body = parse_response(answer)
            assert (status, ended, headers.get("connection")) == (400, "eof", "close")
            assert "peer port" in body["message"], body
            assert str(node.http_address) in body["message"], body
            for _ in range(200):  # counted once the node's side has closed
                if node.refused_peers:
                    break
                await asyncio.sleep(0.01)
            assert node.refused_peers == 1

    run(scenario(), 60)


def test_the_client_library_says_the_put_was_refused_not_that_it_may_have_been_made(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]

            def put() -> str:
                with vdynamo.connect([str(node.peer_address)], timeout_s=5) as db:
                    try:
                        db.put("k", b"v")
                    except vdynamo.RequestRefusedError as error:
                        return f"refused: {error}"
                    except vdynamo.NoNodeError as error:
                        return f"{type(error).__name__}: {error}"
                return "stored"

            said = await asyncio.to_thread(put)
            assert said.startswith("refused: ") and "peer port" in said, said

    run(scenario(), 60)


@pytest.mark.parametrize("name", ["n1", "GET /", "a" * 8224])
def test_a_vdynamo_hello_is_never_taken_for_an_http_request(name: str) -> None:
    """The peer port tells an HTTP request by its first bytes (``_HTTP_REQUEST``: a
    method, a space, a target); a real hello opens ``VDYNHELO`` then the version
    byte (3, not a space), whatever the node's name, so no peer's hello is answered
    400. Session 21's review: a pattern without the space (the method alone) takes
    every peer's hello for HTTP; the cluster tests show it only as a cluster that
    never forms, this names it."""
    head = Dialer(SECRET, name, "n1", HelloInfo("c")).hello()[:HELLO_HEAD_BYTES]
    assert head.startswith(HELLO) and not _HTTP_REQUEST.match(head)
    assert _HTTP_REQUEST.match(b"GET /kv/k HTTP/1.1\r\n"[:HELLO_HEAD_BYTES])
