"""A Host field with an invalid value is refused 400 naming it (RFC 9112 3.2: a
server MUST); every valid form (a name, an IPv4 or bracketed IPv6 address, with
or without a port, or empty, RFC 9110 7.2) is served. Before session 14's probe B
``Host: a b`` and ``Host: x/y`` were served."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.runtime.live import call, cluster, parse_response, raw, run, url

_BAD = [b"a b", b"x/y", b"a@b", b"[::1", b"x:80a", b"h\x80st", b"a?b"]
_GOOD = [b"", b"example.com", b"127.0.0.1:8001", b"[::1]:8001", b"[::1]", b"localhost:",
         b"[fe80::1%25eth0]:8001",  # an RFC 6874 zone id
         b"my_host.local:80"]


def test_invalid_host_values_get_400_and_valid_ones_are_served(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"before")
            assert status == 200
            for host in _BAD:
                answer = await raw(node.http_address, b"PUT /kv/k HTTP/1.1\r\nHost: " + host
                                   + b"\r\nContent-Length: 5\r\n\r\nafter")
                status, headers, body = parse_response(answer)
                assert status == 400, (host, answer[:200])
                assert headers["connection"] == "close"
                assert body["message"].startswith("malformed HTTP request: header: Host"), host
            for host in _GOOD:
                answer = await raw(node.http_address, b"GET /kv/k HTTP/1.1\r\nHost: " + host
                                   + b"\r\nAccept: application/json\r\nConnection: close"
                                   b"\r\n\r\n")
                status, _, body = parse_response(answer)
                assert status == 200, (host, answer[:200])
                assert [base64.b64decode(v) for v in body["values"]] == [b"before"]
    run(scenario())
