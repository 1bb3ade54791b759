"""client-vclock: tombstones left behind once a key's clock passes
``vclock_max_pairs`` (session 58's red team 8; fixed in session 59).

Alice deletes ``k`` and writes it again with the delete's context, over and over;
every third round Bob writes ``k`` blind and Alice reads it and deletes it with
the read's context first. Each of Bob's blind puts takes a fresh pair of his
(``"<actor>/<k> bob"``: his pair holds a version his empty context misses), so the
key's clock grows a pair every third round until truncation keeps the newest
``vclock_max_pairs``. From then on a tombstone whose clock still holds a pair the
later clocks dropped is concurrent with every later version: it stays in the
record as a hidden sibling (a get does not show it), and so does each later one.
Right value (the 413 message of ``max_siblings`` says it: "a put with a get's
context supersedes them"): a put with a get's context leaves one version in every
replica's record. Seen: 8 versions (7 tombstones) after 130 rounds with
``vclock_max_pairs = 12``; with the defaults (50 pairs) the record held 22 hidden
siblings after 1,000 rounds (46 KB), each round's CPU about 100 times the first's
(0.002 -> 0.2 CPU-s on the simulator); with ``max_siblings = 8`` Alice's put was
refused (413, "7 of the 9 this put would make are tombstones") at round 351 while
a get showed no value. On three ``vdynamo serve`` processes with the defaults the
replicas' CPU a round rose 50 times once the clock reached 50 pairs (about 150
rounds; 0.006 -> 0.3 CPU-s) and puts answered 504 and gets timed out on a loaded
machine (probe ``probes/05j-client-vclock-tombstones-past-truncation.py``).
dvv keeps no such tombstones (it does not truncate).

Cause (session 59): each hidden tombstone was Alice's, minted under her own pair
``"<actor> alice"`` as every later version of hers; the dot rule
(``versions._without_covered``) let only a sibling of *another* own pair cover a
sibling's dot, so Alice's later versions, whose clocks truncation had cut of a pair
the tombstone kept (a tombstone keeps every pair), never superseded it. Fix: in
client-vclock a sibling of the same own entry at a higher counter covers the dot
too (an entry's counters are minted in causal order); at the same counter it is a
copy of the same version and does not (``test_truncation_open_cases``'s two copies
cut apart). Mutant: the ``owns[j] != node`` condition of before restored -> the
simulated test fails with ``{'n1': 7, 'n2': 7, 'n3': 7}`` hidden tombstones, the
unit test with ``[TOMBSTONE, b"v"]``; the same-entry cover allowed at an equal counter
too -> ``test_two_copies_of_one_version_cut_apart_are_not_each_others_cover``
loses both copies and the truncation histories lose writes (seeds 5 and 18).

The simulator, 3 nodes, seed 1; about 0.5 CPU-s."""

from __future__ import annotations

import impl
from impl.records import ClockMode, Record, Sibling, Truncation
from impl.versions import TOMBSTONE, truncate, values
from spec.vclock import VClock

KEY = b"k"


def test_a_put_with_a_gets_context_leaves_one_version_past_truncation() -> None:
    cluster = impl.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock",
                                    vclock_max_pairs=12)
    alice, bob = cluster.client(client_id="alice"), cluster.client(client_id="bob")
    context = alice.put(KEY, b"v0").context
    for i in range(130):
        context = alice.delete(KEY, context).context
        if i % 3 == 0:
            bob.put(KEY, b"o%d" % i)
            context = alice.delete(KEY, alice.get(KEY).context).context
        context = alice.put(KEY, b"v%d" % (i + 1), context).context
    alice.put(KEY, b"resolved", alice.get(KEY).context)
    assert alice.get(KEY).values == [b"resolved"]
    records = {name: cluster.node(name).record(KEY) for name in ("n1", "n2", "n3")}
    hidden = {name: sum(1 for s in record.siblings if s.value == TOMBSTONE)
              for name, record in records.items() if record is not None}
    assert hidden == {"n1": 0, "n2": 0, "n3": 0}, hidden


def test_a_later_version_of_the_same_entry_supersedes_a_tombstone_holding_a_cut_pair(
        ) -> None:
    """The unit case: Alice's tombstone ``{a: 5, b: 1}`` (own pair ``a``, the pair
    ``b`` a blind writer's, kept since a tombstone keeps every pair) beside her later
    ``v`` ``{a: 7, x: 1}``, whose clock truncation cut of ``b``: ``v``'s ``a: 7`` covers
    the tombstone's dot ``a: 5`` and the tombstone goes. Before session 59 both stayed
    (the dot rule took a cover from another own pair only)."""
    tomb = Sibling(TOMBSTONE, VClock.of({"a": 5, "b": 1}, {"a": 3.0, "b": 1.0}), 3.0, "n")
    later = Sibling(b"v", VClock.of({"a": 7, "x": 1}, {"a": 5.0, "x": 4.0}), 5.0, "n")
    policy = Truncation(threshold=3, max_pairs=8, young_s=0.0, old_s=1e9)
    record = truncate(Record(ClockMode.CLIENT_VCLOCK, (tomb, later), truncation=policy))
    assert values(record) == [b"v"]
