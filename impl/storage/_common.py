"""Argument checks and helpers shared by the storage engines.

Every engine refuses bad arguments the same way, before anything changes: a
``ValueError`` whose message names the argument and what was wrong with it.
"""

from __future__ import annotations

import heapq
from collections.abc import Container, Iterable

from impl.errors import InvalidValueError
from impl.storage.base import Hint, HintHead, Storage
from spec.ring import RING_SIZE

__all__ = [
    "FSYNC_POLICIES",
    "check_batch",
    "check_fsync",
    "check_hint_id",
    "check_key",
    "check_meta_name",
    "check_node",
    "check_record",
    "hints_page",
    "position_bytes",
    "removed_page",
    "scan_segments",
]

FSYNC_POLICIES = ("always", "buffered")


def check_fsync(fsync: object) -> str:
    if fsync not in FSYNC_POLICIES:
        raise InvalidValueError(f"fsync must be one of {FSYNC_POLICIES!r}, got {fsync!r}")
    assert isinstance(fsync, str)
    return fsync


def check_batch(batch: object) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InvalidValueError(f"batch must be an int >= 1, got {batch!r}")
    return batch


def check_key(key: object) -> bytes:
    if not isinstance(key, bytes):
        raise InvalidValueError(f"key must be bytes, got {type(key).__name__}: {key!r:.80}")
    return key


def check_record(record: object) -> bytes:
    if not isinstance(record, bytes):
        raise InvalidValueError(
            f"record must be bytes, got {type(record).__name__}: {record!r:.80}")
    return record


def check_node(node: object) -> str:
    if not isinstance(node, str) or not node:
        raise InvalidValueError(f"intended node must be a non-empty str, got {node!r:.80}")
    return node


def check_meta_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidValueError(f"meta name must be a non-empty str, got {name!r:.80}")
    return name


def hints_page(hints: Iterable[Hint], after: int | None, limit: int) -> list[HintHead]:
    """At most ``limit`` of ``hints`` whose id is above ``after`` (None: every id), in
    id order, as heads (:meth:`impl.storage.base.Storage.hint_heads` of an in-memory
    table)."""
    return [(hint.hint_id, hint.intended, hint.key) for hint in heapq.nsmallest(
        limit, (hint for hint in hints if after is None or hint.hint_id > after),
        key=lambda hint: hint.hint_id)]


def removed_page(engine: Storage, removed: Container[int], after: int | None,
                 limit: int) -> list[HintHead]:
    """A page of ``engine``'s hint heads (:meth:`~impl.storage.base.Storage.hint_heads`)
    less those in ``removed`` (a staged or queued view's removals): pages of the
    engine are read until ``limit`` are found or it has no more."""
    page: list[HintHead] = []
    while len(page) < limit:
        batch = engine.hint_heads(after, limit)
        page.extend(head for head in batch if head[0] not in removed)
        if len(batch) < limit:
            break
        after = batch[-1][0]
    return page[:limit]


def check_hint_id(hint_id: object) -> int:
    if isinstance(hint_id, bool) or not isinstance(hint_id, int):
        raise InvalidValueError(f"hint_id must be an int, got {hint_id!r:.80}")
    return hint_id


def _check_bound(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(f"scan {name} must be an int ring position, got {value!r:.80}")
    if not 0 <= value <= RING_SIZE:
        raise InvalidValueError(f"scan {name}={value} is outside the ring [0, 2**128]")
    return value


def scan_segments(lo: object, hi: object) -> list[tuple[int, int]]:
    """The non-wrapping half-open position segments a ``scan(lo, hi)`` covers, in order.

    ``lo <= hi``: the one segment ``[lo, hi)`` (empty when equal). ``lo > hi``: a
    range that wraps past the top of the ring, clockwise from ``lo``:
    ``[lo, RING_SIZE)`` then ``[0, hi)``. ``hi`` None is the end of the ring.
    """
    low = _check_bound("lo", lo)
    high = RING_SIZE if hi is None else _check_bound("hi", hi)
    if low <= high:
        return [(low, high)] if low < high else []
    return [(a, b) for a, b in ((low, RING_SIZE), (0, high)) if a < b]


def position_bytes(position: int) -> bytes:
    """A ring position as 16 big-endian bytes (sorts like the integer)."""
    return position.to_bytes(16, "big")
