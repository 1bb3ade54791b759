"""The frame limit of a store that keeps larger record bounds (``NodeServer.frame_limit``,
session 22's service probe) against the limits its peers announce: session 22's
review of that fix. Hand mutants survived the tests of the fix: the frame limit
uncapped, the announced-limit fallbacks of ``_peer_max_frame`` and
``_within_peer_limits`` back to ``max_frame_bytes``, the latter's shortcut compared
with ``max_frame_bytes``, and hellos announcing the frame limit. These tests kill
them, on three nodes in the test's loop (loopback).

The cluster runs the least frame its limits allow (8,393,728 B for 64 KiB values
and 256 KiB records, as in ``test_lowered_frame_limit.py``); n1's and n2's stores
keep the bounds of earlier, larger limits (:data:`_KEPT`, set by hand as a start
from such a store, or a peer's hello, would), so their frame limit is larger."""

from __future__ import annotations

import asyncio
from pathlib import Path

from impl import wire
from impl.messages import KeyRecords, ReadRepair
from impl.records import encode_record
from impl.runtime import NodeServer
from impl.versions import ClockMode, Record, apply_put
from spec.vclock import VClock
from tests.runtime.live import cluster, dial_hello, run
from tests.runtime.test_peer_frame_limit import _record, _sized
from tests.runtime.test_peer_limits import _info

LIMITS = {"max_value_bytes": 65536, "max_record_bytes": 262144, "max_frame_bytes": 8393728}
_KEPT = 24 << 20  # the kept record bytes of the earlier limits


def _keep_larger(*servers: NodeServer) -> None:
    """Give each of ``servers`` the kept bounds of larger earlier limits."""
    for server in servers:
        server.node.replica.kept_bounds = (_KEPT, server.node.replica.kept_bounds[1])


def test_a_stores_huge_kept_bounds_raise_the_frame_limit_to_2_gib_at_most(
        tmp_path: Path) -> None:
    """Kept bounds of 2^40 B (the store's own: a peer's are cut to a 64 MiB frame
    since session 23's review, ``test_adopted_bounds_review.py``) raise the frame
    limit to 2 GiB, the largest ``max_frame_bytes`` a file may set, not to 2^40
    (the frame a node buffers per connection)."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False) as servers:
            target = servers[0]
            target.node.replica.kept_bounds = (1 << 40, 1)
            assert target.frame_limit == 1 << 31  # uncapped: 2^40 + 8 MiB ...
    run(scenario())


def test_a_peer_differing_in_another_limit_takes_a_frame_up_to_the_frame_limit(
        tmp_path: Path) -> None:
    """A peer announcing the same ``max_frame_bytes`` and another ``max_siblings``
    (a rolling change of that limit) took this node's kept bounds from its hello, so
    it takes a frame over ``max_frame_bytes`` within the frame limit: the record of
    earlier limits goes, and is stored. Held back (``withheld_records`` 1, the peer
    never had it) when either fallback of the announced frame was
    ``max_frame_bytes``."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False, **LIMITS) as servers:
            n1, n2, _ = servers
            _keep_larger(n1, n2)
            n1._compare_limits("n2", _info(n1, max_siblings=n1.config.max_siblings - 1,
                                           kept_record_bytes=_KEPT, kept_record_siblings=75))
            record = _sized(10_000_000, b"k")
            size = len(wire.encode(ReadRepair(b"k", record)))
            assert LIMITS["max_frame_bytes"] < size < n1.frame_limit
            n1._send("n2", ReadRepair(b"k", record))
            assert n1.withheld_records == 0
            for _ in range(100):
                if n2.node.record(b"k") is not None:
                    break
                await asyncio.sleep(0.05)
            assert n2.node.record(b"k") is not None
    run(scenario())


def test_records_that_fit_a_peers_announced_frame_go_when_the_frame_limit_is_larger(
        tmp_path: Path) -> None:
    """A peer announcing a ``max_frame_bytes`` (12 MiB) over this node's but under its
    frame limit: an anti-entropy KeyRecords carries the records that fit the peer's
    frame and holds back the one that does not (``withheld_records`` 1). With the
    shortcut "the peer's limits are larger" compared with ``max_frame_bytes``, the
    whole message went to the frame check and was held back: nothing sent."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False, **LIMITS) as servers:
            n1 = servers[0]
            _keep_larger(n1)
            n1._compare_limits("n2", _info(n1, max_frame_bytes=12 << 20))
            big = _sized(13_000_000, b"big")
            assert len(wire.encode(ReadRepair(b"big", big))) < n1.frame_limit
            queued = n1._queued_bytes.get("n2", 0)
            small = _record(b"s")
            n1._send("n2", KeyRecords((b"a", b"big"), (small, big), session=1))
            assert n1.withheld_records == 1
            assert n1._queued_bytes.get("n2", 0) > queued  # a, alone
    run(scenario())


def test_hellos_announce_the_files_max_frame_bytes_not_the_frame_limit(
        tmp_path: Path) -> None:
    """A node whose frame limit rose announces the cluster file's
    ``max_frame_bytes``: the limits compared are the file's, so a peer with the same
    file sees no differing limit (announcing the frame limit warned every peer of
    "other [cluster] limits" the operator never set)."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False, **LIMITS) as servers:
            n1, n2, _ = servers
            _keep_larger(n1)
            assert n1.frame_limit > LIMITS["max_frame_bytes"]
            _, writer, _, info = await dial_hello(n1)
            writer.close()
            assert dict(info.limits)["max_frame_bytes"] == LIMITS["max_frame_bytes"]
            n2._compare_limits("n1", info)
            assert "n1" not in n2.peer_limits_differ
    run(scenario())


def _siblings(count: int, size: int) -> bytes:
    """A record of ``count`` concurrent siblings of ``size`` bytes each."""
    record = Record.empty(ClockMode.DVV)
    for i in range(count):
        record = apply_put(record, VClock.of({}), bytes([i]) * size, coordinator="n1",
                           client_id=f"c{i}", now=0.0)
    return encode_record(record)


def test_a_peer_whose_kept_bounds_need_more_than_its_announced_frame_gets_the_frame(
        tmp_path: Path) -> None:
    """A rolling lowering (n2 first): n2 announces ``max_frame_bytes`` 8,393,728 but
    its store keeps the bounds of the earlier limits (24 MiB, in the same hello), so
    its frame limit takes a 10 MB record of 10 siblings of 1 MB (each within
    every node's ``max_value_bytes``). n1, still at the default 64 MiB, sends it.
    Before session 22's review n1 held it back (``withheld_records`` 1): in the
    trial with ``vdynamo serve`` processes every GET through the lowered node at
    R=2 answered 503 until every node was restarted."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False) as servers:
            n1, n2, _ = servers
            n1._compare_limits("n2", _info(n1, max_frame_bytes=8393728,
                                           kept_record_bytes=_KEPT,
                                           kept_record_siblings=75))
            record = _siblings(10, 1_000_000)
            assert 8393728 < len(wire.encode(ReadRepair(b"k", record))) < n1.frame_limit
            n1._send("n2", ReadRepair(b"k", record))
            assert n1.withheld_records == 0  # before: 1
            for _ in range(100):
                if n2.node.record(b"k") is not None:
                    break
                await asyncio.sleep(0.05)
            assert n2.node.record(b"k") is not None
            # its next hello without kept bounds (an older node's) is taken at its word
            n1._compare_limits("n2", _info(n1, max_frame_bytes=8393728))
            n1._send("n2", ReadRepair(b"k", record))
            assert n1.withheld_records == 1
    run(scenario())


def test_a_peer_whose_hello_has_no_kept_bounds_gets_no_frame_over_its_announced_limit(
        tmp_path: Path) -> None:
    """A node of before session 21 (its hello carries no kept record bounds) adopts
    none of this node's, so its frame limit is the ``max_frame_bytes`` it announces,
    here the same as this node's: a 10 MB record within this node's raised frame
    limit is held back for it. Before session 22's review it went, and n2 (whose
    frame limit is its ``max_frame_bytes``) closed the connection, as it would at
    every resend of the record."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False, **LIMITS) as servers:
            n1, n2, _ = servers
            _keep_larger(n1)
            n1._compare_limits("n2", _info(n1))  # the same limits, no kept bounds
            dropped = n2.dropped_frames
            n1._send("n2", ReadRepair(b"k", _sized(10_000_000, b"k")))
            assert n1.withheld_records == 1  # before: 0
            await asyncio.sleep(0.5)
            assert n2.dropped_frames == dropped  # before: n2 closed the connection
            # a later hello with kept bounds: the peer adopts this node's
            n1._compare_limits("n2", _info(n1, kept_record_bytes=1, kept_record_siblings=1))
            assert n1._peer_max_frame("n2") == n1.frame_limit
    run(scenario())
