"""A raw ``#`` in a request target is refused (400 naming it), never cut off.

A request target has no fragment (RFC 9112 3.2: origin-form is ``absolute-path [
"?" query ]``; RFC 3986 3.5: a client strips the fragment before it sends the
request), so a raw ``#`` is a hand-built target whose ``#`` belongs to the key.
Before session 14's probe B the node cut the target at the ``#``: ``PUT
/kv/a#b`` answered 200 and stored the value under the key ``a`` (another key's
value replaced, while ``a#b`` stayed empty), and ``PUT /kv/x#y?w=3`` also lost
its ``w=3``, acknowledged at the default W: a weaker quorum than the client
asked for, which a mistyped parameter never gets (docs/runtime.md, "Query
parameters"). A ``#`` in a key is sent as ``%23``.

And an empty key (``/kv/``) is a 400 naming the key, not an internal field
(``GetRequest.key: must not be empty`` before session 14's probe B)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.runtime.live import call, cluster, parse_response, raw, run, url


@pytest.mark.parametrize("target", [b"/kv/a#b", b"/kv/a#b?w=3", b"/kv/a?w=3#b",
                                    b"http://x/kv/a#b"])
def test_a_raw_hash_in_the_target_is_400_and_writes_nothing(tmp_path: Path,
                                                            target: bytes) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/a"), b"before")
            assert status == 200
            answer = await raw(node.http_address, b"PUT " + target + b" HTTP/1.1\r\n"
                               b"Host: x\r\nContent-Length: 5\r\nConnection: close\r\n"
                               b"\r\nafter")
            status, _, body = parse_response(answer)
            assert status == 400, answer[:200]
            assert body["error"] == "BadRequestError" and body["outcome"] == "not-written"
            assert "'#'" in body["message"] and "%23" in body["message"]
            for key, values in (("a", [b"before"]), ("a%23b", [])):
                status, _, got = await call("GET", url(node, f"/kv/{key}?r=3"))
                assert "values" in got, (key, status, got)  # (session 59: a bare KeyError)
                assert [base64.b64decode(v) for v in got["values"]] == values, key
    run(scenario())


def test_a_percent_encoded_hash_is_part_of_the_key(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/a%23b?w=3"), b"hashed")
            assert status == 200
            status, _, got = await call("GET", url(servers[1], "/kv/a%23b?r=3"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"hashed"]
            status, _, got = await call("GET", url(node, "/kv/a?r=3"))
            assert status == 404
    run(scenario())


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
def test_an_empty_key_is_400_naming_the_key_not_an_internal_field(tmp_path: Path,
                                                                  method: str) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            answer = await raw(node.http_address, method.encode() + b" /kv/ HTTP/1.1\r\n"
                               b"Host: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nv")
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:100]
            if method != "HEAD":
                _, _, body = parse_response(answer)
                assert body["message"].startswith("key: empty"), body
                assert "Request" not in body["message"]  # GetRequest.key, PutRequest.key
            answer = await raw(node.http_address, b"OPTIONS /kv/ HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 405 "), answer[:100]
    run(scenario())
