"""A deleted value comes back from a replica that missed more writes than a
client-vclock clock keeps pairs for (session 48's data probe; a strict xfail until
session 59; docs/runtime.md "A user's probe of the data kinds (session 48)", docs/impl.md
"Truncation and tombstones (session 59)").

Three nodes, N = 3, R = W = 2, ``clock = "client-vclock"``, the default truncation
(``vclock_max_pairs`` 50). ``d = d0`` is written to all three; n3 crashes; 200
distinct clients each read ``d`` and write it with the context they read (case 05's
workload: each adds its pair); one more client reads ``d`` (``[d200]``) and deletes it
with that context; n3 restarts and the cluster goes quiet. Right value (case 12's: a
deleted value never comes back; Dynamo paper 4.4: the delete's context covers what the
client read, and ``d0`` is an ancestor of it): a get at R = 3 answers nothing.

Got: ``[d0, d150]``. The tombstone's clock holds the 50 youngest pairs (``c152`` to
``c202``): n3's own copy ``d0`` (pair ``c1``) and the hint n1 kept for n3 of the
150th put (its clock truncated to its own pair ``c151``) are no longer dominated, and
come back as siblings of the tombstone, a get showing them (the "false sibling" cost of
docs/impl.md, "Clock growth", *Costs*, whose claim that "a stale copy of a deleted value
goes when it meets the tombstone" holds only within the pairs the delete's context
kept). A floor of the dropped counters cannot tell such an ancestor from a concurrent
write acknowledged by replicas that missed the truncation (a partition). dvv (the
default) does not truncate and reads ``[]``.

Fix (session 59): a client-vclock record under a truncation policy keeps the pairs its
cuts dropped, each at the highest counter dropped (``Record.dropped``, at most
``DROPPED_PER_PAIR`` x ``max_pairs`` of them, 200 by default, and the bytes the record
limits reserve for its siblings' clocks and they leave, ``versions.dropped_bytes_kept``;
the lowest counters go first past either), merges take their
union, and ``versions.truncate`` drops a sibling whose own pair (its dot) is one of
them at that counter or below: an ancestor of a version the record held. ``d0``'s dot
``c1: 1`` and the hint's ``c151`` are among the tombstone's record's dropped pairs, so
both go when a get at R = 3 (or anti-entropy) merges n3's copy with it. A write
concurrent with the truncation keeps its dot out of them (its pair never reached the
record that cut), so it stays. Mutant: ``versions._without_dropped`` returning the
record unchanged -> the simulated test reads ``[d0, d150]`` and the unit test keeps
the stale copy beside the tombstone. About 0.4 s.
"""

from __future__ import annotations

import pytest

from impl import versions
from impl.cluster import SimulatedCluster
from impl.errors import BadMessageError
from impl.records import ClockMode, Record, Sibling, Truncation, decode_record, encode_record
from impl.versions import TOMBSTONE, merge, values
from spec.vclock import VClock

CLIENTS = 200


def _deleted_after_a_replica_missed(clock: str) -> list[bytes]:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock) as cluster:
        cluster.client().put(b"d", b"d0", w=3)
        cluster.run_until_quiet()
        cluster.crash("n3")
        for i in range(1, CLIENTS + 1):
            client = cluster.client()
            client.put(b"d", b"d%d" % i, context=client.get(b"d").context)
        client = cluster.client()
        read = client.get(b"d")
        assert read.values == [b"d%d" % CLIENTS]
        client.delete(b"d", context=read.context)
        cluster.restart("n3")
        cluster.run_until_quiet()
        return sorted(cluster.client().get(b"d", r=3).values)


def test_dvv_keeps_the_deleted_value_deleted() -> None:
    assert _deleted_after_a_replica_missed("dvv") == []


def test_client_vclock_keeps_the_deleted_value_deleted() -> None:
    assert _deleted_after_a_replica_missed("client-vclock") == []


MODE = ClockMode.CLIENT_VCLOCK
ROOMY = Truncation(threshold=3, max_pairs=8, young_s=0.0, old_s=1e9)


def _deleted() -> Record:
    """A tombstone whose record's cuts dropped ``a: 1`` and ``b: 2`` (floor 2)."""
    tomb = Sibling(TOMBSTONE, VClock.of({"t": 4, "u": 1}, {"t": 5.0, "u": 4.0}), 5.0, "n")
    return Record(MODE, (tomb,), truncation=ROOMY, floor=2, dropped=(("a", 1), ("b", 2)))


def _copy(value: bytes, pairs: dict[str, int], times: dict[str, float]) -> Record:
    return Record(MODE, (Sibling(value, VClock.of(pairs, times), max(times.values()), "n"),),
                  truncation=ROOMY)


def test_a_stale_copy_whose_dot_the_record_dropped_goes_a_later_dot_stays() -> None:
    """The unit case, both ways round: a stale copy whose own pair is a dropped pair at
    that counter or below (``a: 1``; ``b: 1`` below ``b: 2``, with an older pair ``z``)
    goes when it meets the tombstone's record; a version whose own pair is above it
    (``b: 3``) or not dropped at all (``c: 1``: a write concurrent with the cut) stays."""
    deleted = _deleted()
    for stale in (_copy(b"d0", {"a": 1}, {"a": 1.0}),
                  _copy(b"d1", {"z": 1, "b": 1}, {"z": 1.0, "b": 2.0})):
        assert values(merge(deleted, stale)) == [TOMBSTONE]
        assert values(merge(stale, deleted)) == [TOMBSTONE]
    for later in (_copy(b"w", {"b": 3}, {"b": 6.0}), _copy(b"x", {"c": 1}, {"c": 6.0})):
        assert sorted(values(merge(deleted, later))) == sorted([TOMBSTONE, later.siblings[0].value])


def test_merges_keep_the_union_of_the_dropped_pairs_and_their_bytes_round_trip() -> None:
    """``merge`` keeps each node's highest dropped counter from both records; the
    record's bytes carry the pairs (flag 3) and decode to the same record; bytes whose
    pairs are out of order or above the floor are refused, naming what is wrong."""
    other = Record(MODE, _deleted().siblings, truncation=ROOMY, floor=3,
                   dropped=(("a", 3), ("c", 1)))
    merged = merge(_deleted(), other)
    assert merged.dropped == (("a", 3), ("b", 2), ("c", 1)) and merged.floor == 3
    assert decode_record(encode_record(merged)) == merged
    swapped = Record(MODE, merged.siblings, truncation=ROOMY, floor=3,
                     dropped=(("b", 2), ("a", 3)))
    with pytest.raises(BadMessageError, match="not sorted by node"):
        decode_record(encode_record(swapped))
    above = Record(MODE, merged.siblings, truncation=ROOMY, floor=2, dropped=(("a", 3),))
    with pytest.raises(BadMessageError, match=r"outside \[1, 2\]"):
        decode_record(encode_record(above))


def _bounded(names: list[str], siblings: tuple[Sibling, ...]) -> set[str]:
    """The names of the dropped pairs ``truncate`` keeps of ``names`` (counters 1, 1,
    2, 2, ... in their order) beside ``siblings``."""
    many = tuple((name, 1 + i // 2) for i, name in enumerate(names))
    record = Record(MODE, siblings, truncation=ROOMY, floor=many[-1][1], dropped=many)
    return {name for name, _ in versions.truncate(record).dropped}


def test_the_dropped_pairs_are_bounded_the_lowest_counters_going_first() -> None:
    """At most ``DROPPED_PER_PAIR`` x ``max_pairs`` dropped pairs (32 for ROOMY's 8),
    and at most the bytes the siblings' clocks leave of a context of ``max_pairs``
    pairs of the longest ids each (8,260 B for ROOMY; the tombstone's two pairs take
    4 + 2 x 19 = 42): past either the lowest counters go, ties by node (the floor
    still holds them). 35 short names: 32 kept, ``e00`` .. ``e02`` gone. 30 names of
    300 characters (310 B a pair): 26 kept, the four lowest gone; beside a second
    sibling the bytes double less its clock and all 30 are kept. Mutant: the bound
    not applied (``_within_budget`` returning the record) -> all kept in the first
    two cases."""
    deleted = _deleted()
    assert versions.dropped_bytes_kept(deleted) == 8260 - 42
    assert versions.DROPPED_PER_PAIR * ROOMY.max_pairs == 32
    short = [f"e{i:02d}" for i in range(35)]
    assert set(short) - _bounded(short, deleted.siblings) == {"e00", "e01", "e02"}
    long = [f"{i:02d}" + "x" * 298 for i in range(30)]
    assert (8260 - 42 - 4) // 310 == 26
    assert set(long) - _bounded(long, deleted.siblings) == set(long[:4])
    live = Sibling(b"x", VClock.of({"c": 1}, {"c": 6.0}), 6.0, "n")
    assert _bounded(long, (*deleted.siblings, live)) == set(long)
