"""A get's Accept field is negotiated (RFC 9110 12.5.1), not searched for the bytes
``application/json`` (session 18's service probe).

Before: any Accept holding those bytes got the JSON answer: ``application/json;q=0``
(the client says JSON is *not* acceptable) and ``application/json;q=0, */*``
answered ``application/json`` with base64 values, and so did
``application/json-seq``; a malformed Accept (``q=abc``, ``json``) was served.
Now JSON is sent when the field makes it acceptable and preferred over the raw
value's type; when neither is acceptable the field is disregarded (the raw
value, as RFC 9110 12.5.1 allows instead of 406); a malformed field is 400
naming Accept."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.live import call, cluster, raw, run, url


def _get(accept: bytes) -> bytes:
    return (b"GET /kv/doc HTTP/1.1\r\nHost: x\r\nAccept: " + accept
            + b"\r\nConnection: close\r\n\r\n")


def _content_type(answer: bytes) -> bytes:
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-type:"):
            return line.split(b":", 1)[1].strip()
    return b""


def test_accept_is_negotiated_by_its_q_values(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            status, _, _ = await call("PUT", url(servers[0], "/kv/doc"), b"hello",
                                      {"Content-Type": "text/plain"})
            assert status == 200
            address = servers[0].http_address
            raw_answers = (b"application/json;q=0", b"application/json;q=0, */*",
                           b"application/json; q=0.000", b"application/json-seq",
                           b"text/plain, application/json;q=0.5",
                           b"application/json;q=0.5, text/*", b"*/*", b"",
                           b"text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2")
            for accept in raw_answers:
                answer = await raw(address, _get(accept))
                assert answer.startswith(b"HTTP/1.1 200 "), (accept, answer)
                assert _content_type(answer) == b"text/plain", (accept, answer)
                assert answer.endswith(b"\r\n\r\nhello"), (accept, answer)
            for accept in (b"application/json", b"Application/JSON", b"application/json, */*",
                           b"text/plain;q=0.5, application/json", b"application/*",
                           b"image/png, application/json;q=0.1",
                           # the most specific range gives text/plain its q (0.1, not
                           # */*'s 1): a mutant taking the first match survived (review)
                           b"application/json;q=0.3, */*;q=0.4, text/plain;q=0.1"):
                answer = await raw(address, _get(accept))
                assert answer.startswith(b"HTTP/1.1 200 "), (accept, answer)
                assert _content_type(answer) == b"application/json", (accept, answer)
                assert b'"values": ["aGVsbG8="]' in answer, (accept, answer)
            for accept, named in ((b"application/json;q=abc", b"q='abc'"),
                                  (b"application/json;q=2", b"q='2'"),
                                  (b"json", b"'json' is not a media range"),
                                  (b"application/json;;", b"bad parameters")):
                answer = await raw(address, _get(accept))
                assert answer.startswith(b"HTTP/1.1 400 "), (accept, answer)
                assert b"Accept: " in answer and named in answer, (accept, answer)
    run(scenario())
