"""A record-carried ``retired`` field never keeps a record from a peer (session 33's
review of the carried retirements).

The field (:attr:`impl.messages.ReplicaPut.retired` and the like: the retired actors
of the records' entries) is not counted in the frame budget
(:func:`impl.config.frame_bytes`, the room ``NodeServer._within_peer_limits``
leaves): a record whose key and bytes fit a peer's frame, sent with a field of a
few KiB (hundreds of retired lifetimes, or 4,096 names of 255 bytes: 1.1 MB), made
a frame over the limit, and the whole message was withheld (or dropped oversized)
at every try: the record never reached the peer by that path. The field only lets
the receiver prune sooner, so the sender leaves it out of a frame it would
otherwise not send."""

from __future__ import annotations

import asyncio
from pathlib import Path

from impl.config import MESSAGE_OVERHEAD_BYTES
from impl.messages import HintDelivery, KeyRecords, ReadRepair, ReplicaPut
from impl.versions import encode_retired
from tests.runtime.live import cluster, run
from tests.runtime.test_peer_frame_limit import FRAME, _sized
from tests.runtime.test_peer_limits import _info

#: 4,096 retired actors of 255-byte names: the most a field may name
#: (impl.versions.RETIRED_WIRE_LIMIT, is_lifetime_actor), 1.1 MB
_LARGEST = encode_retired({f"n{i:04d}" + "x" * 237 + f"~{i:012x}": i for i in range(4096)})


def test_a_record_that_fits_the_peers_frame_goes_without_an_oversized_field(
        tmp_path: Path) -> None:
    assert len(_LARGEST) > 1_000_000
    room = FRAME - MESSAGE_OVERHEAD_BYTES

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1, n2, _ = servers
            n1._compare_limits("n2", _info(n1, max_frame_bytes=FRAME))
            record = _sized(room - 1000, b"k")  # fits, with 1000 bytes to spare
            queued = n1._queued_bytes.get("n2", 0)
            for message in (ReplicaPut(7, b"k", record, retired=_LARGEST),
                            HintDelivery(1, b"k", record, retired=_LARGEST),
                            ReadRepair(b"k", record, retired=_LARGEST),
                            KeyRecords((b"k",), (record,), session=1, retired=_LARGEST)):
                n1._send("n2", message)
            assert n1.withheld_records == 0  # before: 4, each withheld
            sent = n1._queued_bytes.get("n2", 0) - queued
            assert 4 * room - 4000 < sent < 4 * FRAME, sent
            await asyncio.sleep(0.3)
            assert n2.node.record(b"k") is not None
    run(scenario())


def test_a_frame_over_the_own_limit_goes_without_the_field(tmp_path: Path) -> None:
    """Within the peer's limits but over this node's own frame limit: the same."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            record = _sized(n1.frame_limit - MESSAGE_OVERHEAD_BYTES, b"j")
            dropped = n1.dropped_frames
            n1._send("n2", ReadRepair(b"j", record, retired=_LARGEST))
            assert n1.dropped_frames == dropped  # before: dropped oversized
    run(scenario())
