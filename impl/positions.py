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

from spec.ring import key_position

__all__ = ["MEMO_KEYS", "position_of"]

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
