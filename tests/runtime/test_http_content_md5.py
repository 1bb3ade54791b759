"""A PUT's body digests are checked: a Content-MD5 (RFC 1864), Content-Digest or
Repr-Digest (RFC 9530) or Digest (RFC 3230) that does not match the body received,
or is malformed, is refused 400 naming it, nothing written; the right digest, or
one of an algorithm not checked, is stored as without it.

Riak's HTTP API refuses such a put (webmachine's decision B9,
``validate_content_checksum``: "Content-MD5 header does not match request
body."), as S3 does (``BadDigest``). Before session 29's user probe the header was
ignored: a PUT whose body did not match its Content-MD5 was answered 200 and its
value stored (``/tmp/p29/content_md5.py``: 4 of 4 such puts stored, siblings of
the value read before), and a malformed one got its ``100 Continue``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

import pytest

from tests.runtime.live import call, cluster, parse_response, run, url


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


@pytest.mark.parametrize(("digest", "says"), [
    (_md5(b"what the client meant"), "does not match the body"),
    ("abc", "not the base64 of a 16-byte md5"),
    (hashlib.md5(b"changed", usedforsecurity=False).hexdigest(), "not the base64"),  # hex
    (f"{_md5(b'changed')}, {_md5(b'changed')}", "not the base64"),  # two lines joined
])
def test_a_put_whose_content_md5_is_not_its_body_s_is_400_and_writes_nothing(
        tmp_path: Path, digest: str, says: str) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"before")
            assert status == 200
            status, _, body = await call("PUT", url(node, "/kv/k"), b"changed",
                                         {"Content-MD5": digest})
            assert status == 400, body  # before: 200, and b"changed" stored
            assert "Content-MD5" in body["message"] and says in body["message"], body
            assert body["outcome"] == "not-written"
            status, _, got = await call("GET", url(node, "/kv/k?r=3"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"before"]
    run(scenario())


def test_the_right_content_md5_is_stored_and_other_methods_ignore_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"value",
                                      {"Content-MD5": f" {_md5(b'value')} "})  # OWS
            assert status == 200
            status, _, got = await call("GET", url(node, "/kv/k?r=3"), None,
                                        {"Content-MD5": _md5(b"other")})  # no body: unread
            assert status == 200 and [base64.b64decode(v) for v in got["values"]] == [b"value"]
            status, _, _ = await call("DELETE", url(node, "/kv/k"), None,
                                      {"Content-MD5": _md5(b"other")})
            assert status == 200
    run(scenario())


@pytest.mark.parametrize(("field", "digest"), [
    ("Content-MD5", "abc"),
    # session 29's review: a mutant checking only Content-MD5 with the head survived
    ("Content-Digest", "sha-256=AAAA"),
])
def test_a_malformed_content_md5_is_refused_before_100_continue(
        tmp_path: Path, field: str, digest: str) -> None:
    async def scenario() -> bytes:
        async with cluster(tmp_path) as servers:
            address = servers[0].http_address
            assert address is not None
            reader, writer = await asyncio.open_connection(address.host, address.port)
            writer.write(b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                         b"Expect: 100-continue\r\n" + f"{field}: {digest}".encode()
                         + b"\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5.0)  # then the node closes
            writer.close()
            return answer
    answer = run(scenario())
    assert not answer.startswith(b"HTTP/1.1 100"), answer[:60]
    status, _, body = parse_response(answer)
    assert status == 400 and field in body["message"], body


def _sf(name: str, data: bytes) -> str:
    return f":{base64.b64encode(hashlib.new(name, data).digest()).decode()}:"


@pytest.mark.parametrize(("field", "digest", "says"), [
    ("Content-Digest", f"sha-256={_sf('sha256', b'other')}", "does not match the body"),
    ("Repr-Digest", f"sha-512={_sf('sha512', b'other')}", "does not match the body"),
    ("Content-Digest", f"unixsum=:AAAA:, sha-256={_sf('sha256', b'other')}", "does not match"),
    ("Digest", f"SHA-256={_sf('sha256', b'other')[1:-1]}", "does not match the body"),
    ("Digest", f"MD5={_md5(b'other')}", "does not match the body"),
    ("Content-Digest", "sha-256=AAAA", "not a dictionary of digests"),  # no colons
    ("Content-Digest", "sha-256=:AAAA:", "not the base64 of a 32-byte"),
    ("Digest", "sha-256", "not algorithm=base64"),
])
def test_a_put_whose_body_digest_is_not_its_body_s_is_400(
        tmp_path: Path, field: str, digest: str, says: str) -> None:
    """RFC 9530's Content-Digest and Repr-Digest and RFC 3230's Digest, the same kind:
    each was ignored before (a wrong ``Content-Digest: sha-256=:AAAA:`` stored)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, body = await call("PUT", url(node, "/kv/k"), b"changed",
                                         {field: digest})
            assert status == 400 and field in body["message"], body
            assert says in body["message"], body
            status, _, got = await call("GET", url(node, "/kv/k?r=3"))
            assert status == 404, (status, got)  # (session 59: a 503 once, not named)
    run(scenario())


def test_right_or_unknown_body_digests_are_stored(tmp_path: Path) -> None:
    """An algorithm the node does not check is ignored (RFC 9530 2); the right
    digest of each field stored."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            for i, (field, digest) in enumerate((
                    ("Content-Digest",
                     f"sha-256={_sf('sha256', b'v')}, sha-512={_sf('sha512', b'v')}"),
                    ("Repr-Digest", f"sha-256={_sf('sha256', b'v')}"),
                    ("Content-Digest", "crc32c=:AAAAAA==:"),
                    ("Digest", f"sha-256={_sf('sha256', b'v')[1:-1]},UNIXsum=30"))):
                status, _, body = await call("PUT", url(node, f"/kv/k{i}"), b"v", {field: digest})
                assert status == 200, (field, digest, body)
                status, _, got = await call("GET", url(node, f"/kv/k{i}?r=3"))
                assert [base64.b64decode(v) for v in got["values"]] == [b"v"]
    run(scenario())


def test_every_digest_given_is_checked_unpadded_ones_read_other_methods_ignored(
        tmp_path: Path) -> None:
    """Session 29's review of the user probe. Every digest is checked, not the first
    found: a right sha-256 beside a wrong sha-512, a right Content-MD5 beside a wrong
    Repr-Digest, are 400 (a mutant checking only the first survived the tests
    above). A structured field's digest without its ``=`` padding is read (RFC 8941
    4.2.7: a parser SHOULD NOT fail when it is absent): 400 "not the base64" before
    the review. A GET's or DELETE's malformed Content-MD5 is not read (no body)."""
    right = {name: _sf(name, b"v") for name in ("md5", "sha256", "sha512")}
    wrong = {name: _sf(name, b"other") for name in ("md5", "sha256", "sha512")}

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            for headers, field in (
                    ({"Content-Digest": f"sha-256={right['sha256']}, "
                                        f"sha-512={wrong['sha512']}"}, "Content-Digest"),
                    ({"Content-MD5": right["md5"][1:-1],
                      "Repr-Digest": f"sha-256={wrong['sha256']}"}, "Repr-Digest"),
                    ({"Digest": f"MD5={right['md5'][1:-1]},SHA-512={wrong['sha512'][1:-1]}"},
                     "Digest"),
                    ({"Content-Digest": f"sha-256={wrong['sha256'].rstrip(':=')}:"},
                     "Content-Digest")):
                status, _, body = await call("PUT", url(node, "/kv/k"), b"v", headers)
                assert status == 400 and field in body["message"], (headers, body)
                assert "does not match the body" in body["message"], body
            status, _, got = await call("GET", url(node, "/kv/k?r=3"))
            assert status == 404, (status, got)  # nothing written
            for i, headers in enumerate((
                    {"Content-Digest": f"sha-256={right['sha256'].rstrip(':=')}:"},
                    {"Repr-Digest": f"sha-512={right['sha512'].rstrip(':=')}:"})):
                status, _, body = await call("PUT", url(node, f"/kv/p{i}"), b"v", headers)
                assert status == 200, (headers, body)  # before the review: 400
                status, _, got = await call("GET", url(node, f"/kv/p{i}?r=3"))
                assert [base64.b64decode(v) for v in got["values"]] == [b"v"]
            for method in ("GET", "DELETE"):
                status, _, body = await call(method, url(node, "/kv/p0"), None,
                                             {"Content-MD5": "abc"})
                assert status == 200, (method, body)
    run(scenario())


def test_each_algorithm_hashes_the_body_once_however_many_members_name_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 39's user probe: a Repr-Digest of 600 members naming the body's sha-512
    (60 KB, within the head's bound) hashed a 1 MiB body 600 times on the node's event
    loop (a ``vdynamo serve`` process: 5 such puts 8.2 s of CPU, another client's small
    GET waiting up to 8.55 s; after, 0.4 s and 0.68 s). Now at most one hash of the
    body an algorithm; a member that does not match is still refused."""
    from impl import http_values

    body = bytes(range(256)) * 64
    digests = {name: base64.b64encode(hashlib.new(name, body).digest()).decode()
               for name in ("md5", "sha256", "sha512")}
    headers = {b"content-md5": digests["md5"].encode(),
               b"repr-digest": ", ".join([f"sha-512=:{digests['sha512']}:"] * 600).encode(),
               b"content-digest": ", ".join([f"sha-256=:{digests['sha256']}:"] * 300).encode(),
               b"digest": ", ".join([f"SHA-512={digests['sha512']}"] * 50).encode()}
    hashed: list[str] = []
    new = hashlib.new

    def counting(name: str, data: bytes = b"", **options: bool) -> object:
        if data:
            hashed.append(name)
        return new(name, data, **options)

    monkeypatch.setattr(http_values.hashlib, "new", counting)
    http_values.check_body_digests(headers, body)
    assert sorted(hashed) == ["md5", "sha256", "sha512"]  # before: 951 hashes
    headers[b"digest"] += b", SHA-512=" + digests["sha256"].encode()  # a wrong length
    with pytest.raises(http_values.BadRequestError, match="Digest"):
        http_values.check_body_digests(headers, body)
    headers[b"digest"] = b"SHA-512=" + base64.b64encode(bytes(64))
    with pytest.raises(http_values.BadRequestError, match="does not match the body"):
        http_values.check_body_digests(headers, body)
