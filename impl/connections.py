"""A cap on the connections of one listening port, that a flood of idle ones cannot wedge.

Theory of operation
-------------------
Each port of a node (the peer port, the HTTP port) admits at most ``limit``
connections at once (``ClusterConfig.max_peer_connections``,
``max_http_connections``). A connection is either *waiting* (for the next
request's bytes, or a peer's hello: it holds a descriptor and does no work) or
*busy* (a request being read or answered, an authenticated peer). When a new
connection arrives at the cap, the oldest waiting connection is closed to make
room (as web servers drop idle keep-alive connections first); only when every
admitted connection is busy is the new one refused, at once. So idle or
half-sent connections can delay a real client by no more than one eviction,
and they are closed anyway by the timeouts of the runtime
(``http_header_timeout_s``, ``http_idle_timeout_s``, ``peer_hello_timeout_s``).

Sans-IO apart from the one call it makes on eviction: ``close()`` of the
evicted connection's transport (any object with a ``close()`` method).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Closable", "ConnectionSlots"]


class Closable(Protocol):
    def close(self) -> None: ...


class ConnectionSlots:
    """The admitted connections of one port (see the module docstring)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit: must be >= 1, got {limit}")
        self.limit = limit
        #: the waiting (evictable) connections, oldest first
        self._waiting: dict[Closable, None] = {}
        self._busy: set[Closable] = set()
        self.refused = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._waiting) + len(self._busy)

    def admit(self, connection: Closable) -> bool:
        """Admit a new connection (as waiting); at the cap close the oldest waiting
        one first. False (and counted) if every admitted connection is busy."""
        if len(self) >= self.limit:
            if not self._waiting:
                self.refused += 1
                return False
            oldest = next(iter(self._waiting))
            del self._waiting[oldest]
            self.evicted += 1
            oldest.close()
        self._waiting[connection] = None
        return True

    def waiting(self, connection: Closable) -> None:
        """``connection`` does no work until more bytes arrive: it may be evicted."""
        if connection in self._busy:
            self._busy.discard(connection)
            self._waiting[connection] = None

    def busy(self, connection: Closable) -> None:
        """``connection`` is doing work (a request in progress, a peer's stream)."""
        if connection in self._waiting:
            del self._waiting[connection]
            self._busy.add(connection)

    def release(self, connection: Closable) -> None:
        """``connection`` is closed."""
        self._waiting.pop(connection, None)
        self._busy.discard(connection)
