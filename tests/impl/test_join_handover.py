"""Join and leave handover: pending ownership (docs/impl.md, "Join and leave handover").

``../shared/cases/07-join-stale-read.py`` as tests: while a node joins (and
another leaves) a sequential read-modify-write client never sees a sibling and
reads its own last acknowledged write, and no acknowledged set add is lost
(riak_kv #1046, #1754). The naive rule (``join_handover = "immediate"``: a
joining node serves its ranges at once) shows the stale read; a leaving node
hands over versions, tombstones and hints; a hint for a node that left the ring
is re-addressed to the key's current owners.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import pytest

from impl import DynamoError, SimulatedCluster
from impl.config import ClusterConfig
from impl.handoff import HintedHandoff
from impl.membership import MemberStatus
from impl.versions import TOMBSTONE, ClockMode, Record, apply_put, encode_record, values
from spec.errors import ConfigError
from spec.ring import Ring
from spec.vclock import VClock

SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"

#: the quiet window (simulated seconds without a replica change) of the clusters of
#: :func:`_joined_with_keys`: two of their hint scans (60 s), 60 anti-entropy rounds,
#: 120 gossip rounds. The default (5 x the longest interval) is 300 s there; the three
#: tests below made their last replica change by 196 s (session 19, recorded per
#: run) and then ran 300 s more: more than half of their 7 CPU-s each (the same
#: assertions pass at this window; the schedule up to it is the same)
QUIET_WINDOW = 120.0


def _case_07(seed: int, steps: int = 120) -> tuple[int, list[bytes], bytes | None, set[bytes]]:
    """The case's workload: (max siblings the sequential client saw, its final read,
    its last acknowledged value, the acknowledged adds lost)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed)
    seq = cluster.client()
    adders = [cluster.client() for _ in range(3)]
    acked: set[bytes] = set()
    max_siblings, last = 0, None
    for step in range(steps):
        if step == 20:
            cluster.join("n6")
        if step == 60:
            cluster.leave("n2")
        read = seq.get(b"reg")
        max_siblings = max(max_siblings, len(read.values))
        try:
            seq.put(b"reg", b"r%d" % step, context=read.context)
            last = b"r%d" % step
        except DynamoError:
            pass
        handles = []
        for i, adder in enumerate(adders):
            try:
                cart = adder.get(b"cart")
            except DynamoError:
                continue
            items: set[bytes] = set()
            for value in cart.values:
                items |= set(value.split(b",")) - {b""}
            item = b"e%d-%d" % (i, step)
            items.add(item)
            handles.append((item, adder.submit_put(b"cart", b",".join(sorted(items)),
                                                   context=cart.context)))
        cluster.wait([handle for _, handle in handles])
        acked |= {item for item, handle in handles if handle.error is None}
    cluster.run_until_quiet(max_time=900)
    final = cluster.client("n1").get(b"reg", r=3).values
    present: set[bytes] = set()
    for value in cluster.client("n1").get(b"cart", r=3).values:
        present |= set(value.split(b","))
    assert cluster.node("n6").status is MemberStatus.UP
    assert "n2" not in cluster.sim.members
    return max_siblings, final, last, acked - present


@pytest.mark.parametrize("seed", (1, 2, 3, 142))  # 142: the soak run's failure without
def test_case_07_a_join_and_a_leave_keep_read_your_writes(seed: int) -> None:  # joint quorums
    max_siblings, final, last, lost = _case_07(seed)
    assert max_siblings == 1
    assert final == [last]
    assert lost == set()


@pytest.mark.soak
@pytest.mark.skipif(not SOAK, reason="soak profile only (HYPOTHESIS_PROFILE=soak)")
@pytest.mark.parametrize("seed", range(100, 200))
def test_case_07_soak(seed: int) -> None:
    max_siblings, final, last, lost = _case_07(seed)
    assert (max_siblings, final, lost) == (1, [last], set())


def _knows_n6(cluster: SimulatedCluster) -> bool:
    for name in cluster.sim.members:
        member = cluster.node(name).view.get("n6")
        if member is None or not member.tokens:
            return False
    return True


def _joined_with_keys(handover: str, keys: int = 60) -> tuple[SimulatedCluster, list[bytes]]:
    """5 nodes holding ``keys`` keys on all replicas; n6 has joined far enough that
    every node knows its tokens, and (hint scans every 60 s) no hint has been
    delivered to it yet. Returns the keys whose top N n6 joins."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=11, join_handover=handover,
                               hint_scan_interval=60.0)
    client = cluster.client("n1")
    names = [b"key-%d" % i for i in range(keys)]
    for key in names:
        client.put(key, key + b"-v", w=3)
    cluster.join("n6")
    cluster.run_until(lambda: _knows_n6(cluster), max_time=30)
    moving = [key for key in names
              if "n6" in cluster.node("n6").gossiper.future.preference_list(key, 3)]
    assert moving
    return cluster, moving


def test_immediate_handover_serves_a_stale_read_from_the_joining_node() -> None:
    """The naive rule: n6 counts itself a replica of its new ranges at once and
    answers a get from its own (empty) store: a key written with W=3 reads as
    not found."""
    cluster, moving = _joined_with_keys("immediate")
    answers = [cluster.client("n6").get(key, r=1).values for key in moving]
    assert [] in answers


def test_pending_handover_forwards_until_the_joining_node_holds_its_ranges() -> None:
    """n6, joining, serves nothing yet: its gets are forwarded to the old owners; a
    put of a moving key made meanwhile (through n1) reaches n6 (the old owner's
    transfer, once every member has seen the join, carries it); once quiet n6 holds
    every moving key, that put's value for its key. (Until session 42 the put was
    its own test, test_a_put_during_the_join_reaches_the_pending_owner, running
    the same join again: about 7 CPU-s.)"""
    cluster, moving = _joined_with_keys("pending")
    node = cluster.node("n6")
    assert node.status is MemberStatus.JOINING
    assert "n6" not in node.preference_list(moving[0])[:3]  # it serves nothing yet
    for key in moving:
        assert cluster.client("n6").get(key, r=1).values == [key + b"-v"]
    client = cluster.client("n1")
    client.put(moving[0], b"during", context=client.get(moving[0]).context)
    assert node.status is MemberStatus.JOINING  # (the put was made during the join)
    cluster.run_until_quiet(window=QUIET_WINDOW)
    assert node.status is MemberStatus.UP
    for key in moving:
        expected = [b"during" if key == moving[0] else key + b"-v"]
        assert "n6" in node.preference_list(key)[:3]
        record = node.record(key)
        assert record is not None and values(record) == expected
        assert cluster.client("n6").get(key, r=1).values == expected


def test_a_leaving_node_hands_over_versions_tombstones_and_hints() -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=5, delete_mode="keep")
    client = cluster.client("n1")
    keys = [b"leave-%d" % i for i in range(30)]
    for key in keys:
        client.put(key, key, w=3)
    gone = next(key for key in keys if "n2" in cluster.replicas(key))
    client.delete(gone, context=client.get(gone).context, w=3)
    # n2 also keeps a hint for n4 (of a key n4 must hold: one it replicates, before
    # and after the leave; a copy of a key n4 does not replicate would go on to the
    # key's owners once the leave settled, Gossiper._hand_strays) that it has not
    # delivered.
    hinted = next(key for key in (b"hinted-%d" % i for i in range(100))
                  if "n4" in cluster.node("n1").preference_list(key)[:3])
    record = apply_put(Record.empty(ClockMode.DVV), VClock(), b"from-a-hint",
                       coordinator="n2", client_id="", now=0.0)
    cluster.storages["n2"].add_hint("n4", hinted, encode_record(record))
    cluster.partition(["n2"], ["n4"])  # ... and cannot deliver yet
    cluster.leave("n2")
    cluster.run_for(30.0)
    assert cluster.node("n2").status is MemberStatus.LEAVING  # not gone: it holds data
    cluster.heal()
    cluster.run_until_quiet()
    assert "n2" not in cluster.sim.members
    for key in keys:
        expected = [] if key == gone else [key]
        assert cluster.client("n1").get(key, r=3).values == expected
    stored = cluster.replicas(gone)
    assert "n2" not in stored and len(stored) == 3
    assert all(record is not None and values(record) == [TOMBSTONE]
               for record in stored.values())
    held = cluster.node("n4").record(hinted)
    assert held is not None and values(held) == [b"from-a-hint"]


def test_a_hint_for_a_node_that_left_goes_to_the_keys_current_owners() -> None:
    """n1 holds a hint for n2 that it could not deliver before n2 left the ring (say
    it was down meanwhile): its hint scan re-addresses it to the key's current top N."""
    owners = _hint_for_a_node_that_left()
    assert "n2" not in owners and len(owners) == 3
    assert all(stored is not None and values(stored) == [b"hinted"]
               for stored in owners.values())


def test_the_readdressing_test_catches_a_scan_that_drops_such_a_hint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A mutant (issue 11's last bullet): the hint scan deletes a hint whose intended
    node left instead of re-addressing it; the test above fails on it."""
    def drop(self: HintedHandoff, hint_id: int, key: bytes, record: bytes) -> None:
        self.remove(hint_id)

    monkeypatch.setattr(HintedHandoff, "_retarget", drop)
    owners = _hint_for_a_node_that_left()
    assert not any(stored is not None and values(stored) == [b"hinted"]
                   for stored in owners.values())


def _hint_for_a_node_that_left() -> dict[str, Record | None]:
    """n1's hint for n2, added after n2 left, once the cluster is quiet: the hint
    is gone from n1; returns the key's copies on its current owners."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=9)
    key = b"readdressed"
    cluster.leave("n2")
    cluster.run_until_quiet()
    assert cluster.node("n1").view.get("n2").status is MemberStatus.LEFT  # type: ignore[union-attr]
    record = apply_put(Record.empty(ClockMode.DVV), VClock(), b"hinted", coordinator="n1",
                       client_id="", now=0.0)
    cluster.storages["n1"].add_hint("n2", key, encode_record(record))
    cluster.run_until_quiet()
    assert not cluster.node("n1").snapshot().hints
    return dict(cluster.replicas(key))


@dataclass(frozen=True)
class _UpThenQuiet:
    """A pending join run until n1 sees n6 ``up`` (what was seen then), then quiet."""

    cluster: SimulatedCluster
    moving: list[bytes]
    split: tuple[Any, Any]
    groups: Any
    writing_groups: Any
    n6_unsettled: bool
    handed: dict[bytes, set[str]] | None
    handed_held: bool


@functools.cache
def _up_then_quiet() -> _UpThenQuiet:
    """The run of the two tests below, once per process (session 16: each ran it,
    about 7 CPU-s each): :func:`_joined_with_keys` with the pending handover, run
    until n1 sees n6 ``up``, what n1's quorum and gossiper and n6's view say then,
    and the cluster run until quiet."""
    cluster, moving = _joined_with_keys("pending")
    cluster.run_until(lambda: cluster.node("n1").view.get("n6").status  # type: ignore[union-attr]
                      is MemberStatus.UP, max_time=300)
    quorum = cluster.node("n1").quorum
    member = cluster.node("n6").view.get("n6")
    gossiper = cluster.node("n1").gossiper
    handed = None if gossiper.moved_from is None else {
        key: set(gossiper.moved_from.preference_list(key, 3))
        - set(gossiper.future.preference_list(key, 3)) for key in moving}
    held = handed is not None and all(cluster.node(name).record(key) is not None
                                      for key, owners in handed.items() for name in owners)
    seen = _UpThenQuiet(cluster, moving, quorum.split(moving[0]), quorum.groups(moving[0]),
                        quorum.groups(moving[0], writing=True),
                        member is not None and not member.settled, handed, held)
    cluster.run_until_quiet(window=QUIET_WINDOW)
    return seen


def test_a_node_uses_a_joint_quorum_while_the_serving_ring_changes() -> None:
    seen = _up_then_quiet()
    cluster, moving = seen.cluster, seen.moving
    targets, fallbacks = seen.split
    assert len(targets) == 4 and "n6" in targets[:3] and not set(targets) & set(fallbacks)
    old, new = seen.groups  # R (W) within each of the old and the new top N
    assert "n6" in new and "n6" not in old and set(old) | set(new) == set(targets)
    assert seen.writing_groups == (old, new)
    # once quiet
    quorum = cluster.node("n1").quorum
    targets, _ = quorum.split(moving[0])
    assert len(targets) == 3 and quorum.groups(moving[0], writing=True) == ()


def test_ring_slots_lay_the_ring_out_for_the_nodes_that_join_later() -> None:
    """``ring_slots``: the spec's ring with ``[membership] joining`` (one evenly spaced
    layout for the initial and the joining nodes); a joining node takes its slot."""
    slots = Ring.evenly_spaced(["n1", "n2", "n3", "n4"])
    config = ClusterConfig(nodes=("n1", "n2", "n3"), partitioning="evenly-spaced",
                           ring_slots=("n1", "n2", "n3", "n4"))
    ring = config.initial_partitioning().ring
    assert {n: ring.tokens_of(n) for n in ring.nodes} == {
        n: slots.tokens_of(n) for n in ("n1", "n2", "n3")}
    assert config.slot_tokens("n4") == slots.tokens_of("n4") and config.slot_tokens("n5") is None
    cluster = SimulatedCluster(nodes=["n1", "n2", "n3"], partitioning="evenly-spaced",
                               ring_slots=("n1", "n2", "n3", "n4"), seed=3)
    cluster.join("n4")
    cluster.run_until_quiet()
    member = cluster.node("n1").view.get("n4")
    assert member is not None and member.tokens == slots.tokens_of("n4")
    assert cluster.node("n1").preference_list(b"k")[:3] == ("n4", "n1", "n2")


@pytest.mark.parametrize("changes", [
    {"ring_slots": ("n1", "n2")},  # not every initial node
    {"ring_slots": ("n1", "n2", "n3", "n3")},
    {"ring_slots": ("n1", "n2", "n3", "n4"), "partitioning": "strategy3"},
    {"ring_slots": "n1 n2 n3"},
])
def test_bad_ring_slots_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="ring_slots"):
        ClusterConfig(nodes=("n1", "n2", "n3"), **{"partitioning": "evenly-spaced", **changes})


def test_the_joining_node_settles_the_change_and_the_old_owners_let_go() -> None:
    """Pending ownership's last step (the spec's ``("settled", X)``): n6 announces,
    once every member has seen its handover, that the change settled; every
    node then uses the new ring alone, and each old owner that handed a key over
    lets its copy go (before, it stays: a node on the old ring reads it)."""
    seen = _up_then_quiet()
    cluster = seen.cluster
    assert seen.n6_unsettled
    handed = seen.handed
    assert handed is not None  # n1's gossiper had the ring the change moved from
    assert all(handed.values())
    assert seen.handed_held
    # once quiet
    for name in ("n1", "n2", "n3", "n4", "n5", "n6"):
        node = cluster.node(name).gossiper
        settled = node.view.get("n6")
        assert settled is not None and settled.settled and node.previous is None
    for key, owners in handed.items():
        assert all(cluster.node(name).record(key) is None for name in owners)  # let go
        record = cluster.node("n6").record(key)
        assert record is not None and values(record) == [key + b"-v"]
