"""A PUT or DELETE with a conditional header is refused 501 naming it, nothing
written (docs/runtime.md, "Conditional requests").

Session 14's probe B: the headers were ignored, so ``If-None-Match: *`` (create
only if absent; RFC 9110 13.1.2 asks 412 when the key exists, and Riak's
riak_kv_wm_object answers 412) on an existing key was served as a blind put: a
sibling beside the stored value (the last writer's value alone in lww mode). A
quorum store cannot check and write atomically, so the node refuses the
headers rather than claim a precondition it may not hold."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.runtime.live import call, cluster, run, url

HEADERS = [("If-None-Match", "*"), ("If-Match", '"abc"'), ("If-Match", "*"),
           ("If-Modified-Since", "Tue, 01 Dec 2026 00:00:00 GMT"),
           ("If-Unmodified-Since", "Tue, 01 Dec 2026 00:00:00 GMT"), ("if-range", '"abc"')]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_conditional_write_is_501_naming_the_header_and_writes_nothing(
        tmp_path: Path, method: str) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"first")
            assert status == 200
            for name, value in HEADERS:
                body = b"second" if method == "PUT" else None
                status, _, answer = await call(method, url(node, "/kv/k"), body,
                                               {name: value})
                assert status == 501, (name, answer)
                assert name.title() in answer["message"], answer
                assert answer["outcome"] == "not-written"
                status, _, got = await call("GET", url(node, "/kv/k?r=3"))
                assert status == 200
                assert [base64.b64decode(v) for v in got["values"]] == [b"first"], name
            # create-only on an absent key: refused too (never a create it cannot promise)
            status, _, _ = await call("PUT", url(node, "/kv/new"), b"x",
                                      {"If-None-Match": "*"})
            assert status == 501
            status, _, _ = await call("GET", url(node, "/kv/new?r=3"))
            assert status == 404
    run(scenario())


def test_a_get_with_a_conditional_header_is_served(tmp_path: Path) -> None:
    """A GET's precondition only saves a transfer: the full 200 is served (the
    node sends no ETag or Last-Modified a client could hold)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            assert (await call("PUT", url(node, "/kv/k"), b"v"))[0] == 200
            status, _, got = await call("GET", url(node, "/kv/k"), None,
                                        {"If-None-Match": "*"})
            assert status == 200 and [base64.b64decode(v) for v in got["values"]] == [b"v"]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"w")  # unconditional: 200
            assert status == 200
    run(scenario())


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_write_with_riaks_vclock_header_is_refused_naming_ours(
        tmp_path: Path, method: str) -> None:
    """A write carrying ``X-Riak-Vclock`` (a Riak user's read-modify-write, the
    context copied under Riak's name) was served as a blind write: a sibling beside
    the value it meant to replace, acknowledged 200 (session 48's review). Now 400
    naming X-Vdynamo-Context, nothing written; a GET still ignores it, as Riak's
    does. Mutant (checked failing): the refusal removed."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            assert (await call("PUT", url(node, "/kv/k"), b"first"))[0] == 200
            status, headers, _ = await call("GET", url(node, "/kv/k?r=3"))
            assert status == 200
            riak = {"X-Riak-Vclock": headers["x-vdynamo-context"]}
            body = b"second" if method == "PUT" else None
            status, _, answer = await call(method, url(node, "/kv/k"), body, riak)
            assert status == 400, answer
            assert "X-Vdynamo-Context" in answer["message"], answer
            assert answer["outcome"] == "not-written"
            status, _, got = await call("GET", url(node, "/kv/k?r=3"), None, riak)
            assert status == 200
            assert [base64.b64decode(v) for v in got["values"]] == [b"first"]
    run(scenario())
