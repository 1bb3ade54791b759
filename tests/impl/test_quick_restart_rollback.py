"""A message of a node's earlier start, delivered after its restart, is stale, not a
rollback (session 35's review; docs/runtime.md "Review of a rebuild under reads").

The restore guard (:mod:`impl.restore_guard`) refuses anti-entropy and hints from a
store older than one it heard of, and marks such a peer rolled back: nothing but
gossip is taken from it until it gossips a later generation. A restart takes a
later generation (its count one up, another token); a ``MerkleExchange`` sent by
the start before and delivered after a peer heard the restart's generation carried
an earlier count with another token, which :func:`impl.restore_guard.is_rollback`
reads as a restored store: the peer dropped every message of the restarted node
(its replica answers too: a get at R = N through the peer waited) until the
node's next gossip. A start the peer heard of and saw superseded by a later one is
no restore (a restored store starts with a token no peer heard): its messages are
dropped as stale, and the peer is not marked.
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.messages import MerkleExchange
from impl.restore_guard import RestoreGuard
from impl.storage.memory import MemoryStorage
from tests.impl.test_wiped_node_reads import _running


def _stale_root(cluster: SimulatedCluster) -> MerkleExchange:
    """A ``MerkleExchange`` n2 sent n1 (taken out of flight: it will arrive late)."""
    def one() -> MerkleExchange | None:
        for sent in cluster.sim.in_flight():
            if sent.src == "n2" and sent.dest == "n1" and isinstance(sent.message,
                                                                     MerkleExchange):
                cluster.sim.drop(sent.id)
                return sent.message
        return None

    found: list[MerkleExchange] = []
    cluster.run_until(lambda: bool(found.append(m) if (m := one()) else found), max_time=30)
    return found[0]


def test_a_message_of_the_start_before_a_restart_marks_no_rollback() -> None:
    """3 nodes, N = 3, R = W = 2: a ``MerkleExchange`` of n2 held in flight, n2
    restarted, n1 told n2's new start by gossip, then the held message delivered to
    n1: n2 is not marked rolled back, and a get at R = 3 through n1 answers at
    once. Before: ``rolled_back == {'n2'}`` and the get had no answer 0.5 s later
    (n2's replica answer dropped)."""
    with _running(SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)) as cluster:
        client = cluster.client("n1")
        client.put(b"k", b"v1")
        stale = _stale_root(cluster)
        assert stale.generation
        cluster.crash("n2")
        cluster.restart("n2")
        n1, n2 = cluster.node("n1"), cluster.node("n2")
        assert n1.guard is not None and n2.guard is not None
        cluster.run_until(lambda: n1.guard is not None and n2.guard is not None
                          and n1.guard.yours("n2") == n2.guard.generation, max_time=30)
        cluster.sim.perform("n1", n1.receive(cluster.sim.node_now("n1"), "n2", stale))
        assert n1.guard.rolled_back == set()
        assert n1.stats["superseded-start-dropped"] == 1
        pending = client.submit_get(b"k", r=3, coordinator="n1")
        cluster.run_for(0.5)
        assert pending.done and pending.error is None, pending.error


def test_a_restored_start_with_a_lower_count_is_still_a_rollback() -> None:
    """The guard alone: heard n2 at ``3.a``, then ``5.b``; a message of ``4.c`` (a
    store restored from a backup of two starts before: a token never heard) is a
    rollback; one of ``3.a`` or of its advance ``4.a`` is stale (not marked)."""

    guard = RestoreGuard(MemoryStorage(), "1.self")
    assert not guard.on_generation("n2", "3.aaaa")
    assert not guard.on_generation("n2", "5.bbbb")
    assert guard.superseded("n2", "3.aaaa") and guard.superseded("n2", "4.aaaa")
    assert not guard.on_generation("n2", "4.aaaa")
    assert guard.rolled_back == set() and guard.yours("n2") == "5.bbbb"
    assert not guard.superseded("n2", "4.cccc")
    assert guard.on_generation("n2", "4.cccc")
    assert guard.rolled_back == {"n2"}
