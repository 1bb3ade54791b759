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
from operator import attrgetter
from typing import Any

from spec.clocks import Context, Payload, PutRecord, payload_hash, payload_key
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
    "clients_hash",
    "messages_hash",
    "new_client",
    "new_coordination",
    "new_hint",
    "new_message",
    "new_node",
    "new_state",
    "nodes_hash",
    "puts_hash",
]

_new = object.__new__
_set = object.__setattr__
_hash_of = attrgetter("_hash")


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


@dataclass(frozen=True, slots=True, eq=False)
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
        _message_init(self, self.kind, self.src, self.dst, self.request, self.key, self.payload,
                      self.hint_for)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if other.__class__ is not Message:
            return NotImplemented
        assert isinstance(other, Message)
        return self._hash == other._hash and (
            self.kind is other.kind and self.src == other.src and self.dst == other.dst
            and self.request == other.request and self.key == other.key
            and self.hint_for == other.hint_for and self.payload == other.payload
        )


@dataclass(frozen=True, slots=True)
class Hint:
    """A hinted replica held by a fallback for ``intended`` (in the hint store)."""

    intended: str
    key: str
    payload: Payload
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _set(self, "_hash", hash((self.intended, self.key, payload_hash(self.payload))))

    def __hash__(self) -> int:
        return self._hash

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
        _set(self, "_hash", _coordination_hash(
            self.request, self.client, self.key, self.is_put, self.payload, self.waiting,
            self.used, self.acked, self.responses))

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
        _set(self, "_hash", _node_hash(self.up, self.store, self.hints, self.coord))

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
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _set(self, "_hash", hash((self.key, self.context, self.history, self.siblings)))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, slots=True)
class GetRecord:
    """A completed get in a client's history (ghost): which of the client's puts were
    acknowledged before it began, and which versions (put ids) it returned."""

    request: int
    key: str
    acked_before: tuple[int, ...]
    returned: tuple[int, ...]
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _set(self, "_hash", hash((self.request, self.key, self.acked_before, self.returned)))

    def __hash__(self) -> int:
        return self._hash


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
        _set(self, "_hash", _client_hash(self.puts_issued, self.gets_issued, self.outstanding,
                                         self.counter, self.last_get, self.acked, self.gets))

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
    #: the hashes of nodes, messages, clients and puts, reused by successors
    _parts: tuple[int, int, int, int] = field(init=False, repr=False, compare=False,
                                              hash=False)

    def __post_init__(self) -> None:
        parts = (nodes_hash(self.nodes), messages_hash(self.messages),
                 clients_hash(self.clients), puts_hash(self.puts))
        _set(self, "_parts", parts)
        _set(self, "_hash", hash((parts, self.side, self.used, self.hints_acked,
                                  self.hints_deleted)))

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


# -- hashes ----------------------------------------------------------------------------
# One function per class computes its hash, for the validating constructor
# (``__post_init__``) and the trusted one (``new_*``) alike. They hash the parts'
# cached hashes (an attribute read) rather than the parts (a Python-level
# ``__hash__`` call each), and payloads through :func:`spec.clocks.payload_hash`.


def _message_init(m: Message, kind: Kind, src: str, dst: str, request: int, key: str,
                  payload: Payload | None, hint_for: str) -> None:
    value = kind._value_
    if payload is None:
        _set(m, "order", (value, src, dst, request, key, hint_for, ()))
        _set(m, "_hash", hash((value, src, dst, request, key, 0, hint_for)))
    else:
        _set(m, "order", (value, src, dst, request, key, hint_for, payload_key(payload)))
        _set(m, "_hash", hash((value, src, dst, request, key, payload_hash(payload), hint_for)))


def _coordination_hash(request: int, client: str, key: str, is_put: bool,
                       payload: Payload | None, waiting: tuple[tuple[str, str], ...],
                       used: tuple[str, ...], acked: tuple[str, ...],
                       responses: tuple[tuple[str, Payload], ...]) -> int:
    return hash((request, client, key, is_put, 0 if payload is None else payload_hash(payload),
                 waiting, used, acked,
                 tuple([(n, payload_hash(p)) for n, p in responses]) if responses else ()))


def _client_hash(puts_issued: int, gets_issued: int, outstanding: int, counter: int,
                 last_get: LastGet | None, acked: tuple[int, ...],
                 gets: tuple[GetRecord, ...]) -> int:
    return hash((puts_issued, gets_issued, outstanding, counter,
                 0 if last_get is None else last_get._hash, acked,
                 tuple(map(_hash_of, gets))))


def _node_hash(up: bool, store: tuple[Payload, ...], hints: tuple[Hint, ...],
               coord: tuple[Coordination, ...]) -> int:
    return hash((up, tuple(map(payload_hash, store)), tuple(map(_hash_of, hints)),
                 tuple(map(_hash_of, coord))))


def nodes_hash(nodes: tuple[NodeState, ...]) -> int:
    """The hash of a state's ``nodes`` part (from each node's cached hash)."""
    return hash(tuple(map(_hash_of, nodes)))


def messages_hash(messages: tuple[Message, ...]) -> int:
    """The hash of a state's ``messages`` part."""
    return hash(tuple(map(_hash_of, messages)))


def clients_hash(clients: tuple[ClientState, ...]) -> int:
    """The hash of a state's ``clients`` part."""
    return hash(tuple(map(_hash_of, clients)))


def puts_hash(puts: tuple[PutRecord | None, ...]) -> int:
    """The hash of a state's ``puts`` part."""
    return hash(tuple([0 if p is None else p._hash for p in puts]))


# -- trusted constructors ----------------------------------------------------------------
# The successor path builds millions of values from parts that are already valid
# values; these build the same value as the class would (same fields, same
# cached hash) without the dataclass ``__init__`` machinery. Anything built from
# outside (JSON, tests, the refinement mapping) goes through the classes.


def new_message(kind: Kind, src: str, dst: str, request: int, key: str,
                payload: Payload | None = None, hint_for: str = "") -> Message:
    """``Message(kind, src, dst, request, key, payload, hint_for)``, trusted."""
    m = _new(Message)
    _set(m, "kind", kind)
    _set(m, "src", src)
    _set(m, "dst", dst)
    _set(m, "request", request)
    _set(m, "key", key)
    _set(m, "payload", payload)
    _set(m, "hint_for", hint_for)
    value = kind._value_  # as _message_init:
    if payload is None:
        _set(m, "order", (value, src, dst, request, key, hint_for, ()))
        _set(m, "_hash", hash((value, src, dst, request, key, 0, hint_for)))
    else:
        _set(m, "order", (value, src, dst, request, key, hint_for, payload_key(payload)))
        _set(m, "_hash", hash((value, src, dst, request, key, payload_hash(payload), hint_for)))
    return m


def new_hint(intended: str, key: str, payload: Payload) -> Hint:
    """``Hint(intended, key, payload)``, trusted."""
    h = _new(Hint)
    _set(h, "intended", intended)
    _set(h, "key", key)
    _set(h, "payload", payload)
    _set(h, "_hash", hash((intended, key, payload_hash(payload))))
    return h


def new_coordination(request: int, client: str, key: str, is_put: bool,
                     payload: Payload | None, waiting: tuple[tuple[str, str], ...],
                     used: tuple[str, ...], acked: tuple[str, ...] = (),
                     responses: tuple[tuple[str, Payload], ...] = ()) -> Coordination:
    """``Coordination(...)``, trusted."""
    c = _new(Coordination)
    _set(c, "request", request)
    _set(c, "client", client)
    _set(c, "key", key)
    _set(c, "is_put", is_put)
    _set(c, "payload", payload)
    _set(c, "waiting", waiting)
    _set(c, "used", used)
    _set(c, "acked", acked)
    _set(c, "responses", responses)
    _set(c, "_hash", _coordination_hash(request, client, key, is_put, payload, waiting, used,
                                        acked, responses))
    return c


def new_client(puts_issued: int, gets_issued: int, outstanding: int, counter: int,
               last_get: LastGet | None, acked: tuple[int, ...],
               gets: tuple[GetRecord, ...]) -> ClientState:
    """``ClientState(...)``, trusted."""
    c = _new(ClientState)
    _set(c, "puts_issued", puts_issued)
    _set(c, "gets_issued", gets_issued)
    _set(c, "outstanding", outstanding)
    _set(c, "counter", counter)
    _set(c, "last_get", last_get)
    _set(c, "acked", acked)
    _set(c, "gets", gets)
    _set(c, "_hash", _client_hash(puts_issued, gets_issued, outstanding, counter, last_get,
                                  acked, gets))
    return c


def new_node(up: bool, store: tuple[Payload, ...], hints: tuple[Hint, ...],
             coord: tuple[Coordination, ...]) -> NodeState:
    """``NodeState(up, store, hints, coord)``, trusted."""
    n = _new(NodeState)
    _set(n, "up", up)
    _set(n, "store", store)
    _set(n, "hints", hints)
    _set(n, "coord", coord)
    _set(n, "_hash", hash((up, tuple(map(payload_hash, store)), tuple(map(_hash_of, hints)),
                           tuple(map(_hash_of, coord)))))  # = _node_hash
    return n


def new_state(nodes: tuple[NodeState, ...], messages: tuple[Message, ...],
              clients: tuple[ClientState, ...], puts: tuple[PutRecord | None, ...],
              side: frozenset[str], used: tuple[int, int, int, int],
              hints_acked: frozenset[HintRecord], hints_deleted: frozenset[HintRecord],
              config: Config, parts: tuple[int, int, int, int] | None = None) -> State:
    """``State(...)``, trusted; ``parts``: the part hashes if known (see ``_parts``)."""
    if parts is None:
        parts = (nodes_hash(nodes), messages_hash(messages), clients_hash(clients),
                 puts_hash(puts))
    s = _new(State)
    _set(s, "nodes", nodes)
    _set(s, "messages", messages)
    _set(s, "clients", clients)
    _set(s, "puts", puts)
    _set(s, "side", side)
    _set(s, "used", used)
    _set(s, "hints_acked", hints_acked)
    _set(s, "hints_deleted", hints_deleted)
    _set(s, "config", config)
    _set(s, "_parts", parts)
    _set(s, "_hash", hash((parts, side, used, hints_acked, hints_deleted)))
    return s
