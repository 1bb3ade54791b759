"""A forwarded put over real TCP (session 26; docs/runtime.md, "A late Forward
(session 26)"): the coordinator's ``ForwardClaim`` and the forwarder's
``ForwardGrant`` (frame types 42 and 43) go through the peer connections, and the
put is coordinated once, by the key's only owner (N = 1)."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.live import call, cluster, run, url


def test_a_put_through_a_node_outside_the_top_n_is_claimed_granted_and_stored(
        tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int, list[str], int]:
        async with cluster(tmp_path, n=1, r=1, w=1) as servers:
            by_name = {server.name: server for server in servers}
            owner = servers[0].node.preference_list(b"k")[0]
            outside = next(server for server in servers if server.name != owner)
            put, _, _ = await call("PUT", url(outside, "/kv/k"), b"v")
            status, _, body = await call("GET", url(outside, "/kv/k"))
            stored = sum(server.node.record(b"k") is not None for server in servers)
            assert outside.node.forwarder.forwardings == {}
            assert by_name[owner].node.forwarder.claims == {}
            return put, status, body.get("values", []), stored
    put, status, values, stored = run(scenario())
    assert put in (200, 204) and status == 200
    assert values == ["dg=="]  # b"v", base64
    assert stored == 1
