"""Writes as effects: the node's staged view of its engine, and the driver's persist step.

Theory of operation
-------------------
The node core never writes to its storage engine. Its mechanisms write to a
:class:`StagedStorage`, which records each write as a Write effect
(:mod:`impl.effects`) and keeps it in an overlay, so that the rest of the same
input reads its own writes (a merge after a merge of the same key, a hint scan
after a rebalance). At the end of the input the node takes the staged writes
(:meth:`StagedStorage.take`) and returns them before every other effect; the
overlay is dropped, because the driver performs the writes before it hands the
node its next input. Reads go to the overlay, then to the engine.

A hint added in the current input has no id yet (the engine chooses it when the
driver adds it): it is not listed by :meth:`StagedStorage.hints` until then, so
a hint scan delivers it from the next scan on.

:func:`persist` is the driver's half (etcd raft's ``Ready``: persist, then
send): it performs the writes of a batch of effects in order and returns the
rest. If a write fails (:class:`~impl.errors.StorageError`) nothing that
depended on it leaves: no later write is attempted, every Send is dropped (a
replica's ReplicaPutAck becomes a ReplicaPutFailed to its coordinator: session
50), every Reply becomes that error (not acknowledged), and the node is told
(:meth:`impl.node.Node.persist_failed`: it fails the puts it was coordinating),
whose effects follow. A driver that batches the
writes of many inputs into one transaction and one fsync does it here: this is
the seam.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from impl.effects import (
    AddHint,
    DeleteRecord,
    Effect,
    GetResult,
    RemoveHint,
    Reply,
    Send,
    SyncStorage,
    Write,
    WriteMeta,
    WriteRecord,
)
from impl.errors import StorageError
from impl.messages import (
    MAX_FAILURE_TEXT,
    ForwardReply,
    ReplicaPut,
    ReplicaPutAck,
    ReplicaPutFailed,
)
from impl.storage._common import removed_page
from impl.storage.base import Hint, HintHead, Storage
from spec.ring import RING_SIZE, key_position

__all__ = ["StagedStorage", "Write", "apply_write", "failed_effects", "overlay_scan", "persist",
           "reply_ids", "split"]


class StagedStorage:
    """A node's view of ``engine``: reads through, writes staged as effects."""

    def __init__(self, engine: Storage) -> None:
        self.engine = engine
        self.fsync = getattr(engine, "fsync", "always")
        self._writes: list[Write] = []
        self._records: dict[bytes, bytes] = {}
        self._meta: dict[str, bytes] = {}
        self._removed: set[int] = set()
        self._deleted: set[bytes] = set()  # keys whose versions this input removed

    def take(self) -> list[Write]:
        """The writes staged since the last call, in order (the overlay is dropped)."""
        writes, self._writes = self._writes, []
        if writes:
            self._records.clear()
            self._meta.clear()
            self._removed.clear()
            self._deleted.clear()
        return writes

    # ------------------------------------------------------------------ versions

    def read(self, key: bytes) -> bytes | None:
        staged = self._records.get(key)
        if staged is not None:
            return staged
        return None if key in self._deleted else self.engine.read(key)

    def write(self, key: bytes, record: bytes) -> None:
        self._records[key] = record
        self._deleted.discard(key)
        self._writes.append(WriteRecord(key, record))

    def delete(self, key: bytes) -> None:
        """Stage the removal of ``key``'s versions (a reaped tombstone)."""
        self._records.pop(key, None)
        self._deleted.add(key)
        self._writes.append(DeleteRecord(key))

    def scan(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        """The engine's scan with the staged records in place."""
        overlay: dict[bytes, bytes | None] = dict.fromkeys(self._deleted)
        overlay.update(self._records)
        return overlay_scan(self.engine, overlay, lo, hi)

    def __len__(self) -> int:
        return (len(self.engine) + sum(1 for key in self._records
                                       if self.engine.read(key) is None)
                - sum(1 for key in self._deleted if self.engine.read(key) is not None))

    # ------------------------------------------------------------------ hints

    def add_hint(self, intended: str, key: bytes, record: bytes) -> int:
        """Stage a hint; its id is the engine's, once added (0 until then)."""
        self._writes.append(AddHint(intended, key, record))
        return 0

    def hints(self) -> list[Hint]:
        """The engine's hints, less those removed in this input."""
        return [hint for hint in self.engine.hints() if hint.hint_id not in self._removed]

    def hints_of(self, key: bytes) -> list[Hint]:
        """The engine's hints of ``key``, less those removed in this input."""
        return [hint for hint in self.engine.hints_of(key) if hint.hint_id not in self._removed]

    def hint_nodes(self) -> set[str]:
        """The engine's: a node whose last hint this input removed is still named (a
        superset, until the removal is persisted)."""
        return self.engine.hint_nodes()

    def hint_heads(self, after: int | None, limit: int) -> list[HintHead]:
        """A page of the engine's hint heads, less those removed in this input."""
        return removed_page(self.engine, self._removed, after, limit)

    def get_hint(self, hint_id: int) -> Hint | None:
        if hint_id in self._removed:
            return None
        return self.engine.get_hint(hint_id)

    def remove_hint(self, hint_id: int) -> None:
        self._removed.add(hint_id)
        self._writes.append(RemoveHint(hint_id))

    # ------------------------------------------------------------------ meta

    def get_meta(self, name: str) -> bytes | None:
        staged = self._meta.get(name)
        return staged if staged is not None else self.engine.get_meta(name)

    def set_meta(self, name: str, value: bytes) -> None:
        self._meta[name] = value
        self._writes.append(WriteMeta(name, value))

    # ------------------------------------------------------------------ durability

    def flush(self) -> None:
        self._writes.append(SyncStorage())

    def close(self) -> None:
        self.engine.close()


def overlay_scan(engine: Storage, records: Mapping[bytes, bytes | None], lo: int = 0,
                 hi: int | None = None) -> Iterator[tuple[bytes, bytes]]:
    """``engine.scan(lo, hi)`` with ``records`` (key -> record not yet in the engine,
    or None: a removal not yet in the engine) in place, in the same order (ring
    position, then key)."""
    if not records:
        yield from engine.scan(lo, hi)
        return
    merged = dict(engine.scan(lo, hi))
    end = RING_SIZE if hi is None else hi
    for key, record in records.items():
        if record is None:
            merged.pop(key, None)
            continue
        position = key_position(key)
        inside = (lo <= position < end) if lo <= end else (position >= lo or position < end)
        if inside and lo != end:
            merged[key] = record
    yield from sorted(merged.items(), key=lambda item: (key_position(item[0]), item[0]))


def apply_write(storage: Storage, write: Write) -> None:
    """Perform one write on an engine."""
    if isinstance(write, WriteRecord):
        storage.write(write.key, write.record)
    elif isinstance(write, DeleteRecord):
        storage.delete(write.key)
    elif isinstance(write, AddHint):
        storage.add_hint(write.intended, write.key, write.record)
    elif isinstance(write, RemoveHint):
        storage.remove_hint(write.hint_id)
    elif isinstance(write, WriteMeta):
        storage.set_meta(write.name, write.value)
    else:
        storage.flush()


_WRITES = (WriteRecord, DeleteRecord, AddHint, RemoveHint, WriteMeta, SyncStorage)


def persist(storage: Storage, effects: list[Effect],
            on_error: Callable[[StorageError], list[Effect]] | None = None,
            taken_back: Callable[[], frozenset[int]] | None = None, *,
            early_replica_puts: bool = False) -> list[Effect]:
    """Perform the writes among ``effects`` on ``storage``, in order, and return the
    other effects, in order (see the module docstring for a failing write, and
    :func:`failed_effects` for ``on_error``, ``taken_back`` and
    ``early_replica_puts``; a write
    that raises MemoryError, SQLite's SQLITE_NOMEM, fails as a StorageError does).
    Raises ValueError if a write follows another effect (the node broke the order)."""
    writes, rest = split(effects)
    failed: StorageError | None = None
    for write in writes:
        try:
            apply_write(storage, write)
        except StorageError as error:
            failed = error
            break
        except MemoryError as error:  # out of the driver until session 32's review:
            # the input's Sends, Replies and timers all lost, a put's deadline with
            # them (its coordination held for good), the node not told
            failed = StorageError(f"out of memory writing to the storage engine: {error!r}")
            break
    if failed is None:
        return rest
    return failed_effects(rest, failed, on_error, taken_back,
                          early_replica_puts=early_replica_puts)


def split(effects: list[Effect]) -> tuple[list[Write], list[Effect]]:
    """(the writes, the other effects) of one input's effects, each in order.
    Raises ValueError if a write follows another effect (the node broke the order)."""
    count = 0
    for effect in effects:
        if not isinstance(effect, _WRITES):
            break
        count += 1
    rest = effects[count:]
    for effect in rest:
        if isinstance(effect, _WRITES):
            raise ValueError(f"{type(effect).__name__} after {type(rest[0]).__name__}: "
                             "a node returns its writes before its other effects")
    return effects[:count], rest  # type: ignore[return-value]


def failed_effects(rest: list[Effect], failed: StorageError,
                   on_error: Callable[[StorageError], list[Effect]] | None,
                   taken_back: Callable[[], frozenset[int]] | None = None, *,
                   early_replica_puts: bool = False) -> list[Effect]:
    """What may still be performed of ``rest`` after its writes failed: no Send,
    every Reply turned into ``failed`` -- but a get's answer (a Reply with its
    GetResult, a ForwardReply of a get), which reports what the replicas returned
    and loses only the read repair the failed write was (a node whose disk is full
    still serves reads: session 50) -- then ``on_error(failed)``'s effects (the
    node's :meth:`~impl.node.Node.persist_failed`) without their writes. A Reply of
    ``on_error`` to a request whose Reply was turned replaces it, and a Reply whose
    request id is among ``taken_back()`` (asked after ``on_error``: the node's
    :attr:`~impl.node.Node.taken_back`) is dropped, the node answering it later (a
    put whose own copy failed counts it as one failed replica: session 50).

    ``early_replica_puts`` (session 52): a coordinator's ReplicaPuts are kept, in
    their order, as if sent before the write was tried -- what the runtime's group
    commit does (:class:`impl.runtime.NodeServer`'s ``early_replica_puts``: they
    leave while the coordinator's own copy is being committed, so a failed commit
    cannot hold them back), and what the spec's ``FailedPut`` states (the version
    is minted and sent as ever; docs/refinement.md, "The failing disk's refinement
    (session 52)"). A ReplicaPut acknowledges nothing, so keeping it claims no write."""
    again = [effect for effect in on_error(failed) if not isinstance(effect, _WRITES)
             ] if on_error is not None else []
    dropped = {effect.request_id for effect in again if isinstance(effect, Reply)}
    if taken_back is not None:
        dropped |= taken_back()
    kept: list[Effect] = [
        Reply(effect.request_id, error=failed) if isinstance(effect, Reply)
        and not isinstance(effect.result, GetResult) else effect
        for effect in rest if (not isinstance(effect, Send) or _read_answer(effect)
                               or (early_replica_puts and isinstance(effect.message, ReplicaPut)))
        and not (isinstance(effect, Reply) and effect.request_id in dropped)]
    # a replica's ack held back becomes its refusal, so the coordinator need not
    # wait for its timeout (session 50)
    error = str(failed)[:MAX_FAILURE_TEXT]
    kept.extend(Send(effect.dest, ReplicaPutFailed(effect.message.op_id, effect.message.key,
                                                   effect.message.hint, error))
                for effect in rest
                if isinstance(effect, Send) and isinstance(effect.message, ReplicaPutAck))
    kept.extend(again)
    return kept


def _read_answer(effect: Send) -> bool:
    """Whether ``effect`` is a get's answer to the node that forwarded it: kept after a
    failed write, as a get's Reply is (:func:`failed_effects`)."""
    message = effect.message
    return isinstance(message, ForwardReply) and message.kind == "get" and not message.error


def reply_ids(effects: list[Effect]) -> frozenset[tuple[str, int]]:
    """The answers among ``effects`` that a failed write turns into its error or
    drops (:meth:`impl.node.Node.persist_failed`'s ``failed_replies``): ("", request
    id) of each Reply, (peer, op id) of each put's ForwardReply (session 50's review:
    a forwarded put's answer held behind a failed commit counted its coordinator's
    copy too; :func:`impl.put_coordinator.answer_id`)."""
    return frozenset(
        [("", effect.request_id) for effect in effects if isinstance(effect, Reply)]
        + [(effect.dest, effect.message.op_id) for effect in effects
           if isinstance(effect, Send) and isinstance(effect.message, ForwardReply)
           and effect.message.kind == "put"])
