"""Building one step: the per-configuration plan and the working copy of a state.

Theory of operation
-------------------
Every mechanism module (:mod:`spec.requests`, :mod:`spec.delivery`,
:mod:`spec.coordination`, :mod:`spec.read_repair`, :mod:`spec.handoff`,
:mod:`spec.anti_entropy`, :mod:`spec.faults`) yields ``(action, next state)``
pairs built the same way: it opens an :class:`Edit` on the current state,
changes what its step changes, and calls :meth:`Edit.build`, which shares every
untouched part (and its cached hash) with the source state. A :class:`Plan` holds
what depends on the configuration only (preference lists, top N, who may
coordinate, the partitions to try), computed once per configuration.

Nothing here is a mechanism of the paper; it is the spec's bookkeeping, kept
fast because the explorer builds millions of successors.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass
from functools import lru_cache

from spec import clocks
from spec.clocks import Payload
from spec.config import Config
from spec.dvv import DVVSet
from spec.retired import prune_at
from spec.state import (
    ClientState,
    Coordination,
    GetRecord,
    Kind,
    LastGet,
    Message,
    NodeState,
    State,
    actor_id,
    clients_hash,
    key_epoch,
    messages_hash,
    new_client,
    new_node,
    new_state,
    nodes_hash,
    puts_hash,
)

__all__ = [
    "Edit",
    "Plan",
    "client_of",
    "find_coordination",
    "forget_unpersisted",
    "get_id_of",
    "plan_of",
    "put_id_of",
    "tombstone_ids",
    "with_client",
]


@dataclass(frozen=True)
class Plan:
    """What successors need of a configuration, precomputed: node and key indexes,
    each key's preference list ``pref`` and top N ``top``, the nodes a client may
    send a request for a key to ``entry`` (``workload.coordinator``), client
    indexes, the number of puts in the workload, and the partitions ``sides`` a
    partition fault may pick (the side holding the first node)."""

    config: Config
    nodes: tuple[str, ...]
    index: dict[str, int]
    keys: tuple[str, ...]
    key_index: dict[str, int]
    pref: dict[str, tuple[str, ...]]
    top: dict[str, tuple[str, ...]]
    entry: dict[str, tuple[str, ...]]
    clients: tuple[str, ...]
    client_index: dict[str, int]
    total_puts: int
    sides: tuple[frozenset[str], ...]
    #: the put ids that are deletes (their value is a tombstone)
    tombstones: frozenset[int] = frozenset()
    #: the ring may change (``[membership]`` budgets): ``pref``, ``top`` and
    #: ``entry`` are then the initial ring's, and :mod:`spec.membership` gives each
    #: node's own (``nodes`` holds the joining nodes too)
    membership: bool = False


def plan_of(config: Config) -> Plan:
    """The plan of ``config``, cached by the config object's id (hashing a Config
    on every call would cost more than the rest of a small state's successors)."""
    cached = _PLANS.get(id(config))
    if cached is not None and cached[0] is config:
        return cached[1]
    if len(_PLANS) > 64:
        _PLANS.clear()
    plan = _make_plan(config)
    _PLANS[id(config)] = (config, plan)
    return plan


# Each entry holds its config, so the id cannot be reused while cached.
_PLANS: dict[int, tuple[Config, Plan]] = {}


@lru_cache(maxsize=64)
def _make_plan(config: Config) -> Plan:
    nodes = config.all_nodes
    pref = {k: config.preference_list(k) for k in config.keys}
    top = {k: p[: config.n] for k, p in pref.items()}
    if config.coordinator == "any":
        entry = {k: nodes for k in config.keys}
    elif config.coordinator == "top-n":
        entry = {k: tuple(n for n in nodes if n in top[k]) for k in config.keys}
    else:
        entry = {k: (top[k][0],) for k in config.keys}
    rest = nodes[1:]
    sides = tuple(
        frozenset((nodes[0], *combo))
        for size in range(len(rest))
        for combo in itertools.combinations(rest, size)
    )
    return Plan(
        config=config,
        nodes=nodes,
        index={n: i for i, n in enumerate(nodes)},
        keys=config.keys,
        key_index={k: i for i, k in enumerate(config.keys)},
        pref=pref,
        top=top,
        entry=entry,
        clients=config.client_names,
        client_index={c: i for i, c in enumerate(config.client_names)},
        total_puts=config.clients * config.writes_per_client,
        sides=sides,
        tombstones=tombstone_ids(config),
        membership=config.membership,
    )


def put_id_of(config: Config, client_index: int, ordinal: int) -> int:
    """The put id (= request id = value) of a client's ``ordinal``-th write (from 0):
    its puts, then its deletes (``ordinal >= puts_per_client``)."""
    return client_index * config.writes_per_client + ordinal + 1


def get_id_of(config: Config, client_index: int, ordinal: int) -> int:
    """The request id of a client's ``ordinal``-th get (after every put id)."""
    return config.clients * config.writes_per_client + client_index * config.gets_per_client + (
        ordinal + 1
    )


@lru_cache(maxsize=64)
def tombstone_ids(config: Config) -> frozenset[int]:
    """The put ids that are deletes: each client's last ``deletes_per_client`` writes."""
    return frozenset(
        put_id_of(config, ci, k)
        for ci in range(config.clients)
        for k in range(config.puts_per_client, config.writes_per_client)
    )


def client_of(plan: Plan, request: int) -> str:
    """The name of the client that issued ``request`` (a put id or a get id)."""
    config = plan.config
    if request <= plan.total_puts:
        return plan.clients[(request - 1) // config.writes_per_client]
    return plan.clients[(request - plan.total_puts - 1) // config.gets_per_client]


def find_coordination(node: NodeState, request: int) -> Coordination | None:
    """``node``'s coordination record of ``request``, if it coordinates it."""
    for coord in node.coord:
        if coord.request == request:
            return coord
    return None


def with_client(
    cl: ClientState,
    *,
    puts_issued: int | None = None,
    gets_issued: int | None = None,
    outstanding: int | None = None,
    counter: int | None = None,
    last_get: LastGet | None = None,
    acked: tuple[int, ...] | None = None,
    gets: tuple[GetRecord, ...] | None = None,
) -> ClientState:
    """``cl`` with the given fields changed."""
    return new_client(
        cl.puts_issued if puts_issued is None else puts_issued,
        cl.gets_issued if gets_issued is None else gets_issued,
        cl.outstanding if outstanding is None else outstanding,
        cl.counter if counter is None else counter,
        cl.last_get if last_get is None else last_get,
        cl.acked if acked is None else acked,
        cl.gets if gets is None else gets,
    )


class Edit:
    """A working copy of a state, for building one successor.

    Copy on write: ``nodes``, ``messages`` and ``clients`` are the source's tuples
    until first changed (then lists); :meth:`build` rehashes only the changed parts
    and shares the rest with the source."""

    __slots__ = ("backups", "clients", "clients_dirty", "epochs", "hints_acked", "hints_deleted",
                 "key_epochs", "known", "membership", "messages", "messages_dirty", "nodes",
                 "nodes_dirty", "plan", "puts", "rebuilding", "sent", "side", "source",
                 "unpersisted", "used")

    def __init__(self, state: State, plan: Plan) -> None:
        self.source = state
        self.plan = plan
        self.nodes: tuple[NodeState, ...] | list[NodeState] = state.nodes
        self.messages: tuple[Message, ...] | list[Message] = state.messages
        self.clients: tuple[ClientState, ...] | list[ClientState] = state.clients
        self.nodes_dirty = False
        self.messages_dirty = False
        self.clients_dirty = False
        self.puts = state.puts
        self.side = state.side
        self.used = state.used
        self.hints_acked = state.hints_acked
        self.hints_deleted = state.hints_deleted
        self.epochs = state.epochs
        self.key_epochs = state.key_epochs
        self.membership = state.membership
        self.backups = state.backups
        self.known = state.known
        self.unpersisted = state.unpersisted
        self.rebuilding = state.rebuilding
        self.sent = False

    # nodes
    def node(self, name: str) -> NodeState:
        """The (possibly already changed) state of node ``name``."""
        return self.nodes[self.plan.index[name]]

    def set_node(self, name: str, node: NodeState) -> None:
        """Replace node ``name``'s state."""
        if not self.nodes_dirty:
            self.nodes = list(self.nodes)
            self.nodes_dirty = True
        self.nodes[self.plan.index[name]] = node  # type: ignore[index]

    def actor(self, name: str, key: str | None = None) -> str:
        """The actor id node ``name`` mints ``key`` under now (see :meth:`State.actor`)."""
        epoch = self.epochs[self.plan.index[name]]
        return actor_id(name, epoch, key_epoch(self.key_epochs, name, key))

    def reachable(self, a: str, b: str) -> bool:
        """Both nodes up and on the same side of the partition."""
        index = self.plan.index
        return (
            self.nodes[index[a]].up
            and self.nodes[index[b]].up
            and ((a in self.side) == (b in self.side))
        )

    def store(self, name: str, key: str, payload: Payload) -> None:
        """Reconcile ``payload`` into ``name``'s durable store."""
        node = self.node(name)
        k = self.plan.key_index[key]
        old = node.store[k]
        config = self.plan.config
        merged = clocks.merge(config.clock, old, payload, self.puts)
        if config.prune_retired >= 0:  # session 33: spec.retired
            merged = self.pruned(name, merged)
            if clocks.payload_equal(merged, old):
                merged = old
        # merge returns ``old`` itself for a dvv result equal to it (see clocks.merge)
        if merged is not old and (merged.__class__ is not tuple or merged != old):
            store = (*node.store[:k], merged, *node.store[k + 1 :])
            self.set_node(name, new_node(node.up, store, node.hints, node.coord))

    def pruned(self, name: str, payload: Payload) -> Payload:
        """``payload`` as node ``name`` writes it with ``[features] prune_retired`` on:
        less the value-less entries of retired lifetimes past the newest kept
        (:func:`spec.retired.prune_at`, by the current lifetimes ``epochs`` and, with
        ``prune_knowledge = "learnt"``, what the node has learnt now: ``known``)."""
        if not isinstance(payload, DVVSet):
            return payload
        config = self.plan.config
        return prune_at(name, payload, self.plan.nodes, self.epochs, config.prune_retired,
                        config.prune_knowledge, self.known)

    def set_coord(self, name: str, coord: Coordination | None, request: int) -> None:
        """Replace (``coord``) or end (None) node ``name``'s coordination of ``request``;
        ending it also purges the messages of its exchange (:meth:`purge`)."""
        node = self.node(name)
        kept = [c for c in node.coord if c.request != request]
        if coord is not None:
            kept.append(coord)
            if len(kept) > 1:
                kept.sort(key=_coord_order)
        else:
            self.purge(name, request)
        self.set_node(name, new_node(node.up, node.store, node.hints, tuple(kept)))

    def _messages(self) -> list[Message]:
        if not self.messages_dirty:
            self.messages = list(self.messages)
            self.messages_dirty = True
        return self.messages  # type: ignore[return-value]

    def send(self, message: Message) -> None:
        """Put ``message`` in flight."""
        self._messages().append(message)
        self.sent = True

    def remove_at(self, position: int) -> None:
        """Remove the source's ``position``-th message (before any other change)."""
        del self._messages()[position]

    def purge(self, node: str, request: int, target: str | None = None) -> None:
        """Drop the messages of ``node``'s exchange for ``request`` (with ``target``
        only, or with everybody) that can no longer have any effect: replica gets it
        sent, and the answers coming back to it. Replica puts it sent are kept: they
        write."""
        kept = [
            m
            for m in self.messages
            if not (
                m.request == request
                and (
                    (m.kind is Kind.REPLICA_GET and m.src == node
                     and (target is None or m.dst == target))
                    or ((m.kind is Kind.REPLICA_GET_REPLY or m.kind is Kind.REPLICA_PUT_ACK
                         or m.kind is Kind.REPLICA_PUT_FAILED)
                        and m.dst == node and (target is None or m.src == target))
                )
            )
        ]
        if len(kept) != len(self.messages):
            self.messages = kept
            self.messages_dirty = True

    # clients
    def client(self, name: str) -> ClientState:
        """The (possibly already changed) state of client ``name``."""
        return self.clients[self.plan.client_index[name]]

    def set_client_at(self, index: int, client: ClientState) -> None:
        """Replace the state of the ``index``-th client."""
        if not self.clients_dirty:
            self.clients = list(self.clients)
            self.clients_dirty = True
        self.clients[index] = client  # type: ignore[index]

    def set_client(self, name: str, client: ClientState) -> None:
        """Replace client ``name``'s state."""
        self.set_client_at(self.plan.client_index[name], client)

    def build(self) -> State:
        """The successor state (messages re-sorted if any was sent)."""
        source = self.source
        parts = source._parts
        hn, hm, hc, hp = parts
        nodes = source.nodes
        if self.nodes_dirty:
            nodes = tuple(self.nodes)
            hn = nodes_hash(nodes)
        messages = source.messages
        if self.messages_dirty:
            if self.sent:  # removals and purges keep the order
                self.messages.sort(key=_message_order)  # type: ignore[union-attr]
            messages = tuple(self.messages)
            hm = messages_hash(messages)
        clients = source.clients
        if self.clients_dirty:
            clients = tuple(self.clients)
            hc = clients_hash(clients)
        if self.puts is not source.puts:
            hp = puts_hash(self.puts)
        return new_state(
            nodes,
            messages,
            clients,
            self.puts,
            self.side,
            self.used,
            self.hints_acked,
            self.hints_deleted,
            self.epochs,
            source.config,
            (hn, hm, hc, hp),
            self.membership,
            self.key_epochs,
            self.backups,
            self.known,
            self.unpersisted,
            self.rebuilding,
        )


_coord_order = operator.attrgetter("request")
_message_order = operator.attrgetter("order")  # C-level sort keys: no Python frame per item


def forget_unpersisted(kept: frozenset[tuple[str, str, Payload]], node: str,
                       key: str | None = None) -> frozenset[tuple[str, str, Payload]]:
    """``kept`` (``State.unpersisted``) without node ``node``'s records (of ``key``
    only, if given): a crash loses them all, a reap of a key those of the key."""
    return frozenset(e for e in kept if e[0] != node or (key is not None and e[1] != key))
