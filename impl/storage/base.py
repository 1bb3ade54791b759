"""The storage-engine interface.

Theory of operation
-------------------
An engine stores opaque *records*: the node core encodes a key's sibling set
(values, clocks, metadata) into bytes and the engine keeps those bytes, so the
engine knows nothing of clocks. As in the paper, versions and hints live apart:
the *versions* table maps a key to its record; the *hints* table holds replicas
kept for another node (the intended node, the key, the record), scanned
periodically and deleted only once the intended node acknowledged them; a small
*meta* table holds the node's own persisted state (membership history, tokens).

Each key is stored with its ring position (MD5, spec.ring), so the core can scan
a key range for Merkle trees and for handing ranges to a joining node.

Durability: ``fsync = "always"`` makes every write durable before the call
returns (what was acknowledged survives a crash); ``fsync = "buffered"`` trades
that for speed like the paper's buffered writes: writes are made durable at
:meth:`Storage.flush`, and a crash loses writes since the last flush.

Engines used by the simulator also offer ``crash()`` (not part of the protocol):
it drops what a real disk would not hold after a process crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = ["FsyncPolicy", "Hint", "HintHead", "Storage"]

FsyncPolicy = Literal["always", "buffered"]


@dataclass(frozen=True, slots=True)
class Hint:
    """A replica kept for another node (the paper's hinted replica)."""

    hint_id: int
    intended: str
    key: bytes
    record: bytes


#: A hint without its record: ``(hint_id, intended, key)``
#: (:meth:`Storage.hint_heads`, what a hint scan pages through).
HintHead = tuple[int, str, bytes]


@runtime_checkable
class Storage(Protocol):
    """What every engine provides. Keys and records are bytes."""

    # versions
    def read(self, key: bytes) -> bytes | None: ...
    def write(self, key: bytes, record: bytes) -> None: ...
    def delete(self, key: bytes) -> None: ...
    def scan(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Keys whose ring position p satisfies lo <= p < hi (hi None: the end of
        the ring), in position order, with their records. A range that wraps
        (lo > hi) is [lo, 2**128) then [0, hi); lo == hi is empty."""
        ...
    def __len__(self) -> int: ...

    # hints
    def add_hint(self, intended: str, key: bytes, record: bytes) -> int: ...
    def hints(self) -> list[Hint]: ...
    def hints_of(self, key: bytes) -> list[Hint]:
        """The hints kept of ``key`` (for any node), in id order: what a fallback
        holds of the key beside its own record (:meth:`impl.replica.Replica.served`)."""
        ...
    def hint_heads(self, after: int | None, limit: int) -> list[HintHead]: ...
    def hint_nodes(self) -> set[str]: ...
    def get_hint(self, hint_id: int) -> Hint | None: ...
    def remove_hint(self, hint_id: int) -> None: ...

    # the node's own persisted state
    def get_meta(self, name: str) -> bytes | None: ...
    def set_meta(self, name: str, value: bytes) -> None: ...

    # durability
    def flush(self) -> None: ...
    def close(self) -> None: ...
