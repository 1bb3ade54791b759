"""A replaced disk whose writes fail while it rebuilds rebuilds again (red team 11,
session 60; probes/01p-disk-fills-during-a-rebuild.py).

The rebuild counts a key range rebuilt once an anti-entropy exchange with each of
its other replicas completed (:mod:`impl.rebuild`), in the input that merged the
peer's records; the merges are written after. When those writes fail (a full
disk: the probe's n2 under ``RLIMIT_FSIZE``), the range was counted rebuilt
without the records, and the node answered its own read at r=1 of an
acknowledged key of it not found: 9 of 32 reads 404 through the filling n2 (the
second of two runs at a load of 16). Now :meth:`impl.node.Node.persist_failed`
begins the rebuild again when an exchange of it completed since the node's writes
were last all durable (:meth:`impl.node.Node.writes_durable`), logging it once per
spell of failures.
"""

from __future__ import annotations

from impl.config import ClusterConfig
from impl.errors import StorageError
from impl.node import Node
from impl.positions import position_of
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import Flush

KEY = b"cart"


def _rebuilding() -> Node:
    """n1 of three, its store a replaced disk being rebuilt (every pair to do)."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), n=3, r=2, w=2)
    storage = MemoryStorage("always")
    node = Node("n1", config, storage, seed=1)
    persist(storage, node.start(0.0))
    node._begin_rebuild(1.0)
    assert node.rebuild.active and node.rebuild.pending
    return node


def _sync(node: Node, pairs: list[tuple[tuple[int, int], str]]) -> None:
    """Each of ``pairs`` completed an exchange (the anti-entropy's report)."""
    for key_range, peer in pairs:
        for report in node.anti_entropy.synced:
            report(key_range, peer)


def test_a_failed_write_while_rebuilding_puts_every_range_back() -> None:
    """The key's range synced with both peers (rebuilt), then a write fails: the
    range is not rebuilt again, nor is any other. Mutant: the restart in
    ``persist_failed`` removed: ``False is True`` (the key's range still rebuilt)."""
    node = _rebuilding()
    key_range = node.anti_entropy.trees.range_of(position_of(KEY))
    _sync(node, [pair for pair in sorted(node.rebuild.pending) if pair[0] == key_range])
    assert node._unrebuilt_range(KEY) is False and node.rebuild.active
    node.persist_failed(2.0, StorageError("disk full"))
    assert node._unrebuilt_range(KEY) is True
    assert node.rebuild.pending == set(node._rebuild_pairs())


def test_a_failed_write_after_the_last_exchange_rebuilds_again() -> None:
    """Every pair synced (the rebuild ended) before its merges were durable, then a
    write fails: rebuilding again. Mutant: the flag not set when a pair syncs:
    ``False is True``."""
    node = _rebuilding()
    _sync(node, sorted(node.rebuild.pending))
    assert not node.rebuild.active
    node.persist_failed(2.0, StorageError("disk full"))
    assert node.rebuild.active is True and node._unrebuilt_range(KEY)


def test_a_failed_write_after_the_rebuild_was_durable_does_not() -> None:
    """The control: the rebuild ended and every write was durable since
    (``writes_durable``): a later failed write leaves it rebuilt. Mutant: the flag
    not cleared there: ``True is False``."""
    node = _rebuilding()
    _sync(node, sorted(node.rebuild.pending))
    node.writes_durable()
    node.persist_failed(2.0, StorageError("disk full"))
    assert node.rebuild.active is False


def test_its_line_is_logged_once_while_the_writes_keep_failing() -> None:
    """A full disk fails every merge: the rebuild begins again after each exchange,
    but its line is written once until a write is durable again (then once more).
    The probe's first version of the fix logged two lines at each failure: 215 in
    20 s (25-40 before). Mutant: the once-only flag never set: ``3 == 1``."""
    node = _rebuilding()
    said = "its writes failed while it rebuilt"
    for _ in range(3):
        _sync(node, sorted(node.rebuild.pending)[:1])
        node.persist_failed(2.0, StorageError("disk full"))
    assert sum(said in line for line in node.log) == 1
    assert node.rebuild.active
    node.writes_durable()
    _sync(node, sorted(node.rebuild.pending)[:1])
    node.persist_failed(3.0, StorageError("disk full"))
    assert sum(said in line for line in node.log) == 2


def test_on_a_buffered_engine_a_flush_performed_makes_the_rebuild_durable() -> None:
    """``fsync = "buffered"``: ``writes_durable`` is ignored (a performed write is one
    change of an open batch), so the flag set by the rebuild's exchanges was never
    cleared: a write failing at any later time, the rebuild long ended and flushed,
    began the whole rebuild again (review of red team 11, session 60). Now a flush
    of the ``Flush`` timer, performed (``writes_durable`` after it), makes the
    exchanges before it durable; one after it still counts. Mutant: the flag not
    moved at the ``Flush`` timer (the rule before): ``{every pair} == {the last}``
    (the flushed exchanges done again too); nor cleared by ``writes_durable``: the
    same; ``persist_failed`` blind to the exchanges of a flush still pending (the
    ``_rebuild_flushing`` check dropped): ``set() == {...}`` (the rebuild left
    ended though its last merges' commit failed). Only the exchange after the
    flush is done again (``test_a_disk_failing_now_and_then_still_ends_the_rebuild``)."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), n=3, r=2, w=2)
    storage = MemoryStorage("buffered")
    node = Node("n1", config, storage, seed=1)
    persist(storage, node.start(0.0))
    node._begin_rebuild(1.0)
    pairs = sorted(node.rebuild.pending)
    _sync(node, pairs[:-1])
    persist(storage, node.fire(2.0, Flush()))  # the flush staged, then performed
    node.writes_durable()
    _sync(node, pairs[-1:])  # the last exchange: after the flush, not yet durable
    assert not node.rebuild.active
    node.persist_failed(3.0, StorageError("disk full"))
    assert node.rebuild.pending == set(pairs[-1:])  # its merges may be lost: again
    _sync(node, pairs[-1:])
    persist(storage, node.fire(3.5, Flush()))  # a flush staged, its commit pending
    node.persist_failed(3.6, StorageError("disk full"))  # and that commit failed
    assert node.rebuild.pending == set(pairs[-1:])
    _sync(node, sorted(node.rebuild.pending))
    persist(storage, node.fire(4.0, Flush()))
    node.writes_durable()
    node.persist_failed(5.0, StorageError("disk full"))
    assert node.rebuild.active is False


def test_a_disk_failing_now_and_then_still_ends_the_rebuild() -> None:
    """Between each two exchanges a write fails, after one more exchange (a disk
    failing more often than a whole rebuild takes): the exchanges whose merges were
    durable stay done, so the rebuild ends once each pair's last exchange was
    durable. Review of red team 11 (session 60): every failure put every pair back,
    and the rebuild never ended (the node silent for keys it lacks and its acks
    uncounted for as long as the disk failed so). Mutant: ``Rebuild.keep`` a no-op
    (every pair done again): ``True is False``."""
    node = _rebuilding()
    pairs = sorted(node.rebuild.pending)
    for pair in pairs:
        _sync(node, [pair])
        node.writes_durable()
        if node.rebuild.active:
            _sync(node, sorted(node.rebuild.pending)[:1])
            node.persist_failed(2.0, StorageError("disk full"))
            assert len(node.rebuild.pending) > 0
    assert node.rebuild.active is False
