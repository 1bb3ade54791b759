"""A write the engine never got leaves no trace in the node's Merkle trees.

The anti-entropy trees are told of every write when the node stages it. When the
driver's persist fails (:meth:`impl.node.Node.persist_failed`), the engine lacks
the record while the tree would still claim it; anti-entropy would then see the
key in sync with a peer that holds it and never repair the copy this node lost.
"""

from __future__ import annotations

from impl.config import ClusterConfig
from impl.effects import Send
from impl.errors import StorageError
from impl.merkle import MerkleTree, diff
from impl.messages import ReplicaPut, ReplicaPutFailed
from impl.node import Node
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock

KEY = b"cart"


class _FailingStorage(MemoryStorage):
    """A memory engine whose writes fail while ``failing`` is set (a full disk)."""

    failing = False

    def write(self, key: bytes, record: bytes) -> None:
        if self.failing:
            raise StorageError("disk full")
        super().write(key, record)


def _trees_disagree(node: Node, storage: MemoryStorage) -> set[bytes]:
    trees = node.anti_entropy.trees
    out: set[bytes] = set()
    for lo, hi in trees.ranges:
        tree = trees.get(lo, hi)
        assert tree is not None
        out |= diff(tree, MerkleTree.build(tree.shape, storage.scan(lo, hi))).keys
    return out


def _replica_put(storage: _FailingStorage) -> tuple[Node, list[object]]:
    config = ClusterConfig(nodes=("n1", "n2", "n3"), n=3, r=2, w=2)
    node = Node("n1", config, storage, seed=1)
    persist(storage, node.start(0.0))
    record = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"milk",
                                     coordinator="n2", client_id="c", now=0.0))
    effects = node.receive(1.0, "n2", ReplicaPut(1, KEY, record))
    rest = persist(storage, effects, lambda error: node.persist_failed(1.0, error))
    return node, list(rest)


def test_the_trees_follow_the_engine_after_a_failed_write() -> None:
    storage = _FailingStorage("always")
    storage.failing = True
    node, rest = _replica_put(storage)
    # nothing may leave after the failed write but its refusal (session 50)
    assert rest == [Send("n2", ReplicaPutFailed(1, KEY, "", "disk full"))], rest
    assert storage.read(KEY) is None
    assert _trees_disagree(node, storage) == set()


def test_the_trees_hold_a_write_that_succeeded() -> None:
    """The control: the comparison sees the key when the write went through."""
    storage = _FailingStorage("always")
    node, rest = _replica_put(storage)
    assert rest and storage.read(KEY) is not None
    assert _trees_disagree(node, storage) == set()
    assert _trees_disagree(node, MemoryStorage("always")) == {KEY}
