"""The spec's state: immutable, hashable, canonical values.

What the paper's nodes hold (4.5: the durable store; 4.6: the hint store and the
coordinator's volatile request state) plus the network and the clients, and the
ghost records the properties need. Construction raises nothing of its own.

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
* ``used``: fault budgets spent (drops, duplicates, crashes, partitions, disk
  losses; with ``faults.write_failures``, and only then, a sixth: the writes
  refused, so no state of an earlier configuration changes);
* ``epochs``: per node, in ring order, the storage lifetime its actor belongs to
  (0: the first, whose actor is the bare name; each disk loss, or each restart of
  a buffered node, begins a new one when ``features.actor_epochs`` is on);
* ``key_epochs``: the *key epochs* ``(node, key, epoch)`` (epoch >= 1; absent: 0):
  a reap that removed node ``n``'s copy of ``key`` holding a counter of the actor
  ``n`` mints ``key`` under begins a new key epoch, so ``n``'s later writes of that
  key, and of no other, mint under a new actor (:meth:`State.actor`; Riak's per-key
  epochs, ``riak_kv_vnode``'s ``new_key_epoch``: "any time a key is (re)created");
  a new storage lifetime forgets the node's key epochs (its actor is new anyway);
* ``backups`` (only with ``faults.restores``; None otherwise, and then no state
  of an earlier configuration changes): per node, the :class:`Backup` taken of
  its disk (its store, hint store, storage lifetime and key epochs: everything
  it mints dots from), and the restore budget spent (:mod:`spec.faults`);
* ``hints_acked`` / ``hints_deleted``: ghost records of hint deliveries that the
  intended node acknowledged, and of hints their fallback deleted;
* ``known`` (only with ``[features] prune_knowledge = "learnt"``; empty otherwise,
  and then no state of an earlier configuration changes): the retirements each
  node has learnt of other nodes' storage lifetimes, ``(knower, owner, lifetime)``
  (a node's own retired lifetimes are known without being listed;
  :mod:`spec.retired`, :mod:`spec.learning`; session 34);
* ``unpersisted`` (only with ``faults.write_failures``; empty otherwise): the
  records ``(node, key, payload)`` a coordinator keeps in memory of the puts whose
  own write its disk refused (``spec.coordination.start``), merged into its copy
  before its next mint of the key, so it never mints a refused put's dot again;
  volatile (a crash loses them), forgotten by a reap of the key at the node (the
  implementation's ``PutCoordinator.unpersisted``; session 51);
* ``rebuilding`` (only with ``features.rebuild``; empty otherwise): a node whose
  disk was lost is rebuilding (:mod:`spec.rebuild`, session 55): ``(node, key,
  peer)`` for each exchange of a key it replicates with another replica still to
  do, and ``(node, "", "")`` while its acknowledgements, own writes and own reads
  do not count (from the disk loss to its ``Rebuilt`` step).

The configuration rides along in ``config``, excluded from equality and hash.
Canonical form: whatever has no order is sorted (messages, hints, coordinator
records, client histories), so equal states are equal values.

Every class here caches its hash in ``_hash`` (:func:`cached_hash`); the
successor path builds values with the trusted constructors ``new_*`` at the end
of this module, which skip the dataclass ``__init__`` but compute the same
fields and the same hash. The names follow the shared vocabulary of
docs/spec.md (the paper's words; the implementation uses the same ones).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, TypeVar

from spec.clocks import Context, Payload, PutRecord, payload_hash, payload_key
from spec.config import Config

__all__ = [
    "Backup",
    "Backups",
    "Change",
    "ClientState",
    "Coordination",
    "GetRecord",
    "Hint",
    "HintRecord",
    "Kind",
    "LastGet",
    "MembershipState",
    "Message",
    "NodeState",
    "State",
    "actor_id",
    "cached_hash",
    "clients_hash",
    "key_epoch",
    "messages_hash",
    "new_client",
    "new_coordination",
    "new_hint",
    "new_message",
    "new_node",
    "new_state",
    "nodes_hash",
    "puts_hash",
    "state_hash",
]

_new = object.__new__
_set = object.__setattr__
_hash_of = attrgetter("_hash")
_T = TypeVar("_T")


def _cached(self: Any) -> int:
    return self._hash  # type: ignore[no-any-return]


def cached_hash(hash_value: Callable[[Any], int]) -> Callable[[type[_T]], type[_T]]:
    """Class decorator, applied under ``@dataclass``: the instance's hash is
    ``hash_value(instance)``, computed once at construction and kept in the
    class's ``_hash`` field (declared ``field(init=False, ...)``); ``__hash__``
    returns it. Equality stays the dataclass's (field by field)."""

    def decorate(cls: type[_T]) -> type[_T]:
        def __post_init__(self: Any) -> None:
            _set(self, "_hash", hash_value(self))

        cls.__post_init__ = __post_init__  # type: ignore[attr-defined]
        cls.__hash__ = _cached  # type: ignore[method-assign]
        return cls

    return decorate


def _hash_field() -> Any:
    """The ``_hash`` field's declaration (not compared, not shown, not in ``__init__``)."""
    return field(init=False, repr=False, compare=False, hash=False)



class Kind(enum.StrEnum):
    """The kinds of message between nodes (the shared vocabulary of docs/spec.md;
    the implementation's messages of the same names, impl/messages.py)."""

    FORWARD = "forward"  # a client request, to the first of the key's top N
    REPLICA_PUT = "replica-put"  # a put's new version, to a replica or a fallback (with a hint)
    REPLICA_PUT_ACK = "replica-put-ack"  # its acknowledgement
    REPLICA_PUT_FAILED = "replica-put-failed"  # its refusal: the replica's disk refused the write
    REPLICA_GET = "replica-get"  # a get's request to a replica (or a fallback)
    REPLICA_GET_REPLY = "replica-get-reply"  # its answer: the versions the node holds
    READ_REPAIR = "read-repair"  # the reconciled versions written back after a get
    HINT_DELIVERY = "hint-delivery"  # hinted handoff: a hint delivered to its intended node
    HINT_ACK = "hint-ack"  # its acknowledgement, back to the fallback
    RANGE_TRANSFER = "range-transfer"  # a key's versions, from an owner losing it to one gaining it


def _message_hash(m: Message) -> int:
    """Set the message's sort key ``order`` and return its hash (see :func:`new_message`)."""
    value = m.kind._value_
    payload = m.payload
    if payload is None:
        _set(m, "order", (value, m.src, m.dst, m.request, m.key, m.intended, ()))
        return hash((value, m.src, m.dst, m.request, m.key, 0, m.intended))
    _set(m, "order", (value, m.src, m.dst, m.request, m.key, m.intended, payload_key(payload)))
    return hash((value, m.src, m.dst, m.request, m.key, payload_hash(payload), m.intended))


@dataclass(frozen=True, slots=True, eq=False)
@cached_hash(_message_hash)
class Message:
    """One message in flight from ``src`` to ``dst``. ``request`` is the request id
    (0 where no request is involved); ``intended`` names the node a hint is meant
    for: on a replica put sent to a fallback, and on a hint delivery or its
    acknowledgement; "" otherwise; ``payload`` is None for messages that carry no
    versions (replica gets, replica put acks, forwards). ``order`` is the sort key
    of the state's message multiset."""

    kind: Kind
    src: str
    dst: str
    request: int
    key: str
    payload: Payload | None = None
    intended: str = ""
    order: tuple[Any, ...] = field(init=False, repr=False, compare=False, hash=False)
    _hash: int = _hash_field()

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if other.__class__ is not Message:
            return NotImplemented
        assert isinstance(other, Message)
        return self._hash == other._hash and (
            self.kind is other.kind and self.src == other.src and self.dst == other.dst
            and self.request == other.request and self.key == other.key
            and self.intended == other.intended and self.payload == other.payload
        )


@dataclass(frozen=True, slots=True)
@cached_hash(lambda h: hash((h.intended, h.key, payload_hash(h.payload))))
class Hint:
    """A hinted replica in a fallback's hint store, for the ``intended`` node
    (paper section 4.6): the versions ``payload`` of ``key``."""

    intended: str
    key: str
    payload: Payload
    _hash: int = _hash_field()

    @property
    def order(self) -> tuple[Any, ...]:
        """The sort key of a node's hint store."""
        return (self.intended, self.key, payload_key(self.payload))


@dataclass(frozen=True, slots=True)
@cached_hash(lambda c: _coordination_hash(c.request, c.client, c.key, c.is_put, c.payload,
                                          c.awaiting, c.sent_to, c.acks, c.replies, c.groups,
                                          c.uncounted, c.refused))
class Coordination:
    """A request a node coordinates (volatile: lost on a crash); paper 4.5-4.6.

    ``payload``: put: the new version sent to the replicas (None for a get).
    ``awaiting``: ``(node, intended)`` pairs: the nodes sent to whose answer is
    still awaited; ``intended`` is the top-N target a fallback stands in for
    (its hint), "" when the node is a target itself. ``sent_to``: every node the
    request went to (the coordinator included), sorted, so a timeout picks a
    fresh fallback. ``acks``: put: the nodes that acknowledged (the coordinator
    included), sorted. ``replies``: get: ``(node, payload)`` answers so far, by node.
    ``groups``: during a membership change with pending ownership, the old and the
    new top N (:mod:`spec.membership`): the request needs W acks (R replies) within
    each of them, a joint quorum; empty (always, without membership change): W
    acks (R replies) in all.
    """

    request: int
    client: str
    key: str
    is_put: bool
    payload: Payload | None
    awaiting: tuple[tuple[str, str], ...]
    sent_to: tuple[str, ...]
    acks: tuple[str, ...] = ()
    replies: tuple[tuple[str, Payload], ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    #: get: the replies that do not count towards R until every top-N node of the key
    #: answered (a rebuilding coordinator's own read: :mod:`spec.rebuild`; session 55)
    uncounted: tuple[str, ...] = ()
    #: put: the targets whose ``replica-put-failed`` arrived, no longer awaited, whose
    #: later acknowledgement still counts (the implementation retries them; session 55)
    refused: tuple[str, ...] = ()
    _hash: int = _hash_field()


@dataclass(frozen=True, slots=True)
@cached_hash(lambda n: _node_hash(n.up, n.store, n.hints, n.coord))
class NodeState:
    """One node: up/down, durable store (one payload per key, in the config's key
    order), durable hint store (sorted by :attr:`Hint.order`), volatile
    coordinator state (:class:`Coordination` records sorted by request id)."""

    up: bool
    store: tuple[Payload, ...]
    hints: tuple[Hint, ...] = ()
    coord: tuple[Coordination, ...] = ()
    _hash: int = _hash_field()


@dataclass(frozen=True, slots=True)
@cached_hash(lambda g: hash((g.key, g.context, g.history, g.siblings, g.before)))
class LastGet:
    """What a client's last get gave it: the context a later put of the key carries,
    and (ghost) the put ids in the true histories of what it read. ``before`` (session
    61, ``workload.chain_puts``): ``()``, or for an acknowledged put's answer the
    client may still not hear (:class:`spec.actions.Unheard`) a 1-tuple of what it
    held before that put (its last get or answer, ``None`` for none), kept until its
    next request."""

    key: str
    context: Context
    history: frozenset[int]
    siblings: tuple[int, ...]
    before: tuple[LastGet | None, ...] = ()
    _hash: int = _hash_field()


@dataclass(frozen=True, slots=True)
@cached_hash(lambda g: hash((g.request, g.key, g.acked_before, g.returned)))
class GetRecord:
    """A completed get in a client's history (ghost): which of the client's puts were
    acknowledged before it began, and which versions (put ids) it returned."""

    request: int
    key: str
    acked_before: tuple[int, ...]
    returned: tuple[int, ...]
    _hash: int = _hash_field()


@dataclass(frozen=True, slots=True)
@cached_hash(lambda c: _client_hash(c.puts_issued, c.gets_issued, c.outstanding, c.counter,
                                    c.last_get, c.acked, c.gets))
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
    _hash: int = _hash_field()


#: A ghost record of a hint: ``(fallback, intended, key, payload)``.
HintRecord = tuple[str, str, str, Payload]

#: One entry of the membership log: ``(event, node)``, event one of "join",
#: "leave", "handed" (the change's key ranges were transferred) and "settled"
#: (every member uses the new ring alone); see :mod:`spec.membership`.
Change = tuple[str, str]


@dataclass(frozen=True, slots=True)
@cached_hash(lambda m: hash((m.log, m.views, m.handed, m.carried)))
class MembershipState:
    """The ring's membership changes (:mod:`spec.membership`): ``log``, every change
    announced so far, in order; ``views``: per node (in the order of
    ``Config.all_nodes``), how many entries of the log it has heard of (its view:
    a node acts on the ring of the prefix it knows); ``handed``: the range
    transfers ``(key, src, dst)`` of the current change that reached their
    destination; ``carried``: those of them that arrived carrying versions (the
    sender held a copy of the key when it sent it): their senders forward a late
    write to the receiver until the handover (the late re-transfer,
    :func:`spec.membership.late_transfers`, session 35), a subset of ``handed``."""

    log: tuple[Change, ...]
    views: tuple[int, ...]
    handed: frozenset[tuple[str, str, str]] = frozenset()
    carried: frozenset[tuple[str, str, str]] = frozenset()
    _hash: int = _hash_field()


@dataclass(frozen=True, slots=True)
@cached_hash(lambda b: hash((tuple(map(payload_hash, b.store)), tuple(map(_hash_of, b.hints)),
                             b.epoch, b.key_epochs)))
class Backup:
    """A copy of one node's disk (:class:`spec.actions.Backup`): its durable store
    and hint store, the storage lifetime ``epoch`` its actor belonged to, and its
    key epochs ``(key, epoch)`` then. The counters a node mints from are those of
    its store (:func:`spec.clocks.new_version`), so the copy holds them too: a disk
    restored from it mints the dots the node minted since again, under a kept
    actor (docs/impl.md, "Operation ids after a restored backup")."""

    store: tuple[Payload, ...]
    hints: tuple[Hint, ...]
    epoch: int
    key_epochs: frozenset[tuple[str, int]]
    _hash: int = _hash_field()


@dataclass(frozen=True, slots=True)
@cached_hash(lambda b: hash((tuple(0 if x is None else x._hash for x in b.slots), b.taken,
                             b.restored, b.highest)))
class Backups:
    """The backups of a run (``faults.restores``): per node (in the order of
    ``Config.all_nodes``) the backup taken of its disk (None: none yet); how many
    backups were taken and how many restores made (each within the budget); and,
    once a restore with the actor kept took a node back to an earlier lifetime, per
    node the highest lifetime it had begun (empty: none taken back), so that a
    later new lifetime is new (the implementation's actor ids are never reused)."""

    slots: tuple[Backup | None, ...]
    taken: int = 0
    restored: int = 0
    highest: tuple[int, ...] = ()
    _hash: int = _hash_field()

    def next_epoch(self, epochs: tuple[int, ...], i: int) -> int:
        """The lifetime node ``i`` begins next: one past any it began."""
        return max(epochs[i], self.highest[i] if self.highest else 0) + 1


def _state_hash(s: State) -> int:
    """Set the state's part hashes ``_parts`` and return its hash (:func:`state_hash`)."""
    parts = (nodes_hash(s.nodes), messages_hash(s.messages), clients_hash(s.clients),
             puts_hash(s.puts))
    _set(s, "_parts", parts)
    return state_hash(parts, s.side, s.used, s.hints_acked, s.hints_deleted, s.epochs,
                      s.membership, s.key_epochs, s.backups, s.known, s.unpersisted,
                      s.rebuilding)


@dataclass(frozen=True, slots=True)
@cached_hash(_state_hash)
class State:
    """A state of the whole system (see the module docstring)."""

    nodes: tuple[NodeState, ...]
    messages: tuple[Message, ...]
    clients: tuple[ClientState, ...]
    puts: tuple[PutRecord | None, ...]
    side: frozenset[str]
    used: tuple[int, ...]
    hints_acked: frozenset[HintRecord]
    hints_deleted: frozenset[HintRecord]
    epochs: tuple[int, ...]
    config: Config = field(compare=False, hash=False, repr=False)
    _hash: int = _hash_field()
    #: the hashes of nodes, messages, clients and puts, reused by successors
    _parts: tuple[int, int, int, int] = field(init=False, repr=False, compare=False,
                                              hash=False)
    #: the ring's membership changes (None: a configuration without any)
    membership: MembershipState | None = None
    #: the key epochs ``(node, key, epoch)``, epoch >= 1 (module docstring)
    key_epochs: frozenset[tuple[str, str, int]] = frozenset()
    #: the backups of node disks and the restore budget spent (None: no restores)
    backups: Backups | None = None
    #: the retirements learnt, ``(knower, owner, lifetime)`` (module docstring;
    #: ``prune_knowledge = "learnt"`` only)
    known: frozenset[tuple[str, str, int]] = frozenset()
    #: the records a coordinator keeps in memory of the puts whose own write its disk
    #: refused, ``(node, key, payload)`` (module docstring; ``faults.write_failures``)
    unpersisted: frozenset[tuple[str, str, Payload]] = frozenset()
    #: the rebuild of the nodes whose disk was lost, ``(node, key, peer)``: the
    #: exchanges still to do, and ``(node, "", "")``, the node's acknowledgements,
    #: own writes and own reads not counted yet (module docstring; ``features.rebuild``)
    rebuilding: frozenset[tuple[str, str, str]] = frozenset()

    def node(self, name: str) -> NodeState:
        """The state of the node called ``name``."""
        return self.nodes[self.config.all_nodes.index(name)]

    def client(self, name: str) -> ClientState:
        """The state of the client called ``name``."""
        return self.clients[self.config.client_names.index(name)]

    def actor(self, name: str, key: str | None = None) -> str:
        """The actor id node ``name`` mints dots and clock entries of ``key`` under
        (:func:`actor_id`; ``key`` None: its lifetime's actor, no key epoch)."""
        epoch = self.epochs[self.config.all_nodes.index(name)]
        return actor_id(name, epoch, key_epoch(self.key_epochs, name, key))

    def put_record(self, put_id: int) -> PutRecord | None:
        """The put table entry of ``put_id`` (None until a coordinator performed it)."""
        return self.puts[put_id - 1]


def actor_id(name: str, epoch: int, key_epoch: int = 0) -> str:
    """Node ``name``'s actor in storage lifetime ``epoch`` and key epoch ``key_epoch``:
    ``name`` in its first lifetime, ``name~<epoch>`` in a later one (Riak's kv679),
    ``name~<epoch>.<key epoch>`` once a reap began a key epoch (Riak's per-key
    epochs)."""
    if key_epoch:
        return f"{name}~{epoch}.{key_epoch}"
    return f"{name}~{epoch}" if epoch else name


def key_epoch(key_epochs: frozenset[tuple[str, str, int]], name: str, key: str | None) -> int:
    """Node ``name``'s key epoch of ``key`` in ``key_epochs`` (0: none begun)."""
    if not key_epochs or key is None:
        return 0
    return next((e for n, k, e in key_epochs if n == name and k == key), 0)


# -- hashes ----------------------------------------------------------------------------
# One function per class computes its hash, for the validating constructor
# (``@cached_hash``) and the trusted one (``new_*``) alike. They hash the parts'
# cached hashes (an attribute read) rather than the parts (a Python-level
# ``__hash__`` call each), and payloads through :func:`spec.clocks.payload_hash`.


def _coordination_hash(request: int, client: str, key: str, is_put: bool,
                       payload: Payload | None, awaiting: tuple[tuple[str, str], ...],
                       sent_to: tuple[str, ...], acks: tuple[str, ...],
                       replies: tuple[tuple[str, Payload], ...],
                       groups: tuple[tuple[str, ...], ...], uncounted: tuple[str, ...] = (),
                       refused: tuple[str, ...] = ()) -> int:
    h = hash((request, client, key, is_put, 0 if payload is None else payload_hash(payload),
              awaiting, sent_to, acks,
              tuple([(n, payload_hash(p)) for n, p in replies]) if replies else (), groups))
    return h if not uncounted and not refused else hash((h, uncounted, refused))
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


def state_hash(parts: tuple[int, int, int, int], side: frozenset[str], used: tuple[int, ...],
               hints_acked: frozenset[HintRecord], hints_deleted: frozenset[HintRecord],
               epochs: tuple[int, ...], membership: MembershipState | None = None,
               key_epochs: frozenset[tuple[str, str, int]] = frozenset(),
               backups: Backups | None = None,
               known: frozenset[tuple[str, str, int]] = frozenset(),
               unpersisted: frozenset[tuple[str, str, Payload]] = frozenset(),
               rebuilding: frozenset[tuple[str, str, str]] = frozenset()) -> int:
    """The hash of a :class:`State` (an ``int``): the one formula every state's ``_hash``
    is, whether built by the class (``@cached_hash``) or by :func:`new_state`, and what
    model_check/kernel.py computes for a packed state without building it (session 60,
    issue 13). ``parts``: the hashes of the state's nodes, messages, clients and puts
    (:func:`nodes_hash`, :func:`messages_hash`, :func:`clients_hash`, :func:`puts_hash`,
    in that order: ``State._parts``); the other arguments are the state's fields of the
    same names. An optional part adds to the hash only when present (non-empty, or not
    None), so the states of configurations without it hash as before it existed. Raises
    nothing (every argument is hashable)."""
    h = hash((parts, side, used, hints_acked, hints_deleted, epochs))
    if key_epochs:
        h = hash((h, key_epochs))
    if backups is not None:
        h = hash((h, backups._hash))
    if known:
        h = hash((h, 1, known))
    if unpersisted:
        h = hash((h, 2, unpersisted))
    if rebuilding:
        h = hash((h, 3, rebuilding))
    return h if membership is None else hash((h, membership._hash))


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


def _setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of ``cls``'s slots ``names`` (its member descriptors' ``__set__``):
    the trusted constructors below fill a frozen value through them, about 4x cheaper
    a field than ``object.__setattr__`` (which looks the name up in the class each
    time; issue 13)."""
    return tuple(cls.__dict__[name].__set__ for name in names)


(_m_kind, _m_src, _m_dst, _m_request, _m_key, _m_payload, _m_intended, _m_order,
 _m_hash) = _setters(
    Message, "kind", "src", "dst", "request", "key", "payload", "intended", "order", "_hash")
(_h_intended, _h_key, _h_payload, _h_hash) = _setters(
    Hint, "intended", "key", "payload", "_hash")
(_co_request, _co_client, _co_key, _co_is_put, _co_payload, _co_awaiting, _co_sent_to,
 _co_acks, _co_replies, _co_groups, _co_uncounted, _co_refused, _co_hash) = _setters(
    Coordination, "request", "client", "key", "is_put", "payload", "awaiting", "sent_to",
    "acks", "replies", "groups", "uncounted", "refused", "_hash")
(_cl_puts_issued, _cl_gets_issued, _cl_outstanding, _cl_counter, _cl_last_get, _cl_acked,
 _cl_gets, _cl_hash) = _setters(
    ClientState, "puts_issued", "gets_issued", "outstanding", "counter", "last_get",
    "acked", "gets", "_hash")
(_n_up, _n_store, _n_hints, _n_coord, _n_hash) = _setters(
    NodeState, "up", "store", "hints", "coord", "_hash")


MESSAGES_INTERNED = 1 << 16
"""At most this many messages held by :func:`new_message`'s table (emptied when full).
The suite's entries send few distinct messages (56 in the whole search of
dvv-buffered-crash-actor-epochs, 635 in delete-concurrent-put's without symmetry)."""
_MESSAGES: dict[Message, Message] = {}


def new_message(kind: Kind, src: str, dst: str, request: int, key: str,
                payload: Payload | None = None, intended: str = "") -> Message:
    """``Message(kind, src, dst, request, key, payload, intended)``, trusted, and
    interned: a message equal to one built before (and still in the table of at most
    :data:`MESSAGES_INTERNED`) is that same object. Equal values are interchangeable,
    so nothing explored changes; the memo's delivery cache (model_check/spec_memo.py)
    then finds its cached message by identity rather than by ``Message.__eq__``, which
    compares the payloads (session 45, issue 13: 146,900 such comparisons in
    dvv-buffered-crash-actor-epochs' search, 9,546 with the table; its search 6.5%
    fewer CPU-s)."""
    m = _new(Message)
    _m_kind(m, kind)
    _m_src(m, src)
    _m_dst(m, dst)
    _m_request(m, request)
    _m_key(m, key)
    _m_payload(m, payload)
    _m_intended(m, intended)
    value = kind._value_  # as _message_hash:
    if payload is None:
        _m_order(m, (value, src, dst, request, key, intended, ()))
        _m_hash(m, hash((value, src, dst, request, key, 0, intended)))
    else:
        _m_order(m, (value, src, dst, request, key, intended, payload_key(payload)))
        _m_hash(m, hash((value, src, dst, request, key, payload_hash(payload), intended)))
    if len(_MESSAGES) >= MESSAGES_INTERNED:
        _MESSAGES.clear()
    return _MESSAGES.setdefault(m, m)


def new_hint(intended: str, key: str, payload: Payload) -> Hint:
    """``Hint(intended, key, payload)``, trusted."""
    h = _new(Hint)
    _h_intended(h, intended)
    _h_key(h, key)
    _h_payload(h, payload)
    _h_hash(h, hash((intended, key, payload_hash(payload))))
    return h


def new_coordination(request: int, client: str, key: str, is_put: bool,
                     payload: Payload | None, awaiting: tuple[tuple[str, str], ...],
                     sent_to: tuple[str, ...], acks: tuple[str, ...] = (),
                     replies: tuple[tuple[str, Payload], ...] = (),
                     groups: tuple[tuple[str, ...], ...] = (),
                     uncounted: tuple[str, ...] = (),
                     refused: tuple[str, ...] = ()) -> Coordination:
    """``Coordination(...)``, trusted."""
    c = _new(Coordination)
    _co_request(c, request)
    _co_client(c, client)
    _co_key(c, key)
    _co_is_put(c, is_put)
    _co_payload(c, payload)
    _co_awaiting(c, awaiting)
    _co_sent_to(c, sent_to)
    _co_acks(c, acks)
    _co_replies(c, replies)
    _co_groups(c, groups)
    _co_uncounted(c, uncounted)
    _co_refused(c, refused)
    _co_hash(c, _coordination_hash(request, client, key, is_put, payload, awaiting, sent_to,
                                     acks, replies, groups, uncounted, refused))
    return c


def new_client(puts_issued: int, gets_issued: int, outstanding: int, counter: int,
               last_get: LastGet | None, acked: tuple[int, ...],
               gets: tuple[GetRecord, ...]) -> ClientState:
    """``ClientState(...)``, trusted."""
    c = _new(ClientState)
    _cl_puts_issued(c, puts_issued)
    _cl_gets_issued(c, gets_issued)
    _cl_outstanding(c, outstanding)
    _cl_counter(c, counter)
    _cl_last_get(c, last_get)
    _cl_acked(c, acked)
    _cl_gets(c, gets)
    _cl_hash(c, _client_hash(puts_issued, gets_issued, outstanding, counter, last_get,
                               acked, gets))
    return c


def new_node(up: bool, store: tuple[Payload, ...], hints: tuple[Hint, ...],
             coord: tuple[Coordination, ...]) -> NodeState:
    """``NodeState(up, store, hints, coord)``, trusted."""
    n = _new(NodeState)
    _n_up(n, up)
    _n_store(n, store)
    _n_hints(n, hints)
    _n_coord(n, coord)
    _n_hash(n, hash((up, tuple(map(payload_hash, store)), tuple(map(_hash_of, hints)),
                     tuple(map(_hash_of, coord)))))  # = _node_hash
    return n


class _StateBuilder:
    """A :class:`State` under construction (issue 13, session 39): the same slots, in the
    same order, and the default attribute assignment, so :func:`new_state` fills them
    with plain stores (a specialised ``STORE_ATTR`` each, where a frozen slot's setter
    is a call: about 650 machine instructions a field, callgrind) and then makes the
    value a :class:`State` by assigning its class (allowed between classes of the same
    slots; about 2,000 instructions): 5,700 instead of 14,200 a state. Nothing else
    ever sees a builder."""

    __slots__ = (
        "_hash",
        "_parts",
        "backups",
        "clients",
        "config",
        "epochs",
        "hints_acked",
        "hints_deleted",
        "key_epochs",
        "known",
        "membership",
        "messages",
        "nodes",
        "puts",
        "rebuilding",
        "side",
        "unpersisted",
        "used",
    )
    nodes: tuple[NodeState, ...]
    messages: tuple[Message, ...]
    clients: tuple[ClientState, ...]
    puts: tuple[PutRecord | None, ...]
    side: frozenset[str]
    used: tuple[int, ...]
    hints_acked: frozenset[HintRecord]
    hints_deleted: frozenset[HintRecord]
    epochs: tuple[int, ...]
    config: Config
    _hash: int
    _parts: tuple[int, int, int, int]
    membership: MembershipState | None
    key_epochs: frozenset[tuple[str, str, int]]
    backups: Backups | None
    known: frozenset[tuple[str, str, int]]
    unpersisted: frozenset[tuple[str, str, Payload]]
    rebuilding: frozenset[tuple[str, str, str]]


assert sorted(_StateBuilder.__slots__) == sorted(State.__slots__)


def new_state(nodes: tuple[NodeState, ...], messages: tuple[Message, ...],
              clients: tuple[ClientState, ...], puts: tuple[PutRecord | None, ...],
              side: frozenset[str], used: tuple[int, ...],
              hints_acked: frozenset[HintRecord], hints_deleted: frozenset[HintRecord],
              epochs: tuple[int, ...], config: Config,
              parts: tuple[int, int, int, int] | None = None,
              membership: MembershipState | None = None,
              key_epochs: frozenset[tuple[str, str, int]] = frozenset(),
              backups: Backups | None = None,
              known: frozenset[tuple[str, str, int]] = frozenset(),
              unpersisted: frozenset[tuple[str, str, Payload]] = frozenset(),
              rebuilding: frozenset[tuple[str, str, str]] = frozenset()) -> State:
    """``State(...)``, trusted; ``parts``: the part hashes if known (see ``_parts``).
    Built as a :class:`_StateBuilder`, then made a :class:`State`."""
    if parts is None:
        parts = (nodes_hash(nodes), messages_hash(messages), clients_hash(clients),
                 puts_hash(puts))
    s = _new(_StateBuilder)
    s.nodes = nodes
    s.messages = messages
    s.clients = clients
    s.puts = puts
    s.side = side
    s.used = used
    s.hints_acked = hints_acked
    s.hints_deleted = hints_deleted
    s.epochs = epochs
    s.config = config
    s._parts = parts
    s.membership = membership
    s.key_epochs = key_epochs
    s.backups = backups
    s.known = known
    s.unpersisted = unpersisted
    s.rebuilding = rebuilding
    s._hash = state_hash(parts, side, used, hints_acked, hints_deleted, epochs, membership,
                         key_epochs, backups, known, unpersisted, rebuilding)
    s.__class__ = State  # type: ignore[assignment]
    return s  # type: ignore[return-value]
