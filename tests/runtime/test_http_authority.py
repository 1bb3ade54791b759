"""A Host field, and the authority of an absolute-form target (which stands in for
Host, RFC 9112 3.2.2), must be a valid ``uri-host [":" port]`` (RFC 9110 7.2, RFC
3986 3.2.2-3.2.3), not only be made of the right characters (session 18's service
probe).

Before: ``Host: %zz`` (a percent sign not followed by two hex digits), ``Host:
[zz]`` (brackets holding no IPv6 address), ``Host: x:99999`` and a port of 20
digits were served, and ``PUT http://%zz/kv/k`` and ``PUT
http://x:12345678901234567890/kv/k`` stored their value under ``k``. Now each is
400 naming the Host field or the absolute form, nothing written; the valid forms
(names, IPv4, IPv6 with a zone id, IPvFuture, ports up to 65535) are served."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.live import call, cluster, parse_response, raw, run, url

_BAD = [b"%zz", b"a%2", b"[zz]", b"[1.2.3.4]", b"[::1%eth0]", b"x:99999", b"x:65536",
        b"x:12345678901234567890", b"[::1]:123456"]
_GOOD = [b"a%2Eb", b"x:65535", b"x:0", b"[v1.x]", b"[fe80::1%25eth0]:80", b"[::ffff:1.2.3.4]"]


def test_a_host_or_absolute_authority_that_is_not_a_uri_host_is_400(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            for host in _BAD:
                answer = await raw(node.http_address, b"PUT /kv/k HTTP/1.1\r\nHost: " + host
                                   + b"\r\nContent-Length: 5\r\n\r\nhost!")
                status, _, body = parse_response(answer)
                assert status == 400, (host, answer[:200])
                assert body["message"].startswith("malformed HTTP request: header: Host"), host
                answer = await raw(node.http_address, b"PUT http://" + host + b"/kv/k "
                                   b"HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                   b"Connection: close\r\n\r\nabsol")
                status, _, body = parse_response(answer)
                assert status == 400, (host, answer[:200])
                assert body["message"].startswith("request target 'http://"), host
            status, _, got = await call("GET", url(servers[1], "/kv/k?r=3"))
            assert status == 404 and got["values"] == [], got  # nothing written
            for host in _GOOD:
                answer = await raw(node.http_address, b"PUT /kv/k HTTP/1.1\r\nHost: " + host
                                   + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                assert answer.startswith(b"HTTP/1.1 200 "), (host, answer[:200])
                answer = await raw(node.http_address, b"GET http://" + host + b"/kv/k "
                                   b"HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                # blind puts: siblings from the second on
                assert answer[:13] in (b"HTTP/1.1 200 ", b"HTTP/1.1 300 "), (host, answer[:200])
    run(scenario())
