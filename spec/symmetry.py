"""Symmetry reduction: interchangeable clients map to one representative state.

Not a mechanism of the paper: a reduction of the model checker's state space
(Stateright and TLC do the same for symmetric processes). Raises nothing.

Theory of operation
-------------------
All clients run the same workload (the same numbers of puts and gets, any key,
any allowed coordinator), and nothing in the protocol looks at a client's
identity except to tell clients apart: a client's puts have ids
``client_index * writes_per_client + ordinal + 1`` (the value it writes), its gets
follow all put ids, and in ``client-vclock`` mode its name is its clock entry.
So renaming the clients by a permutation, and with them their put ids, get ids
and clock entries everywhere in the state (stores, hints, messages, coordinator
records, the put table, client histories, ghost records), maps reachable states
to reachable states, actions to actions, and every property to itself (the
properties quantify over all clients and all puts alike).

:func:`canonicalize` orders the clients by a signature renaming cannot change,
tries every order of the clients whose signatures tie, and keeps the renaming
with the smallest hash (ties broken by ``repr``), so all states of one orbit get
the same representative within a run. It is the identity for one client.

Nodes are *not* permuted: on a ring, a key's preference list orders the nodes
(the coordinator of ``workload.coordinator = "first"``, the order of fallbacks,
which node a hint names), so two nodes are interchangeable only in special cases
(a strict quorum whose N equals the number of nodes, with coordinators drawn
from all of them); the reduction does not try to detect them. Put values are
not permuted apart from their clients either: a value *is* its put's identity.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple

from spec.clocks import Context, Payload, PutRecord
from spec.config import Config
from spec.dvv import DVVSet, Entry
from spec.state import (
    ClientState,
    Coordination,
    GetRecord,
    Hint,
    LastGet,
    Message,
    NodeState,
    State,
    new_client,
    new_coordination,
    new_hint,
    new_message,
    new_node,
    new_state,
)
from spec.vclock import VClock

__all__ = ["canonicalize", "rename_clients"]


def canonicalize(state: State) -> State:
    """The representative of ``state``'s orbit under client permutations.

    Clients are first ordered by a signature that renaming cannot change (their
    counters and the sizes of their histories); only clients with equal
    signatures are then tried in every order, keeping the renaming with the
    smallest hash (ties broken by ``repr``). Every member of an orbit has the same
    signatures and so the same candidate set: the representative is canonical.
    """
    config = state.config
    if config.clients < 2:
        return state
    signatures = [_signature(c) for c in state.clients]
    order = sorted(range(config.clients), key=lambda i: signatures[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and signatures[groups[-1][0]] == signatures[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    best: State | None = None
    best_key = 0
    for arrangement in itertools.product(*(itertools.permutations(g) for g in groups)):
        perm = [0] * config.clients
        for position, old in enumerate(i for group in arrangement for i in group):
            perm[old] = position
        candidate = state if perm == sorted(perm) else rename_clients(state, perm, trusted=True)
        key = hash(candidate)
        if best is None or key < best_key or (key == best_key and repr(candidate) < repr(best)):
            best, best_key = candidate, key
    assert best is not None
    return best


def _signature(client: ClientState) -> tuple[int, ...]:
    """What renaming clients cannot change about a client."""
    return (client.puts_issued, client.gets_issued, int(client.outstanding != 0),
            client.counter, len(client.acked), len(client.gets),
            int(client.last_get is not None))


def rename_clients(state: State, perm: Sequence[int], *, trusted: bool = False) -> State:
    """``state`` with client ``i`` renamed to client ``perm[i]`` (and its puts and gets).

    By default every part is built through its class's validating constructor. With
    ``trusted`` (what :func:`canonicalize` uses) the nodes, messages, clients and the
    state are built with the trusted constructors of :mod:`spec.state` (a renaming of
    valid parts is valid), a dvv payload is renamed once per object
    (:func:`_renamed_payload`), and a node the renaming leaves alone is kept as it is:
    the same value, several times cheaper (``tests/spec/test_model.py`` compares the
    two)."""
    config = state.config
    rq = _request_map(config, tuple(perm))
    names = config.client_names
    nm = {names[i]: names[perm[i]] for i in range(config.clients)}
    build = _TRUSTED if trusted else _VALIDATING

    def ids(items: Sequence[int]) -> tuple[int, ...]:
        return tuple(sorted([rq[v] for v in items]))

    def payload(p: Payload) -> Payload:
        return _renamed_payload(rq, p, trusted)

    def clock(c: VClock) -> VClock:
        if not any(n in nm for n, _ in c.pairs):
            return c
        return VClock.of({nm.get(n, n): k for n, k in c.pairs})

    def context(c: Context) -> Context:
        return clock(c) if isinstance(c, VClock) else c

    nodes = tuple([_node(node, rq, nm, payload, build) for node in state.nodes])
    messages = [
        build.message(m.kind, m.src, m.dst, rq[m.request], m.key,
                    None if m.payload is None else payload(m.payload), m.intended)
        for m in state.messages
    ]
    messages.sort(key=_message_order)
    clients: list[ClientState | None] = [None] * config.clients
    for i, cl in enumerate(state.clients):
        last = cl.last_get
        clients[perm[i]] = build.client(
            cl.puts_issued,
            cl.gets_issued,
            rq[cl.outstanding],
            cl.counter,
            None if last is None else LastGet(
                last.key, context(last.context), frozenset([rq[v] for v in last.history]),
                ids(last.siblings),
            ),
            ids(cl.acked),
            tuple([GetRecord(rq[g.request], g.key, ids(g.acked_before), ids(g.returned))
                   for g in cl.gets]),
        )
    puts: list[PutRecord | None] = [None] * len(state.puts)
    for record in state.puts:
        if record is None:
            continue
        new_id = rq[record.put_id]
        puts[new_id - 1] = PutRecord(
            new_id, nm[record.client], record.key, record.coordinator, clock(record.clock),
            record.stamp, frozenset([rq[v] for v in record.history]),
            ids(record.read_siblings), record.dot,
        )
    return build.state(
        nodes,
        tuple(messages),
        tuple([c for c in clients if c is not None]),
        tuple(puts),
        state.side,
        state.used,
        frozenset([(h, i, k, payload(p)) for h, i, k, p in state.hints_acked]),
        frozenset([(h, i, k, payload(p)) for h, i, k, p in state.hints_deleted]),
        state.epochs,
        config,
        membership=state.membership,
        key_epochs=state.key_epochs,
    )


def _node(node: NodeState, rq: dict[int, int], nm: dict[str, str],
          payload: Callable[[Payload], Payload], build: _Builders) -> NodeState:
    store = tuple([payload(p) for p in node.store])
    if build is _TRUSTED and not node.hints and not node.coord and all(
            a is b for a, b in zip(store, node.store, strict=True)):
        return node  # nothing of it names a client
    hints = [build.hint(h.intended, h.key, payload(h.payload)) for h in node.hints]
    hints.sort(key=_hint_order)
    coord = [
        build.coordination(
            rq[c.request], nm[c.client], c.key, c.is_put,
            None if c.payload is None else payload(c.payload), c.awaiting,
            c.sent_to, c.acks, tuple([(n, payload(p)) for n, p in c.replies]),
            c.groups,
        )
        for c in node.coord
    ]
    coord.sort(key=_coord_order)
    return build.node(node.up, store, tuple(hints), tuple(coord))


class _Builders(NamedTuple):
    """The constructors :func:`rename_clients` builds with (same arguments either way)."""

    message: Callable[..., Message]
    hint: Callable[..., Hint]
    coordination: Callable[..., Coordination]
    node: Callable[..., NodeState]
    client: Callable[..., ClientState]
    state: Callable[..., State]


_VALIDATING = _Builders(Message, Hint, Coordination, NodeState, ClientState, State)
_TRUSTED = _Builders(new_message, new_hint, new_coordination, new_node, new_client, new_state)


def _renamed_payload(rq: dict[int, int], payload: Payload, trusted: bool) -> Payload:
    """``payload`` with its put ids renamed by ``rq``. ``trusted``: the payload itself when
    that changes nothing (an empty one), and a dvv payload's renaming is remembered per
    (map, payload object): the spec shares payload objects between the nodes, messages and
    states that hold them."""
    if isinstance(payload, tuple):
        return tuple(sorted([rq[v] for v in payload]))
    if not trusted:
        return _rename_dvv(rq, payload)
    key = (id(rq), id(payload))
    hit = _RENAMED.get(key)
    if hit is not None and hit[0] is rq and hit[1] is payload:
        return hit[2]
    renamed: Payload = payload
    if payload.anonymous or any(e.values for e in payload.entries):
        renamed = _rename_dvv(rq, payload)
    if len(_RENAMED) > _RENAMED_LIMIT:
        _RENAMED.clear()
    _RENAMED[key] = (rq, payload, renamed)
    return renamed


def _rename_dvv(rq: dict[int, int], payload: DVVSet[int]) -> DVVSet[int]:
    return DVVSet.of(
        [Entry(e.id, e.counter, tuple([rq[v] for v in e.values])) for e in payload.entries],
        [rq[v] for v in payload.anonymous],
    )


# Keyed by ids: each entry holds its map and payload, so neither id is reused while cached.
_RENAMED: dict[tuple[int, int], tuple[dict[int, int], Payload, Payload]] = {}
_RENAMED_LIMIT = 200_000
_message_order = attrgetter("order")
_hint_order = attrgetter("order")
_coord_order = attrgetter("request")


@lru_cache(maxsize=256)
def _request_map(config: Config, perm: tuple[int, ...]) -> dict[int, int]:
    """Old request id -> new request id (put ids and get ids; 0 stays 0)."""
    p, g, total = config.writes_per_client, config.gets_per_client, config.clients
    out = {0: 0}
    for ci in range(total):
        for k in range(p):
            out[ci * p + k + 1] = perm[ci] * p + k + 1
        for k in range(g):
            out[total * p + ci * g + k + 1] = total * p + perm[ci] * g + k + 1
    return out
