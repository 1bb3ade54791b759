"""Membership change: nodes join and leave the ring, and key ranges move
(paper sections 4.8 and 4.9; issue 11, part 2).

Theory of operation
-------------------
The paper's membership (4.8) is an explicit join or leave, announced by the node
and spread by gossip; adding a node moves the key ranges it now owns from the
nodes that no longer own them (4.9: "transfer the keys"). Production stores
learned that the ranges must move safely: while a range moves, Riak's and
Cassandra's *pending ownership* sends writes to the old and the new owners and
serves reads from the old ones until the transfer completed.

**State** (:class:`~spec.state.MembershipState`, ``State.membership``; None
without a ``[membership]`` budget): the *log* of announced changes, a tuple of
``(event, node)``; per node its *view*, how many log entries it has heard of;
and ``handed``, the range transfers of the current change that arrived, and ``carried``, those
that arrived carrying versions (step 2b). A node
acts on the ring of the log prefix it knows, so it may act on a stale view. The
log is linear: one change at a time (a join or a leave starts only once the
previous one is complete, as Riak's claimant moves one ring transition at a
time), announced by the node that joins (leaves).

**A change** from the old ring ``old`` (the members before it) to ``new`` goes
through these log entries, each spread by :class:`~spec.actions.Gossip` (one
node tells another what it knows):

1. ``("join", X)`` / ``("leave", X)`` (:class:`~spec.actions.Join`,
   :class:`~spec.actions.Leave`): the change starts. With pending ownership
   (``features.join_handover = "pending"``) a node knowing it coordinates and
   serves reads by the old ring's top N, and sends writes to the old *and* the
   new top N, acknowledging after W acks within each (a joint quorum:
   :attr:`~spec.state.Coordination.groups`).
2. The *range transfer*: once every member knows the change, each node of a
   key's old top N that is not in its new top N sends its versions of the key to
   each node that is new in it (:class:`~spec.actions.Transfer`, a
   ``range-transfer`` message; on delivery the receiver reconciles them into its
   store, :func:`on_range_transfer`). A transfer waits while a write of the key
   to its sender is in flight, so the versions it carries include every write the
   sender acknowledged (the forwarding of late writes in Riak's handoff,
   abstracted as that guard).
2b. The *late re-transfer* (session 35; :func:`late_transfers`): a write that
   reaches an old owner after its transfer arrived (a replica put or a read
   repair, a delete, a write by a node that has not heard of the change) is
   forwarded to the new owner: the sender sends its copy again, a
   ``range-transfer`` as in step 2 (:class:`~spec.actions.Transfer` once more),
   while the copy adds a version to the receiver's. Riak's vnode forwards the
   writes it takes during and after its ownership handoff to the new owner
   (``riak_kv_vnode:handle_handoff_command``, ``{forward, ...}``); the
   implementation keeps the late write in the transfer's hint, whose delivery
   it retries until acknowledged (``impl.gossip.Gossiper.on_write`` ->
   ``_hand``). Only a transfer that *carried* versions (``carried``: the
   sender held a copy of the key) is forwarded: after an empty transfer the
   implementation counts the range handed over at once (riak_core: an empty
   partition's handoff finishes at once) and a later write stays at the old
   owner (the naive rule's stranded write). It is a possibility, not a duty:
   the handover may come first (the implementation's transfer acknowledged
   before the write arrived ends the forwarding), but not while a re-transfer is
   in flight (its sender lets its copy go once the receiver acknowledged it).
3. ``("handed", X)`` (:class:`~spec.actions.Handover`, by X once every transfer
   of the change arrived and none is in flight, a late re-transfer included; the
   acknowledgement of a transfer is not a message):
   nodes knowing it coordinate by the new ring and use joint quorums for reads
   and writes (a node still on step 1 reads from the old top N).
4. ``("settled", X)`` (:class:`~spec.actions.Settle`, once every member knows
   the handover): the new ring alone (the implementation learns it from seen
   digests, riak_core's ``ring_ready``:
   ``impl.gossip.Gossiper.settle_if_seen``). The nodes the transfers were sent
   from empty their copies of the moved keys (a node that handed a range over
   deletes it; a leaving node is gone), so ``acked_writes_durable`` cannot lean
   on a copy left behind (a copy that held the node's counter for the key begins
   its key epoch, as a reap does: :func:`spec.deletes.forget_copy`, kv679); this
   waits until no request of a moved key is being coordinated (one begun on the
   old ring may still read those copies).

Why pending ownership keeps read-your-writes with R + W > N: two nodes' views
differ by at most one step (2 and 3 wait until every member knows the step
before), and at each pair of neighbouring steps every write quorum meets every
read quorum (step 1 writes W of old, reads R of old; step 3 writes and reads
both; step 4 only the new top N, whose copies hold every earlier write because
step 1's writes had W in the new top N and the transfer brought the rest).

With ``join_handover = "immediate"`` (the naive rule) a node that knows the
change routes by the new ring at once: a joining node coordinates and answers
for its ranges before their transfer (the stale read of
``../shared/cases/07-join-stale-read.py``); the transfer still follows, then the
handover ends the change (no step 4; the senders empty their copies there).

**Force-remove** (session 23; ``[membership] removes``; the implementation's
``impl.gossip.Gossiper.force_remove``, riak_core's ``cluster force-remove``): a
node that is down may be declared gone for good by a member ``by`` that is up and
knows the whole log (:func:`removals`, :class:`~spec.actions.ForceRemove`; one
change at a time, more than N members left). ``by`` appends ``("remove", X)``,
the first entry a node announces about another; X's disk is gone (its store and
hints are emptied) and it never recovers (:func:`is_removed`). The change then
runs as a leave of X with four differences: X takes no part (it gossips and
sends nothing; a node that knows the removal refuses what X sent before it
died, :func:`knows`); the transfers are sent by the *survivors*, each node of a
key's old top N that stays in it, to each node new in it (X's copies are lost);
the handover and the settlement are announced by the *claimant*, the first
member after the removal in ring order (the implementation's claimant, the
lowest-named member), once it is up, and the handover only once every member
knows the removal (the claimant hears from every survivor only then:
``impl.gossip.Gossiper._removal_done``); from the handover to the settlement X is
replaced in the old quorum group by the node that took its place, so the new top
N alone serves (``impl.sloppy_quorum.SloppyQuorum._replacing_removed``). The
senders stay owners, so nothing is emptied at the settlement. X's hints at the
others need no re-addressing: membership change is modelled with a strict
quorum, which makes no hint. The last two rules came from the lockstep
(docs/refinement.md, "Force-remove (session 23)").

Deletes go with membership change (session 8): a safe reap (:mod:`spec.deletes`)
asks about the stores of :func:`reap_members` (the rings before and after the
change the reaping node knows) and waits until they all know its view
(:func:`same_view`); a copy of a node that is no replica of the key by its own
view (:func:`replicates`: an old owner stays one until its change completes) is
dropped at a reap once a replica's tombstones dominate it.

Nodes outside the ring (``[membership] joining`` before their join, a node that
left) are up but neither coordinate nor get requests by any view. A node ignores
a message from a node it never heard of (:func:`knows`: not an initial node, and
its join not in the receiver's view), as the implementation refuses peers
outside its membership. Errors: none
on states the spec reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from spec import clocks
from spec.actions import Action, ForceRemove, Gossip, Handover, Join, Leave, Settle, Transfer
from spec.clocks import Payload
from spec.config import Config
from spec.deletes import forget_copy
from spec.ring import Ring, key_position
from spec.state import (
    Change,
    Kind,
    MembershipState,
    Message,
    NodeState,
    State,
    new_message,
    new_node,
)
from spec.step import Edit, Plan

__all__ = [
    "View",
    "announcer",
    "current_top",
    "exchange_candidates",
    "exchanges",
    "initial_membership",
    "is_removed",
    "knows",
    "late_transfers",
    "membership_changes",
    "on_range_transfer",
    "range_steps",
    "reap_members",
    "removals",
    "replicates",
    "request_targets",
    "same_view",
    "serving_top",
    "view_of",
    "view_steps",
    "with_membership",
]

JOIN, LEAVE, REMOVE, HANDED, SETTLED = "join", "leave", "remove", "handed", "settled"
#: the log entries that start a change
_STARTS = (JOIN, LEAVE, REMOVE)
STABLE, MOVING, HANDING = "stable", "moving", "handing"
#: message kinds that write the receiver's store: a transfer waits while one of
#: them, for its key, is in flight to its sender
_WRITES = frozenset({Kind.REPLICA_PUT, Kind.READ_REPAIR, Kind.HINT_DELIVERY,
                     Kind.RANGE_TRANSFER})

_Targets = tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]


@dataclass(frozen=True)
class View:
    """What a node does by a prefix of the membership log.

    ``members``: the ring after the latest change it knows; ``old``: before it
    (equal when ``phase`` is ``"stable"``); ``phase``: ``"stable"``, ``"moving"``
    (the change started, step 1) or ``"handing"`` (handed over, step 3);
    ``serving``: per key, the top N that coordinates (and, outside joint reads,
    answers) requests; ``reads`` / ``writes``: per key, the nodes a get (put) is
    sent to and the quorum groups (each must give R replies, W acks; empty: the
    plain count); ``removed``: the nodes force-removed by that prefix (out for good:
    a reap asks nothing of them, messages from them are refused)."""

    members: tuple[str, ...]
    old: tuple[str, ...]
    phase: str
    serving: dict[str, tuple[str, ...]]
    reads: dict[str, _Targets]
    writes: dict[str, _Targets]
    removed: frozenset[str] = frozenset()


def initial_membership(config: Config) -> MembershipState | None:
    """The initial ring: no change announced, every view empty (None: no budget)."""
    if not config.membership:
        return None
    return MembershipState((), tuple(0 for _ in config.all_nodes))


def _top(config: Config, members: tuple[str, ...], key: str) -> tuple[str, ...]:
    """The key's top N on the ring of ``members`` (the full ring restricted to them)."""
    return _pref(config, members, key)[: config.n]


@lru_cache(maxsize=1024)
def _pref(config: Config, members: tuple[str, ...], key: str) -> tuple[str, ...]:
    chosen = frozenset(members)
    return tuple(n for n in config.ring.preference_list(key) if n in chosen)


def _in_ring_order(config: Config, names: frozenset[str]) -> tuple[str, ...]:
    return tuple(n for n in config.all_nodes if n in names)


@lru_cache(maxsize=4096)
def view_of(config: Config, log: tuple[Change, ...]) -> View:
    """The view of a node that knows the log prefix ``log``."""
    members = config.nodes
    old = members
    phase = STABLE
    removed: set[str] = set()
    removal = ""  # the node the latest change force-removes, if it is a removal
    for event, node in log:
        if event in _STARTS:
            old = members
            names = set(members) | {node} if event == JOIN else set(members) - {node}
            removal = node if event == REMOVE else ""
            if event == REMOVE:
                removed.add(node)
            members = _in_ring_order(config, frozenset(names))
            phase = MOVING
        elif event == HANDED:
            phase = HANDING
        else:  # SETTLED
            phase, old = STABLE, members
    serving: dict[str, tuple[str, ...]] = {}
    reads: dict[str, _Targets] = {}
    writes: dict[str, _Targets] = {}
    for key in config.keys:
        new_top = _top(config, members, key)
        old_top = _top(config, old, key)
        if config.join_handover == "immediate" or phase == STABLE or new_top == old_top:
            serving[key] = new_top  # the naive rule: the new ring at once
            reads[key] = writes[key] = (new_top, ())
            continue
        if phase == HANDING and removal in old_top:
            # the removed node is replaced in the old group by the node that took its
            # place (impl.sloppy_quorum.SloppyQuorum._replacing_removed): the old group
            # is the new top N, so the new top N alone serves, with the plain count
            takers = iter([n for n in new_top if n not in old_top])
            old_top = tuple(next(takers, n) if n == removal else n for n in old_top)
            if sorted(old_top) == sorted(new_top):
                serving[key] = new_top
                reads[key] = writes[key] = (new_top, ())
                continue
        both = _pref(config, _in_ring_order(config, frozenset(old_top + new_top)), key)
        groups = (tuple(sorted(old_top)), tuple(sorted(new_top)))
        if phase == MOVING:
            serving[key] = old_top
            reads[key] = (old_top, ())
        else:
            serving[key] = new_top
            reads[key] = (both, groups)
        writes[key] = (both, groups)
    return View(members, old, phase, serving, reads, writes, frozenset(removed))


def _view(plan: Plan, membership: MembershipState, node: str) -> View:
    return view_of(plan.config, membership.log[: membership.views[plan.index[node]]])


def serving_top(plan: Plan, membership: MembershipState, node: str, key: str
                ) -> tuple[str, ...]:
    """The top N of ``key`` that coordinates requests, by ``node``'s view."""
    return _view(plan, membership, node).serving[key]


def request_targets(edit: Edit, node: str, key: str, is_put: bool) -> _Targets:
    """Whom coordinator ``node`` sends a put (``is_put``) or a get of ``key`` to, by
    its view: ``(nodes, groups)``, the reachable nodes of its write (read) set other
    than itself in preference-list order, and the quorum groups (empty: the plain
    count; see :class:`View`)."""
    assert edit.membership is not None
    view = _view(edit.plan, edit.membership, node)
    nodes, groups = view.writes[key] if is_put else view.reads[key]
    return tuple(n for n in nodes if n != node and edit.reachable(node, n)), groups


def reap_members(plan: Plan, membership: MembershipState | None, node: str
                 ) -> tuple[str, ...]:
    """The nodes a reap by ``node`` asks about (:mod:`spec.deletes`, guards 3 and 4),
    in ring order: every member of the rings before and after the latest change
    ``node`` knows (a joining and a leaving node included, as the implementation's
    reaper asks every member of its view that has not left: ``impl.reaping``);
    every node without membership change."""
    if membership is None:
        return plan.nodes
    view = _view(plan, membership, node)
    return _in_ring_order(plan.config, (frozenset(view.old) | frozenset(view.members))
                          - view.removed)


def same_view(plan: Plan, membership: MembershipState | None, node: str,
              others: tuple[str, ...]) -> bool:
    """Whether every node of ``others`` knows exactly the log prefix ``node`` knows
    (guard 4 of a safe reap, :mod:`spec.deletes`; True without membership change)."""
    if membership is None:
        return True
    views, index = membership.views, plan.index
    mine = views[index[node]]
    return all(views[index[other]] == mine for other in others)


def replicates(plan: Plan, membership: MembershipState | None, node: str, key: str) -> bool:
    """Whether ``node`` is one of ``key``'s replicas by its view: in the key's top N
    on the ring of the latest change it knows, or, while that change is in
    progress, on the ring before it (pending ownership writes to both; with the
    naive handover the old owners still hold the range until the handover). The
    implementation's ``Node._replicates``: the write targets, or the ring its
    ranges ``moved_from``. Without membership change: the key's top N."""
    if membership is None:
        return node in plan.top[key]
    config = plan.config
    view = _view(plan, membership, node)
    if node in _top(config, view.members, key):
        return True
    in_change = view.phase == MOVING or (view.phase == HANDING
                                         and config.join_handover == "pending")
    return in_change and node in _top(config, view.old, key)


def current_top(state: State, key: str) -> tuple[str, ...]:
    """The key's top N on the ring of every change announced so far (the replicas
    anti-entropy and convergence are about)."""
    config = state.config
    if state.membership is None:
        return config.top_n(key)
    return _top(config, view_of(config, state.membership.log).members, key)


def exchange_candidates(state: State, key: str) -> tuple[str, ...]:
    """The nodes that may take part in an anti-entropy exchange of ``key``, in
    preference-list order: its top N on the ring before or after the latest change
    of the whole log (each pair then decided by :func:`exchanges`, by what the two
    know); the key's top N without membership change. An old owner that leaves the
    top N still serves the key by the ring before the change until it hears the
    handover, and so does its peer: the implementation's two nodes then exchange
    although the whole log's top N no longer holds one of them (session 25: before,
    the spec paired only the whole log's top N, and the lockstep's probe of n1 and
    n3 right after n4 announced its join diverged: docs/refinement.md, "Anti-entropy
    during a join or a leave (session 25)")."""
    config = state.config
    if state.membership is None:
        return config.top_n(key)
    view = view_of(config, state.membership.log)
    names = frozenset(_top(config, view.old, key) + _top(config, view.members, key))
    return tuple(n for n in config.ring.preference_list(key) if n in names)


def exchanges(plan: Plan, membership: MembershipState, a: str, b: str, key: str) -> bool:
    """Whether replicas ``a`` and ``b`` of ``key`` (of its :func:`exchange_candidates`) can
    run an anti-entropy exchange by what they know (session 24), as the
    implementation's Merkle exchange can: each serves ``key`` by its own view (it
    holds a tree of the key's range: a node's trees are of the elementary ranges of
    the ring it serves by, ``impl.antientropy.AntiEntropy.on_ring_change``); one
    of them has the other in its serving top N (the node that opens an exchange
    picks its peer there, ``AntiEntropy.on_round``); and both cut the ring at the
    same tokens around the key (a tree is found by its range's bounds: a peer whose
    ring has a token more or less there answers nothing,
    ``anti-entropy-unknown-range``). Before (sessions 11-23) the spec paired the
    whole log's top N, which no node knows: a node new in the top N exchanged
    before it or its peer knew the handover (docs/refinement.md, "Force-remove
    with anti-entropy (session 24)")."""
    config = plan.config
    mine, theirs = _view(plan, membership, a), _view(plan, membership, b)
    top_a, top_b = mine.serving[key], theirs.serving[key]
    return (a in top_a and b in top_b and (b in top_a or a in top_b)
            and _range(config, _serving_ring(config, mine), key)
            == _range(config, _serving_ring(config, theirs), key))


def _serving_ring(config: Config, view: View) -> tuple[str, ...]:
    """The members whose tokens route requests by ``view`` (the implementation's
    serving partitioning): the ring before the change until its handover with
    pending ownership, else the ring after it."""
    if view.phase == MOVING and config.join_handover == "pending":
        return view.old
    return view.members


@lru_cache(maxsize=1024)
def _range(config: Config, members: tuple[str, ...], key: str) -> tuple[int, int]:
    """The elementary range holding ``key`` on the ring of ``members``."""
    chosen = frozenset(members)
    ring = Ring(tuple(e for e in config.ring.entries if e[1] in chosen))
    return ring.range_of(key_position(key))


@dataclass(frozen=True)
class _Change:
    """The latest change of a whole log: the node it is about, whether it is
    complete, its transfers ``(key, src, dst)``, the nodes that take part in gossip
    (the members before and after it: a node that left still tells what it knows,
    as the implementation's leaving node gossips that it left; a force-removed node
    is out: it never comes back), and the node that announces its handover and
    settlement (``announcer``: the node itself for a join or a leave, the claimant
    for a force-remove)."""

    node: str
    event: str
    start: int
    complete: bool
    transfers: tuple[tuple[str, str, str], ...]
    involved: tuple[str, ...]
    joins: int
    leaves: int
    removes: int = 0
    announcer: str = ""
    kind: str = ""


@lru_cache(maxsize=1024)
def _latest(config: Config, log: tuple[Change, ...]) -> _Change:
    if not log:
        return _Change("", "", 0, True, (), config.nodes, 0, 0)
    start = max(i for i, (event, _) in enumerate(log) if event in _STARTS)
    final = SETTLED if config.join_handover == "pending" else HANDED
    complete = log[-1][0] == final
    last = view_of(config, log[: start + 1])
    kind, node = log[start]
    removal = kind == REMOVE
    # a join or a leave: each node leaving a key's top N hands it to each node new in
    # it; a removal: the removed node's copies are lost, so every survivor of the old
    # top N (they all stay in it) hands it on (impl.gossip.Gossiper._new_owners), and
    # the claimant announces the rest
    transfers = tuple(
        (key, src, dst)
        for key in config.keys
        for old_top, new_top in [(_top(config, last.old, key), _top(config, last.members, key))]
        for src in old_top if (src in new_top) == removal
        for dst in new_top if dst not in old_top
    )
    involved = (last.members if removal
                else _in_ring_order(config, frozenset(last.old) | frozenset(last.members)))
    announcer = last.members[0] if removal else node
    events = [event for event, _ in log]
    return _Change(node, log[-1][0], start, complete, transfers, involved,
                   events.count(JOIN), events.count(LEAVE), events.count(REMOVE), announcer,
                   kind)


# Actions are values: one shared object per distinct action.
_join = lru_cache(maxsize=256)(Join)
_leave = lru_cache(maxsize=256)(Leave)
_force_remove = lru_cache(maxsize=256)(ForceRemove)
_gossip = lru_cache(maxsize=1024)(Gossip)
_transfer = lru_cache(maxsize=1024)(Transfer)
_handover = lru_cache(maxsize=256)(Handover)
_settle = lru_cache(maxsize=256)(Settle)


def membership_changes(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Gossip, joins, leaves, transfers, handovers and settlements (module docstring)."""
    if state.membership is None:
        return iter(())  # a plain call, not a generator: the common case costs little
    return _changes(state, plan, state.membership)


def _changes(state: State, plan: Plan, ms: MembershipState
             ) -> Iterator[tuple[Action, State]]:
    ups = tuple([node.up for node in state.nodes])
    for action, membership in view_steps(plan, ms, ups, state.side):
        yield action, with_membership(state, plan, membership)
    yield from removals(state, plan, ms)
    yield from range_steps(state, plan, ms)


def view_steps(plan: Plan, ms: MembershipState, ups: tuple[bool, ...], side: frozenset[str]
               ) -> list[tuple[Action, MembershipState]]:
    """The membership steps that change the membership alone: gossip, and, once the
    latest change is complete, joins and leaves; each with the membership it leaves.
    A pure function of its values: the log, the views, the nodes' ``ups`` (in the
    order of ``Config.all_nodes``) and the partition's ``side`` (a node reaches
    another when both are up and on the same side, as :meth:`~spec.step.Edit.reachable`),
    so a checker may cache it per those values (``model_check.spec_memo``)."""
    config = plan.config
    log, views = ms.log, ms.views
    index = plan.index
    change = _latest(config, log)
    known = len(log)
    steps: list[tuple[Action, MembershipState]] = []
    for src in change.involved:
        for dst in change.involved:
            if (dst != src and views[index[src]] > views[index[dst]] and ups[index[src]]
                    and ups[index[dst]] and (src in side) == (dst in side)):
                steps.append((_gossip(src, dst), MembershipState(
                    log, _learn(views, index[dst], views[index[src]]), ms.handed,
                    ms.carried)))
    if change.complete:
        members = view_of(config, log).members
        if change.joins < config.joins:
            joined = {node for event, node in log if event == JOIN}
            for node in config.joining:
                if node not in joined and ups[index[node]]:
                    steps.append((_join(node), _announced(plan, ms, (JOIN, node))))
        if change.leaves < config.leaves and len(members) > config.n:
            for node in members:
                if ups[index[node]] and views[index[node]] == known:
                    steps.append((_leave(node), _announced(plan, ms, (LEAVE, node))))
    return steps


def range_steps(state: State, plan: Plan, ms: MembershipState
                ) -> Iterator[tuple[Action, State]]:
    """The membership steps of a change in progress (none once it is complete): its
    range transfers, its late re-transfers (:func:`late_transfers`), its handover,
    its settlement (they read the stores, the
    messages in flight and the coordinations, and may empty copies)."""
    config = plan.config
    log, views = ms.log, ms.views
    index = plan.index
    nodes = state.nodes
    change = _latest(config, log)
    if change.complete:
        return
    known = len(log)
    probe = Edit(state, plan)
    everyone = all(views[index[n]] == known for n in change.involved)
    start = change.start
    if change.event in _STARTS:
        pending = [t for t in change.transfers if t not in ms.handed]
        for key, src, dst in pending:
            if config.join_handover == "pending" and not everyone:
                break
            if views[index[src]] < start + 1:  # immediate: the sender knows the change
                continue
            if not probe.reachable(src, dst) or _blocked(state.messages, key, src, dst):
                continue
            edit = Edit(state, plan)
            payload = nodes[index[src]].store[plan.key_index[key]]
            edit.send(new_message(Kind.RANGE_TRANSFER, src, dst, 0, key, payload))
            yield _transfer(src, dst, key), edit.build()
        yield from late_transfers(state, plan, ms)
        # a removal's claimant announces it once every survivor told it that it handed
        # its ranges on, which each does once every member knows the removal
        # (impl.gossip.Gossiper._removal_done): the claimant then knows it too
        heard = everyone or change.kind != REMOVE
        if (not pending and heard and nodes[index[change.announcer]].up
                and not _transfer_in_flight(state, plan, change) and (
                    config.join_handover == "pending" or _drained(state, change))):
            yield _handover(change.node), _announce(state, plan, ms, (HANDED, change.node),
                                                    change.announcer)
    elif (change.event == HANDED and everyone and nodes[index[change.announcer]].up
          and _drained(state, change)):
        yield _settle(change.node), _announce(state, plan, ms, (SETTLED, change.node),
                                              change.announcer)


def late_transfers(state: State, plan: Plan, ms: MembershipState
                   ) -> Iterator[tuple[Action, State]]:
    """The late re-transfers enabled in ``state`` (step 2b of the module docstring,
    session 35): before the handover, the sender ``src`` of a transfer of ``key`` to
    ``dst`` that arrived carrying versions (``ms.carried``) sends its copy again
    (``Transfer(src, dst, key)``, a ``range-transfer`` of ``src``'s store) when that
    copy adds a version to ``dst``'s: a write reached ``src`` after its transfer,
    and riak_core's vnode forwards it to the new owner (the implementation's
    ``impl.gossip.Gossiper.on_write`` keeps it in the transfer's hint, which is
    sent again). The guards of a first transfer hold too: ``src`` knows the
    change (with pending ownership every member does), reaches ``dst``, and no
    transfer of the key from ``src`` to ``dst`` nor write of the key to ``src`` is
    in flight (the copy sent then holds every write ``src`` acknowledged). A copy
    that adds nothing (the joint write groups brought the write to ``dst``
    already) is not sent: it would change nothing but the messages in flight."""
    config = plan.config
    change = _latest(config, ms.log)
    if change.complete or change.event not in _STARTS or not ms.carried:
        return
    index, nodes, views = plan.index, state.nodes, ms.views
    known = len(ms.log)
    if config.join_handover == "pending" and not all(
            views[index[n]] == known for n in change.involved):
        return
    probe = Edit(state, plan)
    for key, src, dst in sorted(ms.carried):
        if views[index[src]] < change.start + 1 or not probe.reachable(src, dst):
            continue
        if _blocked(state.messages, key, src, dst):
            continue
        payload = nodes[index[src]].store[plan.key_index[key]]
        if not _adds(state, plan, key, dst, payload):
            continue  # it adds no version at dst
        edit = Edit(state, plan)
        edit.send(new_message(Kind.RANGE_TRANSFER, src, dst, 0, key, payload))
        yield _transfer(src, dst, key), edit.build()


def _transfer_in_flight(state: State, plan: Plan, change: _Change) -> bool:
    """A range transfer of ``change`` is in flight that adds a version to its
    receiver's copy (a late re-transfer: the handover waits until it arrived or was
    lost, as its old owner keeps the hint until the new owner acknowledges it). A
    copy that adds nothing does not hold the handover: a duplicate of a transfer
    that arrived (a network fault, or a hint retried while the first delivery was
    slow), which the implementation's handover does not wait for (session 35's
    review: the naive join of trace validation's seed 41 handed over with such a
    copy in flight, a handover any copy in flight refused)."""
    moves = set(change.transfers)
    return any(m.kind is Kind.RANGE_TRANSFER and (m.key, m.src, m.dst) in moves
               and m.payload is not None and _adds(state, plan, m.key, m.dst, m.payload)
               for m in state.messages)


def _adds(state: State, plan: Plan, key: str, dst: str, payload: Payload) -> bool:
    """Merging ``payload`` into ``dst``'s copy of ``key`` changes it (adds a version)."""
    kept = state.nodes[plan.index[dst]].store[plan.key_index[key]]
    merged = clocks.merge(plan.config.clock, kept, payload, state.puts)
    return not clocks.payload_equal(merged, kept)


def _drained(state: State, change: _Change) -> bool:
    """No request of a key the change moved is being coordinated: the copies the
    transfers came from may go (a request begun on the old ring may still read
    them; Riak's vnodes forward such requests after a handoff, abstracted as
    this guard)."""
    moved = {key for key, _, _ in change.transfers}
    return not any(c.key in moved for node in state.nodes for c in node.coord)


def knows(plan: Plan, membership: MembershipState, node: str, other: str) -> bool:
    """Whether ``node`` has heard of ``other`` and not of its force-remove: an initial
    node, or one whose join is in ``node``'s view (a node ignores messages from nodes
    it never heard of, as the implementation refuses peers outside its membership,
    and from a node it knows was force-removed: ``removed-peer-refused``)."""
    if plan.config.removes and (REMOVE, other) in membership.log[
            : membership.views[plan.index[node]]]:
        return False
    if other in plan.config.nodes:
        return True
    return (JOIN, other) in membership.log[: membership.views[plan.index[node]]]


def announcer(config: Config, log: tuple[Change, ...]) -> str:
    """The node that announces the handover and the settlement of the latest change
    of ``log``: the node that joins (leaves), or for a force-remove the claimant
    (the first member after it, in ring order)."""
    return _latest(config, log).announcer


def is_removed(membership: MembershipState | None, node: str) -> bool:
    """Whether ``node`` was force-removed (by the whole log): it never recovers (the
    implementation's returning node is refused by its peers and stops)."""
    return membership is not None and (REMOVE, node) in membership.log


def removals(state: State, plan: Plan, ms: MembershipState) -> Iterator[tuple[Action, State]]:
    """The force-removes enabled in ``state`` (session 23; the implementation's
    ``impl.gossip.Gossiper.force_remove``): once the latest change is complete and
    the budget allows, a member ``by`` that is up and knows the whole log announces
    ``("remove", node)`` for a member ``node`` that is down, if more than N members
    stay. The entry is the first a node announces about another (a join, a leave,
    a handover and a settlement are announced by the node that changes, or for a
    removal by the claimant). The removed node's disk is gone: its store and hints
    are emptied (its copies are lost), it stays down (:func:`is_removed`: its
    ``Recover`` is refused), and the survivors hand its ranges on (:func:`range_steps`).
    Its hints at the others need no re-addressing here: membership change is modelled
    with a strict quorum, which makes no hint."""
    config = plan.config
    log, views = ms.log, ms.views
    change = _latest(config, log)
    if not change.complete or change.removes >= config.removes:
        return
    members = view_of(config, log).members
    if len(members) <= config.n:
        return
    index, nodes, known = plan.index, state.nodes, len(log)
    for node in members:
        down = nodes[index[node]]
        if down.up:
            continue
        for by in members:
            if by != node and nodes[index[by]].up and views[index[by]] == known:
                edit = Edit(state, plan)
                edit.membership = _announced(plan, ms, (REMOVE, node), by)
                empty = clocks.empty(config.clock)
                edit.set_node(node, new_node(False, tuple(empty for _ in down.store), (), ()))
                yield _force_remove(node, by), edit.build()


def _blocked(messages: tuple[Message, ...], key: str, src: str, dst: str) -> bool:
    """A transfer of ``key`` from ``src`` to ``dst`` is in flight, or a write of the
    key to ``src`` (the transfer waits until it arrived or was lost)."""
    for m in messages:
        if m.key == key and m.kind in _WRITES and (
                m.dst == src or (m.kind is Kind.RANGE_TRANSFER and m.src == src
                                 and m.dst == dst)):
            return True
    return False


def _learn(views: tuple[int, ...], i: int, value: int) -> tuple[int, ...]:
    return (*views[:i], value, *views[i + 1 :])


def with_membership(state: State, plan: Plan, membership: MembershipState) -> State:
    """``state`` with its membership replaced by ``membership``."""
    edit = Edit(state, plan)
    edit.membership = membership
    return edit.build()


def _announced(plan: Plan, ms: MembershipState, entry: Change, by: str = ""
               ) -> MembershipState:
    """The membership once ``by`` (default: ``entry``'s node) appended ``entry`` to the
    log (it then knows the whole log)."""
    log = (*ms.log, entry)
    return MembershipState(log, _learn(ms.views, plan.index[by or entry[1]], len(log)),
                           frozenset())


def _announce(state: State, plan: Plan, ms: MembershipState, entry: Change, by: str
              ) -> State:
    """``by`` appends ``entry`` to the log (and so knows the whole log). The last
    entry of a join or a leave also empties the copies its transfers were sent from:
    a node that handed a range over deletes it, a node that left is gone (the
    senders of a force-remove's transfers stay owners: nothing is emptied)."""
    edit = Edit(state, plan)
    edit.membership = _announced(plan, ms, entry, by)
    change = _latest(plan.config, ms.log)
    if (entry[0] == (SETTLED if plan.config.join_handover == "pending" else HANDED)
            and change.kind != REMOVE):
        for key, src, _ in change.transfers:
            forget_copy(edit, state, src, key)  # with a key epoch, as a reap (kv679)
    return edit.build()


def on_range_transfer(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``range-transfer`` reaches the node gaining the range: it reconciles the
    versions into its store, and the transfer counts for the current change (as
    carried, if it held versions: its sender then forwards a late write,
    :func:`late_transfers`)."""
    assert m.payload is not None and edit.membership is not None
    edit.store(m.dst, m.key, m.payload)
    ms = edit.membership
    change = _latest(edit.plan.config, ms.log)
    done = (m.key, m.src, m.dst)
    if change.event in _STARTS and done in change.transfers and done not in ms.handed:
        carried = ms.carried | {done} if clocks.values(m.payload) else ms.carried
        edit.membership = MembershipState(ms.log, ms.views, ms.handed | {done}, carried)
