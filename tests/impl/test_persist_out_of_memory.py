"""A write that runs out of memory fails as a failed write does (session 32's review).

Without the group commit (an engine that does not fsync every commit: SQLite
with ``fsync = "buffered"``, the memory engine) the runtime persists each input's
writes on the loop (:func:`impl.staging.persist`). A MemoryError there (SQLite's
SQLITE_NOMEM, or the bytes of a record) left ``persist`` unhandled: the input's
other effects were never performed, the put's deadline timer among them, so its
coordination was held for good (``pending`` 1 with its bytes), and the node was
not told (its Merkle trees kept a write the engine never got). Now it is a
StorageError: no Send leaves, every Reply is that error, and the node's
``persist_failed`` is told (since session 50 its own copy is one failed replica)."""

from __future__ import annotations

from impl.config import ClusterConfig
from impl.effects import Reply, Send
from impl.messages import PutRequest
from impl.node import Node
from impl.staging import persist
from impl.storage.memory import MemoryStorage


class _ShortOfMemory(MemoryStorage):
    """A memory engine whose writes raise MemoryError while ``failing`` is set."""

    failing = False

    def write(self, key: bytes, record: bytes) -> None:
        if self.failing:
            raise MemoryError
        super().write(key, record)


def test_a_write_out_of_memory_fails_the_put_and_ends_its_coordination() -> None:
    storage = _ShortOfMemory("always")
    node = Node("n1", ClusterConfig(nodes=("n1", "n2", "n3"), n=3, r=2, w=2), storage,
                seed=1)
    persist(storage, node.start(0.0))
    storage.failing = True
    effects = node.client_request(1.0, PutRequest(7, b"cart", b"milk", b"", None, "c1"))
    assert any(isinstance(e, Send) for e in effects)  # its ReplicaPuts
    rest = persist(storage, effects, lambda error: node.persist_failed(1.0, error))
    assert not any(isinstance(e, Send) for e in rest)
    # since session 50 its own copy is one failed replica: W = 2 may still be met by
    # n2 and n3 (its timeout sends them the write), so no answer yet, its own ack
    # not counted, the error kept for the answer
    assert not [e for e in rest if isinstance(e, Reply)]
    (coordination,) = node.puts.coordinations.values()
    assert coordination.acks == set() and "MemoryError" in coordination.failures["n1"]
    assert node.stats["storage-error"] == 1
    assert storage.read(b"cart") is None
