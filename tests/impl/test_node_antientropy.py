"""Merkle anti-entropy through the node: only the out-of-sync keys move, replicas
converge, and trees are updated incrementally (each check shown to catch a mutant)."""

from __future__ import annotations

from typing import Any

import pytest

import impl.antientropy as antientropy_module
from impl.antientropy import RangeTrees
from impl.merkle import MerkleTree, OutOfSync
from impl.messages import KeyRecords, MerkleExchange, ReplicaPut
from tests.impl.test_node_driver import Driver, make_config, ok_put

KEYS = [f"item-{i}".encode() for i in range(150)]


def diverged() -> tuple[Driver, str, set[bytes]]:
    """A cluster where one replica missed a few writes (no repair but anti-entropy)."""
    config = make_config(5, read_repair=False, hinted_handoff=False, sloppy_quorum=False,
                         anti_entropy=True, anti_entropy_interval=5.0)
    driver = Driver.start(config)
    for i, key in enumerate(KEYS):
        driver.request(f"n{i % 5 + 1}", _put(i, key, b"v1"))
    driver.advance(1.0)
    victim = "n2"
    missed = {k for k in KEYS[:40] if victim in driver.nodes["n1"].preference_list(k)[:3]}
    missed = set(sorted(missed)[:5])
    driver.drop_filter = lambda s, d, m: (d == victim and isinstance(m, ReplicaPut)
                                          and m.key in missed)
    for key in sorted(missed):
        top = driver.nodes["n1"].preference_list(key)[:3]
        ok_put(driver.put(next(t for t in top if t != victim), key, b"v2"))
    driver.advance(1.5)  # past the puts' deadlines: the coordinators stop retrying
    driver.drop_filter = None
    assert all(b"v2" not in _values(driver, victim, k) for k in missed)
    return driver, victim, missed


def _put(i: int, key: bytes, value: bytes) -> Any:
    from impl.messages import PutRequest

    return PutRequest(10_000 + i, key, value)


def _values(driver: Driver, name: str, key: bytes) -> list[bytes]:
    from impl.versions import values

    record = driver.nodes[name].record(key)
    return [] if record is None else values(record)


def moved_keys(driver: Driver, since: int) -> set[bytes]:
    return {k for _, _, m in driver.delivered[since:] if isinstance(m, KeyRecords)
            for k in m.keys}


def test_anti_entropy_moves_only_the_out_of_sync_keys_and_converges() -> None:
    driver, victim, missed = diverged()
    since = len(driver.delivered)
    driver.advance(12.0)
    assert all(sorted(_values(driver, victim, k)) == [b"v1", b"v2"] for k in missed)
    assert moved_keys(driver, since) == missed
    exchanges = sum(isinstance(m, MerkleExchange) for _, _, m in driver.delivered[since:])
    assert exchanges > 0


def test_the_only_differing_keys_check_catches_a_full_sync(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from impl.merkle import answer as real

    def everything(tree: MerkleTree, message: Any) -> Any:
        answer = real(tree, message)
        if isinstance(answer, OutOfSync):
            return OutOfSync(answer.shape, tuple(sorted(tree.keys())))
        return answer

    monkeypatch.setattr(antientropy_module, "compare", everything)
    driver, _, missed = diverged()
    since = len(driver.delivered)
    driver.advance(12.0)
    assert moved_keys(driver, since) != missed, "the mutant moves in-sync keys too"


def test_in_sync_replicas_exchange_roots_only() -> None:
    """In-sync replicas send the opener's root and the answer of the root's
    children (session 35: :func:`impl.merkle.root_children`, so that the exchange
    completes at the opener too), one each per exchange; nothing deeper."""
    driver = Driver.start(make_config(5, anti_entropy_interval=1.0))
    for i, key in enumerate(KEYS[:50]):
        driver.request("n1", _put(i, key, b"v"))
    driver.advance(3.0)
    since = len(driver.delivered)
    driver.advance(3.0)
    steps = [m for _, _, m in driver.delivered[since:] if isinstance(m, MerkleExchange)]
    roots = [m for m in steps if m.level == 0]
    answers = [m for m in steps if m.level == 1 and m.parents == (0,)]
    assert roots and len(roots) + len(answers) == len(steps)
    assert sorted(m.session for m in answers) == sorted(m.session for m in roots)
    assert not moved_keys(driver, since)


def trees_match_storage(driver: Driver) -> bool:
    for node in driver.nodes.values():
        trees: RangeTrees = node.anti_entropy.trees
        for lo, hi in trees.ranges:
            tree = trees.get(lo, hi)
            assert tree is not None
            fresh = MerkleTree.build(tree.shape, node.storage.scan(lo, hi))
            if tree.root() != fresh.root():
                return False
    return True


def test_trees_are_updated_incrementally_on_write(monkeypatch: pytest.MonkeyPatch) -> None:
    driver = Driver.start(make_config(5, anti_entropy=False))
    built = {name: {r: node.anti_entropy.trees.get(*r) for r in node.anti_entropy.trees.ranges}
             for name, node in driver.nodes.items()}
    for i, key in enumerate(KEYS[:30]):
        driver.request(f"n{i % 5 + 1}", _put(i, key, b"x"))
    driver.advance(2.0)
    assert trees_match_storage(driver)
    for name, node in driver.nodes.items():  # the same tree objects: never rebuilt
        assert all(node.anti_entropy.trees.get(*r) is t for r, t in built[name].items())

    monkeypatch.setattr(RangeTrees, "update", lambda self, key, record: None)
    for i, key in enumerate(KEYS[30:40]):
        driver.request("n1", _put(100 + i, key, b"y"))
    driver.advance(2.0)
    assert not trees_match_storage(driver), "the mutant forgets updates: the check catches it"


def test_a_merkle_message_for_an_unknown_range_or_shape_changes_nothing() -> None:
    driver = Driver.start(make_config(5))
    node = driver.nodes["n1"]
    lo, hi = node.anti_entropy.trees.ranges[0]
    effects = node.receive(0.0, "n2", MerkleExchange(1, lo, hi, 4, 2, "level", 0, (),
                                                     (0,), (b"x" * 16,)))
    assert not effects or all(not hasattr(e, "message") for e in effects)
    assert node.stats["dropped"] == 1  # wrong shape for my tree
    node.receive(0.0, "n2", MerkleExchange(1, 1, 2, 16, 3, "level", 0, (), (), ()))
    assert node.stats["anti-entropy-unknown-range"] == 1


def test_many_out_of_sync_keys_move_in_bounded_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(antientropy_module, "KEY_RECORDS_KEYS", 7)
    config = make_config(3, read_repair=False, hinted_handoff=False, sloppy_quorum=False,
                         anti_entropy_interval=1.0)
    driver = Driver.start(config)
    driver.down.add("n3")
    for i, key in enumerate(KEYS[:60]):
        driver.request("n1", _put(i, key, b"v"))
    driver.advance(2.0)
    driver.down.clear()
    driver.wake("n3")
    since = len(driver.delivered)
    driver.advance(30.0)
    batches = [m for _, _, m in driver.delivered[since:] if isinstance(m, KeyRecords)]
    assert batches and max(len(m.keys) for m in batches) <= 7
    assert all(_values(driver, "n3", key) == [b"v"] for key in KEYS[:60])


def test_a_round_after_a_ring_change_asks_the_owners_on_the_new_ring() -> None:
    """Anti-entropy keeps the top N of each range per partitioning (session 19, pure
    speed: ``AntiEntropy._owners``); a round after a join asks owners on the new ring
    only: every exchange n1 starts goes to one of its range's top N there, and the
    join moved some of n1's ranges' owners (a round reusing the first ring's owners
    sends some exchanges to a node that no longer holds the range)."""
    from impl.cluster import SimulatedCluster
    from impl.effects import Send
    from impl.timers import AntiEntropyRound

    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3, anti_entropy_interval=1.0)
    node = cluster.node("n1").anti_entropy
    before = node._ring()
    cluster.run_for(5.0)  # rounds on the first ring
    cluster.join("n6")
    cluster.run_until(lambda: "n6" in node._ring().ring.nodes, max_time=600.0)
    after = node._ring()
    assert any(before.range_owners(lo, 3) != after.range_owners(lo, 3)
               for lo, _ in node.trees.ranges)
    for _ in range(20):  # each round picks one owner per range at random
        sends = [e for e in node.on_round(cluster.sim.now, AntiEntropyRound())
                 if isinstance(e, Send)]
        assert sends
        for send in sends:
            assert isinstance(send.message, MerkleExchange)
            assert send.dest in after.range_owners(send.message.lo, 3)
