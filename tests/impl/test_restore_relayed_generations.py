"""The restore guard's generations relayed (session 50; docs/dvv.md, "The restore
guard's generations relayed (session 50)"): a start of a node is remembered while any
live node heard it, directly or through gossip (``Gossip.generations``,
:meth:`impl.restore_guard.RestoreGuard.on_relayed`; Cassandra's endpoint states).

The kind (``tests/impl/test_restore_after_wipe.py``): a replica of k is backed up, k
deleted and reaped everywhere, the replica's disk replaced (its new start heard by
every peer), the replica cut off, peers replaced while it is cut off (each rebuilt
from the others), then the backup put back on it. Right value: a get of k with R=3
finds nothing (the delete was acknowledged by every replica, and a copy of every
later state survives on the others). Before session 50 a peer's replaced disk heard
no generation of the cut-off node, so once every peer that heard its last start was
replaced nobody told the backup it was older, and the deleted value came back.
Neighbours here: five nodes, the peers replaced in either order, the relayed
generation reaching the restored node only through a node that never heard it
directly, every clock mode; and the guard's rule for a relay (only a later start).

Mutants (one at a time, reverted; docs/dvv.md's section lists what each fails):
``RestoreGuard.on_relayed`` taking nothing (``return False`` first); ``Node._stamp``
relaying nothing (``generations=b""``); ``on_relayed`` taking any other generation
(not only a later one); ``RestoreGuard.heard_directly`` answering the relayed one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import BadMessageError
from impl.restore_guard import (
    GENERATIONS_LIMIT,
    RestoreGuard,
    generations_from_bytes,
    generations_to_bytes,
)
from impl.storage.memory import MemoryStorage
from tests.impl.test_restore_after_reap import backed_up


@dataclass(frozen=True)
class Outcome:
    """What a history ends with."""

    #: the premise: k's tombstone was reaped on every replica before the disk losses
    reaped: bool
    #: the restored node's stores set aside before the cluster healed, and in all
    set_aside_cut_off: int
    set_aside: int
    #: a get of k with R=3 once the cluster is quiet
    values: list[bytes]


def _key_replicated_by(cluster: SimulatedCluster, name: str) -> bytes:
    """The first key ``k``, ``k1``, ``k2``... of which ``name`` is one of the top N."""
    for i in range(100):
        key = b"k" if i == 0 else b"k%d" % i
        if name in cluster.node("n1").preference_list(key)[: cluster.config.n]:
            return key
    raise AssertionError(f"no key replicated by {name}")  # pragma: no cover


def _history(nodes: int, replaced: tuple[str, ...], *, through: str = "",
             clock: str = "dvv", seed: int = 1, guard: bool = True) -> Outcome:
    """``nodes`` nodes, N=3, R=W=2: n3 backed up, k deleted and reaped, n3's disk
    replaced, n3 cut off, ``replaced`` wiped one after the other (each rebuilt from
    the rest), n3's backup put back while it is cut off from all but ``through`` (a
    replaced peer: it heard n3's last start only relayed), then healed."""
    cluster = SimulatedCluster(nodes=nodes, n=3, r=2, w=2, seed=seed, clock=clock,
                               restore_guard=guard)
    key = _key_replicated_by(cluster, "n3")
    client = cluster.client(coordinator="n1")
    client.put(key, b"v1")
    cluster.run_until_quiet()
    backup = backed_up(cluster, "n3")
    client.delete(key, context=client.get(key, r=3).context, w=3)
    cluster.run_until_quiet()
    reaped = all(record is None for record in cluster.replicas(key).values())
    cluster.wipe("n3")
    cluster.run_until_quiet()
    others = [name for name in cluster.node_names if name != "n3"]
    cluster.partition(["n3"], others)
    for peer in replaced:
        cluster.wipe(peer)
        cluster.run_for(30)  # rebuilt from the rest
    if through:
        cluster.heal()
        cluster.partition(["n3", through], [name for name in others if name != through])
    cluster.crash("n3")
    cluster.storages["n3"].inner = copy.deepcopy(backup)
    cluster.restart("n3")
    cluster.run_for(5)  # its shadow round: answered by ``through``, or timed out
    set_aside_cut_off = cluster.node("n3").stats["restore-set-aside"]
    cluster.heal()
    cluster.run_until_quiet()
    values = sorted(cluster.client(coordinator="n1").get(key, r=3).values)
    return Outcome(reaped, set_aside_cut_off, cluster.node("n3").stats["restore-set-aside"],
                   values)


def test_three_nodes_both_peers_replaced_n2_first() -> None:
    """The second replaced peer hears n3's last start relayed by the first (which
    heard it relayed by the second's old store); n1 first is
    ``tests/impl/test_restore_after_wipe.py``'s. Mutants: ``on_relayed`` taking
    nothing, ``_stamp`` relaying nothing: ``[b'v1']``."""
    outcome = _history(3, ("n2", "n1"))
    assert outcome.reaped
    assert outcome.values == []
    assert outcome.set_aside == 1


@pytest.mark.parametrize("replaced", [("n1", "n2", "n4", "n5"), ("n5", "n4", "n2", "n1")])
def test_five_nodes_every_peer_replaced_in_either_order(replaced: tuple[str, ...]) -> None:
    """Five nodes, every other one replaced while n3 is cut off: the last start of n3
    is passed from the old stores to the new ones. Mutants as above: ``[b'v1']``."""
    outcome = _history(5, replaced)
    assert outcome.reaped
    assert outcome.values == []
    assert outcome.set_aside == 1


@pytest.mark.parametrize("nodes", [3, 5])
def test_the_generation_reaches_the_restored_node_only_through_a_third(nodes: int) -> None:
    """n1 replaced while n3 is cut off (its new store hears n3's last start only from
    the others' gossip), then n3's backup put back while n3 reaches n1 alone: n1 tells
    it, and the backup is set aside before the cluster heals. Mutants as above: n1
    knows no start of n3, answers its shadow round, and takes v1 from it
    (``set_aside_cut_off == 0``)."""
    outcome = _history(nodes, ("n1",), through="n1")
    assert outcome.reaped
    assert outcome.set_aside_cut_off == 1
    assert outcome.values == []


@pytest.mark.parametrize("clock", ["lww", "server-vclock", "client-vclock"])
def test_every_clock_mode(clock: str) -> None:
    """The guard does not depend on the clock mode: both peers replaced, n1 first
    (dvv: ``tests/impl/test_restore_after_wipe.py``). Mutants as above: ``[b'v1']``."""
    outcome = _history(3, ("n1", "n2"), clock=clock)
    assert outcome.reaped
    assert outcome.values == []
    assert outcome.set_aside == 1


def test_without_the_guard_the_deleted_value_comes_back() -> None:
    """The control: ``restore_guard = false``, ``v1`` back (the history can fail)."""
    outcome = _history(3, ("n2", "n1"), guard=False)
    assert (outcome.reaped, outcome.set_aside, outcome.values) == (True, 0, [b"v1"])


# --------------------------------------------------------------- the guard's rule


def _guard(heard: dict[str, str]) -> RestoreGuard:
    guard = RestoreGuard(MemoryStorage(), "1.aa")
    for node, generation in heard.items():
        guard.on_generation(node, generation)
    return guard


def test_a_relay_is_taken_only_if_later() -> None:
    """A relayed generation is taken only with a higher count (another start's or an
    advanced one of the same start), or for a node heard of never; an equal count of
    another start (a restored store a peer heard first) or a lower one (old news) is
    ignored and marks nothing rolled back. Mutant: ``on_relayed`` taking any other
    generation (``if generation == known: return False`` alone) fails here."""
    guard = _guard({"n3": "5.ab"})
    for stale in ("4.cd", "5.cd", "3.ab"):
        assert not guard.on_relayed("n3", stale)
        assert guard.yours("n3") == "5.ab"
    assert not guard.rolled_back
    assert guard.on_relayed("n3", "6.ab")  # the same start, advanced
    assert guard.on_relayed("n3", "7.cd")  # a later start
    assert guard.superseded("n3", "6.ab")  # a message of the start it supersedes: stale
    assert guard.on_relayed("n4", "2.ef")  # never heard of
    assert guard.yours("n3") == "7.cd" and guard.yours("n4") == "2.ef"
    assert guard.relayed_only == {"n3", "n4"}
    assert generations_from_bytes(guard.relayed(("n3", "n4"))) == {"n3": "7.cd", "n4": "2.ef"}


def test_a_relayed_generation_is_durable_and_answered_as_unheard() -> None:
    """Taken, it is in the ``peer-generations`` meta entry (a restart of this node
    remembers it); until the node itself tells a generation, ``heard_directly`` is
    none (its start's first gossip is answered: its shadow round waits for that).
    Mutant: ``heard_directly`` answering ``yours`` fails the third assertion here and
    ``tests/impl/test_shadow_round_together_review.py`` (four tests)."""
    guard = _guard({})
    assert guard.on_relayed("n3", "4.ab")
    assert RestoreGuard(guard.storage, "2.aa").yours("n3") == "4.ab"
    assert guard.heard_directly("n3") == ""
    guard.on_generation("n3", "4.ab")
    assert guard.heard_directly("n3") == "4.ab"


def test_the_relayed_bytes_round_trip_and_malformed_ones_are_refused() -> None:
    """``generations_to_bytes`` and back; each malformed shape raises BadMessageError
    (the node drops the gossip as a peer's bad data: ``PEER_DATA["generations"]``,
    ``tests/impl/test_internal_errors.py``)."""
    heard = {"n1": "3.0a", "n2": "12.ff"}
    assert generations_from_bytes(generations_to_bytes(heard)) == heard
    assert generations_to_bytes({}) == b"" and generations_from_bytes(b"") == {}
    too_many = {f"n{i}": "1.aa" for i in range(GENERATIONS_LIMIT + 1)}
    for bad in (b"not json", b"[]", b'{"format": "x", "generations": {}}',
                b'{"format": "vdynamo.generations.v1", "generations": {"n1": "1.zz"}}',
                b'{"format": "vdynamo.generations.v1", "generations": {"n1": 3}}',
                b'{"format": "vdynamo.generations.v1", "generations": {"": "1.aa"}}',
                generations_to_bytes(too_many)):
        with pytest.raises(BadMessageError):
            generations_from_bytes(bad)
