"""A chunk-size line whose chunk extensions never end is refused 400 (RFC 9112
7.1.1: a server ought to limit the chunk extensions it receives and answer a 4xx;
Node.js CVE-2024-22019, Go's CVE-2023-39326), nothing stored (session 18's service
probe; case 21's kind).

Before: ``PUT /kv/k`` chunked, then ``1;`` followed by extension bytes without end:
the node read 758 MB in 8 s on that one connection and never answered (memory
flat, llhttp streams extensions, but the parser busy and the connection held for
as long as the client sent: its bytes met the body rate, which counts bytes
read). Now the node answers 400 naming the chunk extensions once a chunk-size
line passes 64 KiB; a chunk extension of a few KB is still served (ignored)."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.live import call, cluster, parse_response, raw, run, url


def test_an_endless_chunk_extension_is_400_and_a_short_one_is_served(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            address = servers[0].http_address
            head = b"PUT /kv/ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            answer = await raw(address, head + b"1;" + b"a" * (2 << 20), timeout=10)
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]  # before: b""
            _, _, body = parse_response(answer)
            assert "chunk extensions" in body["message"] and "RFC 9112 7.1.1" in body["message"]
            status, _, got = await call("GET", url(servers[1], "/kv/ext?r=3"))
            assert status == 404 and got["values"] == [], got
            # extensions within the bound, on every chunk, are ignored and served
            chunks = b"".join(b"1;note=" + b"x" * 4000 + b"\r\n" + bytes([c]) + b"\r\n"
                              for c in b"hello")
            answer = await raw(address, head[:-2] + b"Connection: close\r\n\r\n" + chunks
                               + b"0\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
            status, _, got = await call("GET", url(servers[1], "/kv/ext?r=3"))
            assert status == 200 and got["values"] == ["aGVsbG8="], got
    run(scenario())
