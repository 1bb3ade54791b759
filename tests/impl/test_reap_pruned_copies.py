"""A tombstone whose copies differ only in a pruned entry is reaped (session 34).

dvv with pruning of retired lifetimes (:mod:`impl.retired`): a node that knows a
lifetime retired drops that lifetime's value-less entries from every record it
writes, and a node that does not know it yet keeps them. So two copies of one
tombstone can differ in such an entry: n2 coordinates a delete of a key n1 wrote in
its first lifetime (the tombstone record holds n1's value-less entry), n1 restarts
while the delete's replica put to it is in flight (its first lifetime retired) and
writes the tombstone without the entry. The safe reap removed a replica's copy only
if it was exactly the deciding node's record, so n1 refused n2's reap, and its copy
stayed for good without anti-entropy; with the production budget, anti-entropy made
the copies byte-equal but nothing decided the reap again: every copy stayed (until a
client read the key at R = N). Found by the lockstep (dvv-prune-retired-delete: 10 diverged reaps;
docs/refinement.md). Now a copy is the decided record when the two are equal once
both are pruned by what the reaping node knows (:func:`impl.reaping.same_tombstone`),
which never makes a copy holding a newer write the same (the unit tests below).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from impl import SimulatedCluster
from impl.effects import Send
from impl.messages import ReplicaPut
from impl.reaping import all_targets_hold, same_tombstone
from impl.records import ClockMode, Record
from impl.versions import TOMBSTONE, encode_record, merge, prune_retired
from spec import dvv


def _copies_after_a_delete_crossing_a_restart(seed: int, *, retired_keep: int,
                                              anti_entropy: bool, lifetimes: int = 1
                                              ) -> dict[str, int | None]:
    """n1 writes ``k`` in ``lifetimes`` lifetimes (each after a restart of n1; the
    last value v1 at W = 3); n2 deletes it at W = 3 with a read's context, and while
    the delete's replica put to n1 is in flight n1 crashes and restarts (its lifetime
    retired: it writes the tombstone pruned, n2 and n3 unpruned). 60 s later: the
    entries of each node's copy of ``k`` (None: reaped)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, clock="dvv",
                               tombstone_grace_s=1.0, retired_keep=retired_keep,
                               anti_entropy=anti_entropy)
    with cluster:
        for lifetime in range(lifetimes):
            if lifetime:
                cluster.crash("n1")
                cluster.restart("n1")
            writer = cluster.client("n1", client_id="c")
            writer.put(b"k", b"w%d" % lifetime, writer.get(b"k", r=3).context, w=3)
        writer = cluster.client("n1", client_id="c")
        writer.put(b"k", b"v1", writer.get(b"k", r=3).context, w=3)
        cluster.run_until_quiet()
        context = writer.get(b"k", r=3).context
        cluster.run_until_quiet()
        sim = cluster.sim
        handle = cluster.client("n2", client_id="d").submit_delete(b"k", context, w=3,
                                                                   coordinator="n2")
        sim.run_until(lambda: any(isinstance(m.message, ReplicaPut) and m.dest == "n1"
                                  for m in sim.in_flight()), max_time=5.0)
        cluster.crash("n1")
        cluster.restart("n1")
        cluster.wait([handle])
        differ = {name: None if record is None else len(record.dvvset.entries)
                  for name, record in cluster.replicas(b"k").items()}
        assert differ["n1"] is not None and differ["n2"] is not None
        assert differ["n1"] < differ["n2"]  # the copies differ in the pruned entry
        cluster.run_for(60.0)
        return {name: None if record is None else len(record.dvvset.entries)
                for name, record in sorted(cluster.replicas(b"k").items())}


@pytest.mark.parametrize("anti_entropy", [True, False], ids=["anti-entropy", "none"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_copies_of_a_tombstone_differing_only_in_a_pruned_entry_are_reaped(
        seed: int, anti_entropy: bool) -> None:
    """``retired_keep = 0`` (every retired lifetime's value-less entries go). Before
    the fix, 60 s later (and still at 600 s) without anti-entropy n1's copy stayed in
    all three seeds, and n3's too in seed 2 (n3 had heard the retirement before the
    delete's replica put reached it); with anti-entropy every copy was reaped (the
    exchange made them equal, and its merge's reap check decided a reap again). Now
    none is left either way."""
    left = _copies_after_a_delete_crossing_a_restart(seed, retired_keep=0,
                                                     anti_entropy=anti_entropy)
    assert left == {"n1": None, "n2": None, "n3": None}


@pytest.mark.parametrize("anti_entropy", [True, False], ids=["anti-entropy", "none"])
def test_the_production_budget_reaps_copies_differing_past_twenty_two_lifetimes(
        anti_entropy: bool) -> None:
    """The production rule (``retired_keep = -1``: 512 bytes of retired entries, about
    22 lifetimes): n1 wrote the key in each of 25 lifetimes, so the restart
    during the delete makes n1 drop the oldest one's entry, which n2 and n3 keep.
    Before the fix (seeds 1-3, 600 s later): with anti-entropy all three copies stayed,
    made byte-equal by it (23 entries each) and never reaped (a leak: nothing decides
    the reap again until a client reads the key at R = N); without, n1's copy stayed
    (and n3's in seed 2). Now none is left."""
    left = _copies_after_a_delete_crossing_a_restart(1, retired_keep=-1,
                                                     anti_entropy=anti_entropy, lifetimes=25)
    assert left == {"n1": None, "n2": None, "n3": None}


# ------------------------------------------------------------------ the pure rule

_A1, _A2, _B1 = "a~000000000001", "a~000000000002", "b~000000000001"


def _record(*entries: tuple[str, int, list[bytes]]) -> Record:
    return Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(entries))


def _knowing(retired: dict[str, int], live: str = _A2) -> Callable[[Record], Record]:
    """A node's pruning (its live actor ``live``) that knows ``retired``, keeping none."""
    return lambda record: prune_retired(record, retired, live=(live,), keep=0)


def test_a_copy_is_the_decided_tombstone_once_both_are_pruned_by_what_its_node_knows(
        ) -> None:
    """The decided record holds a1's value-less entry (a's first lifetime), the copy
    not (its node pruned it): the same to a node that knows a1 retired, in either
    direction; not to a node that does not know it (it cannot tell the entry is one
    no node mints again), nor without pruning."""
    decided = _record((_A1, 1, []), (_B1, 1, [TOMBSTONE]))
    copy = _record((_B1, 1, [TOMBSTONE]))
    knows = _knowing({_A1: 1})
    assert same_tombstone(copy, decided, knows)
    assert same_tombstone(decided, copy, knows)
    assert not same_tombstone(copy, decided, _knowing({}))
    assert not same_tombstone(copy, decided)
    assert same_tombstone(decided, decided)


@pytest.mark.parametrize("copy", [
    # a newer tombstone (another delete's dot) beside the decided one
    _record((_A1, 1, []), (_B1, 2, [TOMBSTONE, TOMBSTONE])),
    # a later dot of a live actor, its value superseded (a value-less entry ahead)
    _record((_A1, 1, []), (_A2, 3, []), (_B1, 1, [TOMBSTONE])),
    # a newer tombstone minted by the live lifetime
    _record((_A1, 1, []), (_A2, 1, [TOMBSTONE]), (_B1, 1, [TOMBSTONE])),
    # an entry of a retired lifetime the node does not know (b's other lifetime)
    _record((_B1, 1, [TOMBSTONE]), ("b~000000000002", 1, [])),
], ids=["newer-tombstone", "live-entry-ahead", "live-tombstone", "unknown-retirement"])
def test_a_copy_holding_anything_the_pruned_decided_record_lacks_is_never_the_same(
        copy: Record) -> None:
    """Pruning drops only value-less entries of lifetimes the node knows retired: a
    copy holding a newer version, a later dot of a live actor, or an entry of a
    lifetime the node does not know retired is not the decided record (it is kept,
    and refuses the reap), whoever pruned what."""
    decided = _record((_A1, 1, []), (_B1, 1, [TOMBSTONE]))
    assert not same_tombstone(copy, decided, _knowing({_A1: 1}))


def test_a_get_schedules_the_reap_when_its_replies_differ_only_in_pruned_entries() -> None:
    """The safe rule's test at a get's end (a reap check's read of all N): the replies
    hold the merge once pruned by the coordinator's knowledge."""
    merged = _record((_A1, 1, []), (_B1, 1, [TOMBSTONE]))
    pruned = _record((_B1, 1, [TOMBSTONE]))
    targets = ("n1", "n2")
    sent_to = {"n1": "n1", "n2": "n2"}
    replies = {"n1": pruned, "n2": merged}
    assert all_targets_hold(targets, sent_to, replies, merged, _knowing({_A1: 1}))
    assert not all_targets_hold(targets, sent_to, replies, merged)
    newer = _record((_A1, 1, []), (_B1, 2, [TOMBSTONE, TOMBSTONE]))
    assert not all_targets_hold(targets, sent_to, {"n1": newer, "n2": merged}, merged,
                                _knowing({_A1: 1}))


# ----------------------------------------- a copy holding more than the decided record

def _held_put_against_a_copy_ahead(seed: int, *, deliver_to: str, held_for: float
                                   ) -> tuple[dict[str, bool], list[bytes]]:
    """Session 34's review: n1 (lifetime a1) writes v1 then v2 (a1:2), whose replica put
    to n3 is held; n2 writes v3 over v2 (n3: a1:2 value-less), n1 restarts (a1
    retired), n2 deletes at W = 3 (its tombstone record pruned: no a1 entry), and n3's
    copy is written as a node that did not know the retirement at the merge writes it
    (the a1:2 entry kept: more history than the decided record). The held put is then
    delivered to ``deliver_to`` ``held_for`` seconds after the delete (the grace period
    is 5 s). Returns which nodes still hold a copy, and a get's values at R = 3."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, clock="dvv",
                               tombstone_grace_s=5.0, retired_keep=0, anti_entropy=False)
    with cluster:
        sim = cluster.sim
        writer = cluster.client("n1", client_id="c")
        writer.put(b"k", b"v1", b"", w=3)
        cluster.run_until_quiet()
        handle = writer.submit_put(b"k", b"v2", writer.get(b"k", r=3).context, w=2,
                                   coordinator="n1")
        sim.run_until(lambda: any(isinstance(m.message, ReplicaPut) and m.dest == "n3"
                                  for m in sim.in_flight()), max_time=5.0)
        held = next(m for m in sim.in_flight()
                    if isinstance(m.message, ReplicaPut) and m.dest == "n3")
        sim.drop(held.id)
        cluster.wait([handle])
        cluster.run_until_quiet()
        other = cluster.client("n2", client_id="d")
        other.put(b"k", b"v3", other.get(b"k", r=2).context, w=3, coordinator="n2")
        cluster.run_until_quiet()
        ahead = cluster.replicas(b"k")["n3"]
        cluster.crash("n1")
        cluster.restart("n1")
        cluster.run_for(10.0)
        cluster.wait([other.submit_delete(b"k", other.get(b"k", r=3).context, w=3,
                                          coordinator="n2")])
        decided = cluster.replicas(b"k")["n2"]
        assert ahead is not None and decided is not None
        assert len(decided.dvvset.entries) == 1  # the a1 entry pruned
        cluster.storages["n3"].write(b"k", encode_record(merge(ahead, decided)))
        cluster.run_for(held_for)
        sim.perform("n1", [Send(deliver_to, held.message)])
        cluster.run_for(60.0 - held_for)
        holding = {name: record is not None
                   for name, record in sorted(cluster.replicas(b"k").items())}
        return holding, cluster.client("n2", client_id="e").get(b"k", r=3).values


@pytest.mark.parametrize("deliver_to", ["n2", "n3"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_put_held_within_the_grace_period_does_not_come_back_over_a_copy_ahead(
        seed: int, deliver_to: str) -> None:
    """Within the grace period the held v2 reaches n3 (whose copy covers it: dropped,
    and the three copies are reaped, n3's with more history than the decided record)
    or n2 (whose pruned copy does not cover it: v2 beside the tombstone, pruning's own
    cost, so the query round finds a live version and no copy is reaped; a get merging
    n3's copy still answers no value). Either way v2 never comes back: the reap's
    safety is the query round's and the grace period's, whatever the comparison
    (the same figures with the exact comparison of before session 34)."""
    holding, values = _held_put_against_a_copy_ahead(seed, deliver_to=deliver_to,
                                                     held_for=1.0)
    assert values == []
    if deliver_to == "n3":
        assert holding == {"n1": False, "n2": False, "n3": False}
    else:
        assert holding == {"n1": True, "n2": True, "n3": True}
