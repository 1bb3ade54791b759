"""Small caches keyed by an object's ``id``, each entry holding its object.

An ``id`` is unique only while its object lives: CPython hands a freed object's id
to the next object it makes. A cache keyed by ``id`` is therefore sound only when
its entry keeps the object alive, so that no other object takes the id while the
entry lives. Used where an immutable object is checked or serialized again and
again on a hot path (session 41: a node's membership view, serialized into every
gossip until it changes, :meth:`impl.membership.Membership.to_bytes`; session 42:
the tuples of a node's kept Merkle level items, checked again by every receiver,
:func:`impl.messages._counts_ok` and ``_bytes_ok``). The lookup is the caller's
``cache.get(id(obj))``, inline on its hot path.
"""

from __future__ import annotations

import contextlib
from typing import TypeVar

__all__ = ["keep"]

_Entry = TypeVar("_Entry")


def keep(cache: dict[int, _Entry], obj: object, entry: _Entry, limit: int) -> None:
    """Keep ``entry`` in ``cache`` under ``id(obj)``; ``entry`` must hold ``obj``
    (the object itself, or a tuple of it and what is cached of it). The oldest
    entries are dropped past ``limit`` (insertion order), by a loop: in servers run
    in threads of one process (a test's) another thread may drop the same oldest
    entry first (KeyError), change the dict under the iterator (RuntimeError) or
    empty it (StopIteration); the loop brings the cache back to ``limit`` all the
    same, never one over for good."""
    cache[id(obj)] = entry
    while len(cache) > limit:
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):
            del cache[next(iter(cache))]
