"""The trace spec's steps: spec steps asked of their own mechanism, and the named
steps for the spec gaps trace validation found (:mod:`model_check.trace_validation`,
docs/refinement.md, "Trace validation").

Every trace-spec step is built from the spec's own rules (:class:`spec.step.Edit`,
:func:`spec.read_repair.repair`) and returns a function from a spec state to the
state after the step, or None where the step does not apply (the candidate is
then dropped).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from impl.messages import KeyRecords
from impl.simulator import InFlight
from spec import clocks
from spec.actions import (
    Action,
    ClientGet,
    ClientPut,
    ClientTimeout,
    Crash,
    Deliver,
    DiskLoss,
    Drop,
    Duplicate,
    FailedPut,
    FailedWrite,
    ForceRemove,
    ForwardAgain,
    ForwardFallback,
    Gossip,
    Handoff,
    Handover,
    Heal,
    Join,
    Leave,
    OutsiderHandoff,
    OutsiderLetGo,
    Partition,
    Rebuilt,
    Recover,
    Settle,
    Timeout,
    Transfer,
    Unheard,
)
from spec.anti_entropy import anti_entropy
from spec.clocks import Payload, PutRecord
from spec.config import Config
from spec.coordination import timeouts
from spec.delivery import deliveries
from spec.faults import faults
from spec.handoff import hinted_handoffs, outsider_copies
from spec.membership import membership_changes, view_of
from spec.read_repair import repair, repaired_nodes
from spec.rebuild import begin as rebuild_begin
from spec.requests import client_requests, forward_retries
from spec.state import Change, Kind, Message, State, new_coordination
from spec.step import Edit, Plan, plan_of

if TYPE_CHECKING:
    from model_check.trace_events import TraceEvents

__all__ = [
    "ae_merge",
    "apply_actions",
    "change_tops",
    "cut_between",
    "deadline",
    "dropped",
    "forget",
    "handoff",
    "handoff_again",
    "late_read_repair",
    "new_lifetime",
    "rebuild_progress",
    "reconciled",
    "replicas",
    "resend",
    "retry",
    "silent_get",
    "unchanged",
    "unmerged",
    "with_idle_clients",
]


# ---------------------------------------------------------------------- spec steps, fast

_Mechanism = Callable[[State, Plan], Iterator[tuple[Action, State]]]
#: the spec mechanism that generates each action kind (spec.model.MECHANISMS)
_MECHANISM: dict[type, _Mechanism] = {
    ClientPut: client_requests, ClientGet: client_requests, Deliver: deliveries,
    Timeout: timeouts, Handoff: hinted_handoffs, Drop: faults, Duplicate: faults,
    Crash: faults, DiskLoss: faults, Recover: faults, Partition: faults, Heal: faults,
    FailedWrite: faults,  # session 52: a replica's refused write
    FailedPut: client_requests,  # session 52: a coordinator's refused own write
    Unheard: client_requests,  # session 61: a chaining client's answer not heard
    ForwardAgain: forward_retries, ForwardFallback: forward_retries,  # session 54
    OutsiderHandoff: outsider_copies, OutsiderLetGo: outsider_copies,
    Join: membership_changes, Leave: membership_changes, Gossip: membership_changes,
    ForceRemove: membership_changes,
    Rebuilt: anti_entropy,  # session 55: a replaced disk's rebuild ends (spec.rebuild)
    Transfer: membership_changes, Handover: membership_changes, Settle: membership_changes,
}
#: recent answers of :func:`apply_actions`, for one configuration at a time (a spec
#: state compares equal whatever its configuration: :func:`forget` at a run's start)
_CACHE: dict[tuple[State, Action], list[State]] = {}


def forget() -> None:
    """Drop the remembered answers (a run of another configuration begins: the same
    state under another configuration, say another ``join_handover``, has other
    successors)."""
    _CACHE.clear()


def apply_actions(state: State, actions: Sequence[Action]) -> list[State]:
    """Every spec state reached from ``state`` by ``actions`` in order: the same as
    :func:`model_check.refinement_state.apply_actions`, asking only the mechanism
    that generates each action (the client-request mechanism is the costly one),
    and remembering recent answers."""
    states = [state]
    for action in actions:
        nxt: list[State] = []
        for s in states:
            cached = _CACHE.get((s, action))
            if cached is None:
                mechanism = _MECHANISM[type(action)]
                cached = [after for label, after in mechanism(s, plan_of(s.config))
                          if label == action]
                if len(_CACHE) > 20_000:
                    _CACHE.clear()
                _CACHE[(s, action)] = cached
            nxt.extend(a for a in cached if a not in nxt)
        states = nxt
    return states


def with_idle_clients(state: State) -> State:
    """:func:`model_check.refinement_state.with_idle_clients` (apply every enabled
    ``ClientTimeout``), asking only the timeout mechanism."""
    while any(c.outstanding for c in state.clients):
        after = next((a for label, a in timeouts(state, plan_of(state.config))
                      if isinstance(label, ClientTimeout)), None)
        if after is None:
            return state
        state = after
    return state


# ---------------------------------------------------------------------- trace-spec steps


def handoff(v: TraceEvents, fallback: str, intended: str, key: str,
             payload: Payload) -> Callable[[State], State | None]:
    """The spec's ``Handoff`` of that hint, or a ``Duplicate`` of its delivery when a
    copy is still in flight (the impl's hint retry)."""
    def run(state: State) -> State | None:
        after = apply_actions(state, [Handoff(fallback, intended, key, payload)])
        if after:
            return after[0]
        message = Message(Kind.HINT_DELIVERY, fallback, intended, 0, key, payload, intended)
        if message in state.messages:
            copies = apply_actions(state, [Duplicate(message)])
            return copies[0] if copies else None
        if not v.reachable(fallback, intended):
            return state  # sent to a node it cannot reach: lost (the spec's Drop)
        return None
    return run


def handoff_again(v: TraceEvents, fallback: str, intended: str, key: str,
                  payload: Payload) -> Callable[[State], State | None]:
    """The impl's hint scan hands off again a hint whose acknowledgement is in flight
    (the fallback cannot know: it keeps the hint until the ack arrives). The spec's
    ``Handoff`` waits while a delivery or an acknowledgement of the hint is in flight
    (:func:`spec.handoff.handoff_in_flight`); this step sends the delivery anyway,
    only when the hint is still the fallback's, an acknowledgement of it is in flight
    to the fallback and no delivery is (session 31, two-key seed 110)."""
    def run(state: State) -> State | None:
        if not any(h.intended == intended and h.key == key
                   and clocks.payload_equal(h.payload, payload)
                   for h in state.node(fallback).hints):
            return None
        same = [m for m in state.messages if m.intended == intended and m.key == key
                and m.payload is not None and clocks.payload_equal(m.payload, payload)]
        if any(m.kind is Kind.HINT_DELIVERY and m.src == fallback for m in same) or not any(
                m.kind is Kind.HINT_ACK and m.dst == fallback for m in same):
            return None
        edit = Edit(state, v.plan)
        edit.send(Message(Kind.HINT_DELIVERY, fallback, intended, 0, key, payload, intended))
        return edit.build()
    return run


def deadline(v: TraceEvents, name: str, request: int,
             held: Sequence[Message] = ()) -> Callable[[State], State | None]:
    """The impl's request deadline: the spec's timeouts of every node the request
    still awaits, each followed by the loss of what it sent, until it ends.

    A target whose shadow round holds a replica get or put of the request
    (``held``, still in flight in the abstraction) is timed out inside a hidden cut
    (:func:`cut_between` before the ``Timeout``, the partition as it was after
    it): the spec's ``Timeout`` waits while its exchange is in flight (the spec's
    accurate failure detector), the impl's deadline does not, and to the
    coordinator a target whose round holds its message is one it cannot reach.
    The held get is dead from then on (its answer finds no coordination: the
    spec's ``Timeout`` purges it, the validator marks it dead); a held put stays in
    flight on both sides and writes when the round replays it (session 36, soak
    seeds 679 and 774)."""
    delayed = {m.dst for m in held if m.src == name and m.request == request}

    def run(state: State) -> State | None:
        for _ in range(2 * len(v.config.nodes) + 2):
            coord = next((c for c in state.node(name).coord if c.request == request), None)
            if coord is None or not state.node(name).up:
                return state
            target = coord.awaiting[0][0]
            before = Counter(state.messages)
            timeout: list[Action] = [Timeout(name, request, target)]
            after = apply_actions(state, timeout)
            if not after and target in delayed:
                cut, restored = cut_between(state, name, target)
                after = apply_actions(state, [*cut, *timeout, *restored])
            if not after:
                return None
            state = after[0]
            sent = Counter(state.messages) - before
            for m in sent.elements():
                dropped = apply_actions(state, [Drop(m)])
                if not dropped:
                    return None
                state = dropped[0]
        return None
    return run


def cut_between(state: State, a: str, b: str) -> tuple[list[Action], list[Action]]:
    """The spec's faults that cut ``a`` off from ``b`` (a ``Partition``, after a
    ``Heal`` of the partition of ``state`` if any), and those that bring the
    partition of ``state`` back (a ``Heal``, then its ``Partition``)."""
    nodes = state.config.all_nodes
    first = nodes[0]
    side = {first} if first in (a, b) else {first, a}
    cut = Partition(tuple(n for n in nodes if n in side))
    if not state.side:
        return [cut], [Heal()]
    current = Partition(tuple(n for n in nodes if n in state.side))
    return [Heal(), cut], [Heal(), current]


def unchanged(state: State) -> State:
    """A trace-spec step that changes nothing: ``held-put-lost`` (session 37), and
    ``anti-entropy-refused`` (session 53: a half of a Merkle exchange whose receiver's
    disk refused the merge stores nothing and answers nothing; the spec's
    ``AntiEntropy`` is atomic and optional, so an exchange left undone is no step)."""
    return state


def dropped(message: Message) -> Callable[[State], State | None]:
    """``guard-dropped`` (session 34): the restore guard refused ``message`` at its
    destination, its sender's store older than one the destination heard of (a
    replaced disk not told of its later start yet), or (session 37) sent by a start
    of its sender that a later start superseded (``superseded-start-dropped``: a
    message a shadow round held while its sender restarted): the spec's ``Drop``."""
    def run(state: State) -> State | None:
        after = apply_actions(state, [Drop(message)])
        return after[0] if after else None
    return run


def silent_get(message: Message, reply: Kind = Kind.REPLICA_GET_REPLY
               ) -> Callable[[State], State | None]:
    """``rebuild-silent`` (session 34): a rebuilding replica does not answer
    ``message``, a replica get of a key it holds nothing of or has not rebuilt
    (:mod:`impl.rebuild`): the spec's ``Deliver`` of it, then the ``Drop`` of the
    answer it sent (of kind ``reply``). ``rebuild-unacked`` (session 54): the same
    of a ``replica-put`` or a ``hint-delivery`` a rebuilding node stores and does
    not acknowledge (``reply``: its ``replica-put-ack``, its ``hint-ack``;
    :meth:`impl.node.Node._unacked_if_rebuilding`)."""
    def run(state: State) -> State | None:
        for after in apply_actions(state, [Deliver(message)]):
            sent = Counter(after.messages) - Counter(state.messages)
            replies = [m for m in sent.elements() if m.kind is reply
                       and m.src == message.dst and m.dst == message.src]
            if len(replies) != 1:
                continue
            lost = apply_actions(after, [Drop(replies[0])])
            if lost:
                return lost[0]
        return None
    return run


def replicas(state: State, key: str) -> tuple[str, ...]:
    """The nodes that replicate ``key`` in ``state``: its top N, or, during a
    membership change, the top N before it and after it (a coordinator writes to
    both, :mod:`spec.membership`)."""
    config = state.config
    if state.membership is None or not state.membership.log:
        return config.top_n(key)
    old, new = change_tops(config, state.membership.log, key)
    return tuple(n for n in config.ring.preference_list(key) if n in old or n in new)


def change_tops(config: Config, log: tuple[Change, ...], key: str
                ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``key``'s top N before and after the latest change of the membership ``log``."""
    start = max(i for i, (event, _) in enumerate(log) if event in ("join", "leave"))
    change = view_of(config, log[: start + 1])
    pref = config.ring.preference_list(key)
    return (tuple(n for n in pref if n in change.old)[: config.n],
            tuple(n for n in pref if n in change.members)[: config.n])


def resend(v: TraceEvents, m: InFlight) -> Callable[[State], State | None]:
    """A coordinator's retry or continuation (see the module docstring): the same
    replica put (the put's own version, to a replica of the key or a fallback
    hinted for one) or replica get again. When the spec's coordination is live and
    no longer awaits that node (it gave up on it, no fallback left), the
    coordination awaits it again (``retry``, :func:`retry`)."""
    abstract = v.abstract_message(m)
    # the copies in flight, and those a restarted node's shadow round holds (still in
    # flight in the abstraction: a held copy and a resent one are two; session 31,
    # two-key seed 83)
    wanted = sum(1 for x in v.sim.in_flight() if v.abstract_message(x) == abstract) + sum(
        1 for inputs in v.held.values() for kind, x in inputs
        if kind == "receive" and v.abstract_message(x) == abstract)

    def run(state: State) -> State | None:
        if abstract is None or state.messages.count(abstract) >= wanted:
            return state  # a timeout already sent it: not a resend
        key = abstract.key
        pref = v.config.ring.preference_list(key)  # (with the joining nodes)
        top = replicas(state, key)
        if abstract.dst not in pref:
            return None
        if abstract.kind is Kind.REPLICA_PUT:  # to a replica, or hinted for one
            if abstract.intended and (abstract.intended not in top or abstract.dst in top):
                return None
            if not abstract.intended and abstract.dst not in top:
                return None
            record = state.puts[abstract.request - 1]
            original = v.put_payloads.get(abstract.request)
            if (record is None or record.coordinator != abstract.src or original is None
                    or abstract.payload is None
                    or not clocks.payload_equal(original, abstract.payload)):
                return None
        edit = Edit(state, v.plan)
        edit.send(abstract)
        return edit.build()
    return run


def retry(v: TraceEvents, m: InFlight) -> Callable[[State], State | None]:
    """The impl's coordinator asks a target again after the spec's coordinator gave
    up on it or on its fallback: the spec's coordination awaits that node again
    (the target itself, or a fallback hinted for it) and the message is sent. Only
    for a node of the key's preference list; a put's message must pass
    :func:`resend`'s checks (its own version, the hint rules)."""
    abstract = v.abstract_message(m)
    again = resend(v, m)

    def run(state: State) -> State | None:
        if abstract is None:
            return None
        node = state.node(abstract.src)
        coord = next((c for c in node.coord if c.request == abstract.request), None)
        if (coord is None or any(t == abstract.dst for t, _ in coord.awaiting)
                or abstract.dst not in v.config.preference_list(coord.key)):
            return None
        after = again(state)
        if after is None or after is state:
            return None
        edit = Edit(after, v.plan)
        awaiting = tuple(sorted((*coord.awaiting, (abstract.dst, abstract.intended))))
        edit.set_coord(abstract.src, new_coordination(
            coord.request, coord.client, coord.key, coord.is_put, coord.payload, awaiting,
            tuple(sorted({*coord.sent_to, abstract.dst})), coord.acks, coord.replies,
            coord.groups, coord.uncounted, tuple(n for n in coord.refused
                                                 if n != abstract.dst)),
            coord.request)
        return edit.build()
    return run


def late_read_repair(v: TraceEvents, name: str, key: str, replies: dict[str, Payload],
                     again: Payload | None = None) -> Callable[[State], State | None]:
    """The spec's read repair (:func:`spec.read_repair.repair`) over every answer the
    impl's get received, when it ends (without ``read_repair_fallbacks``, only to
    the key's top N by ``name``'s view: the quorum groups of a change are not
    known here). ``again``: the coordinator's copy as the get answered, merged into
    its own reply as the implementation's ``GetCoordinator._read_own_again`` does
    (session 56).

    A reply that differs from the merge but that the merge adds nothing to (merged
    into it, it is unchanged) is not repaired: the implementation's staleness test
    (``impl.read_repair.read_repair_targets``: ``merge(record, merged) != record``)
    where the spec's is ``payload != result``. The two differ only for two records
    holding one dot with different values, which a replaced disk minting under its
    bare name again makes (``actor_epochs = false``, the trace configuration's: kv679);
    the DVV sync of two equal dots keeps one side's value, so either copy "holds" the
    merge (session 57: seed 147 of the rebuild mix, ``n1:3`` minted for v2 by the old
    disk and for v8 by the new one; the spec repaired n2 and n4 with ``{v8}``, the
    implementation nothing).

    The merge folds the replies in the order of the nodes' names, as the spec's get
    (``spec.coordination._get_result``) and since session 58 the implementation's
    (``impl.read_repair.reconciled``); in the order of arrival (the coordinator's own
    first), the repair of a repeated dot differs: rebuild seed 811 diverges at event
    212, the get's deadline (``tick n4 GetTimeout``)."""
    mode = v.config.clock

    def run(state: State) -> State | None:
        if not replies or not state.node(name).up:
            return state
        seen = dict(replies)
        if again is not None and name in seen:
            seen[name] = clocks.merge(mode, seen[name], again, state.puts)
        result = reconciled(mode, seen, state.puts)
        stale = unmerged(mode, seen, result, state.puts)
        edit = Edit(state, v.plan)
        repair(edit, name, key, stale, result, repaired_nodes(edit, name, key, ()))
        return edit.build()
    return run


def reconciled(mode: str, seen: dict[str, Payload],
               puts: Sequence[PutRecord | None]) -> Payload:
    """The merge of the replies of ``seen`` (node -> payload), folded in the order of
    the nodes' names: the spec's get (``spec.coordination._get_result``) and the
    implementation's (``impl.read_repair.reconciled``, session 58); the order
    matters only to a dot minted twice (:func:`late_read_repair`)."""
    result = clocks.empty(mode)
    for node in sorted(seen):
        result = clocks.merge(mode, result, seen[node], puts)
    return result


def unmerged(mode: str, seen: dict[str, Payload], result: Payload,
             puts: Sequence[PutRecord | None]) -> tuple[tuple[str, Payload], ...]:
    """The replies of ``seen`` (node -> payload) that merging ``result`` into changes,
    sorted by node: the ones the implementation read-repairs
    (:func:`late_read_repair`; session 57)."""
    return tuple((node, payload) for node, payload in sorted(seen.items())
                 if not clocks.payload_equal(clocks.merge(mode, payload, result, puts),
                                             payload))


def ae_merge(v: TraceEvents, src: str, dst: str, key: str, payload: Payload,
              answer_due: bool) -> Callable[[State], State | None]:
    """Half an anti-entropy exchange: ``dst`` reconciles ``src``'s records of ``key``;
    when they are the opener's (``answer_due``) and miss part of the merge, ``dst``
    must send its merged records back (else the exchange is one-way)."""
    def run(state: State) -> State | None:
        top = v.config.top_n(key)
        if src not in top or dst not in top:
            return None
        edit = Edit(state, v.plan)
        edit.store(dst, key, payload)
        after = edit.build()
        merged = after.node(dst).store[v.config.keys.index(key)]
        if answer_due and not clocks.payload_equal(merged, payload):
            back = [m for m in v.sim.in_flight()
                    if m.id not in v.cache and m.src == dst and m.dest == src
                    and isinstance(m.message, KeyRecords) and not m.message.reply]
            lost = any(e[1] == "lose" and e[2] == dst and e[3] == src
                       and e[4] == "KeyRecords" for e in v.entries)
            if not back and not lost:
                return None
        return after
    return run


def new_lifetime(node: str, lifetime: int) -> Callable[[State], State | None]:
    """``new-lifetime`` (session 58, with ``actor_epochs``): ``node``'s restart began a
    new storage lifetime, its next dots minted under a new actor: the spec's own
    lifetime step (``spec.faults._down`` with ``new_lifetime``, the crash of a
    buffered node or under ``actor_per_start``) taken at the recovery (the node was
    down since its crash: it minted nothing in between). Offered only where the
    implementation's node took a new actor at that restart
    (:meth:`model_check.trace_events.TraceEvents._new_actor_at_restart`): a replaced
    disk restarted before a peer named its renewed start takes one whatever
    ``actor_per_start`` (``impl.node.Node.__init__``: ``per_start = ... or
    (self._fresh and marked)``, session 52's review), where the spec's crash keeps
    the lifetime under ``actor_per_start = false`` (rebuild seeds 474 and 747 with
    epochs: docs/refinement.md, "Trace validation, the repeated dot (session
    58)"). ``lifetime``: the new actor's place among the node's lifetimes (0 its
    first), the spec's lifetime number it must reach: a state already there (a disk
    loss began it: the first restart of a replaced disk) is left as it is, one a
    lifetime short takes the step, any other is no match."""
    def run(state: State) -> State | None:
        plan = plan_of(state.config)
        i = plan.index[node]
        if not state.config.actor_epochs or state.epochs[i] not in (lifetime, lifetime - 1):
            return None
        if state.epochs[i] == lifetime:
            return state
        edit = Edit(state, plan)
        edit.epochs = (*edit.epochs[:i], edit.epochs[i] + 1, *edit.epochs[i + 1:])
        if edit.key_epochs:  # the new lifetime's actor is new for every key
            edit.key_epochs = frozenset(e for e in edit.key_epochs if e[0] != node)
        return edit.build()
    return run


def rebuild_progress(pending: dict[str, dict[str, frozenset[str]]],
                     counted: frozenset[str], began: frozenset[str] = frozenset(),
                     again: frozenset[str] = frozenset()
                     ) -> Callable[[State], State | None]:
    """``rebuild-progress`` (session 55): the implementation's rebuild of a replaced
    disk, in the spec's terms (:mod:`spec.rebuild`). ``pending``: node -> key -> the
    peers whose exchange of the key's range the node, rebuilding since its disk loss,
    has still to complete (``impl.rebuild.Rebuild.pending``); each spec exchange
    ``(node, key, peer)`` no longer pending there is done (its anti-entropy halves
    were mapped when delivered: ``anti-entropy-half``). ``counted``: the nodes whose
    acknowledgements count again (``not Node._acks_uncounted(now)``): the spec's
    :class:`~spec.actions.Rebuilt`, which must be enabled. Changes nothing where the
    two agree. ``began``: the nodes first seen rebuilding since their disk loss in
    this event; a spec state whose rebuild of one was ended (the step for a replaced
    disk not told it is one, perhaps never) is no match (session 55's review).

    ``again`` (session 57, the trace-spec step ``rebuild-again``): the nodes whose
    implementation began a rebuild in this event (:meth:`impl.node.Node._begin_rebuild`
    activated one) where the spec state has no entry of theirs left, neither mark nor
    exchange: the spec's :func:`spec.rebuild.begin` (the disk loss's rule: every
    exchange of every key it replicates to do, and the mark) is applied to them first.
    The spec begins a rebuild at the disk loss alone (and again at a crash with
    exchanges left, or, ``Crash(n, again=True)``, with none left: session 61); the
    implementation also begins one when it is told it is a replaced disk after its
    shadow round timed out and it served (seeds 105, 183, 186 of the rebuild mix: the
    frontier's one state left was the "never told" branch's). Until session 61 this
    step also began the rebuild of a store restarted while the spec's exchanges of
    every key were done (seed 187, a range holding no key left): the spec's second
    crash outcome now, and :meth:`TraceEvents._rebuilds_begun` gives no restarted
    node. Begun again, the spec's node only withholds more (silent
    reads, uncounted acknowledgements and own reads), so no behaviour the mark forbids
    is validated: docs/refinement.md, "The rebuild's gaps closed (session 57)". A
    node in ``again`` whose spec state keeps an entry is left as it is (its rebuild
    there is the same one or was begun again by the spec itself)."""
    def run(state: State) -> State | None:
        rebuilding = state.rebuilding
        fresh = [node for node in sorted(again)
                 if not any(e[0] == node for e in rebuilding)]
        if fresh:
            edit = Edit(state, plan_of(state.config))
            for node in fresh:
                rebuild_begin(edit, node)
            state = edit.build()
            rebuilding = state.rebuilding
        if began and any(not any(e[0] == node for e in rebuilding) for node in began):
            return None
        if not rebuilding:
            return state
        done = frozenset(e for e in rebuilding if e[1] and e[0] in pending
                         and e[2] not in pending[e[0]].get(e[1], frozenset()))
        if done:
            edit = Edit(state, plan_of(state.config))
            edit.rebuilding = rebuilding - done
            state = edit.build()
        for node in sorted(counted):
            if (node, "", "") in state.rebuilding:
                after = apply_actions(state, [Rebuilt(node)])
                if not after:
                    return None
                state = after[0]
        return state
    return run
