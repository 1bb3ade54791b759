"""DELETE /kv/{key} on live nodes (issue 11, the third review): a delete without a
context reads the key first and deletes what it read (Riak's riak_kv_delete:delete/8
when no vclock is given), so the value is gone; a put concurrent with it is kept as
a sibling; nothing there: 404, nothing written. Its messages say "delete", and its
body is read and dropped up to the discard bound (1 MiB)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from impl.http_api import DISCARDED_BODY_BYTES
from impl.messages import GetRequest, PutRequest
from impl.runtime import NodeServer
from impl.versions import is_tombstone_only
from tests.runtime.live import call, cluster, run, url


def _values(body: dict[str, Any]) -> list[bytes]:
    return sorted(base64.b64decode(value) for value in body.get("values", []))


def test_a_delete_without_a_context_removes_the_value(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            status, _, _ = await call("PUT", url(servers[0], "/kv/cart"), b"milk")
            assert status == 200
            status, headers, body = await call("DELETE", url(servers[1], "/kv/cart"))
            assert status == 200 and body["context"] == headers["x-vdynamo-context"]
            status, headers, got = await call("GET", url(servers[2], "/kv/cart?r=3"))
            assert status == 404 and _values(got) == []
            assert headers["x-vdynamo-context"] == body["context"]  # the tombstone's
            # again: nothing to delete, 404 with the read's context, nothing written
            status, _, again = await call("DELETE", url(servers[0], "/kv/cart"))
            assert status == 404 and again["error"] == "NotFound"
            assert again["context"] == body["context"]
            # a key never written: 404 as well
            status, _, never = await call("DELETE", url(servers[0], "/kv/never"))
            assert status == 404 and never["outcome"] == "not-written"
            assert servers[0].node.record(b"never") is None
            # the read's R is checked like a get's
            status, _, bad = await call("DELETE", url(servers[0], "/kv/cart?r=4"))
            assert status == 400 and "r: must be an integer in 1..3" in bad["message"]
    run(scenario())


def test_a_put_concurrent_with_a_context_less_delete_is_kept(tmp_path: Path) -> None:
    """A put that lands between the delete's read and its tombstone is not covered by
    the read's context: it stays, a sibling of the tombstone (a get answers it)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            assert (await call("PUT", url(servers[0], "/kv/cart"), b"milk"))[0] == 200
            node = servers[0]
            real = node.request
            puts: list[Any] = []

            async def request(message: Any) -> Any:
                reply = await real(message)
                if isinstance(message, GetRequest) and not puts:  # the delete's read
                    puts.append(await servers[1].request(PutRequest(
                        servers[1].next_request_id(), b"cart", b"eggs")))
                return reply

            node.request = request  # type: ignore[method-assign,assignment]
            status, _, _ = await call("DELETE", url(node, "/kv/cart"))
            assert status == 200 and puts and puts[0].error is None
            status, _, got = await call("GET", url(servers[2], "/kv/cart?r=3"))
            assert status == 200 and _values(got) == [b"eggs"]
    run(scenario())


async def _missing_w(servers: list[NodeServer]) -> tuple[int, dict[str, Any]]:
    _, _, got = await call("GET", url(servers[0], "/kv/k"))
    await servers[2].stop()
    status, _, body = await call("DELETE", url(servers[0], "/kv/k?w=3"),
                                 headers={"X-Vdynamo-Context": got["context"]})
    return status, body


def test_a_delete_that_misses_w_says_delete(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            assert (await call("PUT", url(servers[0], "/kv/k"), b"v"))[0] == 200
            status, body = await _missing_w(servers)
            assert status == 504 and body["outcome"] == "unknown"
            assert body["message"].startswith("delete reached 2 of W=3 replicas"), body
    run(scenario())


def test_a_delete_whose_read_misses_r_says_delete_and_deletes_nothing(
        tmp_path: Path) -> None:
    """Session 35's service probe: a DELETE without a context at ``r=3`` with a replica
    down answered 503 "get reached 2 of R=3 replicas before the timeout", naming a get
    the client never sent. The message now says it is the delete's read, and that
    nothing was deleted (it never was: the read comes first)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            assert (await call("PUT", url(servers[0], "/kv/k?w=3"), b"v"))[0] == 200
            await servers[2].stop()
            status, headers, body = await call("DELETE", url(servers[0], "/kv/k?r=3"))
            assert status == 503 and body["outcome"] == "not-written", body
            assert headers.get("retry-after") == "1", headers
            answered = ", ".join(name for name in servers[0].node.quorum.split(b"k")[0]
                                 if name != "n3")
            assert body["message"] == (
                "delete: its read of the key first (with R) failed, nothing was deleted: "
                "get reached 2 of R=3 replicas before the timeout (no answer from n3; "
                f"answered: {answered})"), body  # n3 named since session 35
            status, _, got = await call("GET", url(servers[0], "/kv/k?r=2"))
            assert status == 200 and _values(got) == [b"v"], got
    run(scenario())


def test_a_delete_body_is_dropped_up_to_the_discard_bound(tmp_path: Path) -> None:
    """A DELETE's body is not a value: dropped whatever ``max_value_bytes`` says, up
    to ``DISCARDED_BODY_BYTES`` (1 MiB; one byte more is 413, nothing deleted).
    Until session 19's service probe it was dropped whatever its size (this test
    sent 4 MiB): an endless body held the connection for good
    (``tests/runtime/test_http_discarded_body.py``)."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=1024) as servers:
            assert (await call("PUT", url(servers[0], "/kv/k"), b"v"))[0] == 200
            status, _, body = await call("DELETE", url(servers[0], "/kv/k"),
                                         b"x" * (DISCARDED_BODY_BYTES + 1))
            assert status == 413 and body["error"] == "TooLargeError"
            assert (await call("GET", url(servers[1], "/kv/k?r=3")))[0] == 200
            status, _, body = await call("DELETE", url(servers[0], "/kv/k"),
                                         b"x" * DISCARDED_BODY_BYTES)
            assert status == 200 and body["context"]
            status, _, got = await call("GET", url(servers[1], "/kv/k?r=3"))
            assert status == 404 and _values(got) == []
            # a PUT's body is still limited
            status, _, refused = await call("PUT", url(servers[0], "/kv/k"), b"x" * 2048)
            assert status == 413 and refused["error"] == "TooLargeError"
    run(scenario())


def test_a_delete_with_the_context_of_a_404_writes_its_tombstone_as_riak_does(
        tmp_path: Path) -> None:
    """A DELETE with a context does not read first (Riak's riak_kv_delete:delete/8 with
    a vclock), so with the context a 404 returned it answers 200 and writes a
    tombstone, alike for a key never written and one whose only versions are
    tombstones; both still answer 404 after it (docs/runtime.md, "Deletes and
    tombstones": kept in session 13, the second probe's minor finding)."""
    async def scenario() -> None:
        async with cluster(tmp_path, delete_mode="keep") as servers:
            node = servers[0]
            assert (await call("PUT", url(node, "/kv/gone"), b"v"))[0] == 200
            assert (await call("DELETE", url(node, "/kv/gone?w=3")))[0] == 200
            for key in ("never", "gone"):
                status, headers, _ = await call("GET", url(node, f"/kv/{key}?r=3"))
                assert status == 404
                status, _, body = await call(
                    "DELETE", url(node, f"/kv/{key}?w=3"),
                    headers={"X-Vdynamo-Context": headers["x-vdynamo-context"]})
                assert status == 200 and body["context"]
                record = node.node.record(key.encode())
                assert record is not None and is_tombstone_only(record)
                status, _, _ = await call("GET", url(node, f"/kv/{key}?r=3"))
                assert status == 404
    run(scenario())
