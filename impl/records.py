"""A key's stored versions as a value (:class:`Record`) and as bytes.

Theory of operation
-------------------
A node stores, per key, one :class:`Record`: the key's current versions
(siblings) with their causal metadata, in the form the cluster's clock mode
(:class:`ClockMode`) needs: a :class:`spec.dvv.DVVSet` of byte values in the
``dvv`` mode, a tuple of :class:`Sibling` (value, vector clock, the
coordinator's timestamp and name) in the vector-clock and ``lww`` modes, with
the :class:`Truncation` policy (paper 4.4) the record was written under. What a
put, a merge or a get does with a record is :mod:`impl.versions`; this module
is the value and its one byte form.

The storage engine keeps a record as the bytes of :func:`encode_record`, and
replicas exchange those bytes (``record`` fields of :mod:`impl.messages`);
:func:`decode_record` reads them back. The encoding is canonical: one record,
one byte string, so two replicas holding the same versions hold equal bytes,
and Merkle anti-entropy (:func:`impl.merkle.record_digest`) compares records by
digest. Decoding therefore refuses anything a correct encoder would not write
(a non-canonical order, siblings that are not an antichain, trailing bytes),
naming the problem in a :class:`~impl.errors.BadMessageError`, so bytes from a
peer or a damaged disk never become a record that encodes differently.


"""

from __future__ import annotations

import enum
import functools
import hashlib
import itertools
import math
import struct
from dataclasses import dataclass
from typing import Any

from impl.errors import BadMessageError, ConfigError
from impl.quick_init import quick_init
from spec import dvv
from spec.dvv import DVVSet, Entry
from spec.vclock import VClock, reconcile

__all__ = [
    "ClockMode",
    "Record",
    "Sibling",
    "Truncation",
    "decode_record",
    "encode_record",
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


@quick_init
@dataclass(frozen=True, slots=True, order=True)
class Truncation:
    """The paper's clock truncation (section 4.4) with Riak's age rules
    (riak_core ``vclock:prune/3``: ``small_vclock``, ``big_vclock``,
    ``young_vclock``, ``old_vclock``).

    A clock of at most ``threshold`` pairs is kept whole (the paper's 10;
    Riak's small_vclock). Above it the oldest pair (least recently incremented,
    ties by id) is dropped, one at a time, while the clock has more than
    ``max_pairs`` pairs (Riak's big_vclock; unlike Riak, even a young pair goes,
    so the context always fits the cluster's context limit), or while the oldest
    pair is older than ``old_s`` seconds and not younger than ``young_s``
    (Riak's old_vclock and young_vclock). Ages are measured from the newest pair
    of the record, so every replica truncates a record the same way. This counts
    the pairs to keep; :func:`impl.versions.truncate` keeps each sibling's own
    pair too (session 30), within ``max_pairs`` (its review: the oldest other
    pairs go first).
    ``ConfigError`` names a bad field.
    """

    threshold: int = 10
    max_pairs: int = 50
    young_s: float = 20.0
    old_s: float = 86400.0

    def __post_init__(self) -> None:
        for name in ("threshold", "max_pairs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not (
                    1 <= value <= 0xFFFF):
                raise ConfigError(f"{name}: must be an int in [1, 65535], got {value!r}")
        if self.max_pairs < self.threshold:
            raise ConfigError(f"max_pairs: must be >= threshold ({self.threshold}), got "
                              f"{self.max_pairs}")
        for name in ("young_s", "old_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name}: must be a finite number of seconds >= 0, "
                                  f"got {value!r}")
            object.__setattr__(self, name, float(value))

    def pairs_to_keep(self, clock: VClock) -> int:
        """How many of ``clock``'s pairs survive (its oldest others are dropped,
        in :meth:`spec.vclock.VClock.prune`'s order)."""
        count = len(clock.pairs)
        if count <= self.threshold:
            return count
        times = dict(clock.times)
        newest = max(times.values(), default=-math.inf)
        keep = count
        for node, _ in sorted(clock.pairs, key=lambda p: (times.get(p[0], -math.inf), p[0])):
            if keep <= self.threshold:
                break
            if keep > self.max_pairs:
                keep -= 1
                continue
            stamp = times.get(node)
            age = math.inf if stamp is None else newest - stamp
            if age < self.young_s or age <= self.old_s:
                break
            keep -= 1
        return keep


@quick_init
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


@quick_init
@dataclass(frozen=True, slots=True)
class Record:
    """A key's versions in one clock mode. Use :data:`Record.empty` to start."""

    mode: ClockMode
    siblings: tuple[Sibling, ...] = ()
    dvvset: DVVSet[bytes] = dvv.EMPTY
    #: the truncation policy the record was written under (vector-clock modes)
    truncation: Truncation | None = None
    #: client-vclock: the highest counter truncation dropped from the record's
    #: clocks (0: none), which a client's next counter exceeds
    #: (:func:`impl.versions.apply_put`); kept only with a ``truncation`` policy
    floor: int = 0
    #: client-vclock: the pairs truncation cut from the record's clocks, each at the
    #: highest counter cut (sorted by node, at most
    #: :func:`impl.versions.dropped_bytes_kept`): every version whose own pair (its dot)
    #: is one of them at that counter or below is in the record's causal past, and
    #: goes when it meets it (session 59); kept only with a ``truncation`` policy
    dropped: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def empty(mode: ClockMode) -> Record:
        return Record(mode)

    @property
    def is_empty(self) -> bool:
        return not self.siblings and not self.dvvset.entries and not self.dvvset.anonymous



# ---------------------------------------------------------------------------- encoding

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_F64 = struct.Struct(">d")
_POLICY = struct.Struct(">IIdd")


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
            times = dict(sibling.clock.times)
            for node, counter in sibling.clock.pairs:
                _put_str(out, node)
                out.append(_U64.pack(counter))
                out.append(_F64.pack(times.get(node, -math.inf)))
        policy = record.truncation
        if policy is None or record.mode is ClockMode.LWW:
            out.append(b"\x00")
        else:
            out.append(b"\x03" if record.dropped else b"\x02" if record.floor else b"\x01")
            out.append(_POLICY.pack(policy.threshold, policy.max_pairs, policy.young_s,
                                    policy.old_s))
            if record.floor or record.dropped:
                out.append(_U64.pack(record.floor))
            if record.dropped:
                out.append(_U32.pack(len(record.dropped)))
                for node, counter in record.dropped:
                    data = node.encode("utf-8")
                    out.append(_U16.pack(len(data)))
                    out.append(data)
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

    # (the numbers are read in place, ``unpack_from``, with the same bounds check
    # and error as :meth:`take`, rather than from a slice taken first: session 36)

    def _number(self, fmt: struct.Struct) -> Any:
        offset = self.offset
        end = offset + fmt.size
        if end > len(self.data):
            raise BadMessageError("record is truncated")
        self.offset = end
        return fmt.unpack_from(self.data, offset)[0]

    def u16(self) -> int:
        value: int = self._number(_U16)
        return value

    def u32(self) -> int:
        value: int = self._number(_U32)
        return value

    def u64(self) -> int:
        value: int = self._number(_U64)
        return value

    def f64(self) -> float:
        value: float = self._number(_F64)
        return value

    def text(self) -> str:
        raw = self.take(self._number(_U16))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadMessageError("record holds a name that is not UTF-8") from None

    def pairs(self, count: int) -> list[tuple[str, int]]:
        """``count`` (name, u64) pairs, read in one loop (a record's dropped pairs,
        hundreds of them: :meth:`text` and :meth:`u64` a pair took twice as long)."""
        data, offset, size = self.data, self.offset, len(self.data)
        out: list[tuple[str, int]] = []
        try:
            for _ in range(count):
                (length,) = _U16.unpack_from(data, offset)
                end = offset + 2 + length
                if end + 8 > size:
                    raise BadMessageError("record is truncated")
                out.append((data[offset + 2:end].decode("utf-8"),
                            _U64.unpack_from(data, end)[0]))
                offset = end + 8
        except struct.error:
            raise BadMessageError("record is truncated") from None
        except UnicodeDecodeError:
            raise BadMessageError("record holds a name that is not UTF-8") from None
        self.offset = offset
        return out

    def blob(self) -> bytes:
        return self.take(self._number(_U32))

    def count(self, what: str) -> int:
        count: int = self._number(_U32)
        if count > len(self.data) - self.offset:
            raise BadMessageError(f"record claims {count} {what}, more than its length")
        return count


@functools.lru_cache(maxsize=256)
def _dropped_of(block: bytes, floor: int) -> tuple[tuple[str, int], ...]:
    """The dropped pairs a record's last ``block`` of bytes holds (a u32 count, then
    the pairs), checked (:func:`_check_dropped`). Cached: a node decodes a key's
    record at every access, and its dropped pairs (up to 200) are most of the work
    while they change only at a truncation (session 59: 400 distinct writers of one
    key, 2.2 -> 1.7 CPU-s on the simulator). Raises :class:`BadMessageError`."""
    reader = _Reader(block)
    dropped = reader.pairs(reader.count("dropped pairs"))
    if reader.offset != len(block):
        raise BadMessageError("record has trailing bytes")
    _check_dropped(dropped, floor)
    return tuple(dropped)


def _check_dropped(dropped: list[tuple[str, int]], floor: int) -> None:
    """A record's dropped pairs are canonical: at least one, sorted by node, each
    node once, each counter in [1, floor] (a cut raises the floor to the highest
    counter it drops)."""
    if not dropped:
        raise BadMessageError("record flags dropped pairs and holds none")
    if any(a[0] >= b[0] for a, b in itertools.pairwise(dropped)):
        raise BadMessageError("record's dropped pairs are not sorted by node, each once")
    if not 1 <= min(c for _, c in dropped) <= max(c for _, c in dropped) <= floor:
        raise BadMessageError(f"record holds a dropped pair's counter outside [1, {floor}] "
                              f"(its floor)")


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
                pairs: list[tuple[str, int]] = []
                times: list[tuple[str, float]] = []
                for _ in range(reader.count("clock entries")):
                    node, counter, when = reader.text(), reader.u64(), reader.f64()
                    pairs.append((node, counter))
                    if when != -math.inf:
                        if not math.isfinite(when):
                            raise BadMessageError("record holds a clock time that is not "
                                                  "finite")
                        times.append((node, when))
                siblings.append(Sibling(value, VClock(tuple(pairs), tuple(times)), stamp,
                                        writer))
            if found is ClockMode.LWW and len(siblings) > 1:
                raise BadMessageError("an lww record holds at most one version")
            if tuple(siblings) != reconcile(siblings):
                raise BadMessageError("record siblings are not a canonical antichain")
            policy = None
            floor = 0
            dropped: tuple[tuple[str, int], ...] = ()
            flag = reader.take(1)
            if flag in (b"\x01", b"\x02", b"\x03") and found is not ClockMode.LWW:
                policy = Truncation(*_POLICY.unpack(reader.take(_POLICY.size)))
                if flag != b"\x01":
                    floor = reader.u64()
                    if not floor:
                        raise BadMessageError("record has a truncation floor of 0")
                if flag == b"\x03":  # the record's last field: its bytes to the end
                    dropped = _dropped_of(data[reader.offset:], floor)
                    reader.offset = len(data)
            elif flag != b"\x00":
                raise BadMessageError("record has a bad truncation flag")
            record = Record(found, tuple(siblings), truncation=policy, floor=floor,
                            dropped=dropped)
    except BadMessageError:
        raise
    except ValueError as error:
        raise BadMessageError(f"record is malformed: {error}") from None
    if reader.offset != len(data):
        raise BadMessageError("record has trailing bytes")
    return record
