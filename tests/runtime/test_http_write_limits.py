"""A write refused because the key's stored record would grow too large, in bytes
(``max_record_bytes``) or in siblings (``max_siblings``), is one kind of refusal:
413 with the limit named in the body's ``limit`` (session 53).

Until session 53 the sibling cap answered 400 ``BadRequestError`` and the record's
bytes 413 ``TooLargeError``: a client that acts on a status class could not tell
the cap (read and reconcile, then write again) from a malformed request (session
52's user probe of the clock and delete kinds). Riak enforces both limits at one
place (``riak_kv_vnode``'s put, basho/riak_kv#836: ``max_siblings`` and
``max_object_size``) and fails the put alike.

Mutants checked to fail: the sibling refusal a BadRequestError again (400: the
first test fails); ``limit`` left out of the body (both fail).
"""

from __future__ import annotations

from pathlib import Path

from tests.runtime.live import call, cluster, run, url


def test_a_put_over_max_siblings_is_413_naming_the_limit(tmp_path: Path) -> None:
    """``max_siblings`` 2: two blind puts by two clients make two siblings; the third
    is refused 413, ``TooLargeError``, ``limit: max_siblings``, not written; a put
    with a read's context then replaces them (200)."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_siblings=2) as servers:
            n1 = servers[0]
            for i in range(2):
                status, _, body = await call("PUT", url(n1, "/kv/k?w=3"), b"v%d" % i,
                                             {"X-Vdynamo-Client": f"c{i}"})
                assert status == 200, body
            status, headers, body = await call("PUT", url(n1, "/kv/k?w=3"), b"v2",
                                               {"X-Vdynamo-Client": "c2"})
            assert status == 413, (status, body)  # before: 400 BadRequestError
            assert body["error"] == "TooLargeError" and body["limit"] == "max_siblings"
            assert body["outcome"] == "not-written" and "retry-after" not in headers
            status, _, read = await call("GET", url(n1, "/kv/k?r=3"))
            assert status == 300 and len(read["values"]) == 2, read
            status, _, body = await call("PUT", url(n1, "/kv/k?w=3"), b"merged",
                                         {"X-Vdynamo-Context": read["context"]})
            assert status == 200, body

    run(scenario())


def test_a_put_over_max_record_bytes_is_413_naming_the_limit(tmp_path: Path) -> None:
    """``max_record_bytes`` 4,000, ``max_value_bytes`` 2,000: a third 1,500-byte
    sibling beside two is refused 413, ``limit: max_record_bytes``."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=2000, max_record_bytes=4000) as servers:
            n1 = servers[0]
            for i in range(2):
                status, _, body = await call("PUT", url(n1, "/kv/k"), b"%d" % i * 1500,
                                             {"X-Vdynamo-Client": f"c{i}"})
                assert status == 200, body
            status, _, body = await call("PUT", url(n1, "/kv/k"), b"b" * 1500,
                                         {"X-Vdynamo-Client": "c2"})
            assert status == 413, (status, body)
            assert body["error"] == "TooLargeError" and body["limit"] == "max_record_bytes"

    run(scenario())
