"""Memoised successors of the spec: a step's effect cached per the parts it reads.

Theory of operation
-------------------
The spec's states are frozen values that share their parts: on ``strict-dvv``
the 16,132 reachable states hold only 769 distinct ``nodes`` tuples, 487
``messages`` tuples and 21 ``clients`` tuples, and the 26,820 deliveries among
their transitions are only 4,752 distinct (message, everything but the messages
and the fault budget) pairs. :class:`MemoSuccessors` yields exactly what
:func:`spec.model.successors` yields (same steps, same order, equal states with
equal hashes) but computes each distinct step effect once:

* **Deliveries** (and coordinator timeouts). A handler of :mod:`spec.delivery`
  reads the receiving node, other nodes (reachability), the clients, the put
  table, the partition, the actor epochs, the ghost hint records and the
  membership; it touches the in-flight messages only through
  :meth:`~spec.step.Edit.remove_at`, :meth:`~spec.step.Edit.purge` and
  :meth:`~spec.step.Edit.send`. So the step runs once on a recording edit
  (:class:`_Recorder`: those three calls are recorded as operations, and reading
  the messages directly fails loudly), and its effect, the changed parts plus the
  message operations, is cached per the state's context
  (:meth:`MemoSuccessors.step_context`: the hashes of ``nodes``, ``clients`` and
  ``puts``, ``side``, ``epochs``, ``key_epochs``, the hint records, ``membership``,
  the retirements learnt ``known`` (a write prunes by them; session 34), the records
  of refused writes ``unpersisted`` (a forwarded put merges them; session 51); not the
  backups, which no delivery or timeout reads or changes: the successor takes the
  state's own), computed once a state, and within it per the step (the message or
  the timeout action: keyed by its hash, compared on a hit; session 39). The large
  parts are keyed by their 64-bit hashes, not compared (comparing them cost
  more than the memo saved): a hash collision would merge two parts, the same
  trade the explorer's fingerprinted seen-set already makes for whole states.
  The operations are
  replayed on the current state's messages through a real :class:`~spec.step.Edit`
  (the spec's own code), and that result is cached per (messages tuple,
  position, operations).
* **Anti-entropy** (:func:`spec.anti_entropy.anti_entropy`) reads the nodes, the
  partition, the put table and the membership, and changes the nodes alone: its
  whole list of steps is cached per those parts. Not with ``prune_knowledge =
  "learnt"`` (session 34): an exchange then teaches retirements too (it changes
  ``known``), and its steps run as the spec computes them.

* **Membership steps** (issue 13, session 21): gossip, joins and leaves are
  :func:`spec.membership.view_steps`, a pure function of the membership (log,
  views, transfers that arrived), the nodes' up flags and the partition that
  changes the membership alone; its list of (action, membership) is cached per
  those frozen values (:meth:`MemoSuccessors.view_key`), and each successor is the
  state with the cached membership object (shared by every successor that reaches
  it). A change's transfers, handover and settlement read the stores, the
  messages and the coordinations, and are rare: they run as the spec computes
  them (:func:`spec.membership.range_steps`); so do force-removes (session 23:
  :func:`spec.membership.removals`, which empty the removed node's store).

* **Reaps** (issue 13, session 22): :func:`spec.deletes.reaps` reads the nodes
  (stores, up flags, hints, coordinations), the clients (the acknowledged
  deletes), the put table, the storage lifetimes and the key epochs, and a safe
  reap also the keys of the messages in flight (guard 2), the partition and the
  membership; it changes the nodes and the key epochs alone. Its whole list of
  steps is cached per those parts (:meth:`MemoSuccessors.reap_key`; the keys in
  flight cached per messages hash). Before that, whether some up node's copy
  holds only tombstones (:func:`spec.deletes.tombstoned`, guard 1 without its
  acknowledgement) is cached per nodes hash, and in safe mode guard 2 (the
  spec's own ``_quiet``, called through its module) is asked of every key: if
  either holds for none, no reap is enabled, and the state's reaps cost a lookup
  or two. Every guard but the first runs as the spec computes it, so a patched
  guard (a mutant) reaches the memo's answers, except a guard 1 weaker than
  :func:`spec.deletes.tombstoned` (run such a mutant with
  ``spec_model(config, memo=False)``).

The successor is then assembled with :func:`spec.state.new_state` from parts
whose hashes are known. Cached parts are returned again and again, so successors
share them (hash-consing) and the next key's verification is an identity test.

Every cache is bounded (:data:`LIMIT` entries; it is emptied when full), lives in
one :class:`MemoSuccessors` (one per :class:`~model_check.spec_model.SpecModel`),
and holds the objects whose ``id()`` it keys on, so an id cannot be reused while
cached. With the compiled spec (:mod:`spec.compiled`) the memo stays off (a
mypyc class cannot be subclassed from Python).

Agreement with the spec: ``tests/model_check/test_spec_memo.py`` compares the
graph (every transition's action and successor) with the memo on and off on the
whole suite (and on joins and leaves under a crash and a partition), and shows
that a cache keyed on too little fails that comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter, itemgetter
from typing import Any

from model_check.properties import PROPERTIES, acked_durable_in
from spec import compiled
from spec import deletes as _deletes
from spec import model as _spec
from spec.actions import Action, Timeout, new_deliver
from spec.anti_entropy import anti_entropy
from spec.coordination import client_timeouts, exchanges, time_out, timeouts, timeouts_enabled
from spec.deletes import reaps
from spec.delivery import deliver, deliverable, deliveries
from spec.membership import membership_changes, range_steps, removals, view_steps
from spec.state import Kind, MembershipState, Message, NodeState, State, new_state
from spec.step import Edit, Plan, plan_of

__all__ = ["LIMIT", "PREDICATE_PARTS", "SCREEN_PARTS", "WITNESS_PARTS", "MemoSuccessors",
           "PropertyScreen", "memo_available", "memo_predicate", "memo_predicates"]

LIMIT = 1 << 18
"""Entries per cache before it is emptied (a bound on the memo's memory)."""

LEVERS = frozenset({"deliveries", "timeouts", "anti_entropy", "reaps", "membership_changes"})
"""The mechanisms whose steps are memoised (by default all five)."""

_REMOVE, _PURGE, _SEND = 0, 1, 2

Op = tuple[Any, ...]
Effect = tuple[State, tuple[Op, ...], Any, Action]
"""A cached step effect: the successor's parts, the message operations, the step (a
message or a timeout action) and its action."""
Mechanism = Callable[[State, Plan], Iterable[tuple[Action, State]]]


def memo_available() -> bool:
    """Whether the memo can run: not with the compiled spec (:mod:`spec.compiled`)."""
    return not compiled.ACTIVE


class _Unreadable(tuple[Message, ...]):
    """The messages of a recording edit: a step that reads them directly (rather than
    through ``remove_at``, ``purge`` and ``send``) cannot be memoised this way."""

    __slots__ = ()

    def _refuse(self, *_: object) -> Any:
        raise AssertionError("a memoised step or predicate read a part outside its key")

    __iter__ = __len__ = __getitem__ = __contains__ = _refuse


class _UnreadableBudget(tuple[int, ...]):
    """The fault budget of a recording edit (no memoised step may read it)."""

    __slots__ = ()
    __iter__ = __len__ = __getitem__ = __contains__ = _Unreadable._refuse


_UNREADABLE = _Unreadable()
_UNREADABLE_BUDGET = _UnreadableBudget((0, 0, 0, 0, 0))


class _Recorder(Edit):
    """An :class:`~spec.step.Edit` that records its message operations instead of
    performing them (see the module docstring)."""

    __slots__ = ("ops",)

    def __init__(self, state: State, plan: Plan) -> None:
        super().__init__(state, plan)
        self.messages = _UNREADABLE
        self.used = _UNREADABLE_BUDGET
        self.ops: list[Op] = []

    def send(self, message: Message) -> None:
        self.ops.append((_SEND, message))
        self.sent = True

    def remove_at(self, position: int) -> None:
        self.ops.append((_REMOVE,))

    def purge(self, node: str, request: int, target: str | None = None) -> None:
        self.ops.append((_PURGE, node, request, target))

    def successor(self, position: int) -> State:
        """The successor: the recorded operations performed (``position``: the removed
        message's) by the spec's own :class:`~spec.step.Edit` methods, then built."""
        assert self.used is _UNREADABLE_BUDGET, "a memoised step changed the fault budget"
        self.messages = self.source.messages
        self.used = self.source.used
        self.sent = False
        replay(self, self.ops, position)
        return self.build()


def replay(edit: Edit, ops: list[Op] | tuple[Op, ...], position: int) -> None:
    """Perform recorded message operations on ``edit`` (``position``: the removed
    message's in the edit's source)."""
    for op in ops:
        if op[0] == _REMOVE:
            Edit.remove_at(edit, position)
        elif op[0] == _PURGE:
            Edit.purge(edit, op[1], op[2], op[3])
        else:
            Edit.send(edit, op[1])


class MemoSuccessors:
    """``successors(state)`` of the spec with per-part caches (module docstring).

    Call it like :func:`spec.model.successors`; one instance per configuration's
    model (its caches are its own). ``levers`` names the mechanisms memoised (a subset
    of :data:`LEVERS`, for measuring each); ``limit`` bounds each cache."""

    def __init__(self, limit: int = LIMIT, levers: frozenset[str] = LEVERS) -> None:
        self.limit = limit
        self.hits = 0
        self.misses = 0
        #: step context (:meth:`step_context`) -> step -> its effect: a successor (every
        #: part of it but the messages and the fault budget), the message operations, the
        #: step (a message, or a timeout action) and its action; a step is keyed by its
        #: hash and compared on a hit (session 39)
        self.steps: dict[tuple[Any, ...], dict[int, Effect]] = {}
        #: effects held in ``steps`` (bounded by ``limit``)
        self.effects = 0
        #: the message operations, one object per value
        self.operations: dict[tuple[Op, ...], tuple[Op, ...]] = {}
        #: (messages hash, position, id(operations)) -> (operations, messages', hash)
        self.message_parts: dict[tuple[int, int, int], tuple[Any, ...]] = {}
        #: messages hash -> the exchanges in flight (spec.coordination.exchanges)
        self.in_flight: dict[int, frozenset[tuple[str, str, int]]] = {}
        #: (nodes hash, side, exchanges) -> the enabled coordinator timeouts
        self.enabled: dict[tuple[Any, ...], tuple[tuple[Any, ...], ...]] = {}
        #: (nodes hash, puts hash, side, membership) -> the anti-entropy steps: each
        #: action, the nodes it leaves (and their hash), the key epochs (unchanged)
        self.exchanges: dict[tuple[Any, ...], tuple[tuple[Any, ...], ...]] = {}
        #: (membership, the nodes' up flags, side) -> the membership's view steps
        #: (spec.membership.view_steps: each action and the membership it leaves)
        self.views: dict[tuple[Any, ...], tuple[tuple[Action, MembershipState], ...]] = {}
        #: nodes hash -> whether an up node's copy holds only tombstones
        #: (spec.deletes.tombstoned: no reap without one)
        self.tombstoned: dict[int, bool] = {}
        #: messages hash -> what a safe reap's guard 2 reads of the messages in flight
        self.keys_in_flight: dict[int, frozenset[Any]] = {}
        #: :meth:`reap_key` -> the reaps: each action, the nodes it leaves (and their
        #: hash) and the key epochs it leaves
        self.reap_steps: dict[tuple[Any, ...], tuple[tuple[Any, ...], ...]] = {}
        unknown = levers - LEVERS
        assert not unknown, f"unknown levers {sorted(unknown)}"
        replaced: dict[Mechanism, Mechanism] = {
            mechanism: getattr(self, mechanism.__name__)
            for mechanism in (deliveries, timeouts, anti_entropy, reaps, membership_changes)
            if mechanism.__name__ in levers}
        self.mechanisms = tuple(replaced.get(m, m) for m in _spec.MECHANISMS)

    def __call__(self, state: State) -> Iterator[tuple[Action, State]]:
        if state.rebuilding:
            # a replaced disk rebuilding (session 55, spec/rebuild.py): no cache key
            # holds State.rebuilding, so the spec computes the steps (session 55's
            # review: trace validation's end-of-run search, spec_converges_from, took
            # the memo with one, and 27,393 of disk-loss-read-rebuild's 33,182 states
            # had other successors: tests/model_check/test_spec_memo.py)
            yield from _spec.successors(state)
            return
        plan = plan_of(state.config)
        for mechanism in self.mechanisms:
            yield from mechanism(state, plan)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (a Ray actor gets the model) without its caches."""
        return {"limit": self.limit, "levers": frozenset(
            m.__name__ for m in self.mechanisms if getattr(m, "__self__", None) is self)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["limit"], state["levers"])  # type: ignore[misc]

    def entries(self) -> int:
        """Entries held in all caches now."""
        return (self.effects + len(self.operations) + len(self.message_parts)
                + len(self.in_flight) + len(self.enabled) + len(self.exchanges)
                + len(self.views) + len(self.keys_in_flight) + len(self.reap_steps)
                + len(self.tombstoned))

    # -- steps whose effect is cached ------------------------------------------------
    def step_context(self, state: State) -> tuple[Any, ...]:
        """The cache key of ``state``'s deliveries and timeouts, less the step: every part
        a delivery or a timeout may read but the messages and the fault budget (computed
        once a state, session 39; the step itself is the key within it)."""
        parts = state._parts
        return (parts[0], parts[2], parts[3], state.side, state.epochs, state.hints_acked,
                state.hints_deleted, state.membership, state.key_epochs, state.unpersisted,
                state.known)

    def _effects(self, state: State) -> dict[int, Effect]:
        """The cached effects of the steps from ``state``'s :meth:`step_context`."""
        context = self.step_context(state)
        table = self.steps.get(context)
        if table is None:
            if self.effects >= self.limit:
                self.steps.clear()
                self.operations.clear()
                self.effects = 0
            table = self.steps[context] = {}
        return table

    def _step(self, state: State, plan: Plan, table: dict[int, Effect], key: int, tag: Any,
              action: Action, position: int, run: Callable[..., None], *args: Any) -> State:
        """The successor by step ``tag`` (its hash ``key``, its action ``action``;
        ``run(edit, *args)`` performs it; ``position``: the message it removes, or -1):
        from the cached effect in ``table`` (the state's :meth:`_effects`), or computed
        once and cached there."""
        effect = table.get(key)
        if effect is not None and (effect[2] is tag or effect[2] == tag):
            self.hits += 1
            return self._successor(state, plan, effect, position)
        self.misses += 1  # once per step and context: run the step, record its effect
        recorder = _Recorder(state, plan)
        run(recorder, *args)
        ops = tuple(recorder.ops)
        ops = self.operations.setdefault(ops, ops)  # one object per value
        successor = recorder.successor(position)
        if effect is None:
            self.effects += 1
        table[key] = (successor, ops, tag, action)
        if ops:
            self._remember(state._parts[1], position, ops, successor)
        return successor

    def _successor(self, state: State, plan: Plan, effect: Effect, position: int) -> State:
        """``state``'s successor by the cached ``effect`` (``position``: the message the
        step removes, or -1): its parts, and the state's messages changed by its message
        operations (cached per messages hash)."""
        changed, ops = effect[0], effect[1]
        messages = state.messages
        hm = state._parts[1]
        if ops:
            cached = self.message_parts.get((hm, position, id(ops)))
            if cached is None or cached[0] is not ops:
                edit = Edit(state, plan)
                replay(edit, ops, position)
                cached = self._remember(hm, position, ops, edit.build())
            messages, hm = cached[1], cached[2]
        parts = changed._parts
        return new_state(changed.nodes, messages, changed.clients, changed.puts, changed.side,
                         state.used, changed.hints_acked, changed.hints_deleted,
                         changed.epochs, state.config, (parts[0], hm, parts[2], parts[3]),
                         changed.membership, changed.key_epochs, state.backups, changed.known,
                         changed.unpersisted)

    def _remember(self, hm: int, position: int, ops: tuple[Op, ...],
                  successor: State) -> tuple[Any, ...]:
        """Cache the messages ``ops`` leave of the messages whose hash is ``hm``."""
        if len(self.message_parts) >= self.limit:
            self.message_parts.clear()
        entry = (ops, successor.messages, successor._parts[1])
        self.message_parts[(hm, position, id(ops))] = entry
        return entry

    def deliveries(self, state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
        """:func:`spec.delivery.deliveries`, each delivery's effect cached per the state's
        :meth:`step_context` and the message (keyed by its hash, compared on a hit); a hit
        yields the cached action (a ``Deliver`` of an equal message)."""
        table = self._effects(state)
        for position, m in deliverable(state):
            effect = table.get(m._hash)
            if effect is not None and (effect[2] is m or effect[2] == m):
                self.hits += 1
                yield effect[3], self._successor(state, plan, effect, position)
            else:
                action = new_deliver(m)
                yield action, self._step(state, plan, table, m._hash, m, action, position,
                                         deliver, m, position)

    def timeouts(self, state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
        """:func:`spec.coordination.timeouts`: the enabled coordinator timeouts cached
        per (nodes, partition, exchanges in flight), each one's effect cached; then
        the client timeouts (rare) as the spec computes them."""
        nodes = state.nodes
        if any(node.up and node.coord for node in nodes):
            parts = state._parts
            in_flight = self.in_flight.get(parts[1])
            if in_flight is None:
                if len(self.in_flight) >= self.limit:
                    self.in_flight.clear()
                in_flight = self.in_flight[parts[1]] = exchanges(state.messages)
            key = (parts[0], state.side, in_flight)
            enabled = self.enabled.get(key)
            if enabled is None:
                if len(self.enabled) >= self.limit:
                    self.enabled.clear()
                enabled = self.enabled[key] = tuple(
                    (Timeout(node, coord.request, target), node, coord, target)
                    for node, coord, target in timeouts_enabled(nodes, state.side, in_flight,
                                                                 plan))
            table = self._effects(state)
            for action, node, coord, target in enabled:
                yield action, self._step(state, plan, table, hash(action), action, action, -1,
                                         time_out, node, coord, target)
        yield from client_timeouts(state, plan)

    # -- a mechanism whose whole list of steps is cached -------------------------------
    def anti_entropy(self, state: State, plan: Plan) -> Iterable[tuple[Action, State]]:
        """:func:`spec.anti_entropy.anti_entropy`, its steps cached per (nodes,
        partition, put table, membership; with ``prune_retired`` the storage
        lifetimes too, which its writes prune by): it reads nothing else and changes
        the nodes alone."""
        if not plan.config.anti_entropy:
            return ()
        if plan.config.prune_knowledge == "learnt":  # it changes ``known`` too (session 34)
            return anti_entropy(state, plan)
        p = state._parts
        key: tuple[Any, ...] = (p[0], p[3], state.side, state.membership)
        if plan.config.prune_retired >= 0:  # a write prunes by the lifetimes (spec.retired)
            key = (*key, state.epochs)
        return self._node_steps(self.exchanges, key, anti_entropy, state, plan)

    def _node_steps(self, cache: dict[tuple[Any, ...], tuple[tuple[Any, ...], ...]],
                    key: tuple[Any, ...], mechanism: Mechanism, state: State, plan: Plan
                    ) -> Iterable[tuple[Action, State]]:
        """The steps of ``mechanism`` (one that changes the nodes and the key epochs
        alone, asserted on every miss) from ``cache[key]`` (a list: no generator on a
        hit), or computed and cached: each successor is ``state`` with the cached nodes
        and the cached key epochs where the step changed them (``key`` holds the key
        epochs then: anti-entropy's does not)."""
        cached = cache.get(key)
        if cached is None:
            self.misses += 1
            return self._record(cache, key, mechanism, state, plan)
        self.hits += 1
        own = state.key_epochs
        return [(action, _with_nodes(state, nodes, hn, own if key_epochs is None else key_epochs))
                for action, nodes, hn, key_epochs in cached]

    def _record(self, cache: dict[tuple[Any, ...], tuple[tuple[Any, ...], ...]],
                key: tuple[Any, ...], mechanism: Mechanism, state: State, plan: Plan
                ) -> Iterator[tuple[Action, State]]:
        """The steps of ``mechanism`` as it computes them, cached under ``key`` once
        all were taken (:meth:`_node_steps`)."""
        steps = []
        for action, successor in mechanism(state, plan):
            assert _changes_nodes_alone(state, successor), (
                f"{mechanism.__name__} changed more than the nodes and the key epochs")
            changed = successor.key_epochs  # None: the state's own (not in every key)
            steps.append((action, successor.nodes, successor._parts[0],
                          None if changed is state.key_epochs else changed))
            yield action, successor
        if len(cache) >= self.limit:
            cache.clear()
        cache[key] = tuple(steps)

    def reap_key(self, state: State, plan: Plan) -> tuple[Any, ...]:
        """The cache key of the state's reaps: every part :func:`spec.deletes.reaps`
        reads. Every mode: the nodes (up flags, stores; a safe reap's quiescence reads
        their hints and coordinations), the clients (the acknowledged deletes), the
        put table (the deletes' histories, the merge of an outside copy, a
        server-vclock's counters), the storage lifetimes and the key epochs (the actor a
        reaped copy's counters are checked against). A safe reap also reads the keys of
        the messages in flight and a get's replies (guard 2: cached per messages hash,
        :meth:`in_flight_keys`), the partition (an
        outside copy must be reachable) and the membership (guards 3 and 4)."""
        p = state._parts
        if plan.config.delete_mode != "safe":
            return (p[0], p[2], p[3], state.epochs, state.key_epochs)
        return (p[0], p[2], p[3], state.epochs, state.key_epochs,
                self.in_flight_keys(state, plan), state.side, state.membership)

    def in_flight_keys(self, state: State, plan: Plan) -> frozenset[Any]:
        """What a safe reap's guard 2 reads of the messages in flight
        (:func:`spec.deletes._quiet`, :func:`spec.deletes._gets_hold`): the key of each
        message but a get's; ``(key, None)`` for a get's forward or request, ``(key,
        payload)`` for a get's reply (the versions a get in progress will receive);
        cached per messages hash."""
        hm = state._parts[1]
        keys = self.keys_in_flight.get(hm)
        if keys is None:
            if len(self.keys_in_flight) >= self.limit:
                self.keys_in_flight.clear()
            gets = plan.total_puts
            keys = self.keys_in_flight[hm] = frozenset(
                [(m.key, m.payload) if m.kind is Kind.REPLICA_GET_REPLY
                 else (m.key, None) if m.kind is Kind.REPLICA_GET or (
                     m.kind is Kind.FORWARD and m.request > gets)
                 else m.key for m in state.messages])
        return keys

    def reaps(self, state: State, plan: Plan) -> Iterable[tuple[Action, State]]:
        """:func:`spec.deletes.reaps`, its steps cached per :meth:`reap_key`: a reap
        changes the nodes and the key epochs alone (asserted on every miss), so each
        successor is the state with the cached nodes and key epochs (issue 13, session
        22: the guards read every store, and on delete-immediate the reaps were about a
        quarter of the search)."""
        if not plan.tombstones or plan.config.delete_mode == "keep":
            return ()
        hn = state._parts[0]
        candidate = self.tombstoned.get(hn)
        if candidate is None:
            if len(self.tombstoned) >= self.limit:
                self.tombstoned.clear()
            candidate = self.tombstoned[hn] = _deletes.tombstoned(plan, state.nodes)
        if not candidate or (plan.config.delete_mode == "safe" and not any(
                [_deletes._quiet(state, key, plan) for key in plan.keys])):
            self.hits += 1  # guard 1, or guard 2, holds for no key: no reap
            return ()
        if state.unpersisted:  # session 51: a reap forgets them too (not the nodes alone)
            return reaps(state, plan)
        key = self.reap_key(state, plan)
        return self._node_steps(self.reap_steps, key, reaps, state, plan)

    def view_key(self, ms: MembershipState, ups: tuple[bool, ...], side: frozenset[str]
                 ) -> tuple[Any, ...]:
        """The cache key of the membership's view steps: every value
        :func:`spec.membership.view_steps` reads (frozen, hashable values; the
        membership's hash is cached in it)."""
        return (ms, ups, side)

    def membership_changes(self, state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
        """:func:`spec.membership.membership_changes`: its view steps (gossip, joins,
        leaves: :func:`spec.membership.view_steps`, a pure function of the membership,
        the nodes' up flags and the partition, changing the membership alone) cached
        per those values, each successor the state with the cached membership (one
        object per value, so successors share it); the force-removes and the steps of
        a change in progress (transfers, handover, settlement) as the spec computes
        them."""
        ms = state.membership
        if ms is None:
            return
        ups = tuple([node.up for node in state.nodes])
        side = state.side
        key = self.view_key(ms, ups, side)
        steps = self.views.get(key)
        if steps is None:
            self.misses += 1
            steps = tuple(view_steps(plan, ms, ups, side))
            if len(self.views) >= self.limit:
                self.views.clear()
            self.views[key] = steps
        else:
            self.hits += 1
        if steps:
            nodes, messages, clients, puts = state.nodes, state.messages, state.clients, state.puts
            used, acked, deleted = state.used, state.hints_acked, state.hints_deleted
            epochs, config, parts = state.epochs, state.config, state._parts
            key_epochs, backups, known = state.key_epochs, state.backups, state.known
            unpersisted = state.unpersisted
            for action, membership in steps:
                yield action, new_state(nodes, messages, clients, puts, side, used, acked,
                                        deleted, epochs, config, parts, membership,
                                        key_epochs, backups, known, unpersisted)
        yield from removals(state, plan, ms)
        yield from range_steps(state, plan, ms)


def _changes_nodes_alone(state: State, successor: State) -> bool:
    """Whether ``successor`` shares every part of ``state`` but the nodes and the key
    epochs (the same objects)."""
    return (successor.messages is state.messages and successor.clients is state.clients
            and successor.puts is state.puts and successor.side is state.side
            and successor.used is state.used and successor.hints_acked is state.hints_acked
            and successor.hints_deleted is state.hints_deleted
            and successor.epochs is state.epochs and successor.membership is state.membership
            and successor.backups is state.backups and successor.known is state.known
            and successor.unpersisted is state.unpersisted)


def _with_nodes(state: State, nodes: tuple[NodeState, ...], hn: int,
                key_epochs: frozenset[tuple[str, str, int]]) -> State:
    """``state`` with its nodes (``hn``: their hash) and key epochs replaced."""
    p = state._parts
    return new_state(nodes, state.messages, state.clients, state.puts, state.side, state.used,
                     state.hints_acked, state.hints_deleted, state.epochs, state.config,
                     (hn, p[1], p[2], p[3]), state.membership, key_epochs, state.backups,
                     state.known, state.unpersisted)


# -- predicates on a part of the state --------------------------------------------------

PREDICATE_PARTS: dict[str, tuple[str, ...]] = {
    "siblings_are_antichain": ("nodes", "clients", "puts"),
    "sibling_bound": ("nodes", "puts"),
}
"""The parts of the state each memoised property reads: the costly ones whose parts
repeat (on sloppy-crash 1,992 and 1,091 distinct keys in 22,082 states). Not
acked_writes_durable nor convergence: they read the messages too, so their keys
hardly repeat (20,439 and 16,652 distinct) and the memo cost 10%. A property
evaluated on a cache miss sees only these: every other part of the state it is
given raises when read, so a table entry that names too little fails loudly rather
than answering from too small a key."""

_HASHED = ("nodes", "messages", "clients", "puts")  # the parts whose hash State._parts keeps
_SMALL = ("side", "used", "hints_acked", "hints_deleted", "epochs", "membership",
          "key_epochs", "backups", "known")


class _Hidden:
    """A part a memoised predicate did not declare: reading it raises."""

    __slots__ = ()
    _hash = 0

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a memoised predicate read a part outside its key (.{name})")


class _HiddenTuple(tuple[Any, ...]):
    __slots__ = ()
    __iter__ = __len__ = __getitem__ = __contains__ = _Unreadable._refuse


class _HiddenSet(frozenset[Any]):
    __slots__ = ()
    __iter__ = __len__ = __contains__ = _Unreadable._refuse
    __le__ = __ge__ = __lt__ = __gt__ = __and__ = __or__ = __sub__ = _Unreadable._refuse


_HIDDEN_TUPLE = _HiddenTuple()
_HIDDEN_SET = _HiddenSet()


_FIELDS = (*_HASHED, *_SMALL)
_HIDDEN = dict(zip(_FIELDS, (_HIDDEN_TUPLE, _HIDDEN_TUPLE, _HIDDEN_TUPLE, _HIDDEN_TUPLE,
                             _HIDDEN_SET, _HIDDEN_TUPLE, _HIDDEN_SET, _HIDDEN_SET,
                             _HIDDEN_TUPLE, _Hidden(), _HIDDEN_SET, _Hidden(), _HIDDEN_SET),
                   strict=True))


def _view(state: State, parts: tuple[str, ...]) -> State:
    """``state`` with only ``parts`` (and its config) readable; its hash is not set."""
    view = object.__new__(State)
    for name in _FIELDS:
        object.__setattr__(view, name, getattr(state, name) if name in parts else _HIDDEN[name])
    object.__setattr__(view, "config", state.config)
    return view


def memo_predicate(holds: Callable[[State], bool], parts: tuple[str, ...],
                   limit: int = LIMIT) -> Callable[[State], bool]:
    """``holds`` cached per the value of ``parts`` of the state (:data:`PREDICATE_PARTS`),
    keyed by their hashes (see the module docstring)."""
    unknown = set(parts) - {*_HASHED, *_SMALL}
    assert not unknown, f"unknown parts {unknown}"
    hashed = [_HASHED.index(p) for p in _HASHED if p in parts]
    small = tuple(p for p in _SMALL if p in parts)
    hashes = itemgetter(*hashed) if hashed else (lambda _: ())
    smalls = attrgetter(*small) if small else (lambda _: ())
    cache: dict[Any, bool] = {}
    get = cache.get

    def memoised(state: State) -> bool:
        key = (hashes(state._parts), smalls(state))
        cached = get(key)
        if cached is not None:
            return cached
        if len(cache) >= limit:
            cache.clear()
        result = cache[key] = holds(_view(state, parts))
        return result

    return memoised


WITNESS_PARTS: dict[str, tuple[str, ...]] = {
    "put_acknowledged": ("clients",),
    "read_after_acknowledged_write": ("clients",),
    "read_after_read": ("clients",),
    "get_returns_siblings": ("clients",),
    "delete_acknowledged": ("clients",),
    "read_after_delete": ("clients",),
    "put_survives_delete": ("clients",),
    "siblings_collapsed": ("puts",),
    "write_after_read": ("puts",),
    "new_actor_writes": ("puts",),
    "clock_truncated": ("puts",),
    "write_after_own_write": ("puts",),  # session 60 (model_check.chain_witnesses)
    "fresh_pair_minted": ("puts",),
}
"""The parts of the state each state witness (a sometimes-property's ``holds``) of
:mod:`model_check.properties` reads, for those that read the clients or the put table
alone (session 44): asked of every new state until found, and most are never found in
an entry, they repeat per a part that has few values (21 clients tuples on strict-dvv).
A witness evaluated on a cache miss sees only these parts (as for
:func:`memo_predicate`)."""


def memo_predicates(predicates: dict[str, Callable[[State], bool]]
                    ) -> dict[str, Callable[[State], bool]]:
    """``predicates`` (name -> state predicate), those of :data:`PREDICATE_PARTS`
    memoised (each with its own cache)."""
    return {name: memo_predicate(holds, PREDICATE_PARTS[name])
            if name in PREDICATE_PARTS else holds for name, holds in predicates.items()}


# -- every safety property at once, per the parts it reads (issue 13, session 39) ---------

SCREEN_PARTS: dict[str, tuple[str, ...]] = {
    "read_your_writes": ("clients", "puts"),
    "siblings_are_antichain": ("nodes", "clients", "puts"),
    "hint_kept_until_acked": ("hints_acked", "hints_deleted"),
    "context_collapses_siblings": ("puts",),
    "monotonic_reads": ("clients", "puts"),
    "no_false_concurrency": ("clients", "puts"),
    "sibling_bound": ("nodes", "puts"),
    "no_resurrection": ("clients", "puts"),
}
"""The parts of the state each always-property of :mod:`model_check.properties` reads
(besides the configuration), for :class:`PropertyScreen`: none reads the messages, so
their conjunction repeats per (nodes, clients, put table, hint records): on strict-dvv
1,585 distinct keys in 16,132 states. acked_writes_durable reads the messages too and
is screened apart (:class:`PropertyScreen`). A property evaluated on a cache miss sees
only its declared parts (every other part raises when read, as for
:func:`memo_predicate`)."""

_DURABLE = "acked_writes_durable"
_DURABLE_PARTS = ("clients", "puts")


class PropertyScreen:
    """A sound fast path for the safety properties of one search: ``screen(state)`` is
    True only if every property it ``covers`` holds in ``state`` (False: some may not;
    the explorer then asks each, :func:`model_check.explorer.explore`'s ``screen``).

    It covers the named properties of :data:`SCREEN_PARTS` and acked_writes_durable,
    when given as :mod:`model_check.properties` defines them (the same function: a
    mutated or a user's property of the same name is not covered, and is asked on every
    state as before). The conjunction of the first is cached per the hashes of the parts
    they read (their union, :data:`SCREEN_PARTS`) and the small parts by value;
    acked_writes_durable as :func:`model_check.properties.acked_durable_in` of the put
    ids held, which are cached per nodes hash (:func:`spec.model.held_values`) and per
    messages hash (:func:`spec.model.in_flight_values`), then per (clients hash, put
    table hash, those two sets). Each cache is bounded by ``limit`` entries (emptied
    when full)."""

    def __init__(self, predicates: dict[str, Callable[[State], bool]],
                 limit: int = LIMIT) -> None:
        def ours(name: str) -> bool:
            known = PROPERTIES.get(name)
            return known is not None and known.holds is predicates[name]

        self.limit = limit
        self.group = tuple((name, holds) for name, holds in predicates.items()
                           if name in SCREEN_PARTS and ours(name))
        self.durable = _DURABLE in predicates and ours(_DURABLE)
        self.covers = frozenset([name for name, _ in self.group]
                                + ([_DURABLE] if self.durable else []))
        parts = {p for name, _ in self.group for p in SCREEN_PARTS[name]}
        self.parts = tuple(p for p in _FIELDS if p in parts)
        hashed = tuple(_HASHED.index(p) for p in _HASHED if p in parts)
        small = tuple(p for p in _SMALL if p in parts)
        self._hashes: Callable[[tuple[int, ...]], Any] = (
            itemgetter(*hashed) if hashed else (lambda _: ()))
        self._smalls: Callable[[State], Any] = attrgetter(*small) if small else (lambda _: ())
        #: group key -> whether every property of the group holds
        self.verdicts: dict[Any, bool] = {}
        #: nodes hash -> the put ids the nodes hold; messages hash -> those in flight
        self.held: dict[int, frozenset[int]] = {}
        self.in_flight: dict[int, frozenset[int]] = {}
        #: (clients hash, puts hash, held, in flight) -> acked_writes_durable
        self.durable_verdicts: dict[Any, bool] = {}

    def __call__(self, state: State) -> bool:
        if self.group:
            key = (self._hashes(state._parts), self._smalls(state))
            ok = self.verdicts.get(key)
            if ok is None:
                view = _view(state, self.parts)
                ok = all([holds(view) for _, holds in self.group])
                if len(self.verdicts) >= self.limit:
                    self.verdicts.clear()
                self.verdicts[key] = ok
            if not ok:
                return False
        if self.durable:
            return self._durable(state)
        return True

    def _durable(self, state: State) -> bool:
        p = state._parts
        held = self.held.get(p[0])
        if held is None:
            if len(self.held) >= self.limit:
                self.held.clear()
            held = self.held[p[0]] = frozenset(_spec.held_values(state.nodes))
        flying = self.in_flight.get(p[1])
        if flying is None:
            if len(self.in_flight) >= self.limit:
                self.in_flight.clear()
            flying = self.in_flight[p[1]] = frozenset(_spec.in_flight_values(state.messages))
        key = (p[2], p[3], held, flying)
        ok = self.durable_verdicts.get(key)
        if ok is None:
            if len(self.durable_verdicts) >= self.limit:
                self.durable_verdicts.clear()
            ok = self.durable_verdicts[key] = acked_durable_in(
                _view(state, _DURABLE_PARTS), held | flying)
        return ok

    def entries(self) -> int:
        """Entries held in all caches now."""
        return (len(self.verdicts) + len(self.held) + len(self.in_flight)
                + len(self.durable_verdicts))
