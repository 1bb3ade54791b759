"""A DELETE retried with one context stays answerable: once only tombstones are left,
a retry refused for the siblings its tries made is answered 404 (nothing to delete,
nothing written), as a DELETE of a key with no value is (session 26's user probe).

Before: each retry wrote a tombstone sibling (concurrent with the earlier tries'),
and once they passed ``max_siblings`` every retry was answered 400 "key has more
than 25 siblings: read and reconcile them first" of a key with no value left (40
retries on three ``vdynamo serve`` processes: 25 x 200, then 15 x 400), though a
DELETE is safe to retry (RFC 9110 9.2.2). A refused delete of a key that still
holds a value keeps its 400."""

from __future__ import annotations

from pathlib import Path

from impl.runtime import NodeServer
from impl.versions import TOMBSTONE, values
from tests.runtime.live import call, cluster, run, url


async def _stored(node: NodeServer, value: bytes) -> dict[str, str]:
    """Put ``value`` to k at W=3; the X-Vdynamo-Context header of a read of it."""
    assert (await call("PUT", url(node, "/kv/k?w=3"), value))[0] == 200
    _, headers, _ = await call("GET", url(node, "/kv/k?r=3"))
    return {"X-Vdynamo-Context": headers["x-vdynamo-context"]}


def test_a_delete_retried_past_max_siblings_is_answered_404(tmp_path: Path) -> None:
    # client-vclock: each blind DELETE is a client of its own, and its tombstone a
    # sibling of the earlier tries' (in dvv a delete collapses the tombstones it is
    # concurrent with since session 26: test_a_dvv_delete_retried_stays_one_tombstone)
    async def scenario() -> None:
        async with cluster(tmp_path, max_siblings=3, delete_mode="keep",
                           clock="client-vclock") as servers:
            node = servers[0]
            context = await _stored(node, b"v")
            answers = [await call("DELETE", url(node, "/kv/k?w=3"), headers=context)
                       for _ in range(6)]
            statuses = [status for status, _, _ in answers]
            assert statuses == [200, 200, 200, 404, 404, 404], answers[3]  # before: 400s
            _, _, body = answers[3]
            assert body["error"] == "NotFound" and body["outcome"] == "not-written"
            assert body["context"]  # the read's, which covers every tombstone
            status, _, _ = await call("GET", url(node, "/kv/k?r=3"))
            assert status == 404
            # other refusals keep their answers (session 26's review, mutants): a
            # forged context 400 (BadContextError, a BadRequestError's subclass)
            raw = context["X-Vdynamo-Context"]
            forged = {"X-Vdynamo-Context": raw[:-6] + ("AAAA" if raw[-6:-2] != "AAAA"
                                                       else "BBBB") + raw[-2:]}
            status, _, body = await call("DELETE", url(node, "/kv/k?w=3"), headers=forged)
            assert status == 400 and body["error"] == "BadContextError", body
            # a refused retry whose read fails (R=3 with a node stopped) keeps its
            # refusal: 413 naming max_siblings (400 until session 53)
            await servers[2].stop()
            status, _, body = await call("DELETE", url(node, "/kv/k?w=2&r=3"), headers=context)
            assert status == 413 and body["limit"] == "max_siblings", body
            # a blind PUT past the limit over tombstones alone is stored, never a
            # PUT's 404 (session 26's review's mutant); before session 31's user
            # probe: 400 "read and reconcile them first" of a key that read as not
            # found (test_put_after_delete_retries.py)
            status, _, body = await call("PUT", url(node, "/kv/k?w=2"), b"x")
            assert status == 200, body
            status, _, body = await call("GET", url(node, "/kv/k?r=2"))
            assert status == 200 and body["values"] == ["eA=="], body
    run(scenario())


def test_a_dvv_delete_retried_stays_one_tombstone(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_siblings=3, delete_mode="keep") as servers:
            node = servers[0]
            context = await _stored(node, b"v")
            answers = [await call("DELETE", url(node, "/kv/k?w=3"), headers=context)
                       for _ in range(6)]
            assert [status for status, _, _ in answers] == [200] * 6, answers
            status, _, _ = await call("GET", url(node, "/kv/k?r=3"))
            assert status == 404
            for server in servers:  # one tombstone on each replica (before: three
                # and a 400 per try past max_siblings)
                record = server.node.replica.local_record(b"k")
                assert values(record) == [TOMBSTONE]
    run(scenario())


def test_a_refused_delete_of_a_key_holding_values_keeps_its_400(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_siblings=3, delete_mode="keep",
                           clock="client-vclock") as servers:
            node = servers[0]
            context = await _stored(node, b"v1")
            for value in (b"v2", b"v3"):  # blind: siblings of v1
                assert (await call("PUT", url(node, "/kv/k?w=3"), value))[0] == 200
            # v1 replaced by a tombstone: v2, v3 and it (3 siblings); again: 4 > 3
            assert (await call("DELETE", url(node, "/kv/k?w=3"), headers=context))[0] == 200
            status, _, body = await call("DELETE", url(node, "/kv/k?w=3"), headers=context)
            assert status == 413 and body["limit"] == "max_siblings", body
            status, _, _ = await call("GET", url(node, "/kv/k?r=3"))
            assert status == 300  # v2 and v3 are still there
    run(scenario())
