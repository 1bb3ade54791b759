"""The restore guard: a node whose store is older than one the cluster saw (restored
from a backup, or a copy of another start's store) sets its versions and hints
aside instead of spreading them (docs/runtime.md, "A restored store after a
reap"; session 13's probe: a backup restored after a reap brought the deleted
value back).

*Generations.* Every start of a store is a *generation* ``"<incarnation>.<token>"``:
the store's start count (the ``incarnation`` meta entry, counted at every start,
:class:`impl.node.Node`) and a token drawn for the start (a digest of the node's
name, its seed, the start time and the store's ``storage-id``). A restored store
repeats the backup's count, never the token of a start the cluster saw. Each
gossip carries the sender's generation and the last one the sender heard of the
receiver (``Gossip.generation``, ``Gossip.yours``); each node keeps the last
generation it heard of each peer (one meta entry, ``peer-generations``).

*A rollback.* A node told a generation of its own store later than its own (a
higher count, or its count with another token) runs a store older than one the
cluster saw: it removes its versions and hints (the other replicas hold every
write acknowledged since the backup, W copies, and nothing of a key reaped since:
anti-entropy and read repair rebuild it, as a replaced disk is rebuilt), takes a
generation above the one it was told, and a new lifetime actor (it no longer
holds the counters of its earlier ones: kv679). A peer that hears a rolled-back
generation of a node takes nothing from it but gossip until it hears a later one.

*A start confirmed.* Until a peer has told a started node its own generation, the
node runs no anti-entropy (no round, no answer to a peer's): anti-entropy is what
spreads every key of a store at once. Client requests, replica writes and reads
are served meanwhile (a read of a resurrected key before the first gossip can
still spread it: the window is one gossip round trip after a restart). A store
with no version and no hint is confirmed at once (there is nothing to spread).

Cassandra's gossip generation (a start time in seconds) tells peers a node
restarted; it cannot tell a restored store, whose documentation forbids restoring
a backup older than ``gc_grace_seconds`` instead. Riak's answer to the same
amnesia for dots is a new vnode epoch per start (kv679). Off
(``restore_guard = false``) the node gossips no generation and never sets its
store aside: the spec's ``Restore`` (the refinement harness turns it off).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from impl.messages import parse_generation
from impl.storage.base import Storage

#: The meta entry of the generations heard of the peers: JSON {name: generation}.
PEER_GENERATIONS_META = "peer-generations"


def start_generation(storage: Storage, name: str, seed: int, now: float,
                     incarnation: int) -> str:
    """The generation of this start: ``"<incarnation>.<16 hex digits>"``."""
    digest = hashlib.sha256(repr((name, seed, float(now), incarnation)).encode("utf-8")
                            + (storage.get_meta("storage-id") or b"")).hexdigest()[:16]
    return f"{incarnation}.{digest}"


def is_rollback(mine: str, told: str) -> bool:
    """Whether ``told`` (a peer's last generation of this store) is later than this
    store's ``mine``: a higher count, or the same count with another token."""
    own, heard = parse_generation(mine), parse_generation(told)
    if own is None or heard is None:
        return False
    return heard[0] > own[0] or (heard[0] == own[0] and heard[1] != own[1])


class RestoreGuard:
    """One node's guard (module docstring). ``storage`` is the node's staged view;
    ``has_data`` says whether the store holds a version or a hint."""

    def __init__(self, name: str, storage: Storage, generation: str,
                 has_data: Callable[[], bool]) -> None:
        self.name = name
        self.storage = storage
        self.generation = generation
        raw = storage.get_meta(PEER_GENERATIONS_META)
        loaded = json.loads(raw) if raw else {}
        #: the last generation heard of each peer
        self.heard: dict[str, str] = {str(k): str(v) for k, v in loaded.items()}
        #: peers heard at a generation older than one heard before: nothing but
        #: gossip is taken from them until a later one
        self.rolled_back: set[str] = set()
        #: a peer told this node its own generation (or it holds nothing to spread)
        self.confirmed = not has_data()

    def yours(self, peer: str) -> str:
        return self.heard.get(peer, "")

    def on_gossip(self, src: str, generation: str, yours: str) -> tuple[bool, bool]:
        """A gossip from ``src``: (this node's store is rolled back, ``src``'s
        generation is new here: answer it so that ``src`` is confirmed)."""
        if yours == self.generation:
            self.confirmed = True
        rolled = bool(yours) and is_rollback(self.generation, yours)
        new = False
        if generation:
            known = self.heard.get(src, "")
            if not known:
                new = True
            elif is_rollback(generation, known):
                self.rolled_back.add(src)
            elif generation != known:
                new = True
            if new:
                self.rolled_back.discard(src)
                self.heard[src] = generation
                self.storage.set_meta(PEER_GENERATIONS_META,
                                      json.dumps(self.heard, sort_keys=True).encode())
        return rolled, new

    def set_aside(self, told: str, generation: str) -> None:
        """This store was rolled back (a peer told ``told``): its next generation is
        ``generation`` (above ``told``); it must be confirmed again."""
        self.generation = generation
        self.confirmed = False
