"""kv679 through a membership change: an old owner that lets its handed-over copy
of a key go forgets its counters for the key with it, so it begins a new key epoch,
as a reap does (impl/reaping.py, "Actors"; :meth:`impl.reaping.Reaper.let_go`).

The scenario (seeded, 5 nodes then a sixth joins; N=3, R=W=2): a node A
coordinates a put of ``k`` (dot ``A:1``); n6 joins and takes A's place in k's top
N; A hands the range over and lets its copy go (pending ownership: once the change
settled, at a hint scan; naive handover: when the transfer is acknowledged). Then
A is cut off from k's top N and a client's blind put of ``k`` reaches A: its
forwards time out and A coordinates the put itself, as the last resort of
:mod:`impl.forwarding`. Before the fix A minted ``A:1`` again, for another value;
the put was acknowledged (A and a fallback), and once the partition healed the
replicas dropped its hints as already seen: a get answered the old value only
(the acknowledged write lost). With the key epoch A mints ``A.1:1``: a sibling.
The seeded mutant ``let-go-keeps-actor`` (tests/refinement/mutations.py) is the
rule before.
"""

from __future__ import annotations

import contextlib

import pytest

from impl import SimulatedCluster
from impl import node as node_module
from impl.versions import context_clock
from tests.refinement.mutations import TEST_KILLED, _mutant


def _lost_after_let_go(join_handover: str) -> tuple[list[bytes], bool]:
    """Run the scenario; returns the final read's values and whether the old owner
    minted the key under a new actor after letting its copy go."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, join_handover=join_handover)
    keys = [b"k%d" % i for i in range(6)]
    before = {key: cluster.node("n1").preference_list(key)[:3] for key in keys}
    for key in keys:
        cluster.client(before[key][2]).put(key, b"v1")  # the last of the top N mints
    cluster.run_until_quiet()
    cluster.join("n6")
    cluster.run_until_quiet(max_time=900)
    moved = [key for key in keys
             if before[key][2] not in cluster.node("n1").preference_list(key)[:3]]
    assert moved, "no key changed hands: the scenario needs another seed"
    key = moved[0]
    owner = before[key][2]
    node = cluster.node(owner)
    assert node.record(key) is None  # handed over and let go
    renewed = node.key_actor(key) != node.actor
    top = cluster.node("n1").preference_list(key)[:3]
    assert context_clock(cluster.node(top[0]).record(key)).counter(node.actor) == 1
    cluster.partition([n for n in cluster.node_names if n not in top], top)
    put = cluster.client(owner, client_id="bob").submit_put(key, b"v2")  # blind
    cluster.wait([put], max_time=300)
    assert put.error is None  # acknowledged: A itself and a fallback
    cluster.heal()
    cluster.run_until_quiet(max_time=900)
    read = cluster.client(top[0]).get(key, r=3)
    cluster.run_until_quiet()
    return sorted(read.values), renewed


@pytest.mark.parametrize("join_handover", ["pending", "immediate"])
@pytest.mark.parametrize("mutant", [None, "let-go-keeps-actor"])
def test_a_put_through_an_old_owner_after_its_let_go_is_not_lost(
        join_handover: str, mutant: str | None) -> None:
    if mutant:
        with TEST_KILLED[mutant][0]():
            values, renewed = _lost_after_let_go(join_handover)
        assert not renewed
        assert values == [b"v1"]  # the re-minted dot was "already seen": v2 lost
    else:
        values, renewed = _lost_after_let_go(join_handover)
        assert renewed
        assert values == [b"v1", b"v2"]  # concurrent blind put: a sibling, kept


# -- a second let-go of the same key (review 2's B5, the implementation's side) -----
# The reaper asks whether the copy carries a counter of the actor the node mints the
# key under now (``Node.key_actor``), not of its lifetime's actor: after a first
# let-go the node mints the key under ``A.1``, and a copy made since carries only
# that actor's counters. The mutant hands the reaper the lifetime's actor: the second
# let-go begins no epoch, and the node would mint ``A.1:1`` again (kv679).
_LIFETIME_ACTOR = _mutant(node_module.Node, "__init__",
                          "self.replica, self.key_actor, self._renew_actor",
                          "self.replica, lambda key, local: self.actor, self._renew_actor")


@pytest.mark.parametrize("mutant", [False, True])
def test_a_second_let_go_of_a_key_begins_another_epoch(mutant: bool) -> None:
    with _LIFETIME_ACTOR() if mutant else contextlib.nullcontext():
        cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, anti_entropy=False)
        key = b"k"
        node = cluster.node(cluster.node("n1").preference_list(key)[0])
        actors = []
        for value in (b"v1", b"v2"):
            cluster.client(node.name).put(key, value)  # blind: the node's own copy only
            cluster.run_until_quiet()
            assert context_clock(node.record(key)).counter(node.key_actor(key)) == 1
            node.reaper.let_go(key)
            cluster.run_until_quiet()
            assert node.record(key) is None
            actors.append(node.key_actor(key))
    assert actors[0] == f"{node.actor}.1"
    assert actors[1] == (f"{node.actor}.1" if mutant else f"{node.actor}.2")
