"""``OPTIONS *`` (RFC 9110 9.3.7, the server-wide ping some load balancers and
clients send) answers 200 with Allow; another method with the asterisk form is 400
(RFC 9112 3.2.4). Before session 15's probe B both were 404 "no resource '*'"."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.live import cluster, raw, run


def test_options_star_is_200_with_allow_and_other_methods_on_star_are_400(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            address = servers[0].http_address
            answer = await raw(address, b"OPTIONS * HTTP/1.1\r\nHost: x\r\n"
                                        b"Connection: close\r\n\r\n")
            head = answer.split(b"\r\n\r\n")[0].lower()
            assert head.startswith(b"http/1.1 200 "), answer
            assert b"\r\nallow: get, head, put, delete" in head
            assert b"\r\ncontent-length: 0" in head
            # the connection stays usable: a GET pipelined behind it is answered
            answer = await raw(address, b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"
                                        b"GET /health HTTP/1.1\r\nHost: x\r\n"
                                        b"Connection: close\r\n\r\n")
            assert answer.count(b"HTTP/1.1 200 ") == 2, answer
            for method in (b"GET", b"PUT", b"DELETE", b"HEAD"):
                answer = await raw(address, method + b" * HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                assert answer.startswith(b"HTTP/1.1 400 "), answer
                if method != b"HEAD":
                    assert b"asterisk form is only for OPTIONS" in answer
            # OPTIONS on a resource keeps its 405 with Allow
            answer = await raw(address, b"OPTIONS /kv/k HTTP/1.1\r\nHost: x\r\n"
                                        b"Connection: close\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 405 "), answer
    run(scenario())


def test_an_absolute_form_target_must_be_http_without_userinfo(tmp_path: Path) -> None:
    """``PUT ftp://x/kv/k`` and ``PUT http://u:p@x/kv/k`` were stored under ``k``
    (session 15's probe B); RFC 9112 3.2.2 and RFC 9110 4.2.4: 400, nothing written.
    ``http://`` and ``HTTPS://`` targets are served as before."""
    from tests.runtime.live import call, url

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            address = servers[0].http_address
            for target in (b"ftp://x/kv/k", b"http://u:p@x/kv/k", b"http://@x/kv/k",
                           b"file:///kv/k"):
                answer = await raw(address, b"PUT " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Length: 1\r\nConnection: close\r\n\r\nA")
                assert answer.startswith(b"HTTP/1.1 400 "), (target, answer)
                assert b"absolute-form target" in answer
            status, _, got = await call("GET", url(servers[1], "/kv/k?r=3"))
            assert status == 404 and got["values"] == []
            for target in (b"http://x/kv/k", b"HTTPS://x:1/kv/k"):
                answer = await raw(address, b"PUT " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Length: 1\r\nConnection: close\r\n\r\nB")
                assert answer.startswith(b"HTTP/1.1 200 "), (target, answer)
    run(scenario())


def test_an_absolute_form_target_needs_a_host_and_a_numeric_port(tmp_path: Path) -> None:
    """``PUT http:///kv/k`` (no host) and ``PUT http://x:abc/kv/k`` (a port that is not
    digits) were stored under ``k`` after session 15's probe B (the review): RFC 9110
    4.2.1 says a recipient MUST reject an http URI with an empty host, and RFC 3986
    3.2.3 makes a port digits (as the Host header check already required). IPv6
    hosts, with a port or a zone, and ``HTTP://X:1`` are served as before."""
    from tests.runtime.live import call, url

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            address = servers[0].http_address
            for target in (b"http:///kv/k", b"https:///kv/k", b"http://:80/kv/k",
                           b"http://x:abc/kv/k",
                           b"http://[::1]:8x/kv/k"):
                answer = await raw(address, b"PUT " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Length: 1\r\nConnection: close\r\n\r\nA")
                assert answer.startswith(b"HTTP/1.1 400 "), (target, answer)
                assert b"absolute-form target" in answer, answer
            status, _, got = await call("GET", url(servers[1], "/kv/k?r=3"))
            assert status == 404 and got["values"] == [], got
            for target in (b"http://[::1]/kv/k", b"http://[::1]:80/kv/k",
                           b"http://[fe80::1%25eth0]/kv/k", b"HTTP://X:1/kv/k", b"http://x:/kv/k"):
                answer = await raw(address, b"PUT " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Length: 1\r\nConnection: close\r\n\r\nB")
                assert answer.startswith(b"HTTP/1.1 200 "), (target, answer)
    run(scenario())
