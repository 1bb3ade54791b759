"""Deletes with tombstones, and reaping them (Riak's ``delete_mode``).

Theory of operation
-------------------
A delete is a write: ``delete(key, context)`` is a put whose value is a
*tombstone* (:class:`~spec.actions.ClientDelete`; a client's deletes come after
its puts, ``workload.deletes_per_client``, and their put ids are
:func:`spec.step.tombstone_ids`). The tombstone carries a clock like any version
(coordination, replica puts, hints, read repair and anti-entropy carry it
unchanged), so a put concurrent with the delete survives as its sibling, and a
later put whose context saw the tombstone supersedes it. A get whose versions are
all tombstones answers "not found" with a context (the ghost
:class:`~spec.state.GetRecord` keeps the tombstones it returned). In dvv a delete
drops the tombstones it is concurrent with (:func:`spec.dvv.drop_superseded`, in
:func:`spec.clocks.put`; session 26): a delete retried with one context leaves one
tombstone, not one per try, and the set's clock keeps the dropped dots seen (the
suite entry delete-retry). The delete takes over their ghost histories
(:func:`spec.coordination.absorbed`, session 38): it deletes what they deleted, as
the implementation's collapse means, so a prune of a dropped tombstone's entry
loses nothing its tombstone does not cover.

*Reaping* (:func:`reaps`, the action :class:`~spec.actions.Reap`) removes
tombstones from the stores, so they do not pile up; it is chosen by
``features.delete_mode`` (Riak's riak_kv ``delete_mode``). A reap is *one
node's*: ``Reap(key, (n,))`` empties ``n``'s copy of ``key`` and nothing else,
as Riak and the implementation reap replica by replica: Riak's get FSM decides
the delete (``riak_kv_get_core:final_action/1`` answers ``delete`` only when
all N primaries answered with the tombstone and no read repair is due) and
sends a delete to each primary vnode, and each vnode removes its object only if
it still is that tombstone (``riak_kv_vnode``'s delete request, after the
``delete_mode`` interval); a lost message or a copy changed in the meantime
leaves the tombstone on some replicas and not on others
(impl/reaping.py does the same). The N replicas are reaped one step each, in any
order, any of them perhaps never.

``keep``
    never reap.
``immediate``
    once a delete is acknowledged, any up node whose copy holds only tombstones,
    one of them acknowledged, may reap it (Riak's ``delete_mode = immediate``:
    the delete FSM reaps right after the write), whatever the other replicas
    hold: a replica that missed the delete then brings the deleted value back
    (the suite's delete-immediate violates ``no_resurrection``).
``safe`` (the default)
    node ``n`` may reap its copy of the key when all four hold:

    1. ``n`` is up and its copy is not empty and holds only tombstones (a live
       version is never reaped);
    2. nothing about the key is in flight or held for later but a get's: no
       message, no hint, no put (or delete) coordinated, of the key at any node
       (the grace period of Riak's ``delete_mode = <delay>``, abstracted as
       quiescence of the key); and no get of the key in progress holds, or will
       receive in a reply in flight, a live version some performed delete
       (acknowledged or not) covers (:func:`_gets_hold`). A get's forward and
       requests, and replies of tombstones or of versions no delete covers, do
       not hold the reap off (session 39: before, any get of the key in progress
       did, and gets overlapping at every node refused every reap of a key read
       without pause: the implementation's strict xfail of session 38,
       tests/impl/test_reap_polled_key.py; sometimes-property
       ``reaped_during_get``);
    3. no store of a *member of n's view*, up or down, holds a live version in
       the true causal history of an acknowledged delete of the key (a version
       the delete *covers*). The members are
       :func:`spec.membership.reap_members`: every node of the rings before and
       after the latest change ``n`` knows, a joining and a leaving node
       included (the nodes the implementation's reaper asks); without
       membership change, every node;
    4. every one of those members knows exactly the membership log ``n`` knows
       (:func:`spec.membership.same_view`: no change is spreading between them;
       the implementation's members answer "not clean" to a reap query sent
       with another view's digest). Without membership change it always holds.

    Why members and views suffice where guard 3 used to ask every node (deletes
    go with membership change since session 8): a node outside ``n``'s members
    is one whose join ``n`` has not heard of, or one that left before the latest
    change ``n`` knows. With pending ownership the first holds nothing while
    ``n``'s members do not know its join either (a transfer waits until every
    member knows the change, and the members ignore a node they never heard
    of), and once one of them knows it, guard 4 waits until ``n`` does too; the
    second let its copies go when its change completed, and no request or
    transfer reads it again (a late write may still reach it: a copy nobody
    reads). With the naive handover a joining node coordinates by its own view
    at once, so it may hold a covered version its members cannot know of; that
    rule already violates ``no_resurrection`` by its stale reads
    (delete-join-immediate). Without guard 4 (the mutant ``reap-ignores-views``)
    delete-join-pending violates ``no_resurrection`` in 19 steps.

    *A copy outside the key's replicas* (a read repair of a fallback, a late
    write to an old owner that already let its copy go) is one no other step
    removes, and if it holds a version a delete covers, guard 3 refuses every
    reap of the key for ever (the tombstones are never reaped). So at a reap the
    copy is dropped as a step of its own, ``Reap(key, (m,))`` through
    :func:`forget_copy` (beginning the key's epoch at ``m``, as a let-go does),
    when a replica ``n`` of the key for which guards 1, 2 and 4 hold can reach
    ``m``, ``m`` is no replica of the key by its own view
    (:func:`spec.membership.replicates`: a naive handover in progress keeps the
    old owners replicas until it completes), and ``n``'s tombstones dominate
    ``m``'s copy (reconciling the two leaves exactly ``n``'s): every version of
    the copy is one the deletes superseded, and no get returns it once it meets
    the tombstones. The implementation's ``Reaper._settle_dominated``
    (impl/reaping.py). Sometimes-property ``outside_copy_dropped``.

Why this is the guard (resurrection by read repair, hinted handoff and
anti-entropy). A get returns a version only if some reply held it and no reply
held a version that dominates it; before a reap, a tombstone that covers ``v``
shields it from every get that reads the tombstone's node. Versions live only in
stores, hints, messages and coordination records (a client's context is a
clock, not a value), and a new put is never covered by an earlier delete (its
history is fixed when the delete is written, and the put's id is not in it).
With (2), (3) and (4), at the reap no copy of a covered version exists anywhere
(a get in progress holds only tombstones and versions no delete covers, and every
reply it will still receive is read from a store), and
no coordination is left that could acknowledge another delete; read repair and
anti-entropy copy only what stores hold, hinted handoff only what hints hold:
so no later get can return a covered version, whatever else the reap removes,
and each reap keeps this, in any order of the nodes. Each part is needed:

- without (3) for a *down* replica: ``n3`` is down holding ``v`` (it missed
  the delete), ``n1`` and ``n2`` reap; ``n3`` recovers (its disk persisted) and
  a get reading ``n1`` and ``n3`` returns ``v``, which read repair then writes
  back to ``n1`` (the seeded mutant ``down-replica`` of
  tests/model_check/test_deletes.py);
- without (3) for an up replica: the same with ``n3`` up (the naive rule);
- without (2): a fallback's hint of ``v`` (or a replica put of ``v`` still in
  flight) reaches ``n1`` after ``n1`` reaped and stores ``v`` there (the
  seeded mutant ``not-quiet`` of tests/model_check/test_deletes.py, with a
  replica put in flight); a get whose replies hold ``v`` read-repairs it;
- without the get part of (2) (the mutant ``gets-ignored``): a get through
  ``n3`` reads ``v`` from its own copy before the delete's replica put reaches
  it; every store then holds the tombstone, ``n1`` reaps, the get reads ``n1``'s
  empty copy and answers ``v`` (no_resurrection, delete-safe, 15 steps). With
  the acknowledged deletes only (guard 3's set) an indeterminate delete's
  tombstone is reaped while such a get is in progress; the get writes ``v`` back
  beside the tombstone it did not see, and nothing repairs the two again
  (convergence, delete-fallback-copy, 13 steps): so every performed delete counts.

*Actors* (Riak's kv679). A node mints a dvv dot (or a server-vclock entry) for
a key one above the counter of its actor in its own copy of the key; a reap
forgets that copy while other replicas may still hold the tombstone, so a put
the node coordinated next under the same actor would re-mint a dot they hold
already and be dropped as seen. With ``features.actor_epochs`` a reap of a copy
that carried a counter of the node's actor for the key begins a new *key epoch*
(``State.key_epochs``): the node mints that key, and only that key, under
``n~<lifetime>.<key epoch>`` from then on; its other keys keep their actor, so a
hot key's clock does not grow an entry per reaped key. Riak's fix is per key in
the same way (``riak_kv_vnode``: ``new_key_epoch`` when a vnode coordinates a key
it holds no object of; "Per-Key Actor Epochs In Riak", R. Brown, 2015). A new
storage lifetime (a disk loss) forgets the key epochs with the rest of the disk:
its actor is new for every key. An old owner emptying a handed-over copy at a
membership change's settlement (:mod:`spec.membership`) forgets the counters the
same way and goes through the same step (:func:`forget_copy`).

Only *acknowledged* deletes count: ``no_resurrection`` promises nothing for
a delete that failed (a failed write is not rolled back in Dynamo either), and
once the key is quiet no coordination is left to acknowledge one later. Unlike a
reap of all N replicas at once, the guard asks nothing of the other replicas
that hold the tombstone: they may be down, or hold another tombstone. The guard
reads ghost facts (which deletes were acknowledged, the true histories): it is
the condition under which a reap is safe, not a node's decision procedure; the
implementation decides with what it sees (all N targets answered with the
tombstone, then the grace period), and the lockstep checks each of its reaps
against this guard (docs/refinement.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from spec import clocks, dvv
from spec.actions import Action, Reap
from spec.dvv import DVVSet
from spec.state import Kind, NodeState, State, key_epoch, new_node
from spec.step import Edit, Plan, forget_unpersisted
from spec.vclock import entry_actor

__all__ = ["forget_copy", "reaps", "tombstoned"]

_reap = lru_cache(maxsize=4096)(Reap)


def reaps(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Every reap the configuration's ``delete_mode`` enables (module docstring)."""
    if not plan.tombstones or plan.config.delete_mode == "keep":
        return iter(())  # a plain call, not a generator: the common case costs little
    return _reaps(state, plan)


def _reaps(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    from spec import membership  # here: spec.membership imports this module

    tombstones = plan.tombstones
    safe = plan.config.delete_mode == "safe"
    nodes = state.nodes
    acked = {p for cl in state.clients for p in cl.acked if p in tombstones}
    if not acked and not safe:
        return
    covered = _covered(state, acked, tombstones) if safe else frozenset()
    ms = state.membership
    index = plan.index
    for key in plan.keys:
        k = plan.key_index[key]
        names = []
        for name, node in zip(plan.nodes, nodes, strict=True):
            held = clocks.values(node.store[k])
            if node.up and held and tombstones.issuperset(held) and (  # guard 1
                    safe or acked.intersection(held)):
                names.append(name)
        if not safe:
            for name in names:
                yield _reap(key, (name,)), _reaped(state, plan, key, name)
            continue
        if not names or not _quiet(state, key, plan) or _gets_hold(
                state, key, _covered(state, _performed(state, tombstones), tombstones)):
            continue  # guard 2
        reaped = []
        dropped: dict[str, None] = {}  # the outside copies, in the order found
        for name in names:
            members = membership.reap_members(plan, ms, name)
            if not membership.same_view(plan, ms, name, members):  # guard 4
                continue
            if not _holds_covered(nodes, [index[m] for m in members], k, covered):  # guard 3
                reaped.append(name)
            if membership.replicates(plan, ms, name, key):
                dropped.update(dict.fromkeys(_outside_copies(state, plan, key, name, members)))
        for name in reaped:
            yield _reap(key, (name,)), _reaped(state, plan, key, name)
        for name in dropped:
            if name not in reaped:
                yield _reap(key, (name,)), _reaped(state, plan, key, name)


def tombstoned(plan: Plan, nodes: tuple[NodeState, ...]) -> bool:
    """Whether some up node's copy of some key is not empty and holds only tombstones
    (guard 1 of every mode, without its acknowledgement): :func:`reaps` yields
    nothing without one (a copy dropped at a reap needs a replica of the key for
    which guard 1 holds). A function of the nodes alone, for
    :mod:`model_check.spec_memo` (which calls it through this module, so that a
    patched version reaches it too)."""
    tombstones = plan.tombstones
    for node in nodes:
        if node.up:
            for payload in node.store:
                held = clocks.values(payload)
                if held and tombstones.issuperset(held):
                    return True
    return False


def _outside_copies(state: State, plan: Plan, key: str, asker: str,
                    members: tuple[str, ...]) -> Iterator[str]:
    """The members holding a copy of ``key`` outside the key's replicas (by their
    own view) that the tombstones of ``asker`` (a replica, guards 1, 2 and 4 hold
    for it) dominate: reconciling the copy with them leaves exactly them, so the
    copy's versions are ones the deletes superseded. Such a copy (a read repair of
    a fallback, a late write to an old owner) is dropped at the reap as a step of
    its own (``Reap(key, (m,))``, :func:`forget_copy`, beginning the key's epoch at
    ``m`` as a let-go does), whatever guard 3 says: before, a copy nothing else
    removes refused every reap of the key for ever. The implementation's
    ``Reaper._settle_dominated`` (impl/reaping.py), at a member asked by a reap."""
    from spec import membership  # here: spec.membership imports this module

    config = plan.config
    k = plan.key_index[key]
    mine = state.nodes[plan.index[asker]].store[k]
    probe = Edit(state, plan)
    for name in members:
        node = state.nodes[plan.index[name]]
        held = node.store[k]
        if (name == asker or not clocks.values(held) or not probe.reachable(asker, name)
                or membership.replicates(plan, state.membership, name, key)):
            continue
        if clocks.payload_equal(clocks.merge(config.clock, mine, held, state.puts), mine):
            yield name


def _quiet(state: State, key: str, plan: Plan) -> bool:
    """Guard 2, the part that reads no version: no message, hint or coordination of
    ``key`` anywhere but a get's (its forward, its requests and replies, its
    coordination record: :func:`_gets_hold` reads what those hold)."""
    gets = plan.total_puts
    for m in state.messages:
        if m.key == key and not (m.kind in _GET_TRAFFIC
                                 or (m.kind is Kind.FORWARD and m.request > gets)):
            return False
    return not any(h.key == key for node in state.nodes for h in node.hints) and not any(
        c.key == key and c.is_put for node in state.nodes for c in node.coord)


_GET_TRAFFIC = frozenset({Kind.REPLICA_GET, Kind.REPLICA_GET_REPLY})


def _gets_hold(state: State, key: str, covered: frozenset[int]) -> bool:
    """Guard 2 refuses for a get of ``key`` in progress: a reply in flight to it, or
    one its coordination record received (the coordinator's own read included),
    holds a version of ``covered``."""
    if not covered:
        return False
    for m in state.messages:
        if (m.key == key and m.kind is Kind.REPLICA_GET_REPLY and m.payload is not None
                and covered.intersection(clocks.values(m.payload))):
            return True
    return any(covered.intersection(clocks.values(payload))
               for node in state.nodes for c in node.coord if c.key == key and not c.is_put
               for _, payload in c.replies)


def _holds_covered(nodes: tuple[NodeState, ...], members: list[int], k: int,
                   covered: frozenset[int]) -> bool:
    """Guard 3 refuses: the store of key index ``k`` of some node of ``members``
    (indexes into ``nodes``), up or down (a down node's disk persists), holds a
    version of ``covered``."""
    return any(covered.intersection(clocks.values(nodes[i].store[k])) for i in members)


def _performed(state: State, tombstones: frozenset[int]) -> set[int]:
    """The deletes a coordinator performed (their put records exist), acknowledged
    or not."""
    return {p for p in tombstones if state.puts[p - 1] is not None}


def _covered(state: State, acked: set[int], tombstones: frozenset[int]) -> frozenset[int]:
    """The live versions (put ids, not tombstones) in the true history of a delete of
    ``acked``: the acknowledged ones (guard 3 refuses a reap while a store holds
    one), or every performed one (guard 2's get part, :func:`_performed`)."""
    covered: set[int] = set()
    for d in acked:
        record = state.puts[d - 1]
        if record is not None:
            covered |= record.history
    return frozenset(covered - tombstones)


def _reaped(state: State, plan: Plan, key: str, name: str) -> State:
    """``state`` with ``key``'s copy on node ``name`` emptied (:func:`forget_copy`)."""
    edit = Edit(state, plan)
    forget_copy(edit, state, name, key)
    return edit.build()


def forget_copy(edit: Edit, state: State, name: str, key: str) -> None:
    """Empty node ``name``'s copy of ``key`` in ``edit`` (a reap, or an old owner
    letting a handed-over copy go: :mod:`spec.membership`); with actor epochs, if
    the copy carried a counter of the actor ``name`` mints ``key`` under, ``name``
    begins a new key epoch: it mints ``key`` (and no other key) under a new actor
    from now on (module docstring, "Actors": the counter is forgotten with the copy).
    Node ``name``'s in-memory records of its refused writes of ``key`` (``State.
    unpersisted``) are forgotten with the copy (the implementation's reap forgets them:
    docs/runtime.md, "Review of the full-disk change (session 50, review)", fault 2).
    ``state`` is the state ``edit`` started from (the put records)."""
    plan = edit.plan
    k = plan.key_index[key]
    node = edit.node(name)
    held = node.store[k]
    store = (*node.store[:k], clocks.empty(plan.config.clock), *node.store[k + 1 :])
    edit.set_node(name, new_node(node.up, store, node.hints, node.coord))
    if edit.unpersisted:  # session 51: the records of its refused writes of the key too
        edit.unpersisted = forget_unpersisted(edit.unpersisted, name, key)
    if plan.config.actor_epochs and _mentions(state, held, edit.actor(name, key)):
        epoch = key_epoch(edit.key_epochs, name, key)
        edit.key_epochs = frozenset(
            [*(e for e in edit.key_epochs if e[:2] != (name, key)), (name, key, epoch + 1)])


def _mentions(state: State, payload: clocks.Payload, actor: str) -> bool:
    """Does ``payload`` carry a counter of ``actor`` (a dvv entry, of it or of a pair
    (actor, client): :func:`spec.dvv.dot_actor`; a server-vclock entry): one the
    node would mint again once the copy is gone?"""
    if isinstance(payload, DVVSet):  # an entry of it, or of a (actor, client) pair of it
        return any(i == actor or entry_actor(i) == actor for i in dvv.ids(payload))
    records = [state.puts[v - 1] for v in clocks.values(payload)]
    if state.config.clock == "client-vclock" and state.config.client_vclock_entry == "pair":
        # a (actor, client) pair of the actor (spec.vclock.client_entry)
        return any(entry_actor(entry) == actor
                   for record in records if record is not None
                   for entry, _ in record.clock.pairs)
    if state.config.clock != "server-vclock":
        return False
    return any(record is not None and record.clock.counter(actor) for record in records)
