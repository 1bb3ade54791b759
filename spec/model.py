"""Dynamo as a transition system: ``initial_state(config)`` and ``successors(state)``.

Theory of operation
-------------------
The state (:mod:`spec.state`) holds the nodes (durable store and hint store per
node, volatile coordinator state), the in-flight messages (a multiset), the
clients and the ghost records. :func:`successors` yields every enabled step as an
``(action, next state)`` pair, in a deterministic order:

1. client requests: a client with no request outstanding and budget left sends
   ``put`` or ``get`` of a key to a node it may use (``workload.coordinator``);
   a node outside the key's top N forwards it (a ``forward`` message) to the
   first of them. The coordinator of a put writes locally (the put's clock per
   the clock mode, :mod:`spec.clocks`), sends the new version to the other
   highest-ranked reachable nodes and acknowledges to the client after W
   acknowledgements (itself included). A get reads locally, asks the others,
   and after R responses returns the reconciled versions with one context; read
   repair then writes the reconciled versions back to every responder that
   answered with something else.
2. delivery of any in-flight message (in any order); at a down node it is lost.
   A message across the partition is not deliverable until the heal.
3. coordinator timeouts (sloppy quorum: the next fallback down the preference
   list gets the request, with a hint naming the intended node; without a
   fallback, or with a strict quorum, the target is given up and the request
   fails once its quorum is out of reach); client timeouts.
4. background work: hinted handoff (a fallback sends a hint to its intended
   node once reachable; the hint is deleted when the acknowledgement comes back)
   and anti-entropy (two reachable replicas of a key reconcile it in one step).
5. faults, each within its budget: drop, duplicate, crash; partition; and the
   non-faults recover and heal.

Reductions (each keeps the properties' verdicts; see docs/spec.md):

* Failure detection is accurate: a coordinator picks the first N *reachable*
  nodes of the preference list, and a timeout on a target is enabled only when
  its answer cannot come (the target is down or cut off, or no message of the
  exchange is in flight). A client times out only when nobody works on its
  request any more.
* A hint is (re)sent only when no copy of its handoff or acknowledgement is in
  flight; anti-entropy is enabled only between replicas that differ.
* Client replies are direct (not messages): a request ends when its coordinator
  decides; a crashed coordinator leaves its client to time out.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from spec import clocks
from spec.actions import (
    Action,
    AntiEntropy,
    ClientGet,
    ClientPut,
    ClientTimeout,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Handoff,
    Heal,
    Partition,
    Recover,
    Timeout,
    action_from_json,
    message_json,
    new_deliver,
    new_drop,
    new_duplicate,
)
from spec.clocks import Payload, PutRecord, payload_json
from spec.config import Config
from spec.state import (
    ClientState,
    Coordination,
    GetRecord,
    Hint,
    Kind,
    LastGet,
    Message,
    NodeState,
    State,
    clients_hash,
    messages_hash,
    new_client,
    new_coordination,
    new_hint,
    new_message,
    new_node,
    new_state,
    nodes_hash,
    puts_hash,
)
from spec.symmetry import canonicalize as _canonicalize_clients

__all__ = [
    "Action",
    "State",
    "action_from_json",
    "canonicalize",
    "converged",
    "describe",
    "history_of",
    "initial_state",
    "is_fault",
    "is_quiescent",
    "narrate",
    "stored_values",
    "successors",
]

FAULTS = (Drop, Duplicate, Crash, Partition)

# Actions are values: the successor path shares one object per distinct action
# rather than building a new one per transition.
_client_put = lru_cache(maxsize=4096)(ClientPut)
_client_get = lru_cache(maxsize=4096)(ClientGet)
_timeout_action = lru_cache(maxsize=4096)(Timeout)
_client_timeout = lru_cache(maxsize=4096)(ClientTimeout)
_anti_entropy = lru_cache(maxsize=4096)(AntiEntropy)
_crash = lru_cache(maxsize=4096)(Crash)
_recover = lru_cache(maxsize=4096)(Recover)
_HEAL = Heal()


# -- per-configuration plan ------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
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


def _plan(config: Config) -> _Plan:
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
_PLANS: dict[int, tuple[Config, _Plan]] = {}


@lru_cache(maxsize=64)
def _make_plan(config: Config) -> _Plan:
    nodes = config.nodes
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
    return _Plan(
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
        total_puts=config.clients * config.puts_per_client,
        sides=sides,
    )


def put_id_of(config: Config, client_index: int, ordinal: int) -> int:
    """The put id (= request id = value) of a client's ``ordinal``-th put (from 0)."""
    return client_index * config.puts_per_client + ordinal + 1


def get_id_of(config: Config, client_index: int, ordinal: int) -> int:
    """The request id of a client's ``ordinal``-th get (after every put id)."""
    return config.clients * config.puts_per_client + client_index * config.gets_per_client + (
        ordinal + 1
    )


# -- initial state ---------------------------------------------------------------------


def initial_state(config: Config) -> State:
    """Every node up with empty stores, no message, clients idle, no fault spent."""
    empty = clocks.empty(config.clock)
    node = NodeState(True, tuple(empty for _ in config.keys))
    return State(
        nodes=tuple(node for _ in config.nodes),
        messages=(),
        clients=tuple(ClientState() for _ in range(config.clients)),
        puts=tuple(None for _ in range(config.clients * config.puts_per_client)),
        side=frozenset(),
        used=(0, 0, 0, 0),
        hints_acked=frozenset(),
        hints_deleted=frozenset(),
        config=config,
    )


# -- editing ---------------------------------------------------------------------------


class _Edit:
    """A working copy of a state, for building one successor.

    Copy on write: ``nodes``, ``messages`` and ``clients`` are the source's tuples
    until first changed (then lists); :meth:`build` rehashes only the changed parts
    and shares the rest with the source."""

    __slots__ = ("clients", "clients_dirty", "hints_acked", "hints_deleted", "messages",
                 "messages_dirty", "nodes", "nodes_dirty", "plan", "puts", "sent", "side",
                 "source", "used")

    def __init__(self, state: State, plan: _Plan) -> None:
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
        self.sent = False

    # nodes
    def node(self, name: str) -> NodeState:
        return self.nodes[self.plan.index[name]]

    def set_node(self, name: str, node: NodeState) -> None:
        if not self.nodes_dirty:
            self.nodes = list(self.nodes)
            self.nodes_dirty = True
        self.nodes[self.plan.index[name]] = node  # type: ignore[index]

    def reachable(self, a: str, b: str) -> bool:
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
        merged = clocks.merge(self.plan.config.clock, old, payload, self.puts)
        # merge returns ``old`` itself for a dvv result equal to it (see clocks.merge)
        if merged is not old and (merged.__class__ is not tuple or merged != old):
            store = (*node.store[:k], merged, *node.store[k + 1 :])
            self.set_node(name, new_node(node.up, store, node.hints, node.coord))

    def set_coord(self, name: str, coord: Coordination | None, request: int) -> None:
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
        self._messages().append(message)
        self.sent = True

    def remove_at(self, position: int) -> None:
        """Remove the source's ``position``-th message (before any other change)."""
        del self._messages()[position]

    def purge(self, node: str, request: int, target: str | None = None) -> None:
        """Drop the messages of ``node``'s exchange for ``request`` (with ``target``
        only, or with everybody) that can no longer have any effect: reads it sent,
        and the answers coming back to it. Replicas it sent are kept: they write."""
        kept = [
            m
            for m in self.messages
            if not (
                m.request == request
                and (
                    (m.kind is Kind.READ and m.src == node
                     and (target is None or m.dst == target))
                    or ((m.kind is Kind.READ_RESPONSE or m.kind is Kind.REPLICATE_ACK)
                        and m.dst == node and (target is None or m.src == target))
                )
            )
        ]
        if len(kept) != len(self.messages):
            self.messages = kept
            self.messages_dirty = True

    # clients
    def client_index(self, name: str) -> int:
        return self.plan.client_index[name]

    def client(self, name: str) -> ClientState:
        return self.clients[self.plan.client_index[name]]

    def set_client_at(self, ci: int, client: ClientState) -> None:
        if not self.clients_dirty:
            self.clients = list(self.clients)
            self.clients_dirty = True
        self.clients[ci] = client  # type: ignore[index]

    def set_client(self, name: str, client: ClientState) -> None:
        self.set_client_at(self.plan.client_index[name], client)

    def build(self) -> State:
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
            source.config,
            (hn, hm, hc, hp),
        )


_coord_order = operator.attrgetter("request")


_message_order = operator.attrgetter("order")  # C-level sort keys: no Python frame per item


# -- the protocol ------------------------------------------------------------------------


def _targets(edit: _Edit, coordinator: str, key: str) -> tuple[tuple[str, str], ...]:
    """Whom a coordinator sends to: ``(node, hint_for)`` pairs (see the module doc)."""
    plan = edit.plan
    top = plan.top[key]
    if not plan.config.sloppy_quorum:
        return tuple((n, "") for n in top if n != coordinator and edit.reachable(coordinator, n))
    healthy = [n for n in plan.pref[key] if n == coordinator or edit.reachable(coordinator, n)]
    chosen = healthy[: plan.config.n]
    skipped = [n for n in top if n not in chosen]
    out: list[tuple[str, str]] = []
    for n in chosen:
        if n == coordinator:
            continue
        out.append((n, "" if n in top else skipped.pop(0)))
    return tuple(out)


def _start(edit: _Edit, node: str, request: int, client: str, key: str) -> None:
    """``node`` (in the key's top N) starts coordinating ``request``."""
    plan = edit.plan
    config = plan.config
    is_put = request <= plan.total_puts
    targets = _targets(edit, node, key)
    used = tuple(sorted({node, *(t for t, _ in targets)}))
    k = plan.key_index[key]
    local = edit.node(node).store[k]
    if is_put:
        cl = edit.client(client)
        last = cl.last_get if cl.last_get is not None and cl.last_get.key == key else None
        context = last.context if last is not None else None
        new_local, payload, clock, stamp, counter, dot = clocks.put(
            config.clock, local, context, request, node, client, cl.counter, edit.puts
        )
        history = frozenset({request} | (last.history if last is not None else frozenset()))
        siblings = last.siblings if last is not None and len(last.siblings) > 1 else ()
        record = PutRecord(request, client, key, node, clock, stamp, history, siblings, dot)
        puts = list(edit.puts)
        puts[request - 1] = record
        edit.puts = tuple(puts)
        if counter != cl.counter:
            edit.set_client(client, _client(cl, counter=counter))
        n = edit.node(node)
        store = (*n.store[:k], new_local, *n.store[k + 1 :])
        edit.set_node(node, new_node(n.up, store, n.hints, n.coord))
        for target, hint in targets:
            edit.send(new_message(Kind.REPLICATE, node, target, request, key, payload, hint))
        coord = new_coordination(request, client, key, True, payload, tuple(sorted(targets)), used,
                             (node,))
        _settle_put(edit, node, coord)
    else:
        for target, _ in targets:
            edit.send(new_message(Kind.READ, node, target, request, key))
        coord = new_coordination(request, client, key, False, None, tuple(sorted(targets)), used,
                             (), ((node, local),))
        _settle_get(edit, node, coord)


def _client(
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


def _settle_put(edit: _Edit, node: str, coord: Coordination) -> None:
    """Acknowledge after W, fail once W is out of reach, else keep waiting."""
    w = edit.plan.config.w
    if len(coord.acked) >= w:
        cl = edit.client(coord.client)
        edit.set_client(
            coord.client,
            _client(cl, outstanding=0, acked=tuple(sorted((*cl.acked, coord.request)))),
        )
        edit.set_coord(node, None, coord.request)
    elif len(coord.acked) + len(coord.waiting) < w:
        edit.set_client(coord.client, _client(edit.client(coord.client), outstanding=0))
        edit.set_coord(node, None, coord.request)
    else:
        edit.set_coord(node, coord, coord.request)


def _settle_get(edit: _Edit, node: str, coord: Coordination) -> None:
    """Answer after R (then read repair), fail once R is out of reach, else wait."""
    plan = edit.plan
    config = plan.config
    if len(coord.responses) >= config.r:
        result, returned, last_get = _get_result(config.clock, coord.key, coord.responses,
                                                 edit.puts)
        cl = edit.client(coord.client)
        record_get = GetRecord(coord.request, coord.key, cl.acked, returned)
        edit.set_client(
            coord.client,
            _client(cl, outstanding=0, last_get=last_get, gets=(*cl.gets, record_get)),
        )
        edit.set_coord(node, None, coord.request)
        if config.read_repair:
            for responder, payload in coord.responses:
                if clocks.payload_equal(payload, result):
                    continue
                if responder == node:
                    edit.store(node, coord.key, result)
                else:
                    edit.send(new_message(Kind.READ_REPAIR, node, responder, 0, coord.key, result))
    elif len(coord.responses) + len(coord.waiting) < config.r:
        edit.set_client(coord.client, _client(edit.client(coord.client), outstanding=0))
        edit.set_coord(node, None, coord.request)
    else:
        edit.set_coord(node, coord, coord.request)


def _get_result(
    mode: str, key: str, responses: tuple[tuple[str, Payload], ...],
    puts: tuple[PutRecord | None, ...],
) -> tuple[Payload, tuple[int, ...], LastGet]:
    """What a get that received ``responses`` returns: the reconciled payload, its
    put ids (sorted) and the client's new last get. Pure in its arguments, so it is
    cached by the identity of the (shared) payload and put-table objects."""
    payloads = tuple([p for _, p in responses])
    ident = (id(puts), key, *map(id, payloads))
    cached = _GET_RESULTS.get(ident)
    if cached is not None and cached[0] is puts and all(map(operator.is_, cached[1], payloads)):
        return cached[2], cached[3], cached[4]
    result = clocks.empty(mode)
    for payload in payloads:
        result = clocks.merge(mode, result, payload, puts)
    returned = clocks.values(result)
    context = clocks.context_of(mode, result, puts)
    history: frozenset[int] = frozenset()
    for v in returned:
        record = puts[v - 1]
        assert record is not None
        history |= record.history
    ordered = tuple(sorted(returned))
    last_get = LastGet(key, context, history, ordered)
    if len(_GET_RESULTS) > 100_000:
        _GET_RESULTS.clear()
    _GET_RESULTS[ident] = (puts, payloads, result, ordered, last_get)
    return result, ordered, last_get


# Each entry holds the objects whose ids make its key (so they cannot be reused).
_GET_RESULTS: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _find(node: NodeState, request: int) -> Coordination | None:
    for coord in node.coord:
        if coord.request == request:
            return coord
    return None


def _deliver(edit: _Edit, m: Message, position: int) -> None:
    edit.remove_at(position)
    dst = edit.node(m.dst)
    if not dst.up:
        return  # lost at a down node
    kind = m.kind
    if kind is Kind.FORWARD:
        cl = edit.client(_client_of(edit.plan, m.request))
        fresh = m.request > edit.plan.total_puts or edit.puts[m.request - 1] is None
        if cl.outstanding == m.request and _find(dst, m.request) is None and fresh:
            _start(edit, m.dst, m.request, _client_of(edit.plan, m.request), m.key)
    elif kind is Kind.REPLICATE:
        assert m.payload is not None
        if m.hint_for:
            hint = new_hint(m.hint_for, m.key, m.payload)
            if hint not in dst.hints:
                hints = tuple(sorted((*dst.hints, hint), key=lambda h: h.order))
                edit.set_node(m.dst, new_node(dst.up, dst.store, hints, dst.coord))
        else:
            edit.store(m.dst, m.key, m.payload)
        if _awaits(edit, m):
            edit.send(new_message(Kind.REPLICATE_ACK, m.dst, m.src, m.request, m.key))
    elif kind is Kind.REPLICATE_ACK or kind is Kind.READ_RESPONSE:
        coord = _find(dst, m.request)
        if coord is None:
            return
        waiting = tuple(p for p in coord.waiting if p[0] != m.src)
        if len(waiting) == len(coord.waiting):
            return
        if kind is Kind.REPLICATE_ACK:
            acked = tuple(sorted((*coord.acked, m.src)))
            new = new_coordination(coord.request, coord.client, coord.key, True, coord.payload,
                               waiting, coord.used, acked)
            _settle_put(edit, m.dst, new)
        else:
            assert m.payload is not None
            responses = tuple(sorted((*coord.responses, (m.src, m.payload)),
                                     key=lambda r: r[0]))
            new = new_coordination(coord.request, coord.client, coord.key, False, None,
                               waiting, coord.used, (), responses)
            _settle_get(edit, m.dst, new)
    elif kind is Kind.READ:
        if _awaits(edit, m):
            payload = dst.store[edit.plan.key_index[m.key]]
            edit.send(new_message(Kind.READ_RESPONSE, m.dst, m.src, m.request, m.key, payload))
    elif kind is Kind.READ_REPAIR:
        assert m.payload is not None
        edit.store(m.dst, m.key, m.payload)
    elif kind is Kind.HINT:
        assert m.payload is not None
        edit.store(m.dst, m.key, m.payload)
        edit.hints_acked = edit.hints_acked | {(m.src, m.dst, m.key, m.payload)}
        edit.send(new_message(Kind.HINT_ACK, m.dst, m.src, 0, m.key, m.payload, m.dst))
    elif kind is Kind.HINT_ACK:
        assert m.payload is not None
        hint = new_hint(m.src, m.key, m.payload)
        if hint in dst.hints:
            hints = tuple(h for h in dst.hints if h != hint)
            edit.set_node(m.dst, new_node(dst.up, dst.store, hints, dst.coord))
            edit.hints_deleted = edit.hints_deleted | {(m.dst, m.src, m.key, m.payload)}


def _awaits(edit: _Edit, m: Message) -> bool:
    """Whether the coordinator that sent ``m`` still waits for ``m.dst``'s answer.
    An answer nobody waits for could only ever be delivered without effect (a
    request never restarts), so it is not sent at all (see docs/spec.md)."""
    coordinator = edit.node(m.src)
    if not coordinator.up:
        return False
    coord = _find(coordinator, m.request)
    return coord is not None and any(t == m.dst for t, _ in coord.waiting)


def _client_of(plan: _Plan, request: int) -> str:
    config = plan.config
    if request <= plan.total_puts:
        return plan.clients[(request - 1) // config.puts_per_client]
    return plan.clients[(request - plan.total_puts - 1) // config.gets_per_client]


def _exchange_in_flight(state: State, node: str, request: int, target: str) -> bool:
    for m in state.messages:
        if m.request == request and (
            (m.src == node and m.dst == target) or (m.src == target and m.dst == node)
        ):
            return True
    return False


def _timeout(edit: _Edit, node: str, coord: Coordination, target: str) -> None:
    plan = edit.plan
    config = plan.config
    hint_for = next(h for t, h in coord.waiting if t == target)
    waiting = [p for p in coord.waiting if p[0] != target]
    used = coord.used
    edit.purge(node, coord.request, target)
    if config.sloppy_quorum:
        for candidate in plan.pref[coord.key][config.n :]:
            if candidate in used or not edit.reachable(node, candidate):
                continue
            if coord.is_put:
                intended = hint_for or target
                edit.send(new_message(Kind.REPLICATE, node, candidate, coord.request, coord.key,
                                  coord.payload, intended))
                waiting.append((candidate, intended))
            else:
                edit.send(new_message(Kind.READ, node, candidate, coord.request, coord.key))
                waiting.append((candidate, ""))
            used = tuple(sorted((*used, candidate)))
            break
    new = new_coordination(coord.request, coord.client, coord.key, coord.is_put, coord.payload,
                       tuple(sorted(waiting)), used, coord.acked, coord.responses)
    if coord.is_put:
        _settle_put(edit, node, new)
    else:
        _settle_get(edit, node, new)


# -- successors ------------------------------------------------------------------------


def successors(state: State) -> Iterator[tuple[Action, State]]:
    """Every enabled step from ``state``, in a deterministic order."""
    plan = _plan(state.config)
    config = plan.config
    nodes = state.nodes
    index = plan.index
    side = state.side

    # 1. client requests
    for ci, cl in enumerate(state.clients):
        if cl.outstanding:
            continue
        can_put = cl.puts_issued < config.puts_per_client
        can_get = cl.gets_issued < config.gets_per_client
        if not (can_put or can_get):
            continue
        name = plan.clients[ci]
        for key in plan.keys:
            for entry in plan.entry[key]:
                if not nodes[index[entry]].up:
                    continue
                if can_put:
                    yield _client_put(name, entry, key), _request(state, plan, ci, entry, key, True)
                if can_get:
                    yield (_client_get(name, entry, key),
                           _request(state, plan, ci, entry, key, False))

    # 2. deliveries
    previous: Message | None = None
    for position, m in enumerate(state.messages):
        if previous is not None and m._hash == previous._hash and m == previous:
            continue
        previous = m
        if (m.src in side) != (m.dst in side):
            continue
        edit = _Edit(state, plan)
        _deliver(edit, m, position)
        yield new_deliver(m), edit.build()

    # 3. timeouts
    exchanges: set[tuple[str, str, int]] | None = None
    for node_name, node in zip(plan.nodes, nodes, strict=True):
        if not node.up or not node.coord:
            continue
        if exchanges is None:
            exchanges = set()
            for m in state.messages:
                if m.request:
                    exchanges.add((m.src, m.dst, m.request))
                    exchanges.add((m.dst, m.src, m.request))
        for coord in node.coord:
            for target, _ in coord.waiting:
                t = nodes[index[target]]
                cut = not t.up or ((target in side) != (node_name in side))
                if cut or (node_name, target, coord.request) not in exchanges:
                    edit = _Edit(state, plan)
                    _timeout(edit, node_name, coord, target)
                    yield _timeout_action(node_name, coord.request, target), edit.build()
    for ci, cl in enumerate(state.clients):
        if cl.outstanding and not _in_progress(state, cl.outstanding):
            edit = _Edit(state, plan)
            edit.set_client_at(ci, _client(cl, outstanding=0))
            yield _client_timeout(plan.clients[ci]), edit.build()

    # 4. background: hinted handoff, anti-entropy
    if config.hinted_handoff:
        for node_name, node in zip(plan.nodes, nodes, strict=True):
            if not node.up:
                continue
            for hint in node.hints:
                intended = nodes[index[hint.intended]]
                if not intended.up or (hint.intended in side) != (node_name in side):
                    continue
                if _handoff_in_flight(state, node_name, hint):
                    continue
                edit = _Edit(state, plan)
                edit.send(new_message(Kind.HINT, node_name, hint.intended, 0, hint.key,
                                  hint.payload, hint.intended))
                yield Handoff(node_name, hint.intended, hint.key, hint.payload), edit.build()
    if config.anti_entropy:
        for key in plan.keys:
            k = plan.key_index[key]
            top = plan.top[key]
            for i, a in enumerate(top):
                na = nodes[index[a]]
                if not na.up:
                    continue
                for b in top[i + 1 :]:
                    nb = nodes[index[b]]
                    if not nb.up or (a in side) != (b in side):
                        continue
                    if clocks.payload_equal(na.store[k], nb.store[k]):
                        continue
                    edit = _Edit(state, plan)
                    merged = clocks.merge(config.clock, na.store[k], nb.store[k], state.puts)
                    edit.store(a, key, merged)
                    edit.store(b, key, merged)
                    yield _anti_entropy(a, b, key), edit.build()

    # 5. faults and their repair
    drops, duplicates, crashes, partitions = state.used
    if drops < config.drops or duplicates < config.duplicates:
        previous = None
        for position, m in enumerate(state.messages):
            if previous is not None and m._hash == previous._hash and m == previous:
                continue
            previous = m
            if drops < config.drops:
                edit = _Edit(state, plan)
                edit.remove_at(position)
                edit.used = (drops + 1, duplicates, crashes, partitions)
                yield new_drop(m), edit.build()
            if duplicates < config.duplicates:
                edit = _Edit(state, plan)
                edit.send(m)
                edit.used = (drops, duplicates + 1, crashes, partitions)
                yield new_duplicate(m), edit.build()
    for node_name, node in zip(plan.nodes, nodes, strict=True):
        if node.up and crashes < config.crashes:
            edit = _Edit(state, plan)
            for coord in node.coord:
                edit.purge(node_name, coord.request)
            edit.set_node(node_name, new_node(False, node.store, node.hints, ()))
            edit.used = (drops, duplicates, crashes + 1, partitions)
            yield _crash(node_name), edit.build()
        elif not node.up:
            edit = _Edit(state, plan)
            edit.set_node(node_name, new_node(True, node.store, node.hints, ()))
            yield _recover(node_name), edit.build()
    if not side and partitions < config.partitions:
        for split in plan.sides:
            edit = _Edit(state, plan)
            edit.side = split
            edit.used = (drops, duplicates, crashes, partitions + 1)
            yield Partition(tuple(n for n in plan.nodes if n in split)), edit.build()
    elif side:
        edit = _Edit(state, plan)
        edit.side = frozenset()
        yield _HEAL, edit.build()


def _request(state: State, plan: _Plan, ci: int, node: str, key: str, is_put: bool) -> State:
    config = plan.config
    cl = state.clients[ci]
    name = plan.clients[ci]
    if is_put:
        request = put_id_of(config, ci, cl.puts_issued)
        issued = _client(cl, puts_issued=cl.puts_issued + 1, outstanding=request)
    else:
        request = get_id_of(config, ci, cl.gets_issued)
        issued = _client(cl, gets_issued=cl.gets_issued + 1, outstanding=request)
    edit = _Edit(state, plan)
    edit.set_client_at(ci, issued)
    top = plan.top[key]
    if node in top:
        _start(edit, node, request, name, key)
    else:
        edit.send(new_message(Kind.FORWARD, node, top[0], request, key))
    return edit.build()


def _in_progress(state: State, request: int) -> bool:
    for node in state.nodes:
        if node.up and _find(node, request) is not None:
            return True
    return any(m.kind is Kind.FORWARD and m.request == request for m in state.messages)


def _handoff_in_flight(state: State, holder: str, hint: Hint) -> bool:
    for m in state.messages:
        if (
            (m.kind is Kind.HINT and m.src == holder)
            or (m.kind is Kind.HINT_ACK and m.dst == holder)
        ) and m.hint_for == hint.intended and m.key == hint.key and (
            m.payload is not None and clocks.payload_equal(m.payload, hint.payload)
        ):
            return True
    return False


# -- classification and summaries -----------------------------------------------------------


def is_fault(action: Action) -> bool:
    """Drop, duplicate, crash and partition are faults; recover and heal are not."""
    return isinstance(action, FAULTS)


def is_quiescent(state: State) -> bool:
    """Nothing in progress: no message in flight, no request being coordinated."""
    return not state.messages and all(not n.coord for n in state.nodes)


def converged(state: State) -> bool:
    """Every replica (top-N node) of each key holds the same versions, no hint is
    left anywhere and no message is in flight."""
    if state.messages:
        return False
    if any(n.hints for n in state.nodes):
        return False
    plan = _plan(state.config)
    for k, key in enumerate(plan.keys):
        stores = {state.nodes[plan.index[n]].store[k] for n in plan.top[key]}
        if len(stores) > 1:
            return False
    return True


def history_of(state: State, put_id: int) -> frozenset[int]:
    """The true causal history (ghost) of the version written by ``put_id``."""
    record = state.puts[put_id - 1]
    if record is None:
        raise ValueError(f"put {put_id} has not been performed")
    return record.history


def stored_values(state: State) -> set[int]:
    """Every put id held anywhere: a node's store, a hint, an in-flight message."""
    out: set[int] = set()
    for node in state.nodes:
        for payload in node.store:
            out.update(clocks.values(payload))
        for hint in node.hints:
            out.update(clocks.values(hint.payload))
    for m in state.messages:
        if m.payload is not None:
            out.update(clocks.values(m.payload))
    return out


def canonicalize(state: State) -> State:
    """The symmetry representative of ``state`` (see :mod:`spec.symmetry`): clients
    with identical workloads are interchangeable; nodes are not permuted."""
    if state.config.clients < 2:
        return state
    return _canonicalize_clients(state)


# -- readable forms ---------------------------------------------------------------------------


def _payload_text(payload: Payload) -> str:
    vals = clocks.values(payload)
    return "{" + ", ".join(f"v{v}" for v in vals) + "}" if vals else "{}"


def describe(state: State) -> dict[str, Any]:
    """A readable, JSON-able picture of ``state``."""
    config = state.config
    nodes: dict[str, Any] = {}
    for name, node in zip(config.nodes, state.nodes, strict=True):
        nodes[name] = {
            "up": node.up,
            "store": {
                key: [f"v{v}" for v in clocks.values(p)]
                for key, p in zip(config.keys, node.store, strict=True)
            },
            "hints": [
                {"for": h.intended, "key": h.key, "versions": [f"v{v}" for v in
                                                              clocks.values(h.payload)]}
                for h in node.hints
            ],
            "coordinating": [
                {
                    "request": c.request,
                    "client": c.client,
                    "op": "put" if c.is_put else "get",
                    "key": c.key,
                    "waiting": [t if not h else f"{t} (hint for {h})" for t, h in c.waiting],
                    "acked": list(c.acked),
                    "responses": {n: _payload_text(p) for n, p in c.responses},
                }
                for c in node.coord
            ],
        }
    clients: dict[str, Any] = {}
    for name, cl in zip(config.client_names, state.clients, strict=True):
        clients[name] = {
            "puts_issued": cl.puts_issued,
            "gets_issued": cl.gets_issued,
            "outstanding": cl.outstanding or None,
            "acked_puts": [f"v{v}" for v in cl.acked],
            "gets": [
                {"request": g.request, "key": g.key,
                 "acked_before": [f"v{v}" for v in g.acked_before],
                 "returned": [f"v{v}" for v in g.returned]}
                for g in cl.gets
            ],
            "context": clocks.context_json(cl.last_get.context) if cl.last_get else None,
        }
    puts: dict[str, Any] = {}
    for record in state.puts:
        if record is None:
            continue
        puts[f"v{record.put_id}"] = {
            "client": record.client,
            "key": record.key,
            "coordinator": record.coordinator,
            "clock": record.clock.to_json(),
            **({"dot": list(record.dot)} if record.dot[1] else {}),
            **({"stamp": list(record.stamp)} if config.clock == "lww" else {}),
            "history": [f"v{v}" for v in sorted(record.history)],
        }
    return {
        "nodes": nodes,
        "messages": [message_json(m) for m in state.messages],
        "clients": clients,
        "puts": puts,
        "partition": (
            [sorted(state.side), sorted(set(config.nodes) - state.side)] if state.side else None
        ),
        "faults_used": dict(zip(("drops", "duplicates", "crashes", "partitions"), state.used,
                                strict=True)),
    }


def _message_text(m: Message) -> str:
    name = {
        Kind.FORWARD: "Forward",
        Kind.REPLICATE: "Replicate",
        Kind.REPLICATE_ACK: "ReplicateAck",
        Kind.READ: "Read",
        Kind.READ_RESPONSE: "ReadResponse",
        Kind.READ_REPAIR: "ReadRepair",
        Kind.HINT: "Hint",
        Kind.HINT_ACK: "HintAck",
    }[m.kind]
    parts = [m.key]
    if m.request:
        parts.append(f"#{m.request}")
    if m.payload is not None:
        parts.append(_payload_text(m.payload))
    if m.hint_for and m.kind is Kind.REPLICATE:
        parts.append(f"hint for {m.hint_for}")
    return f"{m.src} -> {m.dst} {name}({', '.join(parts)})"


def narrate(before: State, action: Action, after: State) -> str:
    """One line a person can follow for the step ``before --action--> after``."""
    config = before.config
    if isinstance(action, ClientPut | ClientGet):
        ci = config.client_names.index(action.client)
        cl = after.clients[ci]
        top = config.top_n(action.key)
        via = "" if action.node in top else f", forwarded to {top[0]}"
        if isinstance(action, ClientPut):
            put_id = put_id_of(config, ci, before.clients[ci].puts_issued)
            record = after.puts[put_id - 1]
            clock = f" clock {record.clock.to_json()}" if record and record.clock else ""
            acked = " (acknowledged at once)" if put_id in cl.acked else ""
            stored = ""
            if record is not None:
                k = config.keys.index(action.key)
                coordinator = after.node(record.coordinator).store[k]
                stored = f"; {record.coordinator} stores {action.key}={_payload_text(coordinator)}"
            return (f"{action.client} put v{put_id} of {action.key} to {action.node}"
                    f"{via}{clock}{acked}{stored}")
        return f"{action.client} get {action.key} from {action.node}{via}"
    if isinstance(action, Deliver):
        m = action.message
        dst = before.node(m.dst)
        if not dst.up:
            return f"{_message_text(m)} lost: {m.dst} is down"
        effects = _effects(before, after)
        return f"{_message_text(m)} delivered" + (f"; {effects}" if effects else "")
    if isinstance(action, Drop):
        return f"{_message_text(action.message)} dropped (fault)"
    if isinstance(action, Duplicate):
        return f"{_message_text(action.message)} duplicated (fault)"
    if isinstance(action, Timeout):
        effects = _effects(before, after)
        return (f"{action.node} times out on {action.target} for request #{action.request}"
                + (f"; {effects}" if effects else ""))
    if isinstance(action, ClientTimeout):
        return f"{action.client} gives up on its request"
    if isinstance(action, Handoff):
        return (f"{action.node} hands off its hint {_payload_text(action.payload)} "
                f"of {action.key} to {action.intended}")
    if isinstance(action, AntiEntropy):
        k = config.keys.index(action.key)
        merged = after.node(action.a).store[k]
        return (f"anti-entropy {action.a} <-> {action.b} on {action.key}: both hold "
                f"{_payload_text(merged)}")
    if isinstance(action, Crash):
        return f"{action.node} crashes (fault)"
    if isinstance(action, Recover):
        return f"{action.node} recovers"
    if isinstance(action, Partition):
        other = [n for n in config.nodes if n not in action.side]
        return f"network partition: {', '.join(action.side)} | {', '.join(other)} (fault)"
    if isinstance(action, Heal):
        return "the partition heals"
    return repr(action)


def _effects(before: State, after: State) -> str:
    config = before.config
    out: list[str] = []
    for name, b, a in zip(config.nodes, before.nodes, after.nodes, strict=True):
        for key, pb, pa in zip(config.keys, b.store, a.store, strict=True):
            if pb != pa:
                out.append(f"{name} stores {key}={_payload_text(pa)}")
        if b.hints != a.hints:
            gone = [h for h in b.hints if h not in a.hints]
            new = [h for h in a.hints if h not in b.hints]
            out.extend(f"{name} keeps hint {_payload_text(h.payload)} for {h.intended}"
                       for h in new)
            out.extend(f"{name} deletes hint {_payload_text(h.payload)} for {h.intended}"
                       for h in gone)
    for name, cb, ca in zip(config.client_names, before.clients, after.clients, strict=True):
        if len(ca.acked) > len(cb.acked):
            out.append(f"{name}'s put v{cb.outstanding} acknowledged")
        elif len(ca.gets) > len(cb.gets):
            returned = ", ".join(f"v{v}" for v in ca.gets[-1].returned)
            out.append(f"{name}'s get returns {{{returned}}}")
        elif cb.outstanding and not ca.outstanding:
            out.append(f"{name}'s request #{cb.outstanding} fails")
    sent = [m for m in after.messages if m not in before.messages]
    out.extend(f"sends {_message_text(m)}" for m in sent)
    return "; ".join(out)


def payload_text(payload: Payload) -> str:
    """``{v1, v2}``: the put ids a payload holds."""
    return _payload_text(payload)


_ = payload_json  # re-exported for traces
