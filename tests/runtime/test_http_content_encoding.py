"""A PUT with a Content-Encoding other than identity is refused 415 naming it,
with ``Accept-Encoding: identity`` (RFC 9110 15.5.16), nothing written. Before
session 14's probe B the coded bytes were stored and served without their coding:
a gzip body PUT with ``Content-Type: application/json`` read back as
``application/json`` holding gzip bytes (Riak keeps the coding as the object's
metadata and serves it back; the node keeps none)."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import pytest

from tests.runtime.live import call, cluster, run, url


@pytest.mark.parametrize("coding", ["gzip", "br", "GZIP", "deflate, gzip"])
def test_a_coded_put_is_415_and_writes_nothing(tmp_path: Path, coding: str) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"before")
            assert status == 200
            status, headers, body = await call(
                "PUT", url(node, "/kv/k"), gzip.compress(b'{"cart": ["milk"]}'),
                {"Content-Type": "application/json", "Content-Encoding": coding})
            assert status == 415, body
            assert headers["accept-encoding"] == "identity"
            assert body["error"] == "BadRequestError" and body["outcome"] == "not-written"
            assert "Content-Encoding" in body["message"]
            status, _, got = await call("GET", url(node, "/kv/k?r=3"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"before"]
    run(scenario())


def test_identity_or_no_coding_is_stored(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            for key, extra in (("a", {"Content-Encoding": "identity"}), ("b", {}),
                               ("c", {"Content-Encoding": "IDENTITY"}),  # case-insensitive
                               ("d", {"Content-Encoding": "Identity"})):
                status, _, _ = await call("PUT", url(node, f"/kv/{key}"), b"plain", extra)
                assert status == 200
                status, _, got = await call("GET", url(node, f"/kv/{key}?r=3"))
                assert [base64.b64decode(v) for v in got["values"]] == [b"plain"]
    run(scenario())


def test_a_put_with_content_range_is_400_and_writes_nothing(tmp_path: Path) -> None:
    """RFC 9110 14.4: a server that allows PUT MUST answer 400 to one with
    Content-Range (partial content sent as if whole). Before session 14's probe B
    the 5 bytes of ``bytes 0-4/100`` replaced the whole value."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"before")
            assert status == 200
            status, _, body = await call("PUT", url(node, "/kv/k"), b"part1",
                                         {"Content-Range": "bytes 0-4/100"})
            assert status == 400, body
            assert "Content-Range" in body["message"] and body["outcome"] == "not-written"
            status, _, got = await call("GET", url(node, "/kv/k?r=3"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"before"]
    run(scenario())


def test_a_get_or_delete_naming_a_coding_is_served(tmp_path: Path) -> None:
    """Content-Encoding describes a body: a GET or DELETE (no value sent) naming one
    is served as without it (kills the mutant refusing it on every method)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"v")
            assert status == 200
            status, _, got = await call("GET", url(node, "/kv/k?r=3"), None,
                                        {"Content-Encoding": "gzip"})
            assert status == 200 and [base64.b64decode(v) for v in got["values"]] == [b"v"]
            status, _, _ = await call("DELETE", url(node, "/kv/k"), None,
                                      {"Content-Encoding": "gzip"})
            assert status == 200
    run(scenario())
