"""A key within ``max_key_bytes`` is served whatever its length on the wire, and one
over it is a 414 (session 13's probe B).

With ``max_key_bytes = 100000`` (accepted by the configuration) a 70,000-byte key,
or a 30,000-byte UTF-8 key (90,000 bytes percent-encoded), got 431 "headers too
large": the request target counted against the 64 KiB head limit. A key over the
limit got 431 too, not the 414 the API gives for it. Now the target counts only
beyond three bytes per key byte (every byte percent-encoded) and 1 KiB."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from tests.runtime.live import call, cluster, parse_response, raw, run, url


def _put(key: bytes) -> bytes:
    target = "/kv/" + urllib.parse.quote(key, safe="")
    return (f"PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
            "Connection: close\r\n\r\nv").encode()


def test_keys_up_to_max_key_bytes_are_stored_and_one_over_is_414(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_key_bytes=100_000) as servers:
            server = servers[0]
            for key in (b"a" * 70_000, b"b" * 100_000, "\u00e9".encode() * 15_000,
                        b"\xff" * 100_000):
                answer = await raw(server.http_address, _put(key), timeout=20.0)
                assert parse_response(answer)[0] == 200, (len(key), answer[:200])
                status, _, _ = await call(
                    "GET", url(server, "/kv/" + urllib.parse.quote(key, safe="")))
                assert status == 200
            answer = await raw(server.http_address, _put(b"c" * 100_001), timeout=20.0)
            assert parse_response(answer)[0] == 414
    run(scenario(), limit=120.0)


def test_with_the_default_key_limit_a_huge_target_is_414(tmp_path: Path) -> None:
    """RFC 9112 3: a request-target longer than the server parses MUST be answered
    414; it was 431 "headers over 65536 bytes" until session 18's service probe
    (a key's 200 KB target, and a 200 KB query string alike)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:  # max_key_bytes = 1024
            answer = await raw(servers[0].http_address, _put(b"d" * 200_000), timeout=20.0)
            status, _, body = parse_response(answer)
            assert status == 414, answer[:300]
            assert body["message"] == ("malformed HTTP request: request target over "
                                       f"{3 * 1024 + 1024 + 65536} bytes")
            answer = await raw(servers[0].http_address,
                               b"GET /kv/k?r=2&" + b"x" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n", timeout=20.0)
            assert parse_response(answer)[0] == 414, answer[:300]
    run(scenario())
