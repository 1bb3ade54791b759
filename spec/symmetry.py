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

Caching
-------
The explorer canonicalizes every successor it meets, and a successor shares
almost everything with its parent (the spec rebuilds only the node, messages
and client a step touched). So :func:`canonicalize` keeps, per configuration
(by identity: a state's ``config`` is shared by all its states; State equality
ignores it), each state's representative (keyed by the state's 64-bit hash, not
compared: a collision would give a state another's representative, the trade the
explorer's fingerprinted seen-set already makes), the candidate renamings of each
clients tuple (by object), and one renaming per permutation
(``_Renaming``) that remembers every part it renamed: nodes, messages, clients
and put records by value (each caches its hash), a state's tuples of them by
the hashes the state keeps (``State._parts``; not compared either) with the
renamed tuples' hashes, so the renamed state is built without hashing them
again, and its hint-record sets by object (each entry holds its key, so an id
is never reused while cached). A part shared by many states is then renamed once, and a
state whose clients' signatures are distinct and in order is its own
representative at the cost of one dict lookup.
Every cache is emptied when it exceeds ``_MEMO_LIMIT`` entries (a miss costs
only time), and at most ``_MEMO_CONFIGS`` configurations are cached at once.
``canonicalize(state, cached=False)`` renames every part afresh (the trusted
constructors and the per-payload memo only): ``tests/spec/test_symmetry.py``
compares the two; ``bench/model_check.py --section symmetry`` times them.

The packed-state kernel (``model_check/kernel.py``, session 56) computes the same
representative over its interned ids from the pieces :func:`canonicalize` is made
of, public for it: :func:`candidates` (the renamings to try, per clients tuple),
:func:`renamed` and :func:`renamed_messages` (a state's or its messages' renaming,
through these caches) and :func:`preferred` (the choice among the candidates).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple, TypeVar

from spec.clocks import Context, Payload, PutRecord
from spec.config import Config
from spec.dvv import DVVSet, Entry
from spec.state import (
    Backup,
    Backups,
    ClientState,
    Coordination,
    GetRecord,
    Hint,
    HintRecord,
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
from spec.vclock import VClock

__all__ = ["Candidates", "candidates", "canonicalize", "clear_caches", "preferred",
           "rename_clients", "renamed", "renamed_messages"]

Candidates = tuple[tuple[int, ...] | None, ...] | None
"""The renamings :func:`canonicalize` tries for one clients tuple (:func:`candidates`):
each ``perm`` (client ``i`` -> client ``perm[i]``), the identity as None; None when the
identity is the only one."""


def canonicalize(state: State, *, cached: bool = True) -> State:
    """The representative of ``state``'s orbit under client permutations.

    Clients are first ordered by a signature that renaming cannot change (their
    counters and the sizes of their histories); only clients with equal
    signatures are then tried in every order, keeping the renaming with the
    smallest hash (ties broken by ``repr``). Every member of an orbit has the same
    signatures and so the same candidate set: the representative is canonical.

    ``cached`` (the default) remembers, per configuration, each state's
    representative and each renamed part (see "Caching" in the module docstring);
    ``cached=False`` renames every part afresh: the reference the tests and
    ``bench/model_check.py --section symmetry`` compare with. Both give equal
    representatives (``tests/spec/test_symmetry.py``).
    """
    if state.config.clients < 2:
        return state
    if not cached:
        return _canonical_uncached(state)
    memo = _memo(state.config)
    clients = state.clients
    known = memo.candidates.get(id(clients))
    if known is not None and known[0] is clients:
        perms = known[1]
    else:
        perms = _candidates(tuple(map(_signature, clients)))
        if len(memo.candidates) > _MEMO_LIMIT:
            memo.candidates.clear()
        memo.candidates[id(clients)] = (clients, perms)  # holds clients: its id stays its own
    if perms is None:
        return state  # the clients' signatures are distinct and already in order
    hit = memo.canonical.get(state._hash)
    if hit is None:
        hit = memo.older.get(state._hash)
    if hit is not None:
        return hit
    best: State | None = None
    for perm in perms:
        candidate = state if perm is None else memo.renaming(perm).state(state)
        if best is None or preferred(candidate, best):
            best = candidate
    assert best is not None
    memo.remember(state, best)
    return best


def candidates(clients: Sequence[ClientState]) -> Candidates:
    """The renamings :func:`canonicalize` tries, in its order, for a state whose clients
    are ``clients``: the clients ordered by :func:`_signature` (what renaming cannot
    change), every order of those whose signatures tie; each a ``perm`` (client ``i`` ->
    client ``perm[i]``, the identity as None). None when the identity is the only one:
    such a state is its own representative. Computed once per distinct signatures.

    The representative is the first candidate renaming (:func:`renamed`) that no other
    is :func:`preferred` to: what ``model_check.kernel.Kernel.canonicalize`` computes
    over interned ids (session 56)."""
    return _candidates(tuple(map(_signature, clients)))


def preferred(candidate: State, best: State) -> bool:
    """Whether :func:`canonicalize` prefers ``candidate`` to ``best`` (two renamings of
    one state): a smaller state hash, ties broken by ``repr`` (equal states: False)."""
    key, best_key = candidate._hash, best._hash
    return key < best_key or (key == best_key and repr(candidate) < repr(best))


def renamed(state: State, perm: tuple[int, ...]) -> State:
    """``state`` with client ``i`` renamed to client ``perm[i]``, as :func:`canonicalize`
    renames it: through its caches (see "Caching" in the module docstring) and the
    trusted constructors; equal to ``rename_clients(state, perm)``
    (``tests/spec/test_symmetry.py``). ``perm`` must be a permutation of the clients
    (not checked: a KeyError or IndexError otherwise)."""
    return _memo(state.config).renaming(perm).state(state)


def renamed_messages(config: Config, perm: tuple[int, ...],
                     messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """``messages`` (a state's messages in flight, of ``config``) with client ``i``
    renamed to client ``perm[i]``, in the state's order: the ``messages`` of
    :func:`renamed` of a state holding them (each message renamed once per value)."""
    return _memo(config).renaming(perm).messages(messages)


def _canonical_uncached(state: State) -> State:
    """:func:`canonicalize` without its caches (``cached=False``): the reference."""
    best: State | None = None
    best_key = 0
    for perm in _renamings([_signature(c) for c in state.clients]):
        candidate = state if perm == tuple(sorted(perm)) else rename_clients(state, perm,
                                                                          trusted=True)
        key = hash(candidate)
        if best is None or key < best_key or (key == best_key and repr(candidate) < repr(best)):
            best, best_key = candidate, key
    assert best is not None
    return best


def _renamings(signatures: Sequence[tuple[int, ...]]) -> Iterator[tuple[int, ...]]:
    """Client ``i`` -> ``perm[i]``: the clients ordered by signature, and every order of
    those whose signatures tie (the identity among them when they are in order)."""
    order = sorted(range(len(signatures)), key=lambda i: signatures[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and signatures[groups[-1][0]] == signatures[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    for arrangement in itertools.product(*(itertools.permutations(g) for g in groups)):
        perm = [0] * len(signatures)
        for position, old in enumerate(i for group in arrangement for i in group):
            perm[old] = position
        yield tuple(perm)


@lru_cache(maxsize=4096)
def _candidates(signatures: tuple[tuple[int, ...], ...]
                ) -> tuple[tuple[int, ...] | None, ...] | None:
    """:func:`_renamings` of these signatures, the identity as None; None when the
    identity is the only one."""
    perms = [None if perm == tuple(sorted(perm)) else perm for perm in _renamings(signatures)]
    return None if perms == [None] else tuple(perms)


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
    two). Nothing of the renaming is remembered past the call but the payloads'."""
    return _Renaming(state.config, tuple(perm), trusted=trusted, memo=False).state(state)


class _Renaming:
    """Client ``i`` -> client ``perm[i]`` of one configuration, applied part by part.

    ``memo``: each renamed part is remembered, keyed by the part's value (nodes,
    messages, clients, put records: each caches its hash), a state's whole tuples of
    them by their hashes (``State._parts``), its hint-record sets by the object, so a
    part shared by many states is renamed once."""

    __slots__ = ("_by_clients", "_by_id", "_by_messages", "_by_nodes", "_by_puts", "_parts",
                 "build", "memo", "nm", "perm", "rq", "trusted")

    def __init__(self, config: Config, perm: tuple[int, ...], *, trusted: bool,
                 memo: bool) -> None:
        self.perm = perm
        self.rq = _request_map(config, perm)
        names = config.client_names
        self.nm = {names[i]: names[perm[i]] for i in range(config.clients)}
        self.build = _TRUSTED if trusted else _VALIDATING
        self.trusted = trusted
        self.memo = memo
        self._parts: dict[object, object] = {}
        self._by_id: dict[int, tuple[frozenset[HintRecord], frozenset[HintRecord]]] = {}
        self._by_nodes: dict[int, tuple[tuple[NodeState, ...], int]] = {}
        self._by_messages: dict[int, tuple[tuple[Message, ...], int]] = {}
        self._by_clients: dict[int, tuple[tuple[ClientState, ...], int]] = {}
        self._by_puts: dict[int, tuple[tuple[PutRecord | None, ...], int]] = {}

    def state(self, state: State) -> State:
        if self.memo:
            return self._state_memoised(state)
        return self.build.state(
            self._nodes(state.nodes),
            self.messages(state.messages),
            self._clients(state.clients),
            self._puts(state.puts),
            state.side,
            state.used,
            self._records(state.hints_acked),
            self._records(state.hints_deleted),
            state.epochs,
            state.config,
            membership=state.membership,
            key_epochs=state.key_epochs,
            backups=self._backups(state.backups),
            known=state.known,
            unpersisted=self._unpersisted(state.unpersisted),
            rebuilding=state.rebuilding,  # nodes and keys only: nothing to rename
        )

    def _state_memoised(self, state: State) -> State:
        """:meth:`state` from the caches: a state's nodes, messages, clients and put
        table renamed once per value (keyed by the hashes the state keeps in ``_parts``,
        one table each; not compared: the seen-set's trade), with their hashes."""
        hn, hm, hc, hp = state._parts
        nodes, hn = self._whole(self._by_nodes, hn, state.nodes, self._nodes, nodes_hash)
        messages, hm = self._whole(self._by_messages, hm, state.messages, self.messages,
                                   messages_hash)
        clients, hc = self._whole(self._by_clients, hc, state.clients, self._clients,
                                  clients_hash)
        puts, hp = self._whole(self._by_puts, hp, state.puts, self._puts, puts_hash)
        return new_state(nodes, messages, clients, puts, state.side, state.used,
                         self._records_memoised(state.hints_acked),
                         self._records_memoised(state.hints_deleted), state.epochs,
                         state.config, (hn, hm, hc, hp), state.membership, state.key_epochs,
                         self._backups(state.backups), state.known,
                         self._unpersisted(state.unpersisted), state.rebuilding)

    def _whole(self, table: dict[int, tuple[_P, int]], key: int, part: _P,
               rename: Callable[[_P], _P], hash_of: Callable[[_P], int]) -> tuple[_P, int]:
        """``rename(part)`` and its part hash, remembered in ``table`` under ``key``."""
        hit = table.get(key)
        if hit is not None:
            return hit
        renamed = rename(part)
        if len(table) > _MEMO_LIMIT:
            table.clear()
        hit = table[key] = (renamed, hash_of(renamed))
        return hit

    def _records_memoised(self, records: frozenset[HintRecord]) -> frozenset[HintRecord]:
        """:meth:`_records`, remembered per object."""
        hit = self._by_id.get(id(records))
        if hit is not None and hit[0] is records:
            return hit[1]
        renamed = self._records(records)
        if len(self._by_id) > _MEMO_LIMIT:
            self._by_id.clear()
        self._by_id[id(records)] = (records, renamed)  # holds records: the id stays theirs
        return renamed

    def _part(self, part: _Q, rename: Callable[[_Q], _Q]) -> _Q:
        """``rename(part)``, remembered per value when ``memo``."""
        if not self.memo:
            return rename(part)
        hit = self._parts.get(part)
        if hit is not None:
            return hit  # type: ignore[return-value]
        renamed = rename(part)
        if len(self._parts) > _MEMO_LIMIT:
            self._parts.clear()
        self._parts[part] = renamed
        return renamed

    # -- the parts ---------------------------------------------------------------------

    def _nodes(self, nodes: tuple[NodeState, ...]) -> tuple[NodeState, ...]:
        return tuple([self._part(node, self._node) for node in nodes])

    def messages(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        out = [self._part(m, self._message) for m in messages]
        out.sort(key=_message_order)
        return tuple(out)

    def _clients(self, clients: tuple[ClientState, ...]) -> tuple[ClientState, ...]:
        out: list[ClientState | None] = [None] * len(clients)
        for i, client in enumerate(clients):
            out[self.perm[i]] = self._part(client, self._client)
        return tuple([c for c in out if c is not None])

    def _puts(self, puts: tuple[PutRecord | None, ...]) -> tuple[PutRecord | None, ...]:
        out: list[PutRecord | None] = [None] * len(puts)
        for record in puts:
            if record is not None:
                renamed = self._part(record, self._put)
                out[renamed.put_id - 1] = renamed
        return tuple(out)

    def _backups(self, backups: Backups | None) -> Backups | None:
        """The backups with their stores and hints renamed (a backup names no client
        but through the put ids of its payloads)."""
        if backups is None:
            return None
        payload, build = self.payload, self.build
        slots = tuple(
            None if b is None else Backup(
                tuple([payload(p) for p in b.store]),
                tuple(sorted([build.hint(h.intended, h.key, payload(h.payload))
                              for h in b.hints], key=_hint_order)),
                b.epoch, b.key_epochs)
            for b in backups.slots)
        return Backups(slots, backups.taken, backups.restored, backups.highest)

    def _unpersisted(self, kept: frozenset[tuple[str, str, Payload]]
                     ) -> frozenset[tuple[str, str, Payload]]:
        """The records coordinators keep of refused writes (``State.unpersisted``),
        their payloads renamed."""
        if not kept:
            return kept
        return frozenset((node, key, self.payload(p)) for node, key, p in kept)

    def _records(self, records: frozenset[HintRecord]) -> frozenset[HintRecord]:
        return frozenset([(h, i, k, self.payload(p)) for h, i, k, p in records])

    def ids(self, items: Sequence[int]) -> tuple[int, ...]:
        rq = self.rq
        return tuple(sorted([rq[v] for v in items]))

    def payload(self, p: Payload) -> Payload:
        return _renamed_payload(self.rq, self.nm, p, self.trusted)

    def clock(self, c: VClock) -> VClock:
        nm = self.nm
        if not any(n in nm or " " in n for n, _ in c.pairs):
            return c
        return VClock.of({_renamed_entry(nm, n): k for n, k in c.pairs})

    def context(self, c: Context) -> Context:
        """A get's context renamed: a vclock's client entries, and a dvv version
        vector's (actor, client) ids (``spec.dvv.join``: ``((id, counter), ...)``
        sorted by id, kept sorted); an lww timestamp ``(counter, node)`` names no
        client. Before session 29's fix a dvv context kept its pair ids, so a renamed
        state's client held a context naming the other client (Hypothesis's ci
        profile: ``test_renaming_clients_commutes_with_successors``)."""
        if isinstance(c, VClock):
            return self.clock(c)
        if not c or not isinstance(c[0], tuple):
            return c
        nm = self.nm
        if not any(n in nm or " " in n for n, _ in c):
            return c
        return tuple(sorted([(_renamed_entry(nm, n), k) for n, k in c]))

    def _node(self, node: NodeState) -> NodeState:
        build, payload = self.build, self.payload
        store = tuple([payload(p) for p in node.store])
        if build is _TRUSTED and not node.hints and not node.coord and all(
                a is b for a, b in zip(store, node.store, strict=True)):
            return node  # nothing of it names a client
        hints = [build.hint(h.intended, h.key, payload(h.payload)) for h in node.hints]
        hints.sort(key=_hint_order)
        rq, nm = self.rq, self.nm
        coord = [
            build.coordination(
                rq[c.request], nm[c.client], c.key, c.is_put,
                None if c.payload is None else payload(c.payload), c.awaiting,
                c.sent_to, c.acks, tuple([(n, payload(p)) for n, p in c.replies]),
                c.groups, c.uncounted, c.refused,
            )
            for c in node.coord
        ]
        coord.sort(key=_coord_order)
        return build.node(node.up, store, tuple(hints), tuple(coord))

    def _message(self, m: Message) -> Message:
        return self.build.message(m.kind, m.src, m.dst, self.rq[m.request], m.key,
                                  None if m.payload is None else self.payload(m.payload),
                                  m.intended)

    def _client(self, cl: ClientState) -> ClientState:
        rq, ids, last = self.rq, self.ids, cl.last_get
        return self.build.client(
            cl.puts_issued,
            cl.gets_issued,
            rq[cl.outstanding],
            cl.counter,
            self._last(last),
            ids(cl.acked),
            tuple([GetRecord(rq[g.request], g.key, ids(g.acked_before), ids(g.returned))
                   for g in cl.gets]),
        )

    def _last(self, last: LastGet | None) -> LastGet | None:
        if last is None:
            return None
        rq = self.rq
        return LastGet(last.key, self.context(last.context),
                       frozenset([rq[v] for v in last.history]), self.ids(last.siblings),
                       tuple([self._last(b) for b in last.before]))

    def _put(self, record: PutRecord) -> PutRecord:
        rq = self.rq
        return PutRecord(
            rq[record.put_id], self.nm[record.client], record.key, record.coordinator,
            self.clock(record.clock), record.stamp, frozenset([rq[v] for v in record.history]),
            self.ids(record.read_siblings),
            # a dvv dot minted under a (coordinator actor, client) pair names the client
            (_renamed_entry(self.nm, record.dot[0]), record.dot[1])
            if " " in record.dot[0] else record.dot,
        )


def _renamed_entry(nm: dict[str, str], entry: str) -> str:
    """A clock entry with its client renamed: a client's own entry, or the client
    part of a (coordinator actor, client) pair (:func:`spec.vclock.client_entry`)."""
    if entry in nm:
        return nm[entry]
    actor, space, client = entry.partition(" ")
    return f"{actor} {nm.get(client, client)}" if space else entry


class _Memo:
    """One configuration's caches: its states' representatives and its renamings."""

    __slots__ = ("candidates", "canonical", "config", "older", "renamings")

    def __init__(self, config: Config) -> None:
        self.config = config  # held: its id keys _MEMOS
        #: a state's hash -> its representative (by hash, as the explorer's seen-set)
        self.canonical: dict[int, State] = {}
        #: the representatives remembered before ``canonical`` last filled up
        self.older: dict[int, State] = {}
        #: id(a state's clients tuple) -> (the tuple, its :func:`_candidates`)
        self.candidates: dict[int, tuple[tuple[ClientState, ...],
                                         tuple[tuple[int, ...] | None, ...] | None]] = {}
        self.renamings: dict[tuple[int, ...], _Renaming] = {}

    def renaming(self, perm: tuple[int, ...]) -> _Renaming:
        found = self.renamings.get(perm)
        if found is None:
            found = self.renamings[perm] = _Renaming(self.config, perm, trusted=True, memo=True)
        return found

    def remember(self, state: State, canonical: State) -> None:
        if len(self.canonical) > _MEMO_LIMIT:  # keep the latest two generations
            self.older, self.canonical = self.canonical, {}
        self.canonical[state._hash] = canonical


def _memo(config: Config) -> _Memo:
    """The caches of ``config`` (by identity: the spec's states share their config)."""
    found = _LAST[0]
    if found is not None and found.config is config:
        return found
    found = _MEMOS.get(id(config))
    if found is None or found.config is not config:
        if len(_MEMOS) >= _MEMO_CONFIGS:
            _MEMOS.clear()
        found = _MEMOS[id(config)] = _Memo(config)
    _LAST[0] = found
    return found


def clear_caches() -> None:
    """Forget every cached representative and renaming (tests; a run never needs to)."""
    _MEMOS.clear()
    _LAST[0] = None


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


def _renamed_payload(rq: dict[int, int], nm: dict[str, str], payload: Payload,
                     trusted: bool) -> Payload:
    """``payload`` with its put ids renamed by ``rq`` and, in a dvv payload, the client
    part of its (actor, client) ids by ``nm`` (:func:`spec.dvv.dot_actor`). ``trusted``:
    the payload itself when that changes nothing (an empty one), and a dvv payload's
    renaming is remembered per (map, payload object): the spec shares payload objects
    between the nodes, messages and states that hold them (``rq`` and ``nm`` are made
    together, one pair per renaming)."""
    if isinstance(payload, tuple):
        return tuple(sorted([rq[v] for v in payload]))
    if not trusted:
        return _rename_dvv(rq, nm, payload)
    key = (id(rq), id(payload))
    hit = _RENAMED.get(key)
    if hit is not None and hit[0] is rq and hit[1] is payload:
        return hit[2]
    renamed: Payload = payload
    if payload.anonymous or any(e.values or " " in e.id for e in payload.entries):
        renamed = _rename_dvv(rq, nm, payload)
    if len(_RENAMED) > _RENAMED_LIMIT:
        _RENAMED.clear()
    _RENAMED[key] = (rq, payload, renamed)
    return renamed


def _rename_dvv(rq: dict[int, int], nm: dict[str, str], payload: DVVSet[int]) -> DVVSet[int]:
    return DVVSet.of(
        [Entry(_renamed_entry(nm, e.id), e.counter, tuple([rq[v] for v in e.values]))
         for e in payload.entries],
        [rq[v] for v in payload.anonymous],
    )


_P = TypeVar("_P")
_Q = TypeVar("_Q", NodeState, Message, ClientState, PutRecord)
# Keyed by ids: each entry holds its map and payload, so neither id is reused while cached.
_RENAMED: dict[tuple[int, int], tuple[dict[int, int], Payload, Payload]] = {}
_RENAMED_LIMIT = 200_000
_MEMOS: dict[int, _Memo] = {}
_LAST: list[_Memo | None] = [None]
"""The caches used last (most calls are for the configuration of the call before)."""
_MEMO_CONFIGS = 16
"""At most this many configurations' caches at once (a test run meets hundreds)."""
_MEMO_LIMIT = 100_000
"""Entries per cache before it is emptied (bounds memory; a miss only costs time)."""
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
