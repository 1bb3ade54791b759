"""Trailer fields of a chunked body are discarded, never merged into the request's
headers (RFC 9110 6.5.1; session 13's probe B).

Before, a trailer ``X-Vdynamo-Context`` became the put's context (the value
superseded what it covered, though a proxy that drops trailers would have stored it
as a sibling), a trailer ``Content-Type`` the value's, and a trailer repeating a
header the request takes once was a 400 "given twice"."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.runtime.live import call, cluster, parse_response, raw, run, url


def _chunked_put(key: str, value: bytes, trailers: bytes, headers: bytes = b"") -> bytes:
    return (f"PUT /kv/{key} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n".encode()
            + headers + b"Connection: close\r\n\r\n"
            + f"{len(value):x}\r\n".encode() + value + b"\r\n0\r\n" + trailers + b"\r\n")


def test_a_trailer_context_is_not_the_puts_context(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            server = servers[0]
            status, _, body = await call("PUT", url(server, "/kv/t"), b"one")
            assert status == 200
            context = body["context"]
            answer = await raw(server.http_address, _chunked_put(
                "t", b"two", f"X-Vdynamo-Context: {context}\r\n".encode()))
            assert parse_response(answer)[0] == 200
            status, _, body = await call("GET", url(server, "/kv/t?r=3"))
            # no context in the header section: a new write, a sibling of "one"
            assert status == 300
            assert sorted(base64.b64decode(v) for v in body["values"]) == [b"one", b"two"]
    run(scenario())


def test_a_trailer_content_type_neither_replaces_nor_repeats_the_headers(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            server = servers[0]
            answer = await raw(server.http_address, _chunked_put(
                "c", b"v", b"Content-Type: text/html\r\n", b"Content-Type: text/plain\r\n"))
            assert parse_response(answer)[0] == 200  # before: 400 "given twice"
            answer = await raw(server.http_address, _chunked_put(
                "d", b"v", b"Content-Type: text/html\r\n"))
            assert parse_response(answer)[0] == 200
            status, _, body = await call("GET", url(server, "/kv/c"))
            assert (status, body["content_types"]) == (200, ["text/plain"])
            status, _, body = await call("GET", url(server, "/kv/d"))
            assert (status, body["content_types"]) == (200, ["application/octet-stream"])
    run(scenario())
