"""The lww stamp floors a node keeps, and how they are stored.

Theory of operation
-------------------
In ``clock = "lww"`` a reap removes a tombstone, and with it the stamp the hybrid
logical clock would put a later put above (:func:`impl.versions.lww_version`). A
node that reaps a tombstone stamped ahead of its own clock keeps that stamp as
the key's *floor* until its clock passes it, and stamps a put of the key it
coordinates above it (:meth:`impl.replica.Replica.lww_now`; session 24); since
session 26 until its clock passes it by ``lww_floor_margin_s``, and a reap of a
tombstone less than that behind the clock keeps one too, for the floor's acks
(:meth:`impl.replica.Replica._lww_ack`). This
module owns the floors: key -> stamp (seconds), durable.

Storage: the floors are spread over :data:`BUCKETS` meta entries
(``lww-stamp-floors:<bucket in hex>``, a line ``<key in hex> <stamp as
float.hex>`` each; a key's bucket is its CRC-32 modulo :data:`BUCKETS`), and a
change rewrites only the entries of the keys it touches. Until session 25 one
entry held them all and every reap that kept a floor rewrote it whole: 5,000
floors (a node 30 s behind a cluster reaping about 170 keys a second) cost 0.28
MB and 19.8 ms of SQLite per reap (session 25's review, docs/runtime.md). That
single entry (:data:`impl.versions.LWW_FLOORS_META`) is still read at a start,
its floors moved into the buckets and the entry emptied.

Dropping: a min-heap of (stamp, key) finds the floors a clock passed without a
scan (stale heap entries, of a floor raised since, are skipped as they come up).
"""

from __future__ import annotations

import heapq
import zlib

from impl.storage.base import Storage
from impl.versions import LWW_FLOORS_META

__all__ = ["BUCKETS", "LwwFloors", "bucket_meta"]

#: how many meta entries the floors are spread over
BUCKETS = 256


def bucket_meta(key: bytes) -> str:
    """The meta entry holding ``key``'s floor."""
    return f"{LWW_FLOORS_META}:{zlib.crc32(key) % BUCKETS:02x}"


def _parse(raw: bytes | None) -> dict[bytes, float]:
    """The floors of one meta entry (None or empty: none)."""
    if not raw:
        return {}
    lines = (line.partition(" ") for line in raw.decode("ascii").split("\n"))
    return {bytes.fromhex(key): float.fromhex(stamp) for key, _, stamp in lines}


class LwwFloors:
    """Node's lww stamp floors, kept in ``storage``'s meta entries (written through
    ``storage``: the node's staged view, so a change is durable with the input's
    other writes -- a reap's removal, a put's record)."""

    def __init__(self, storage: Storage, *, load: bool = True) -> None:
        self.storage = storage
        #: bucket meta name -> (key -> floor in seconds)
        self._buckets: dict[str, dict[bytes, float]] = {}
        self._heap: list[tuple[float, bytes]] = []
        if not load:
            return
        for index in range(BUCKETS):
            name = f"{LWW_FLOORS_META}:{index:02x}"
            floors = _parse(storage.get_meta(name))
            if floors:
                self._buckets[name] = floors
        legacy = _parse(storage.get_meta(LWW_FLOORS_META))  # session 24's one entry
        for key, stamp in legacy.items():
            self.raise_to(key, stamp)
        if legacy:
            storage.set_meta(LWW_FLOORS_META, b"")
        self._heap = [(stamp, key) for floors in self._buckets.values()
                      for key, stamp in floors.items()]
        heapq.heapify(self._heap)

    def get(self, key: bytes) -> float | None:
        """``key``'s floor (seconds), or None."""
        floors = self._buckets.get(bucket_meta(key))
        return None if floors is None else floors.get(key)

    def as_dict(self) -> dict[bytes, float]:
        """Every floor: key -> stamp (seconds; a new dict)."""
        return {key: stamp for floors in self._buckets.values() for key, stamp in floors.items()}

    def raise_to(self, key: bytes, stamp: float) -> bool:
        """Make ``stamp`` (seconds) ``key``'s floor if it is above the key's floor
        (none: always), and write its entry; whether it rose."""
        name = bucket_meta(key)
        floors = self._buckets.setdefault(name, {})
        if stamp <= floors.get(key, float("-inf")):
            return False
        floors[key] = stamp
        heapq.heappush(self._heap, (stamp, key))
        self._write(name)
        return True

    def drop_passed(self, now: float) -> None:
        """Drop the floors ``now`` (seconds) passed, and write their entries."""
        heap, touched = self._heap, set()
        while heap and heap[0][0] < now:
            stamp, key = heapq.heappop(heap)
            name = bucket_meta(key)
            floors = self._buckets.get(name)
            if floors is not None and floors.get(key) == stamp:
                del floors[key]
                touched.add(name)
        for name in sorted(touched):
            self._write(name)

    def _write(self, name: str) -> None:
        floors = self._buckets[name]
        self.storage.set_meta(name, "\n".join(
            f"{key.hex()} {stamp.hex()}" for key, stamp in sorted(floors.items())
        ).encode("ascii"))
        if not floors:
            del self._buckets[name]
