"""The spec's state: immutable, hashable, canonical values.

Theory of operation
-------------------
A :class:`State` is a tuple of small frozen values, each caching its hash (the
explorer hashes every state it meets, and most parts of a successor are shared
with its parent, so a cached hash is computed once per new part):

* ``nodes``: one :class:`NodeState` per node, in ring order: up or down, the
  durable store (one :data:`~spec.clocks.Payload` per key), the durable hint store
  (a sorted tuple of :class:`Hint`), and the volatile coordinator state (a tuple of
  :class:`Coordination` sorted by request id), which a crash loses;
* ``messages``: the in-flight messages, a multiset kept as a sorted tuple with
  repeats;
* ``clients``: one :class:`ClientState` per client: its workload counters, the
  outstanding request, the context of its last get, and its history (ghost);
* ``puts``: the put table, indexed by put id (ghost and clock facts per put);
* ``side``: the partition, as the side holding the first node (empty: none);
* ``used``: fault budgets spent (drops, duplicates, crashes, partitions);
* ``hints_acked`` / ``hints_deleted``: ghost records of hint handoffs that the
  intended node acknowledged, and of hints their holder deleted.

The configuration rides along in ``config``, excluded from equality and hash.
Canonical form: whatever has no order is sorted (messages, hints, coordinator
records, client histories), so equal states are equal values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from spec.clocks import Context, Payload, PutRecord, payload_key
from spec.config import Config

__all__ = [
    "ClientState",
    "Coordination",
    "GetRecord",
    "Hint",
    "Kind",
    "LastGet",
    "Message",
    "NodeState",
    "State",
]


class Kind(enum.StrEnum):
    """The kinds of message between nodes."""

    FORWARD = "forward"  # a client request, to the first of the key's top N
    REPLICATE = "replicate"  # a put's new version, to a replica or a fallback (with a hint)
    REPLICATE_ACK = "replicate-ack"
    READ = "read"
    READ_RESPONSE = "read-response"
    READ_REPAIR = "read-repair"  # the reconciled versions written back after a get
    HINT = "hint"  # hinted handoff: a hint delivered to its intended node
    HINT_ACK = "hint-ack"


@dataclass(frozen=True, slots=True)
class Message:
    """One message in flight. ``request`` is 0 where no request is involved;
    ``hint_for`` names the intended node of a hinted replica (or of a handed-off
    hint), "" otherwise; ``payload`` is None for messages that carry no versions."""

    kind: Kind
    src: str
    dst: str
    request: int
    key: str
    payload: Payload | None = None
    hint_for: str = ""
    order: tuple[Any, ...] = field(init=False, repr=False, compare=False, hash=False)
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        pk = () if self.payload is None else payload_key(self.payload)
        order = (self.kind.value, self.src, self.dst, self.request, self.key, self.hint_for, pk)
        object.__setattr__(self, "order", order)
        object.__setattr__(
            self,
            "_hash",
            hash((self.kind, self.src, self.dst, self.request, self.key, self.payload,
                  self.hint_for)),
        )

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, slots=True)
class Hint:
    """A hinted replica held by a fallback for ``intended`` (in the hint store)."""

    intended: str
    key: str
    payload: Payload

    @property
    def order(self) -> tuple[Any, ...]:
        return (self.intended, self.key, payload_key(self.payload))


@dataclass(frozen=True, slots=True)
class Coordination:
    """A request a node coordinates (volatile: lost on a crash).

    ``waiting``: ``(target, hint_for)`` pairs sent to and not yet answered;
    ``used``: every node the request went to (the coordinator included), so a
    timeout picks a fresh fallback; ``acked``: put: who acknowledged (the
    coordinator first); ``responses``: get: ``(node, payload)`` answers so far.
    """

    request: int
    client: str
    key: str
    is_put: bool
    payload: Payload | None
    waiting: tuple[tuple[str, str], ...]
    used: tuple[str, ...]
    acked: tuple[str, ...] = ()
    responses: tuple[tuple[str, Payload], ...] = ()
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_hash",
            hash((self.request, self.client, self.key, self.is_put, self.payload, self.waiting,
                  self.used, self.acked, self.responses)),
        )

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, slots=True)
class NodeState:
    """One node: up/down, durable store (per key), durable hint store, volatile
    coordinator state."""

    up: bool
    store: tuple[Payload, ...]
    hints: tuple[Hint, ...] = ()
    coord: tuple[Coordination, ...] = ()
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.up, self.store, self.hints, self.coord)))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, slots=True)
class LastGet:
    """What a client's last get gave it: the context a later put of the key carries,
    and (ghost) the put ids in the true histories of what it read."""

    key: str
    context: Context
    history: frozenset[int]
    siblings: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GetRecord:
    """A completed get in a client's history (ghost): which of the client's puts were
    acknowledged before it began, and which versions (put ids) it returned."""

    request: int
    key: str
    acked_before: tuple[int, ...]
    returned: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ClientState:
    """A client: issued counts, the outstanding request (0: none), its client-vclock
    counter, its last get, and its history (acknowledged puts, completed gets)."""

    puts_issued: int = 0
    gets_issued: int = 0
    outstanding: int = 0
    counter: int = 0
    last_get: LastGet | None = None
    acked: tuple[int, ...] = ()
    gets: tuple[GetRecord, ...] = ()
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_hash",
            hash((self.puts_issued, self.gets_issued, self.outstanding, self.counter,
                  self.last_get, self.acked, self.gets)),
        )

    def __hash__(self) -> int:
        return self._hash


HintRecord = tuple[str, str, str, Payload]  # (holder, intended, key, payload)


@dataclass(frozen=True, slots=True)
class State:
    """A state of the whole system (see the module docstring)."""

    nodes: tuple[NodeState, ...]
    messages: tuple[Message, ...]
    clients: tuple[ClientState, ...]
    puts: tuple[PutRecord | None, ...]
    side: frozenset[str]
    used: tuple[int, int, int, int]
    hints_acked: frozenset[HintRecord]
    hints_deleted: frozenset[HintRecord]
    config: Config = field(compare=False, hash=False, repr=False)
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_hash",
            hash((self.nodes, self.messages, self.clients, self.puts, self.side, self.used,
                  self.hints_acked, self.hints_deleted)),
        )

    def __hash__(self) -> int:
        return self._hash

    def node(self, name: str) -> NodeState:
        """The state of the node called ``name``."""
        return self.nodes[self.config.nodes.index(name)]

    def client(self, name: str) -> ClientState:
        """The state of the client called ``name``."""
        return self.clients[self.config.client_names.index(name)]

    def put_record(self, put_id: int) -> PutRecord | None:
        """The put table entry of ``put_id`` (None until a coordinator performed it)."""
        return self.puts[put_id - 1]
