"""Ring positions of keys, computed once per key while it is in use.

Theory of operation
-------------------
A key's ring position is its MD5 digest (:func:`spec.ring.key_position`). One
request needs it several times on the way: the coordinator's preference list,
then at each replica the storage engine's position index and the Merkle tree of
the key's range (Dynamo paper, sections 4.2 and 4.7). :func:`position_of` keeps
the positions of the keys most recently asked for (at most :data:`MEMO_KEYS`;
the memo is emptied when full, so its memory is bounded), so MD5 runs once per
key while the key is in use: once per request in the simulator, whose nodes
share the process, and once per node and request in a runtime node. The memo
holds only a pure function's values: what it answers never depends on it.
"""

from __future__ import annotations

import bisect

from spec.ring import Partitioning, key_position

__all__ = ["MEMO_KEYS", "PreferenceLists", "position_of"]

#: Keys whose positions are kept (about 100 bytes each): far more than the
#: requests in flight at once, so a key is hashed once per request.
MEMO_KEYS = 4096

_memo: dict[bytes, int] = {}


def position_of(key: bytes) -> int:
    """The ring position of ``key`` (``spec.ring.key_position``: the MD5 digest as a
    big-endian int in ``[0, 2**128)``). A key that is not ``bytes`` is not kept (it
    goes to :func:`~spec.ring.key_position`, which raises ``InvalidValueError`` for
    a type it does not take)."""
    position = _memo.get(key) if type(key) is bytes else None
    if position is None:
        position = key_position(key)
        if type(key) is bytes:
            if len(_memo) >= MEMO_KEYS:
                _memo.clear()
            _memo[key] = position
    return position


class PreferenceLists:
    """Keys' preference lists on one partitioning at a time, one list per partition
    (the list of a partition's lowest position is that of every key in it), each
    computed once the first key of its partition asks: a binary search on the key's
    position (:func:`position_of`) instead of a walk of the ring. Asked of another
    partitioning (a ring change), it starts over. Session 4 built it into
    :class:`impl.sloppy_quorum.SloppyQuorum`; session 31 shares it with the
    gossiper's test of whether a node serves a key (asked twice per put)."""

    def __init__(self) -> None:
        #: the partitions' lower bounds on ``_of``, and each one's list once asked for
        self._los: list[int] = []
        self._lists: list[tuple[str, ...] | None] = []
        self._of: Partitioning | None = None

    def of(self, partitioning: Partitioning, key: bytes) -> tuple[str, ...]:
        """``partitioning.preference_list(key)``: every node, the top N first."""
        if self._of is not partitioning:
            self._los = [lo for lo, _ in partitioning.ranges()]
            self._lists = [None] * len(self._los)
            self._of = partitioning
        index = bisect.bisect_right(self._los, position_of(key)) - 1
        preference = self._lists[index]
        if preference is None:
            preference = self._lists[index] = partitioning.preference_list(self._los[index])
        return preference
