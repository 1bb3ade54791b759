"""Seeded bugs for the refinement tests' non-vacuity check.

Theory of operation
-------------------
Each mutant is a context manager that patches one small piece of the
implementation (a module-level function as :mod:`impl.node` imported it, or a
:class:`impl.node.Node` handler in its dispatch table) and restores it on exit.
Nothing here is imported by shipped code paths: the harness applies a mutant
around a run of the lockstep tests (``tests/refinement/test_mutations.py``) and
expects the run to fail, i.e. the mutant to be *killed*.

The kill list (:data:`MUTANTS`):

``ack-before-w``
    a put is acknowledged once W - 1 replicas stored it;
``hint-deleted-before-ack``
    a hint scan deletes each hint as soon as it sends it;
``reconcile-keeps-dominated``
    merging two records keeps the versions the other dominates;
``reconcile-drops-concurrent``
    merging two concurrent records keeps only one side;
``read-repair-writes-older``
    read repair sends a stale replica the oldest answer instead of the
    reconciled versions;
``fallback-ack-without-hint``
    a fallback stores a hinted replica as its own version (no hint) and the
    coordinator counts its acknowledgement anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import impl.node as node_module
from impl import versions
from impl.coordinator import read_repair_targets as _read_repair_targets
from impl.effects import Effect, Send
from impl.messages import HintDelivery, ReadRepair, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.versions import ClockMode, Record, encode_record
from spec import dvv

__all__ = ["MUTANTS", "Mutant"]

Mutant = Callable[[], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _patch(owner: Any, name: Any, value: Any) -> Iterator[None]:
    original = owner[name] if isinstance(owner, dict) else getattr(owner, name)
    if isinstance(owner, dict):
        owner[name] = value
    else:
        setattr(owner, name, value)
    try:
        yield
    finally:
        if isinstance(owner, dict):
            owner[name] = original
        else:
            setattr(owner, name, original)


@contextlib.contextmanager
def ack_before_w() -> Iterator[None]:
    def quorum(op: Any) -> bool:
        return bool(len(op.filled) >= op.w - 1)

    with _patch(node_module, "put_quorum_reached", quorum):
        yield


@contextlib.contextmanager
def hint_deleted_before_ack() -> Iterator[None]:
    original = Node._TIMERS["hints"]

    def scan(self: Node, now: float, ident: int, out: list[Effect]) -> None:
        start = len(out)
        original(self, now, ident, out)
        for effect in out[start:]:
            if isinstance(effect, Send) and isinstance(effect.message, HintDelivery):
                self.storage.remove_hint(effect.message.hint_id)

    with _patch(Node._TIMERS, "hints", scan):
        yield


def _merge_keeping_dominated(a: Record, b: Record) -> Record:
    merged = _MERGE(a, b)
    if a.mode is ClockMode.DVV:
        lost = [v for v in (*dvv.values(a.dvvset), *dvv.values(b.dvvset))
                if v not in dvv.values(merged.dvvset)]
        if lost:
            anonymous = tuple(sorted({*merged.dvvset.anonymous, *lost}))
            return Record(a.mode, dvvset=dvv.DVVSet(merged.dvvset.entries, anonymous))
        return merged
    kept = {s.value for s in merged.siblings}
    extra = tuple(s for s in (*a.siblings, *b.siblings) if s.value not in kept)
    return Record(a.mode, tuple({s.value: s for s in (*merged.siblings, *extra)}.values()))


def _merge_dropping_concurrent(a: Record, b: Record) -> Record:
    merged = _MERGE(a, b)
    if a.is_empty or b.is_empty:
        return merged
    if versions.sibling_count(merged) > max(versions.sibling_count(a),
                                            versions.sibling_count(b)):
        return a  # concurrent: one side is silently dropped
    return merged


_MERGE = versions.merge


@contextlib.contextmanager
def reconcile_keeps_dominated() -> Iterator[None]:
    with _patch(node_module, "merge", _merge_keeping_dominated):
        yield


@contextlib.contextmanager
def reconcile_drops_concurrent() -> Iterator[None]:
    with _patch(node_module, "merge", _merge_dropping_concurrent):
        yield


@contextlib.contextmanager
def read_repair_writes_older() -> Iterator[None]:
    def repair(self: Node, op: Any, out: list[Effect]) -> None:
        merged, stale = _read_repair_targets(op)
        older = [r for _, r in sorted(op.replies.items()) if _MERGE(r, merged) != r]
        oldest = older[0] if older else merged  # an answer missing something
        for node in stale:
            if node == self.name:
                self._write_local(op.key, _MERGE(self._local_record(op.key), oldest))
            elif not oldest.is_empty:
                out.append(Send(node, ReadRepair(op.key, encode_record(oldest))))

    with _patch(Node, "_read_repair", repair):
        yield


@contextlib.contextmanager
def fallback_ack_without_hint() -> Iterator[None]:
    def store_as_own(self: Node, now: float, src: str, message: ReplicaPut,
                     out: list[Effect]) -> None:
        record = self._decode(message.key, message.record)
        self._write_local(message.key, versions.merge(self._local_record(message.key),
                                                       record))
        out.append(Send(src, ReplicaPutAck(message.op_id, message.key)))

    def counts(op: Any, src: str, hint: str) -> str | None:
        if src in op.hinted:
            return str(op.hinted[src])
        return src if src in op.top and src in op.used else None

    with _patch(Node._HANDLERS, ReplicaPut, store_as_own), \
            _patch(node_module, "ack_counts", counts):
        yield


#: name -> mutant (a context manager factory)
MUTANTS: dict[str, Mutant] = {
    "ack-before-w": ack_before_w,
    "hint-deleted-before-ack": hint_deleted_before_ack,
    "reconcile-keeps-dominated": reconcile_keeps_dominated,
    "reconcile-drops-concurrent": reconcile_drops_concurrent,
    "read-repair-writes-older": read_repair_writes_older,
    "fallback-ack-without-hint": fallback_ack_without_hint,
}
