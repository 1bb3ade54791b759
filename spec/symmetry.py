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
        candidate = state if perm == sorted(perm) else rename_clients(state, perm)
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


def rename_clients(state: State, perm: Sequence[int]) -> State:
    """``state`` with client ``i`` renamed to client ``perm[i]`` (and its puts and gets)."""
    config = state.config
    rq = _request_map(config, tuple(perm))
    names = config.client_names
    nm = {names[i]: names[perm[i]] for i in range(config.clients)}

    def ids(items: Sequence[int]) -> tuple[int, ...]:
        return tuple(sorted(rq[v] for v in items))

    def payload(p: Payload) -> Payload:
        if isinstance(p, tuple):
            return ids(p)
        return DVVSet.of(
            [Entry(e.id, e.counter, tuple(rq[v] for v in e.values)) for e in p.entries],
            [rq[v] for v in p.anonymous],
        )

    def clock(c: VClock) -> VClock:
        if not any(n in nm for n, _ in c.pairs):
            return c
        return VClock.of({nm.get(n, n): k for n, k in c.pairs})

    def context(c: Context) -> Context:
        return clock(c) if isinstance(c, VClock) else c

    nodes = tuple(_node(node, rq, nm, payload) for node in state.nodes)
    messages = tuple(
        sorted(
            (
                Message(m.kind, m.src, m.dst, rq[m.request], m.key,
                        None if m.payload is None else payload(m.payload), m.intended)
                for m in state.messages
            ),
            key=lambda m: m.order,
        )
    )
    clients: list[ClientState | None] = [None] * config.clients
    for i, cl in enumerate(state.clients):
        last = cl.last_get
        clients[perm[i]] = ClientState(
            cl.puts_issued,
            cl.gets_issued,
            rq[cl.outstanding],
            cl.counter,
            None if last is None else LastGet(
                last.key, context(last.context), frozenset(rq[v] for v in last.history),
                ids(last.siblings),
            ),
            ids(cl.acked),
            tuple(GetRecord(rq[g.request], g.key, ids(g.acked_before), ids(g.returned))
                  for g in cl.gets),
        )
    puts: list[PutRecord | None] = [None] * len(state.puts)
    for record in state.puts:
        if record is None:
            continue
        new_id = rq[record.put_id]
        puts[new_id - 1] = PutRecord(
            new_id, nm[record.client], record.key, record.coordinator, clock(record.clock),
            record.stamp, frozenset(rq[v] for v in record.history), ids(record.read_siblings),
            record.dot,
        )
    return State(
        nodes,
        messages,
        tuple(c for c in clients if c is not None),
        tuple(puts),
        state.side,
        state.used,
        frozenset((h, i, k, payload(p)) for h, i, k, p in state.hints_acked),
        frozenset((h, i, k, payload(p)) for h, i, k, p in state.hints_deleted),
        state.epochs,
        config,
        membership=state.membership,
    )


def _node(
    node: NodeState, rq: dict[int, int], nm: dict[str, str], payload: Callable[[Payload], Payload]
) -> NodeState:
    store = tuple(payload(p) for p in node.store)
    hints = tuple(
        sorted((Hint(h.intended, h.key, payload(h.payload)) for h in node.hints),
               key=lambda h: h.order)
    )
    coord = tuple(
        sorted(
            (
                Coordination(
                    rq[c.request], nm[c.client], c.key, c.is_put,
                    None if c.payload is None else payload(c.payload), c.awaiting,
                    c.sent_to, c.acks, tuple((n, payload(p)) for n, p in c.replies),
                    c.groups,
                )
                for c in node.coord
            ),
            key=lambda c: c.request,
        )
    )
    return NodeState(node.up, store, hints, coord)


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
