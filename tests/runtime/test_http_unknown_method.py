"""A request line whose method the node does not know is answered naming the
method (session 23): 501 for a method token (RFC 9110 15.6.2: the server does
not recognize the method; methods are case-sensitive, 9.1, so ``get`` is one),
400 for bytes that are no method. Before, llhttp refusing any method it does
not know, every one got 400 "request line: Invalid method encountered", naming
neither the method nor what is served. Methods llhttp knows and the node does
not serve on a resource (PATCH, TRACE, PROPFIND) keep their 405 with Allow."""

from __future__ import annotations

from pathlib import Path

import pytest

from impl.http_api import _Parse
from tests.runtime.live import cluster, parse_response, raw, run


def _problem(line: bytes) -> tuple[int, str]:
    """(status, message) of the answer ``line`` gets from the parser."""
    parse = _Parse(1000)
    parse.feed(line)
    [request] = parse.ready
    assert request.problem is not None
    message = request.problem[1]["message"]
    assert "served: GET, HEAD, PUT and DELETE" in message, message
    return request.problem[0], message


@pytest.mark.parametrize(("line", "named"), [
    (b"FOO /kv/k HTTP/1.1\r\nHost: x\r\n\r\n", "method 'FOO' is not served"),
    (b"\r\nBREW /kv/k HTTP/1.1\r\n", "method 'BREW' is not served"),
    (b"get /kv/k HTTP/1.1\r\n", "methods are case-sensitive, RFC 9110 9.1: GET?")])
def test_an_unknown_method_token_is_a_501_naming_it(line: bytes, named: str) -> None:
    status, message = _problem(line)
    assert status == 501 and named in message, message


def test_bytes_that_are_no_method_are_a_400_naming_them() -> None:
    for line, named in ((b"G\x00T /kv/k HTTP/1.1\r\n", "'G\\x00T' is not a method"),
                        (b"caf\xc3\xa9 / HTTP/1.1\r\n", "'caf\\xc3\\xa9' is not a method")):
        status, message = _problem(line)
        assert status == 400 and named in message, message


def test_garbage_without_a_space_keeps_llhttps_400(tmp_path: Path) -> None:
    """Case 08's TLS hello: no method to name, 400 as before; and a method through
    the node: 501, the connection closed after it."""
    parse = _Parse(1000)
    parse.feed(b"\x16\x03\x01\x02\x00")
    [request] = parse.ready
    assert request.problem is not None and request.problem[0] == 400

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            status, headers, body = parse_response(await raw(
                servers[0].http_address, b"FROB /kv/k HTTP/1.1\r\nHost: x\r\n\r\n"))
            assert (status, headers["connection"]) == (501, "close"), body
            assert "method 'FROB' is not served here" in body["message"], body

    run(scenario())
