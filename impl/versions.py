"""Versions of a key on the implementation side: the four clock modes, records.

Theory of operation
-------------------
A node stores, per key, one :class:`Record`: the key's current versions
(siblings) with their causal metadata, in the form the cluster's clock mode
needs. The record is what the storage engine keeps (as the bytes of
:func:`encode_record`), what replicas exchange, and what :func:`merge` combines:

- ``dvv`` (default): a :class:`spec.dvv.DVVSet` of byte values. A put is
  ``dvv.update(dvv.new(context, value), stored, coordinator)``: the coordinator's
  id is the new value's dot; every stored value whose dot the context covers is
  overwritten; the others stay as siblings. Replicas merge with ``dvv.sync``.
- ``server-vclock``: one vector clock per sibling. A put's clock is the
  context's clock with the coordinator's entry set to one more than the highest
  counter of that entry stored for the key. Two concurrent writes through the
  same coordinator thus get ordered clocks and the older one is lost: the paper's
  scheme, kept to show that loss.
- ``client-vclock``: the client increments its own entry (``client_id``) of the
  context's clock; concurrent writes by different clients stay siblings.
- ``lww``: last writer wins by the coordinator's timestamp (ties broken by the
  coordinator's name, then the value): one version, concurrent writes lost.

The vector-clock modes reconcile syntactically with :func:`spec.vclock.reconcile`
(the maximal antichain: dominated versions go, concurrent ones stay). The context
a get returns is the join of the record's clocks (``dvv.join`` / the merge of the
siblings' clocks); a put brings it back (see :mod:`impl.context`).

Record encoding (all integers big-endian): ``b"R" mode(1)`` then for ``dvv``
``entries(u32) { id(str) counter(u64) nvalues(u32) {value(blob)} } nanon(u32)
{value(blob)}``; for the vector-clock modes ``nsiblings(u32) { value(blob)
stamp(f64) writer(str) nclock(u32) {id(str) counter(u64)} }``; ``str`` is
``u16 length + UTF-8``, ``blob`` is ``u32 length + bytes``. Decoding is strict
(canonical order, an antichain of siblings, no trailing bytes: so a decoded
record encodes back to the same bytes) and raises :class:`BadMessageError`.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from impl.errors import BadMessageError
from spec import dvv
from spec.dvv import DVVSet, Entry
from spec.vclock import VClock, reconcile

__all__ = [
    "ClockMode",
    "Record",
    "Sibling",
    "apply_put",
    "context_clock",
    "context_pairs",
    "decode_record",
    "encode_record",
    "merge",
    "merge_all",
    "values",
]


class ClockMode(enum.Enum):
    """How a put's version is versioned (the spec's ``clock`` setting)."""

    DVV = "dvv"
    LWW = "lww"
    SERVER_VCLOCK = "server-vclock"
    CLIENT_VCLOCK = "client-vclock"


_MODE_CODES = {ClockMode.DVV: 1, ClockMode.LWW: 2, ClockMode.SERVER_VCLOCK: 3,
               ClockMode.CLIENT_VCLOCK: 4}
_CODE_MODES = {code: mode for mode, code in _MODE_CODES.items()}


@dataclass(frozen=True, slots=True)
class Sibling:
    """One version in the vector-clock and lww modes: the value, its clock, and the
    coordinator's timestamp and name (lww orders by them; other modes keep them as
    metadata)."""

    value: bytes
    clock: VClock
    stamp: float = 0.0
    writer: str = ""

    def __repr__(self) -> str:  # short and deterministic: reconcile sorts by repr
        digest = hashlib.md5(self.value).hexdigest()[:12]
        return f"Sibling({digest}, {self.clock!r}, {self.stamp!r}, {self.writer!r})"


@dataclass(frozen=True, slots=True)
class Record:
    """A key's versions in one clock mode. Use :data:`Record.empty` to start."""

    mode: ClockMode
    siblings: tuple[Sibling, ...] = ()
    dvvset: DVVSet[bytes] = dvv.EMPTY

    @staticmethod
    def empty(mode: ClockMode) -> Record:
        return Record(mode)

    @property
    def is_empty(self) -> bool:
        return not self.siblings and not self.dvvset.entries and not self.dvvset.anonymous


def values(record: Record) -> list[bytes]:
    """The record's sibling values, in a deterministic order."""
    if record.mode is ClockMode.DVV:
        return list(dvv.values(record.dvvset))
    return [s.value for s in record.siblings]


def context_clock(record: Record) -> VClock:
    """The causal context a get of this record returns (join of its clocks)."""
    if record.mode is ClockMode.DVV:
        return dvv.join_vclock(record.dvvset)
    clock = VClock()
    for sibling in record.siblings:
        clock = clock.merge(sibling.clock)
    return clock


def context_pairs(record: Record) -> tuple[tuple[str, int], ...]:
    """``context_clock(record).pairs``, computed without building the clock when the
    mode is dvv (the join of a DVVSet is its entries' ids and counters)."""
    if record.mode is ClockMode.DVV:
        return tuple(sorted((entry.id, entry.counter) for entry in record.dvvset.entries
                            if entry.counter))
    return context_clock(record).pairs


def _lww_key(sibling: Sibling) -> tuple[float, str, bytes]:
    return (sibling.stamp, sibling.writer, sibling.value)


def apply_put(
    record: Record, context: VClock, value: bytes, *, coordinator: str, client_id: str,
    now: float, client_counter: int = 0,
) -> Record:
    """The coordinator's put: the stored ``record`` after writing ``value`` with the
    client's ``context``, versioned by the record's clock mode. In client-vclock the
    client's entry becomes one more than the larger of the context's entry and
    ``client_counter`` (the last counter the client used), as in the spec."""
    mode = record.mode
    if mode is ClockMode.DVV:
        fresh = dvv.new_with_context(context, value)
        return Record(mode, dvvset=dvv.update(fresh, record.dvvset, coordinator))
    if mode is ClockMode.LWW:
        new = Sibling(value, VClock(), now, coordinator)
        return Record(mode, (max((*record.siblings, new), key=_lww_key),))
    if mode is ClockMode.SERVER_VCLOCK:
        stored = max((s.clock.counter(coordinator) for s in record.siblings), default=0)
        counters = dict(context.entries)
        counters[coordinator] = max(stored, counters.get(coordinator, 0)) + 1
        clock = VClock.of(counters)
    else:
        if not client_id:
            raise ValueError("client-vclock mode needs a client_id on every put")
        counter = max(context.counter(client_id), client_counter) + 1
        clock = VClock.of({**context.entries, client_id: counter})
    return Record(mode, reconcile((*record.siblings, Sibling(value, clock, now, coordinator))))


def replicated_part(before: Record, after: Record) -> Record:
    """What a coordinator sends its replicas after a put turned ``before`` into
    ``after``: in the vector-clock modes the new version alone (paper 4.5: the
    coordinator "sends the new version (along with the new vector clock)"); each
    replica reconciles it with what it stores. In dvv mode the whole DVVSet (its
    dots and causal past travel together) and in lww the winner, which is the record.
    """
    if after.mode in (ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK):
        new = tuple(sibling for sibling in after.siblings if sibling not in before.siblings)
        return Record(after.mode, new) if new else after
    return after


def merge(a: Record, b: Record) -> Record:
    """Combine two replicas' records of one key (commutative, idempotent)."""
    if a.mode is not b.mode:
        raise BadMessageError(f"cannot merge a {b.mode.value} record into a {a.mode.value} one")
    if b.is_empty or a == b:
        return a
    if a.is_empty:
        return b
    if a.mode is ClockMode.DVV:
        return Record(a.mode, dvvset=dvv.sync(a.dvvset, b.dvvset))
    if a.mode is ClockMode.LWW:
        return Record(a.mode, (max((*a.siblings, *b.siblings), key=_lww_key),))
    return Record(a.mode, reconcile((*a.siblings, *b.siblings)))


def merge_all(mode: ClockMode, records: Iterable[Record]) -> Record:
    result = Record.empty(mode)
    for record in records:
        result = merge(result, record)
    return result


def sibling_count(record: Record) -> int:
    if record.mode is ClockMode.DVV:
        return dvv.size(record.dvvset)
    return len(record.siblings)


# ---------------------------------------------------------------------------- encoding

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_F64 = struct.Struct(">d")


def _put_str(out: list[bytes], text: str) -> None:
    data = text.encode("utf-8")
    out.append(_U16.pack(len(data)))
    out.append(data)


def _put_blob(out: list[bytes], data: bytes) -> None:
    out.append(_U32.pack(len(data)))
    out.append(data)


def encode_record(record: Record) -> bytes:
    """The bytes a storage engine keeps for ``record`` (see the module docstring)."""
    out = [b"R", bytes([_MODE_CODES[record.mode]])]
    if record.mode is ClockMode.DVV:
        entries = record.dvvset.entries
        out.append(_U32.pack(len(entries)))
        for entry in entries:
            _put_str(out, entry.id)
            out.append(_U64.pack(entry.counter))
            out.append(_U32.pack(len(entry.values)))
            for value in entry.values:
                _put_blob(out, value)
        out.append(_U32.pack(len(record.dvvset.anonymous)))
        for value in record.dvvset.anonymous:
            _put_blob(out, value)
    else:
        out.append(_U32.pack(len(record.siblings)))
        for sibling in record.siblings:
            _put_blob(out, sibling.value)
            out.append(_F64.pack(sibling.stamp))
            _put_str(out, sibling.writer)
            out.append(_U32.pack(len(sibling.clock.pairs)))
            for node, counter in sibling.clock.pairs:
                _put_str(out, node)
                out.append(_U64.pack(counter))
    return b"".join(out)


class _Reader:
    __slots__ = ("data", "offset")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, size: int) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise BadMessageError("record is truncated")
        chunk = self.data[self.offset:end]
        self.offset = end
        return chunk

    def u16(self) -> int:
        value: int = _U16.unpack(self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = _U32.unpack(self.take(4))[0]
        return value

    def u64(self) -> int:
        value: int = _U64.unpack(self.take(8))[0]
        return value

    def f64(self) -> float:
        value: float = _F64.unpack(self.take(8))[0]
        return value

    def text(self) -> str:
        raw = self.take(self.u16())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadMessageError("record holds a name that is not UTF-8") from None

    def blob(self) -> bytes:
        return self.take(self.u32())

    def count(self, what: str) -> int:
        count = self.u32()
        if count > len(self.data) - self.offset:
            raise BadMessageError(f"record claims {count} {what}, more than its length")
        return count


def decode_record(data: bytes, mode: ClockMode | None = None) -> Record:
    """Parse a record; ``mode`` (if given) must match. Raises :class:`BadMessageError`
    naming the problem for anything malformed or non-canonical."""
    if not isinstance(data, bytes):
        raise BadMessageError(f"record must be bytes, got {type(data).__name__}")
    reader = _Reader(data)
    if reader.take(1) != b"R":
        raise BadMessageError("record does not start with the record marker")
    code = reader.take(1)[0]
    found = _CODE_MODES.get(code)
    if found is None:
        raise BadMessageError(f"record has unknown clock mode code {code}")
    if mode is not None and found is not mode:
        raise BadMessageError(f"record is in clock mode {found.value}, the cluster uses "
                              f"{mode.value}")
    try:
        if found is ClockMode.DVV:
            entries: list[Entry[bytes]] = []
            for _ in range(reader.count("entries")):
                name = reader.text()
                counter = reader.u64()
                vals = tuple(reader.blob() for _ in range(reader.count("values")))
                entries.append(Entry(name, counter, vals))
            anonymous = tuple(reader.blob() for _ in range(reader.count("values")))
            record = Record(found, dvvset=DVVSet(tuple(entries), anonymous))
        else:
            siblings: list[Sibling] = []
            for _ in range(reader.count("siblings")):
                value = reader.blob()
                stamp = reader.f64()
                writer = reader.text()
                pairs = tuple((reader.text(), reader.u64())
                              for _ in range(reader.count("clock entries")))
                siblings.append(Sibling(value, VClock(pairs), stamp, writer))
            if found is ClockMode.LWW and len(siblings) > 1:
                raise BadMessageError("an lww record holds at most one version")
            if tuple(siblings) != reconcile(siblings):
                raise BadMessageError("record siblings are not a canonical antichain")
            record = Record(found, tuple(siblings))
    except BadMessageError:
        raise
    except ValueError as error:
        raise BadMessageError(f"record is malformed: {error}") from None
    if reader.offset != len(data):
        raise BadMessageError("record has trailing bytes")
    return record
