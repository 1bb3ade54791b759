"""Tests for behaviours of :mod:`impl.node` that the third part of session 51's
mutmut run of the file (docs/refinement.md, "Mutation score of impl/node.py, third
part (session 51)") found no test for: each one kills the mutants its docstring
names (checked by hand in mutmut's copy: ``MUTANT_UNDER_TEST=NAME pytest`` exits 1,
and 0 with no mutant named). Deterministic: seeded nodes, injected time.
"""

from __future__ import annotations

import pytest

from impl.config import ClusterConfig
from impl.effects import Send
from impl.messages import Gossip, PutRequest, ReplicaPut
from impl.node import Node
from impl.staging import persist, reply_ids
from impl.storage.memory import MemoryStorage
from tests.impl.test_node_storage_failure import _FailingStorage


@pytest.mark.parametrize(("guard", "epochs", "flushes"), [
    (False, False, 0), (False, True, 1), (True, False, 1), (True, True, 1)])
def test_a_start_flushes_its_store_once_at_most(guard: bool, epochs: bool,
                                                flushes: int) -> None:
    """A start on a buffered store (``MemoryStorage("buffered")``, which counts the
    flushes that made changes durable) flushes once where a crash could otherwise
    repeat what a peer hears: the lifetime actor before a dot is minted under it
    (:func:`impl.versions.lifetime_actor`, with ``actor_epochs``; the start count,
    written before it, is durable with it), else the start count before a peer hears
    the restore guard's generation (commit 18cd6d84); with neither, not at all: the
    start's direct writes wait for the node's first flush (``__init____mutmut_125``:
    ``restore_guard or not actor_epochs``, a second flush with both on and one with
    neither)."""
    storage = MemoryStorage("buffered")
    config = ClusterConfig(nodes=("n1", "n2", "n3"), n=3, r=2, w=2,
                           restore_guard=guard, actor_epochs=epochs)
    Node("n1", config, storage, seed=1, now=0.0)
    assert storage.flushes == flushes
    assert storage.get_meta("incarnation") == b"1"
    storage.crash()  # what a disk holds after the start: the count, once flushed
    assert storage.get_meta("incarnation") == (b"1" if flushes else None)



def test_a_full_coordinators_part_skips_a_fallback_suspected_now() -> None:
    """A coordinator whose own write fails (a full disk; 5 nodes, N = 3, W = 3) hands
    its part to a fallback reachable at the failure's time: the first fallback down
    the key's preference list is suspected then (a timeout of the coordinator's
    failure detector, :meth:`impl.failure_detector.FailureDetector.timed_out`), so
    the part and its hint go to the second (:meth:`Node.persist_failed`, which asks
    :meth:`impl.put_coordinator.PutCoordinator.local_write_failed` at ``now``;
    ``persist_failed__mutmut_9``: ``local_write_failed(None, ...)``, the suspicion
    compared with None: TypeError; tests/impl/test_coordinator_disk_full.py's
    fallback case suspects no node and never compares the time)."""
    storage = _FailingStorage("always")
    config = ClusterConfig(nodes=("n1", "n2", "n3", "n4", "n5"), n=3, r=2, w=3)
    node = Node("n1", config, storage, seed=1)
    persist(storage, node.start(0.0))
    key = next(key for key in (b"k%d" % i for i in range(100))
               if node.preference_list(key)[0] == "n1")
    first, second = node.preference_list(key)[3:5]  # its fallbacks, in order
    node.detector.timed_out(first, 1.0)
    storage.failing = True
    effects = node.client_request(1.0, PutRequest(7, key, b"milk"))
    rest = persist(storage, effects, lambda error: node.persist_failed(
        1.0, error, reply_ids(effects)))
    handed = [(effect.dest, effect.message.hint) for effect in rest
              if isinstance(effect, Send) and isinstance(effect.message, ReplicaPut)]
    assert handed == [(second, "n1")], rest


def test_a_gossip_naming_this_start_sets_nothing_aside() -> None:
    """A peer's gossip whose ``yours`` names this node's own start (the peer heard
    this start, no later one) is no rollback (:func:`impl.restore_guard.is_rollback`):
    the store keeps its generation and sets nothing aside
    (:meth:`Node._guard_gossip`; ``_guard_gossip__mutmut_2``: ``message.yours or
    is_rollback(...)``, every gossip naming any start sets the store aside and it
    takes a new generation; in a cluster each start then renews the other for ever,
    which mutmut cut as a timeout)."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), n=3, r=2, w=2)
    node = Node("n1", config, MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert node.guard is not None
    own = node.guard.generation
    peer = f"1.{'a' * 16}"
    node.receive(1.0, "n2", Gossip(node.gossiper.view.to_bytes(), reply=False,
                                   generation=peer, yours=own))
    assert node.guard.generation == own and node.guard.heard["n2"] == peer
    assert not node.rebuilding
    assert node.stats["restore-set-aside"] == node.stats["restore-fresh-renewed"] == 0
