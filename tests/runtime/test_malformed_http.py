"""A malformed HTTP request gets a 400 with a JSON error naming the problem, never a
dropped connection; an over-long key gets 414 (issue 14; the case
08-malformed-http.py as a test)."""

from __future__ import annotations

import asyncio
import base64
import socket
from pathlib import Path

import pytest

from impl.runtime import Address
from tests.conftest import InternalErrors
from tests.runtime.live import call, cluster, parse_response, raw, run, url

_TAIL = b"\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize(("request_bytes", "named"), [
    (b"GET /kv/caf\xc3\xa9 HTTP/1.1" + _TAIL, "request line"),  # raw non-ASCII
    (b"GET /kv/a b HTTP/1.1" + _TAIL, "request line"),  # raw space
    (b"\x16\x03\x01\x02\x00" + _TAIL, "request line"),  # a TLS hello
    (b"GET /kv/k HTTP/1.1\nHost: x\n\n", "request line"),  # bare LF (h11 took it)
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nv",
     "header: Transfer-Encoding 'gzip': only chunked"),  # h11: 501
    # a coding before chunked: llhttp de-chunks and passes the bytes on still coded,
    # which were stored as the value (session 12's probe)
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
     b"1\r\nv\r\n0\r\n\r\n", "header: Transfer-Encoding 'gzip, chunked': only chunked"),
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n1\r\nv\r\n0\r\n\r\n",
     "header: Transfer-Encoding 'gzip, chunked': only chunked"),
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n"
     b"1\r\nv\r\n0\r\n\r\n", "Transfer-Encoding 'identity, chunked'"),
    (b"GET /kv/k HTTP/1.1\r\nHo st: x\r\n\r\n", "header"),
    # a header the request takes once, repeated: the last one used to win silently
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nX-Vdynamo-Context: AAAA\r\n"
     b"X-Vdynamo-Context: BBBB\r\nContent-Length: 1\r\n\r\nv",
     "header: X-Vdynamo-Context given twice"),
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nX-Vdynamo-Client: a\r\n"
     b"x-vdynamo-client: b\r\nContent-Length: 1\r\n\r\nv",
     "header: x-vdynamo-client given twice"),
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
     b"Content-Type: image/png\r\nContent-Length: 1\r\n\r\nv",
     "header: Content-Type given twice"),
    # session 12's review: a mutant without the counter in _SINGLE_HEADERS survived
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nX-Vdynamo-Client: a\r\n"
     b"X-Vdynamo-Client-Counter: 1\r\nX-VDYNAMO-CLIENT-COUNTER: 2\r\n"
     b"Content-Length: 1\r\n\r\nv", "header: X-VDYNAMO-CLIENT-COUNTER given twice"),
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", "Content-Length"),
    # RFC 9112 3.2: a server MUST answer 400 to more than one Host line; both
    # were served (a put by the last: session 12's second probe)
    (b"PUT /kv/k HTTP/1.1\r\nHost: a.example\r\nHOST: b.example\r\n"
     b"Content-Length: 1\r\n\r\nv", "header: HOST given twice"),
    (b"GET /kv/k HTTP/1.1\r\n\r\n", "Host"),
])
def test_a_malformed_request_gets_400_json_and_changes_nothing(
        tmp_path: Path, request_bytes: bytes, named: str) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"before")
            assert status == 200
            answer = await raw(node.http_address, request_bytes)
            assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:80]
            status, headers, body = parse_response(answer)
            assert headers["content-type"] == "application/json"
            assert headers["connection"] == "close"
            assert body["error"] == "BadRequestError" and body["outcome"] == "not-written"
            assert body["message"].startswith("malformed HTTP request")
            assert named in body["message"]
            assert node.http.malformed == 1
            status, _, got = await call("GET", url(node, "/kv/k"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"before"]
    run(scenario())


def test_keys_at_and_over_the_limit_and_odd_keys(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_key_bytes=64) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/" + "k" * 64), b"v")
            assert status == 200
            status, _, body = await call("PUT", url(node, "/kv/" + "k" * 65), b"v")
            assert status == 414 and body["error"] == "TooLargeError"
            assert "65 bytes" in body["message"] and body["outcome"] == "not-written"
            status, _, _ = await call("GET", url(node, "/kv/" + "%41" * 65))
            assert status == 414  # the limit is on the decoded key
            odd = (("a%3Fb", b"a?b"), ("a%2Fb", b"a/b"), ("caf%C3%A9", "café".encode()))
            for key, stored in odd:
                status, _, _ = await call("PUT", url(node, f"/kv/{key}"), key.encode())
                assert status == 200
                assert node.node.record(stored) is not None
                status, _, got = await call("GET", url(node, f"/kv/{key}"))
                assert [base64.b64decode(v) for v in got["values"]] == [key.encode()]
            answer = await raw(node.http_address, b"GET /kv/k HTTP/1.1\r\nHost: x\r\nX-Big: "
                               + b"y" * (200 << 10) + b"\r\n\r\n")
            assert parse_response(answer)[0] == 431
            status, _, body = await call("PATCH", url(node, "/kv/k"), b"v")
            assert status == 405 and body["outcome"] == "not-written"
    run(scenario())


@pytest.mark.parametrize(("method", "target", "named"), [
    ("GET", "/kv/a%zz", "invalid percent-escape '%zz' at offset 1"),
    ("PUT", "/kv/a%4", "invalid percent-escape '%4' at offset 1"),
    ("GET", "/kv/k?foo=1", "unknown query parameter 'foo': GET /kv/{key} takes r"),
    ("PUT", "/kv/k?W=3", "unknown query parameter 'W': PUT /kv/{key} takes w"),
    ("PUT", "/kv/k?r=2", "unknown query parameter 'r': PUT /kv/{key} takes w"),
    ("DELETE", "/kv/k?n=1", "unknown query parameter 'n': DELETE /kv/{key} takes r, w, pr and pw"),
    ("PUT", "/kv/k?w=1&w=3", "query parameter 'w' given 2 times"),
    ("GET", "/kv/k?r=1&r=2", "query parameter 'r' given 2 times"),
    ("PUT", "/kv/k?w=", "w: must be an integer in 1..3 (N), got ''"),
    ("GET", "/kv/k?r", "r: must be an integer in 1..3 (N), got ''"),
    ("GET", "/kv/k?r=%C2%B2", "r: must be an integer in 1..3 (N), got '²'"),  # was no answer
    ("PUT", "/kv/k?w=%D9%A3", "w: must be an integer in 1..3 (N), got '٣'"),  # was w=3
    ("PUT", "/kv/k?w=" + "9" * 5000, "w: must be an integer in 1..3 (N)"),  # was no answer
    ("GET", "/kv/k?r=" + "0" * 4999 + "1", "r: must be an integer in 1..3 (N)"),
])
def test_a_bad_key_escape_or_query_parameter_gets_400_naming_it_and_writes_nothing(
        tmp_path: Path, method: str, target: str, named: str) -> None:
    """Before, ``a%zz`` was served as the literal key ``a%zz``, an unknown parameter
    (a mistyped ``?W=3``) was ignored and a repeated one served by its last value, and
    ``?w=`` meant the default W: the client got a quorum or a key it did not ask for."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"before")
            assert status == 200
            status, _, body = await call(method, url(node, target), b"after")
            assert status == 400, body
            assert body["error"] == "BadRequestError" and body["outcome"] == "not-written"
            assert named in body["message"]
            assert node.node.record(b"a%zz") is None and node.node.record(b"a%4") is None
            status, _, got = await call("GET", url(node, "/kv/k"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"before"]
            status, _, _ = await call("GET", url(node, "/kv/k?r=2"))  # the right ones serve
            assert status == 200
            status, _, _ = await call("DELETE", url(node, "/kv/gone?r=2&w=2"))
            assert status == 404  # never written: nothing to delete
    run(scenario())


def _put_as(client: bytes, counter: int, value: bytes) -> bytes:
    return (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nX-Vdynamo-Client: " + client
            + b"\r\nX-Vdynamo-Client-Counter: %d\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n" % (counter, len(value)) + value)


def test_a_non_ascii_client_id_gets_400_and_never_merges_two_clients(tmp_path: Path) -> None:
    """X-Vdynamo-Client must be ASCII. Before, its other bytes became U+FFFD, so that
    ``é`` and ``ü`` were one client: in the client-vclock mode a blind put of ``ü``
    (counter 5) superseded the concurrent, acknowledged put of ``é`` (counter 1),
    which was lost (session 12's probe; two ASCII ids keep both as siblings)."""
    async def scenario() -> None:
        async with cluster(tmp_path, clock="client-vclock") as servers:
            node = servers[0]
            for client, counter, value in (("é", 1, b"from-e"), ("ü", 5, b"from-u")):
                answer = await raw(node.http_address,
                                   _put_as(client.encode(), counter, value))
                status, _, body = parse_response(answer)
                assert status == 400, answer[:200]
                assert body["error"] == "BadRequestError" and body["outcome"] == "not-written"
                assert "X-Vdynamo-Client: must be at most 255 printable ASCII" in body["message"]
            assert node.node.record(b"k") is None
            for client, counter, value in (("e", 1, b"from-e"), ("u", 5, b"from-u")):
                answer = await raw(node.http_address, _put_as(client.encode(), counter, value))
                assert parse_response(answer)[0] == 200
            status, _, got = await call("GET", url(node, "/kv/k?r=3"))
            assert sorted(base64.b64decode(v) for v in got["values"]) == [b"from-e", b"from-u"]
    run(scenario())


@pytest.mark.parametrize(("header", "named"), [
    # int() of over 4300 digits raised ValueError: the connection dropped, no answer
    (b"X-Vdynamo-Client-Counter: " + b"9" * 5000,
     "X-Vdynamo-Client-Counter: must be an integer in 0..2**63-1"),
    (b"X-Vdynamo-Client-Counter: %d" % 2**63,  # was named PutRequest.client_counter
     "X-Vdynamo-Client-Counter: must be an integer in 0..2**63-1, got b'9223372036854775808'"),
    (b"X-Vdynamo-Client: " + b"c" * 256,  # was named PutRequest.client_id
     "X-Vdynamo-Client: must be at most 255 printable ASCII characters"),
    # a tab, which llhttp lets through inside a value (session 12's review: the
    # mutant without the isprintable() check survived)
    (b"X-Vdynamo-Client: a\tb",
     "X-Vdynamo-Client: must be at most 255 printable ASCII characters"),
])
def test_a_bad_client_header_gets_400_naming_the_header(
        tmp_path: Path, header: bytes, named: str) -> None:
    """Session 12's probe: every bad X-Vdynamo-Client(-Counter) gets a 400 naming the
    header, and the node serves the next request."""
    async def scenario() -> None:
        async with cluster(tmp_path, clock="client-vclock") as servers:
            node = servers[0]
            answer = await raw(node.http_address, b"PUT /kv/k HTTP/1.1\r\nHost: x\r\n"
                               + header + b"\r\nContent-Length: 1\r\nConnection: close"
                               b"\r\n\r\nv")
            status, _, body = parse_response(answer)
            assert status == 400, answer[:200]
            assert named in body["message"] and body["outcome"] == "not-written"
            assert node.node.record(b"k") is None
            # both limits exactly (session 12 review: a counter of 2**63-1 refused survived)
            answer = await raw(node.http_address, _put_as(b"c" * 255, 2**63 - 1, b"ok"))
            assert parse_response(answer)[0] == 200
    run(scenario())


def test_a_content_length_with_thousands_of_leading_zeros_is_served(tmp_path: Path) -> None:
    """llhttp accepts ``Content-Length: 000...01`` (it fits 64 bits); int() of its
    text raised ValueError past 4300 digits, and the connection dropped without an
    answer (session 12's probe). Its value is what counts: 1 is stored, 2 over a
    limit of 1 is a 413."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=1) as servers:
            node = servers[0]
            zeros = b"0" * 5000
            answer = await raw(node.http_address, b"PUT /kv/z HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: " + zeros + b"1\r\nConnection: close"
                               b"\r\n\r\nv")
            assert parse_response(answer)[0] == 200, answer[:200]
            answer = await raw(node.http_address, b"PUT /kv/y HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: " + zeros + b"2\r\nConnection: close"
                               b"\r\n\r\nvv")
            status, _, body = parse_response(answer)
            assert status == 413 and "value is 2 bytes, over the limit of 1" in body["message"]
            status, _, got = await call("GET", url(node, "/kv/z"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"v"]
    run(scenario())


@pytest.mark.parametrize("target", [b"http://[/kv/k", b"http://[::1/kv/k", b"http://]x/kv/k"])
def test_an_absolute_target_urllib_cannot_split_gets_400_and_the_connection_goes_on(
        tmp_path: Path, target: bytes) -> None:
    """``http://[/kv/k`` passes llhttp; urllib's split raised ValueError ("Invalid
    IPv6 URL") and the connection dropped without an answer (session 12's probe).
    Now a 400 naming the target, and the next request on the connection is served."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            answer = await raw(node.http_address, (
                b"PUT " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv"
                b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
            first, _, rest = answer.partition(b"\r\n\r\n")
            assert first.startswith(b"HTTP/1.1 400 "), answer[:200]
            assert b"Invalid IPv6 URL" in rest and target in rest
            assert b"HTTP/1.1 200 OK" in rest  # the pipelined GET /status
            assert node.node.record(b"k") is None
    run(scenario())


def test_an_exception_of_our_own_gets_500_and_is_counted_never_a_drop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, internal_errors: InternalErrors) -> None:
    """Whatever a request makes our code raise (here _split_target raising
    ValueError, as urllib and int() did on crafted requests before session 12), the
    client gets a 500 JSON answer with outcome "unknown", the node counts an
    internal error, and it goes on serving new connections."""
    from impl import http_api

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            before = node.node.stats["internal-error"]
            real = http_api._split_target

            def broken(target: bytes) -> tuple[str, dict[str, list[str]]]:
                if b"boom" in target:
                    raise ValueError("boom")
                return real(target)
            monkeypatch.setattr(http_api, "_split_target", broken)
            answer = await raw(node.http_address, b"GET /kv/boom HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = parse_response(answer)
            assert status == 500 and headers["connection"] == "close"
            assert body["error"] == "InternalError" and body["outcome"] == "unknown"
            assert "'/kv/boom': ValueError" in body["message"]
            assert node.node.stats["internal-error"] == before + 1
            [logged] = internal_errors.take()
            assert "internal error handling _Request from http" in logged.getMessage()
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"v")
            assert status == 200
    run(scenario())


def _half_closed(address: Address, data: bytes) -> bytes:
    """What the node answers ``data`` sent, then our side shut (we still read)."""
    with socket.create_connection((address.host, address.port), timeout=5.0) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


@pytest.mark.parametrize(("request_bytes", "named", "answers"), [
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
     "body: the client closed the connection after 3 of the 10 bytes its Content-Length", 1),
    (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
     "body: the client closed the connection before the last chunk", 1),
    (b"GET /kv/k HTTP/1.1\r\nHost: x\r\n", "headers: the client closed the connection", 1),
    (b"GET /kv/k HTTP/1.1\r\nHost: x\r\n\r\nGET /kv/k HT",  # the second one is cut
     "headers: the client closed the connection", 2),
])
def test_a_request_cut_by_the_clients_half_close_gets_400_naming_what_is_missing(
        tmp_path: Path, request_bytes: bytes, named: str, answers: int) -> None:
    """A client that shuts its sending side mid-request (a Content-Length over the
    body it sent, headers without their blank line) still reads: it gets a 400
    naming what was missing, after the answers of the complete requests before it.
    Before, the node closed without an answer (session 12's probe)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            assert node.http_address is not None
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"before")
            answer = await asyncio.to_thread(_half_closed, node.http_address, request_bytes)
            last = answer[answer.rfind(b"HTTP/1.1 "):]
            status, headers, body = parse_response(last)
            assert status == 400 and headers["connection"] == "close", answer[:300]
            assert body["message"].startswith("malformed HTTP request: ")
            assert named in body["message"]
            assert answer.count(b"HTTP/1.1 ") == answers
            status, _, got = await call("GET", url(node, "/kv/k"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"before"]
    run(scenario())


@pytest.mark.parametrize("request_bytes", [
    b"PUT /kv/k HTTP/1.0\r\n\r\nhello",  # HTTP/1.0 style: the body until the close
    b"PUT /kv/k HTTP/1.1\r\nHost: x\r\n\r\nhello",
])
def test_a_put_without_a_length_gets_411_and_stores_nothing(
        tmp_path: Path, request_bytes: bytes) -> None:
    """A PUT with neither Content-Length nor chunked has an empty body (RFC 9112
    6.3): before, b"" was stored and acknowledged (200) in place of the value the
    client sent, whose bytes were then read as a garbage request (session 12's
    probe). Now 411 naming what to send; a PUT with Content-Length: 0 still
    stores the empty value."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            assert node.http_address is not None
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"before")
            answer = await asyncio.to_thread(_half_closed, node.http_address, request_bytes)
            status, headers, body = parse_response(answer)
            assert status == 411 and headers["connection"] == "close", answer[:200]
            assert "PUT without Content-Length or Transfer-Encoding: chunked" in body["message"]
            assert body["outcome"] == "not-written"
            status, _, got = await call("GET", url(node, "/kv/k"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"before"]
            answer = await raw(node.http_address, b"PUT /status HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
            assert parse_response(answer)[0] == 405  # not a value: the method is wrong
            answer = await raw(node.http_address, b"PUT /kv/e HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            assert parse_response(answer)[0] == 200
            status, _, got = await call("GET", url(node, "/kv/e"))
            assert [base64.b64decode(v) for v in got["values"]] == [b""]
    run(scenario())


def test_a_large_put_to_a_read_only_path_gets_405_not_413(tmp_path: Path) -> None:
    """The method is checked before the size: a PUT to /status with a body over
    ``max_value_bytes`` (read and dropped, as any body that is not a value) gets
    405 with Allow, and the connection serves the next request; the same body to
    /kv/k still gets 413 (session 12's second probe: 413 for both)."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=1024) as servers:
            node = servers[0]
            body = b"x" * 2048
            answer = await raw(node.http_address, b"PUT /status HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: 2048\r\n\r\n" + body
                               + b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            first, _, second = answer.partition(b"HTTP/1.1 200")
            status, headers, got = parse_response(first)
            assert status == 405 and headers["allow"] == "GET, HEAD", answer[:300]
            assert got["error"] == "MethodNotAllowed" and got["outcome"] == "not-written"
            assert second, answer[-300:]  # the connection stayed in step
            status, _, got = await call("PUT", url(node, "/kv/k"), body)
            assert status == 413 and got["error"] == "TooLargeError"
    run(scenario())


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize("value", [b"", b"   ", b"\t \t"])
def test_an_empty_or_blank_context_header_is_refused_naming_it(
        tmp_path: Path, method: str, value: bytes) -> None:
    """An X-Vdynamo-Context that is empty or only whitespace is no context the cluster
    issues (every context is sealed, at least 20 bytes): 400 naming the header,
    nothing written. It was served as no context: a blind write, a new sibling
    where the client meant to replace (session 12's second probe). Omitting the
    header is still a write without a context."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"before")
            assert status == 200
            length = b"1" if method == "PUT" else b"0"
            answer = await raw(node.http_address,
                               method.encode() + b" /kv/k HTTP/1.1\r\nHost: x\r\n"
                               b"X-Vdynamo-Context:" + value + b"\r\nContent-Length: "
                               + length + b"\r\nConnection: close\r\n\r\n"
                               + (b"v" if method == "PUT" else b""))
            status, _, body = parse_response(answer)
            assert status == 400 and body["error"] == "BadContextError", answer[:300]
            assert body["message"].startswith("X-Vdynamo-Context: empty or only whitespace")
            assert body["outcome"] == "not-written"
            status, _, got = await call("GET", url(node, "/kv/k"))
            assert status == 200 and [base64.b64decode(v) for v in got["values"]] == [b"before"]
    run(scenario())
