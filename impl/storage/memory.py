"""The in-memory storage engine, with a disk model for crash tests.

Theory of operation
-------------------
:class:`MemoryStorage` implements :class:`impl.storage.base.Storage` in process
memory. The simulator uses it for speed, so it also models what a disk would
keep across a process crash:

- ``fsync="always"``: every change is durable when the call returns, so
  :meth:`MemoryStorage.crash` keeps everything.
- ``fsync="buffered"``: changes are durable only once flushed: at
  :meth:`~MemoryStorage.flush`, and automatically after every ``batch``
  buffered changes (as the SQLite engine commits its batches). A crash loses the
  changes since the last flush, and only those.

The live data is kept once; buffered mode adds an *undo log* holding, for each
key (hint, meta name) changed since the last flush, the value the disk still
has. :meth:`~MemoryStorage.crash` rolls the live data back through the undo
log; a flush just forgets it. So a crash costs O(changes since the flush) and
the memory overhead is O(unflushed changes), not a second copy of the data.

Keys are kept ordered by ring position (MD5, :func:`spec.ring.key_position`) in
a *chunked sorted list* (the layout of ``sortedcontainers.SortedList``): sorted
chunks of at most ``2 * _LOAD`` entries plus the list of each chunk's last
entry, so a new key costs two binary searches and a memmove of one chunk, and
:meth:`~MemoryStorage.scan` of a key range is a binary search plus slices. An
entry is one bytes object: the 16-byte big-endian position followed by the key,
which sorts by (position, key). Per stored key the engine keeps a dict entry and
that entry (17 bytes + the key, plus a list slot) besides the key and record.
A new key's entry waits in an unsorted list until the index is read (a scan, a
delete, a crash's roll-back): a scan is rare beside writes (a ring change, a
replaced disk), so most writes of a new key append (session 32). Few waiting
entries go in one by one; many make the index sorted again in one pass (two
sorted runs, which Python's sort merges in linear time).

Hint ids are never reused, not even after a crash (a stale acknowledgement for a
lost hint can never remove a newer one), and grow until a start moves the count
(:meth:`MemoryStorage.start_hints_at`, below: possibly under the kept ids). They
count from ``first_hint_id`` (1 by default): a store that replaces a lost one (a new
disk of the same node) is given a first id of its own (:class:`impl.cluster.SimulatedCluster`
draws it, seeded, from ``[2**32, 2**62)``: above every id the node's first store
used, and apart from the other replacements' by probability, not by order, about
``hints / 2**62`` for a collision), so a late acknowledgement of the old disk's
hint cannot remove the new disk's hint of the same number (session 34,
``tests/impl/test_hint_ack_after_disk_loss.py``). A store *restored from an older
backup* (a deep copy put back, the simulator's way) repeats the counter of the
backup's time, so :meth:`MemoryStorage.start_hints_at` moves the count of a store a
node starts on again to a new first id (the simulator draws one at every start but a
new store's first, from the start's seed, which no restore rolls back; session 35:
a late ``HintAck`` of a hint issued since the backup removed the restored store's
new hint of the same id, ``tests/impl/test_hint_ids_after_restore.py``). A new id
never takes the place of a hint the store keeps (the count skips kept ids).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from impl.errors import InvalidValueError, StorageError
from impl.positions import position_of
from impl.storage._common import (
    check_batch,
    check_fsync,
    check_hint_id,
    check_key,
    check_meta_name,
    check_node,
    check_record,
    hints_page,
    scan_segments,
)
from impl.storage.base import FsyncPolicy, Hint, HintHead
from spec.ring import RING_SIZE

__all__ = ["MemoryStorage"]

_ABSENT: None = None
_POSITION_BYTES = 16
_LOAD = 1000  # chunks hold between 1 and 2 * _LOAD entries
#: the waiting entries go in one by one while they are fewer than the index's
#: entries over this; more, the index is sorted again (:meth:`MemoryStorage._settle`)
_ONE_BY_ONE = 16


def _entry(key: bytes) -> bytes:
    """The ring index entry of ``key``: its position (16 bytes, big-endian), then the key."""
    return position_of(key).to_bytes(_POSITION_BYTES, "big") + key


def _check_first_hint_id(first_hint_id: object) -> int:
    """``first_hint_id`` if it is an int from 1 to 2**62, else InvalidValueError."""
    checked = check_hint_id(first_hint_id)
    if not 1 <= checked <= 1 << 62:
        raise InvalidValueError(f"first_hint_id must be from 1 to 2**62, got {checked}")
    return checked


class MemoryStorage:
    """An in-memory :class:`~impl.storage.base.Storage` with a crash model.

    ``fsync``: ``"always"`` (every change survives :meth:`crash`) or
    ``"buffered"`` (changes survive once flushed; a flush happens at
    :meth:`flush` and after every ``batch`` buffered changes).
    ``first_hint_id``: the id of the first hint (an int from 1 to 2**62; 1 by
    default), the others counting up from it: a store replacing a lost disk of the
    same node must start above every id the lost one used (see the module
    docstring). Raises InvalidValueError for a bad argument.
    """

    def __init__(self, fsync: FsyncPolicy = "always", *, batch: int = 1000,
                 first_hint_id: int = 1) -> None:
        self.fsync: FsyncPolicy = check_fsync(fsync)  # type: ignore[assignment]
        self.batch = check_batch(batch)
        _check_first_hint_id(first_hint_id)
        self._records: dict[bytes, bytes] = {}
        self._chunks: list[list[bytes]] = []  # sorted entries: position (16 bytes) + key
        self._maxes: list[bytes] = []  # the last entry of each chunk
        #: entries of keys written since the index was last read, not in it yet
        #: (every stored key's entry is in exactly one of the two)
        self._waiting: list[bytes] = []
        self._hints: dict[int, Hint] = {}
        self._meta: dict[str, bytes] = {}
        self._next_hint_id = first_hint_id
        self._closed = False
        # buffered mode: what the disk still holds for everything changed since the flush
        self._undo_records: dict[bytes, bytes | None] = {}
        self._undo_hints: dict[int, Hint | None] = {}
        self._undo_meta: dict[str, bytes | None] = {}
        self._pending = 0
        #: number of flushes that made buffered changes durable (for tests and benchmarks)
        self.flushes = 0

    # ------------------------------------------------------------------ versions

    def read(self, key: bytes) -> bytes | None:
        """The record stored under ``key``, or None."""
        self._check_open()
        return self._records.get(check_key(key))

    def write(self, key: bytes, record: bytes) -> None:
        """Store ``record`` under ``key`` (replacing what was there)."""
        self._check_open()
        check_key(key)
        check_record(record)
        old = self._records.get(key)
        if self.fsync == "buffered" and key not in self._undo_records:
            self._undo_records[key] = old
        if old is None:
            self._waiting.append(_entry(key))  # (a new key: in the index when it is read)
        self._records[key] = record
        self._changed()

    def delete(self, key: bytes) -> None:
        """Remove ``key`` and its record (nothing happens if it is absent)."""
        self._check_open()
        check_key(key)
        old = self._records.get(key)
        if old is None:
            return
        if self.fsync == "buffered" and key not in self._undo_records:
            self._undo_records[key] = old
        del self._records[key]
        self._index_remove(_entry(key))
        self._changed()

    def scan(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Keys whose ring position p is in ``[lo, hi)``, in position order, with records.

        ``hi`` None means the end of the ring. ``lo > hi`` is a range wrapping past
        the top of the ring: ``[lo, 2**128)`` then ``[0, hi)``. ``lo == hi`` is empty.
        The keys are chosen when scan is called; a key deleted while iterating is
        skipped, a key rewritten while iterating yields its newest record.
        """
        self._check_open()
        chosen: list[bytes] = []
        for low, high in scan_segments(lo, hi):
            self._index_range(low, high, chosen)
        return self._iterate(chosen)

    def _iterate(self, entries: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
        records = self._records
        for entry in entries:
            key = entry[_POSITION_BYTES:]
            record = records.get(key)
            if record is not None:
                yield key, record

    def __len__(self) -> int:
        """Number of stored keys."""
        return len(self._records)

    # ------------------------------------------------------------------ hints

    def add_hint(self, intended: str, key: bytes, record: bytes) -> int:
        """Keep ``record`` of ``key`` for node ``intended``; returns the new hint's id."""
        self._check_open()
        while self._next_hint_id in self._hints:  # never in the place of a kept hint
            self._next_hint_id += 1
        hint = Hint(self._next_hint_id, check_node(intended), check_key(key), check_record(record))
        self._next_hint_id += 1
        if self.fsync == "buffered":
            self._undo_hints.setdefault(hint.hint_id, _ABSENT)
        self._hints[hint.hint_id] = hint
        self._changed()
        return hint.hint_id

    def start_hints_at(self, first_hint_id: int) -> None:
        """Number the hints taken from now on from ``first_hint_id`` (an int from 1 to
        2**62); the kept hints keep their ids. For a start on a store that may have
        been restored from an older backup (see the module docstring): the start
        must not count on from the backup's counter, which the starts since the
        backup used. InvalidValueError for a bad id (nothing changes)."""
        self._next_hint_id = _check_first_hint_id(first_hint_id)

    def hints(self) -> list[Hint]:
        """Every hint kept, in id order."""
        self._check_open()
        return sorted(self._hints.values(), key=lambda h: h.hint_id)

    def hints_of(self, key: bytes) -> list[Hint]:
        """The hints kept of ``key``, in id order."""
        self._check_open()
        return sorted((hint for hint in self._hints.values() if hint.key == key),
                      key=lambda h: h.hint_id)

    def hint_nodes(self) -> set[str]:
        """The nodes some kept hint is meant for."""
        self._check_open()
        return {hint.intended for hint in self._hints.values()}

    def hint_heads(self, after: int | None, limit: int) -> list[HintHead]:
        """At most ``limit`` hints whose id is above ``after`` (None: from the first),
        in id order, without their records."""
        self._check_open()
        return hints_page(self._hints.values(), after, limit)

    def get_hint(self, hint_id: int) -> Hint | None:
        """The hint with id ``hint_id``, or None (an extra: not in the base protocol)."""
        self._check_open()
        return self._hints.get(check_hint_id(hint_id))

    def remove_hint(self, hint_id: int) -> None:
        """Forget a hint (after its intended node acknowledged it); unknown ids are ignored."""
        self._check_open()
        hint = self._hints.pop(check_hint_id(hint_id), None)
        if hint is None:
            return
        if self.fsync == "buffered":
            self._undo_hints.setdefault(hint_id, hint)
        self._changed()

    # ------------------------------------------------------------------ meta

    def get_meta(self, name: str) -> bytes | None:
        """The node's own persisted value ``name`` (membership history, tokens...), or None."""
        self._check_open()
        return self._meta.get(check_meta_name(name))

    def set_meta(self, name: str, value: bytes) -> None:
        """Persist the node's own value ``name``."""
        self._check_open()
        check_meta_name(name)
        if not isinstance(value, bytes):
            raise InvalidValueError(f"meta value must be bytes, got {type(value).__name__}")
        if self.fsync == "buffered" and name not in self._undo_meta:
            self._undo_meta[name] = self._meta.get(name)
        self._meta[name] = value
        self._changed()

    # ------------------------------------------------------------------ durability

    def flush(self) -> None:
        """Make every change so far durable (a no-op with ``fsync="always"``)."""
        self._check_open()
        self._make_durable()

    def close(self) -> None:
        """Flush and close; every later call raises :class:`~impl.errors.StorageError`."""
        if not self._closed:
            self._make_durable()
            self._closed = True

    def crash(self) -> None:
        """Model a process crash and restart on the same disk.

        Afterwards the engine holds exactly what a disk would: everything with
        ``fsync="always"``; with ``"buffered"``, the state as of the last flush.
        The engine is open again (a closed engine is reopened), ready for the
        restarted node.
        """
        for key, durable in self._undo_records.items():
            live = self._records.get(key)
            if durable is None:
                if live is not None:
                    del self._records[key]
                    self._index_remove(_entry(key))
            else:
                if live is None:
                    self._index_insert(_entry(key))
                self._records[key] = durable
        for hint_id, durable_hint in self._undo_hints.items():
            if durable_hint is None:
                self._hints.pop(hint_id, None)
            else:
                self._hints[hint_id] = durable_hint
        for name, durable_value in self._undo_meta.items():
            if durable_value is None:
                self._meta.pop(name, None)
            else:
                self._meta[name] = durable_value
        self._forget_undo()
        self._closed = False

    @property
    def pending(self) -> int:
        """Buffered changes not yet durable (always 0 with ``fsync="always"``)."""
        return self._pending

    # ------------------------------------------------------------------ internals

    def _changed(self) -> None:
        if self.fsync == "buffered":
            self._pending += 1
            if self._pending >= self.batch:
                self._make_durable()

    def _make_durable(self) -> None:
        if self._pending:
            self.flushes += 1
        self._forget_undo()

    def _forget_undo(self) -> None:
        self._undo_records.clear()
        self._undo_hints.clear()
        self._undo_meta.clear()
        self._pending = 0

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the storage engine is closed")

    def _index_insert(self, entry: bytes) -> None:
        chunks, maxes = self._chunks, self._maxes
        if not maxes:
            chunks.append([entry])
            maxes.append(entry)
            return
        i = bisect.bisect_left(maxes, entry)
        if i == len(maxes):
            i -= 1
            chunk = chunks[i]
            chunk.append(entry)
            maxes[i] = entry
        else:
            chunk = chunks[i]
            bisect.insort(chunk, entry)
        if len(chunk) > 2 * _LOAD:
            tail = chunk[_LOAD:]
            del chunk[_LOAD:]
            maxes[i] = chunk[-1]
            chunks.insert(i + 1, tail)
            maxes.insert(i + 1, tail[-1])

    def _settle(self) -> None:
        """Put the waiting entries in the index: one by one when few, else by
        sorting every entry again and cutting the chunks anew."""
        waiting = self._waiting
        if not waiting:
            return
        self._waiting = []
        if len(waiting) * _ONE_BY_ONE < len(self._records):
            for entry in waiting:
                self._index_insert(entry)
            return
        entries = [entry for chunk in self._chunks for entry in chunk]
        entries += waiting
        entries.sort()
        self._chunks = [entries[at:at + _LOAD] for at in range(0, len(entries), _LOAD)]
        self._maxes = [chunk[-1] for chunk in self._chunks]

    def _index_remove(self, entry: bytes) -> None:
        self._settle()
        chunks, maxes = self._chunks, self._maxes
        i = bisect.bisect_left(maxes, entry)
        chunk = chunks[i]
        j = bisect.bisect_left(chunk, entry)
        assert chunk[j] == entry, "the ring index lost a key"
        del chunk[j]
        if not chunk:
            del chunks[i]
            del maxes[i]
        elif j == len(chunk):
            maxes[i] = chunk[-1]

    def _index_range(self, low: int, high: int, out: list[bytes]) -> None:
        """Append the entries with ``low <= position < high`` to ``out``, in order."""
        self._settle()
        chunks, maxes = self._chunks, self._maxes
        first = low.to_bytes(_POSITION_BYTES, "big")
        last = None if high >= RING_SIZE else high.to_bytes(_POSITION_BYTES, "big")
        i = bisect.bisect_left(maxes, first)
        start = bisect.bisect_left(chunks[i], first) if i < len(chunks) else 0
        while i < len(chunks):
            chunk = chunks[i]
            if last is not None and maxes[i] >= last:
                out.extend(chunk[start:bisect.bisect_left(chunk, last, lo=start)])
                return
            out.extend(chunk[start:])
            start = 0
            i += 1

    def __repr__(self) -> str:
        return (
            f"MemoryStorage(fsync={self.fsync!r}, keys={len(self._records)}, "
            f"hints={len(self._hints)}, pending={self._pending})"
        )
