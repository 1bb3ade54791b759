"""Fingerprints of states and the explorer's compact seen-set.

Theory of operation
-------------------
The explorer never keeps the states it has seen: it keeps a 64-bit
*fingerprint* of each canonical state, in sorted numpy arrays
(:class:`SeenSet`), 8 bytes a state (12 with the optional parallel array of
state indices that the liveness check needs to name edge targets). A Python
``set`` of ints would cost 60-70 bytes a state.

Membership is tested a batch at a time: the explorer expands a chunk of the
frontier, collects the fingerprints of the successors in a Python list, and
asks :meth:`SeenSet.contains` about all of them at once (``np.searchsorted``
per sorted tier, the batch sorted first when large: :data:`SORT_QUERIES`). New
fingerprints become a small tier, merged with larger ones (``np.insert``, a linear
merge) as it grows, log-structured. All of it is
vectorised, so the per-state cost in Python is one ``hash()`` and a few list
appends.

Which fingerprint
-----------------
* :func:`fast_fingerprint` is Python's ``hash()`` of the canonical state. It is
  the default: fast (a frozen state can cache its hash) and good enough
  *within one process*. Python randomises the hash of strings per process
  (``PYTHONHASHSEED``), so these fingerprints must never be stored or compared
  across processes. The explorer does neither: traces store actions, and the
  order of the search depends on the successor order only, never on hashes, so
  state counts and counterexamples are the same in every process.
  It is also what the parallel workers use (:mod:`model_check.parallel`): they
  are forked from one process, so they share its hash secret, and the hashes
  cached in the states they inherit were computed with it: their ``hash()``
  agrees. Not so for the Ray actors (:mod:`model_check.distributed`): their
  states arrive pickled with the hashes the driver cached under its own
  secret, so equal states built on both sides could hash apart; they keep
  :func:`stable_fingerprint`.
* :func:`stable_fingerprint` is the first 8 bytes of BLAKE2b over ``repr()`` of
  the state, the same in every process (given a ``repr`` that is canonical, as
  the spec's frozen dataclasses of sorted tuples are). Use it for anything that
  is *stored* or compared across runs; on a spec state it costs about 50 us
  against 0.1 us for the cached ``hash()`` (500x), which made ``--workers``
  cost three times the serial explorer's CPU before the workers switched.

Collision probability
---------------------
Two distinct states with one 64-bit fingerprint make the explorer treat the
second as seen and skip it (a missed state, never a false alarm). For ``n``
states and a well-mixed 64-bit hash the chance of any collision is about
``n**2 / 2**65``: 2.7e-8 at 10**6 states, 2.7e-6 at 10**7, 2.7e-4 at 10**8.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt

from model_check.errors import CheckError

__all__ = ["FP_DTYPE", "INDEX_DTYPE", "SORT_QUERIES", "SeenSet", "fast_fingerprint",
           "stable_fingerprint"]

FP_DTYPE = np.int64
INDEX_DTYPE = np.uint32

Fingerprints = npt.NDArray[np.int64]
Indices = npt.NDArray[np.uint32]


def fast_fingerprint(state: object) -> int:
    """Python's ``hash()``: a signed 64-bit int, valid within this process only."""
    return hash(state)


def stable_fingerprint(state: object) -> int:
    """A process-independent 64-bit fingerprint: BLAKE2b-64 of ``repr(state)``."""
    digest = hashlib.blake2b(repr(state).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


SORT_QUERIES = 1024
"""A membership test or lookup of at least this many fingerprints searches them in
sorted order (session 57): numpy's ``searchsorted`` then walks each tier forwards, so
on a set of millions the probes hit the cache. On random fingerprints, per query:
0.71 -> 0.30 us at 10^6 in the set, 3.6 -> 1.2 us at 1.2 x 10^7 (12,000 queries a
batch, as the explorer's chunks ask); a batch of 200 gains nothing, so it is not
sorted. The answers are the same, in the caller's order."""


def _order(fps: Fingerprints) -> npt.NDArray[np.intp] | None:
    """The order that sorts ``fps``, or None for a batch searched as it comes."""
    return np.argsort(fps) if fps.size >= SORT_QUERIES else None


def as_fingerprints(values: list[int]) -> Fingerprints:
    """A list of Python ints (signed 64-bit) as a fingerprint array."""
    return np.fromiter(values, dtype=FP_DTYPE, count=len(values))


class SeenSet:
    """A set of 64-bit fingerprints, each with an optional state index.

    Kept as a few sorted ``int64`` arrays ("tiers", as in a log-structured
    merge tree: each at least twice the size of the next), and, when
    ``with_index``, parallel ``uint32`` arrays of the state index each
    fingerprint belongs to. A batch added becomes a new small tier; tiers are
    merged when a smaller one catches up with the one before it, so each
    fingerprint is moved O(log n) times in all and a membership test is one
    ``searchsorted`` per tier (at most ~log2(n) of them).
    """

    __slots__ = ("_fps", "_index", "with_index")

    def __init__(self, with_index: bool = False) -> None:
        self.with_index = with_index
        self._fps: list[Fingerprints] = []
        self._index: list[Indices] = []

    def __len__(self) -> int:
        return sum(int(t.size) for t in self._fps)

    @property
    def nbytes(self) -> int:
        """Bytes held by the set's arrays."""
        return sum(int(t.nbytes) for t in self._fps) + sum(int(t.nbytes) for t in self._index)

    @property
    def tiers(self) -> int:
        return len(self._fps)

    def contains(self, fps: Fingerprints) -> npt.NDArray[np.bool_]:
        """A boolean array: which of ``fps`` are in the set. A batch of at least
        :data:`SORT_QUERIES` is searched in sorted order (module docstring)."""
        order = _order(fps)
        queries = fps if order is None else fps[order]
        found = np.zeros(fps.shape, dtype=np.bool_)
        for tier in self._fps:
            pos = np.searchsorted(tier, queries)
            pos[pos == tier.size] = 0
            found |= tier[pos] == queries
        if order is None:
            return found
        out = np.empty_like(found)
        out[order] = found
        return out

    def add(self, fps: Fingerprints, indices: Indices | None = None) -> None:
        """Add distinct fingerprints not yet in the set (with their state indices)."""
        if fps.size == 0:
            return
        order = np.argsort(fps, kind="stable")
        self._fps.append(fps[order])
        if self.with_index:
            if indices is None:
                raise CheckError("this SeenSet keeps state indices: pass indices to add()")
            self._index.append(indices.astype(INDEX_DTYPE)[order])
        while len(self._fps) >= 2 and 2 * self._fps[-1].size > self._fps[-2].size:
            self._merge_last_two()

    def _merge_last_two(self) -> None:
        small, big = self._fps.pop(), self._fps.pop()
        pos = np.searchsorted(big, small)
        self._fps.append(np.insert(big, pos, small))
        if self.with_index:
            small_index, big_index = self._index.pop(), self._index.pop()
            self._index.append(np.insert(big_index, pos, small_index))

    def by_index(self) -> Fingerprints:
        """Every fingerprint, placed at its state index (``with_index``: the indices
        must be 0..len-1, as the parallel workers number their states)."""
        if not self.with_index:
            raise CheckError("this SeenSet keeps no state indices (with_index=False)")
        out = np.empty(len(self), dtype=FP_DTYPE)
        for tier, index in zip(self._fps, self._index, strict=True):
            out[index] = tier
        return out

    def lookup(self, fps: Fingerprints) -> npt.NDArray[np.int64]:
        """The state index of each fingerprint, or -1 where it is not in the set."""
        if not self.with_index:
            raise CheckError("this SeenSet keeps no state indices (with_index=False)")
        order = _order(fps)
        queries = fps if order is None else fps[order]
        out = np.full(fps.shape, -1, dtype=np.int64)
        for tier, index in zip(self._fps, self._index, strict=True):
            pos = np.searchsorted(tier, queries)
            pos[pos == tier.size] = 0
            found = tier[pos] == queries
            out[found] = index[pos[found]]
        if order is None:
            return out
        unsorted = np.empty_like(out)
        unsorted[order] = out
        return unsorted

    def __contains__(self, fp: Any) -> bool:
        return bool(self.contains(np.asarray([fp], dtype=FP_DTYPE))[0])
