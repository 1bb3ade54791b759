"""A storage engine wrapped to count its changes (the simulator's quiescence test).

Lives with the engines rather than with the simulated cluster so that a node's process
(``impl.metrics``' :class:`~impl.metrics.ObservedStorage` builds on it) does not import
the simulator (session 19: `vdynamo serve` starts in about half the CPU).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from impl.storage.base import Hint, HintHead, Storage

__all__ = ["WatchedStorage"]


class WatchedStorage:
    """A storage engine wrapped to count changes of versions and hints.

    Everything is passed through to ``inner``; :attr:`changes` grows on every
    write, delete, hint added or removed (not on meta writes, which gossip makes
    all the time). The cluster uses it to tell when the replicas stopped moving.
    """

    __slots__ = ("changes", "inner")

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.changes = 0

    def read(self, key: bytes) -> bytes | None:
        return self.inner.read(key)

    def write(self, key: bytes, record: bytes) -> None:
        self.inner.write(key, record)
        self.changes += 1

    def delete(self, key: bytes) -> None:
        self.inner.delete(key)
        self.changes += 1

    def scan(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        return self.inner.scan(lo, hi)

    def __len__(self) -> int:
        return len(self.inner)

    def add_hint(self, intended: str, key: bytes, record: bytes) -> int:
        self.changes += 1
        return self.inner.add_hint(intended, key, record)

    def hints(self) -> list[Hint]:
        return self.inner.hints()

    def hints_of(self, key: bytes) -> list[Hint]:
        return self.inner.hints_of(key)

    def hint_nodes(self) -> set[str]:
        return self.inner.hint_nodes()

    def hint_heads(self, after: int | None, limit: int) -> list[HintHead]:
        return self.inner.hint_heads(after, limit)

    def remove_hint(self, hint_id: int) -> None:
        self.inner.remove_hint(hint_id)
        self.changes += 1

    def get_meta(self, name: str) -> bytes | None:
        return self.inner.get_meta(name)

    def set_meta(self, name: str, value: bytes) -> None:
        self.inner.set_meta(name, value)

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
