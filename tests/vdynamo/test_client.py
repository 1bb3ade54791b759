"""The client library (vdynamo.connect / connect_async) against real nodes in this
process: routing to the key's coordinator, fallback, retries only when the outcome
is known, the sibling-resolution hook."""

from __future__ import annotations

import asyncio

import pytest

import impl
import vdynamo
from impl import errors
from impl.runtime import NodeServer
from tests.runtime.live import run


def _puts(server: NodeServer, status: str = "200") -> float:
    return server.metrics.requests.labels("put", status)._value.get()  # type: ignore[no-any-return]


def _union(values: list[bytes]) -> bytes:
    return b",".join(sorted({item for v in values for item in v.split(b",") if item}))


def test_requests_go_to_the_keys_coordinator_and_fall_back_to_any_node() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=5, n=3, r=2, w=2, request_timeout=5.0) as cluster:
            by_name = {server.name: server for server in cluster.servers}
            client = cluster.client()
            for key in ("cart", "user:7", "k\u00e9y"):
                await client.put(key, b"v")
                coordinator = by_name[cluster.servers[0].node.preference_list(
                    key.encode())[0]]
                assert client.router.candidates(key)[0] == f"http://{coordinator.http_address}"
            # each put went to its coordinator only: no other node was asked
            assert sum(_puts(s) for s in cluster.servers) == 3
            # the coordinator of "cart" goes away: the next node of the list serves
            coordinator = by_name[cluster.servers[0].node.preference_list(b"cart")[0]]
            await coordinator.stop()
            context = await client.put("cart", b"w", context=(await client.get("cart")).context)
            assert context and (await client.get("cart")).values == [b"w"]
    run(scenario())


def test_a_put_whose_outcome_is_unknown_is_not_retried_and_not_written_is() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=2, request_timeout=2.0) as cluster:
            client = cluster.client()
            await client.put("k", b"first")
            first = cluster.servers[0]
            # saturated: 503 not-written, so the client moves on to another node
            first.overloaded = lambda put_bytes=None: errors.OverloadedError(  # type: ignore[method-assign]
                "test: saturated")
            client.router.seeds = [f"http://{first.http_address}"]
            client.router.http = {"n1": f"http://{first.http_address}",
                                  "n2": f"http://{cluster.servers[1].http_address}"}
            client.router.partitioning = None  # no ring: the seeds, then the others
            client.router.refresh_s = 1e9
            client.router._learned_at = 0.0
            await client.put("k", b"second")
            assert _puts(first, "503") == 1 and _puts(cluster.servers[1]) == 1
            # w=3 with a node down: 504 outcome unknown; raised, sent once only
            await cluster.servers[2].stop()
            before = sum(_puts(s, "504") + _puts(s) for s in cluster.servers[:2])
            client = cluster.client()
            with pytest.raises(vdynamo.OutcomeUnknownError) as raised:
                await client.put("k", b"third", w=3)
            assert raised.value.outcome == "unknown"
            assert sum(_puts(s, "504") + _puts(s) for s in cluster.servers[:2]) == before + 1
            with pytest.raises(vdynamo.RequestRefusedError):
                await client.put("k", b"v", w=7)
    run(scenario())


def test_the_resolve_hook_merges_siblings_and_writes_the_merge_back() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=3, w=2, request_timeout=5.0) as cluster:
            plain = cluster.client()
            await plain.put("cart", b"milk")
            await plain.put("cart", b"eggs,bread")  # no context: a sibling
            assert len((await plain.get("cart")).values) == 2
            cart = await cluster.client(resolve=_union).get("cart")
            assert cart.value == b"bread,eggs,milk"
            again = await plain.get("cart")
            assert again.values == [b"bread,eggs,milk"] and again.context == cart.context
    run(scenario())


def test_the_sync_client_does_the_same() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=2, request_timeout=5.0) as cluster:
            def use() -> tuple[bytes | None, int]:
                with vdynamo.connect([str(s.http_address) for s in cluster.servers],
                                     resolve=_union) as db:
                    assert db.get("cart").values == []
                    db.put("cart", b"milk", content_type="text/plain")
                    db.put("cart", b"eggs")
                    got = db.get("cart")
                    return got.value, len(db.status()["http"])
            assert await asyncio.to_thread(use) == (b"eggs,milk", 3)
    run(scenario())


def test_connect_needs_an_address() -> None:
    with pytest.raises(errors.LocalError):
        vdynamo.connect([])
    with pytest.raises(vdynamo.NoNodeError), vdynamo.connect(
            ["127.0.0.1:9"], timeout_s=1.0) as db:  # nothing listens there
        db.get("k")


def test_keys_that_are_dot_segments_or_need_escaping_round_trip() -> None:
    """Every key is written and read back under itself, ``.`` and ``..`` too: httpx
    removes dot segments from a path (RFC 3986 5.2.4), so before they went out as
    ``/kv`` and ``/`` and the client got 404 "no resource" (session 12's probe);
    they are sent as ``%2E`` and ``%2E%2E`` now."""
    keys: list[str | bytes] = [".", "..", "...", "a/..", "a/b", "a?b", "a#b", "a b", "%41",
                               "a\x00b", b"\xff."]
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=2, request_timeout=5.0) as cluster:
            client = cluster.client()
            for key in keys:
                await client.put(key, b"v:" + (key.encode() if isinstance(key, str) else key))
            for key in keys:
                raw = key.encode() if isinstance(key, str) else key
                assert (await client.get(key)).values == [b"v:" + raw], key
            assert (await client.get("A")).values == []  # "%41" is not "A"
    run(scenario())


def test_a_get_whose_merge_cannot_be_written_back_still_returns_the_merge() -> None:
    """Session 30's user probe: with two of three nodes down the resolve hook's
    write-back cannot reach W = 2, and the get raised the write-back's error although
    it had read both siblings. Now it returns the merge with the read's context and
    says why in ``write_back_error``; a put with that context supersedes both."""
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=3, w=2, request_timeout=1.0) as cluster:
            plain = cluster.client()
            await plain.put("cart", b"milk")
            await plain.put("cart", b"eggs")  # no context: a sibling
            read = await plain.get("cart")
            assert len(read.values) == 2
            for server in cluster.servers[1:]:
                await server.stop()
            up = f"http://{cluster.servers[0].http_address}"
            async with vdynamo.connect_async([up], resolve=_union) as client:
                cart = await client.get("cart", r=1)
                assert cart.value == b"eggs,milk" and cart.context == read.context
                assert cart.write_back_error is not None
                assert cart.write_back_error.startswith(("NoNodeError", "OutcomeUnknownError"))
                await client.put("cart", b"eggs,milk,tea", context=cart.context, w=1)
                assert (await client.get("cart", r=1)).values == [b"eggs,milk,tea"]
    run(scenario())


def test_a_write_back_refused_4xx_and_the_sync_client_still_return_the_merge() -> None:
    """Session 30's review of the write-back: a merge over ``max_value_bytes`` (two
    600-byte siblings, a limit of 1,024) is refused 413 at its write-back, and the
    get raised RequestRefusedError (a LocalError: "fix the request") although the get
    was valid and had read both: the merge is the answer, the refusal named in
    ``write_back_error``; the caller's own put of it with the context gets the 413
    (raised: that is the caller's write). The sync client (``vdynamo.connect``) runs
    the same plan, also with the write-back unreachable (two nodes of three down)."""
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=3, w=2, max_value_bytes=1024,
                                     request_timeout=1.0) as cluster:
            plain = cluster.client()
            await plain.put("cart", b"a" * 600)
            await plain.put("cart", b"b" * 600)  # no context: a sibling
            read = await plain.get("cart")
            assert len(read.values) == 2
            up = f"http://{cluster.servers[0].http_address}"

            def sync_get() -> vdynamo.Fetched:
                with vdynamo.connect([up], resolve=_union) as db:
                    return db.get("cart", r=1)
            async with vdynamo.connect_async([up], resolve=_union) as client:
                cart = await client.get("cart")
                assert cart.value == b"a" * 600 + b"," + b"b" * 600
                assert cart.context == read.context
                assert cart.content_types == read.content_types[:1]  # one value, one type
                assert cart.write_back_error is not None
                assert cart.write_back_error.startswith("RequestRefusedError")
                with pytest.raises(vdynamo.RequestRefusedError):
                    await client.put("cart", cart.value or b"", context=cart.context)
                assert cart == await asyncio.to_thread(sync_get)
                await client.put("cart", b"a" * 600, context=cart.context)
                assert (await client.get("cart")).values == [b"a" * 600]
                await plain.put("cart", b"c" * 100)  # siblings again, a merge within
                for server in cluster.servers[1:]:
                    await server.stop()
                cart = await asyncio.to_thread(sync_get)
                assert cart.value == b"a" * 600 + b"," + b"c" * 100
                assert cart.write_back_error is not None
                assert cart.write_back_error.startswith(("NoNodeError",
                                                         "OutcomeUnknownError"))
    run(scenario())
