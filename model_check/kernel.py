"""A packed-state successor kernel: the spec's states as three small integers.

Theory of operation
-------------------
Issue 13's measurements (docs/model-checking.md, sessions 5, 18 and 53) found that a
search which builds a :class:`~spec.state.State` object per transition cannot reach
100,000 states per CPU-second here, and that the states are combinations of few
distinct parts (on ``strict-dvv`` 769 ``nodes`` tuples and 487 ``messages`` tuples
in 16,132 states). This module makes a state a tuple of three interned ids,
``(context, messages, budget)``:

* **context**: every part of the state but the messages in flight and the fault
  budget (the nodes, clients, put table, partition, hint records, actor epochs,
  membership, key epochs, backups, retirements learnt, refused writes, and since
  session 56 the replaced disks' rebuild ``State.rebuilding``), interned by
  the hashes of its large parts and the values of its small ones (the trade the
  memo and the explorer's seen-set already make: a 64-bit hash collision would
  merge two parts);
* **messages**: the sorted tuple in flight, interned by its hash;
* **budget**: the faults used (``State.used``), interned by value.

:meth:`Kernel.successors` computes a packed state's successors in the spec's order
(:data:`spec.model.MECHANISMS`) over these ids, from tables filled by the spec's
own functions on a miss:

* **deliveries** (the paper's section 4.5 message handlers, :mod:`spec.delivery`):
  the deliverable positions are cached per (messages, partition); a delivery's
  effect per (context, message): the action, the next context and the message
  operations recorded by :class:`model_check.spec_memo._Recorder` (the handler
  reads no message in flight and no budget, or the recorder raises); the messages
  the operations leave are cached per (messages, position, operations); since session
  58 a miss there is looked up by what the handler read (:meth:`Kernel._delivered`):
  every part of the context but the nodes, and of the nodes those it read, whole (their
  hashes) or through :meth:`spec.step.Edit.reachable` (their up flags), as a
  :class:`_NodeRecorder` noted them on the miss that ran the spec's handler;
* **client requests** (:func:`spec.requests.client_requests`) computed on the
  context with no message in flight (a request reads none), cached per (context,
  budget), their sends replayed by :meth:`spec.step.Edit.send`; asked only where a
  client is idle with a put, a delete or a get left (the spec skips every other);
* **coordinator timeouts** (:func:`spec.coordination.time_out`): the enabled ones
  cached per (context, exchanges in flight), each one's effect per (context, action),
  and since session 58 on a miss there by what it read as a delivery is (the
  coordinator's node always among the nodes read: the coordination record passed to
  the spec is its);
* **drops and duplicates** (the first block of :func:`spec.faults.faults`) cached
  per (messages, budget): they read and change nothing else;
* **node faults** (crashes, recoveries, disk losses, partitions, heals: the rest
  of :func:`spec.faults.faults`) computed by the spec on the context with no
  message in flight, cached per (context, budget); a node's going down purges its
  coordinations' exchanges (:func:`spec.faults._down`: ``edit.purge(name,
  coord.request)`` per coordination), replayed on each state's messages by the
  spec's :meth:`spec.step.Edit.purge`;
* **anti-entropy and retirement gossip** (they read and change the context alone,
  asserted) cached per context;
* **the other mechanisms** (client timeouts, the forwarder's retries, hinted
  handoffs, the outsider's copies, reaps, membership): the state is decoded and they
  run as :class:`~model_check.spec_memo.MemoSuccessors` runs them, each successor
  encoded; client timeouts and handoffs only where a client waits or an up node holds
  a hint, the forwarder's retries and the outsider's copies only with
  ``workload.coordinator = "any"``, reaps and membership only where the configuration
  has them.

The step caches are emptied past :attr:`Kernel.limit` entries (:data:`STEP_LIMIT`), the
most used of them kept one generation back (:data:`GENERATIONAL`, session 57); the
interned parts stay (a packed state must decode). The symmetry representatives chosen
among tied candidates, one per such packed state, are bounded apart
(:data:`CANONICAL_LIMIT`): counted with the step caches (when the kernel kept one per
packed state met, before s56-symcand's ids) they emptied them every 30,000 states or so
on a two-client search of millions (session 56, "A configuration of 10^7 states"); the
renamings' per-id tables are counted with the step caches.

So the spec's handlers run once per distinct (context, message), and a hit is a
few dictionary lookups on small integers and one tuple, with no object built.
The properties, the traces and the narration read :meth:`Kernel.decode`'s
state (cached per packed state, bounded).

Covered (:func:`covers`): nothing unless the spec's chain of mechanisms is the
kernel's (:data:`spec.model.MECHANISMS` is :data:`CHAIN`); then every configuration
(session 55; before it, one client, no refused writes and no restores):

* **two clients or more with client symmetry**: :meth:`Kernel.canonicalize` is the
  packing of the spec's own representative (:func:`spec.model.canonicalize`,
  :mod:`spec.symmetry`), computed from the ids since session 56: the spec's candidate
  renamings (:func:`spec.symmetry.candidates`) per context id, each renaming's context
  and messages per id (by the spec's :func:`~spec.symmetry.renamed` and
  :func:`~spec.symmetry.renamed_messages`), and where the clients' signatures tie the
  spec's choice (:func:`~spec.symmetry.preferred`) of the candidates built, cached per
  packed state (a packed state is one state: exact; the choice reads the budget too,
  through the state's hash); the explorer keeps the concrete successors and
  fingerprints their representatives, as with the spec's states, so the traces are the
  same;
* **refused writes** (``faults.write_failures``, :class:`~spec.actions.FailedWrite`,
  between the drops and the node faults as in :func:`spec.faults.faults`): per (context,
  budget, message) among the deliverable ones, computed by the spec's ``faults`` on the context
  with that message alone in flight (the refusal removes it and sends; its sends are
  replayed on each state's messages), asked only while a refusal is left in the budget,
  the budget spent by :func:`spec.requests.spent_refusal` (a refused client put,
  :class:`~spec.actions.FailedPut`, is a client request: per (context, budget));
* **backups and restores** (``faults.restores``): node faults per (context, budget); a
  restore takes its node down and purges its coordinations' exchanges as a crash does;
* **a replaced disk's rebuild** (``features.rebuild`` with disk losses, session 55's
  :mod:`spec.rebuild`; session 56): ``State.rebuilding`` is a part of the context, so
  every step cached per context (a delivery that a rebuilding replica answers or not,
  a request whose coordinator's own write is not counted, a disk loss or a crash that
  begins a rebuild again, an exchange that completes a pair, ``Rebuilt``) reads it in
  its key; anti-entropy (with ``Rebuilt``) and reaps are the spec's own then, cached
  per context, not the memo's (:class:`~model_check.spec_memo.MemoSuccessors` keys
  them without it and builds their successors without it).

The rest falls back to the spec's model (:func:`model_check.spec_model.spec_model`).

Agreement: tests/model_check/test_kernel.py checks, on every covered suite entry
of the CI profile (every one under soak), that each reachable state's successors
(actions and decoded states, in order) equal the spec's, that
:func:`model_check.check.check` gives the same states, transitions, verdicts and
traces with and without the kernel (with ``por`` too), and that mutants of the kernel
(a dropped successor, a crash's purges left out, deliveries keyed by the message alone;
since session 55 no symmetry, a canonical packing keyed without the budget, refused
writes keyed by the message alone or not spending the budget, a restore's purges left
out, a packed reduction that never reduces or reads the steps reversed) fail the
comparison. A spec mutant that breaks one of the read sets above is hidden from
a check with the kernel: run it with ``check(..., kernel=False)`` (docs/model-checking.md,
"A packed-state kernel (session 54)"). Since session 55's review a miss of the client
requests, the node faults or a refused write (computed without the state's other messages)
is compared with the spec's step of the state itself (:meth:`Kernel._confirm`): a spec
step that reads the messages in flight raises there, where the read changes that state's
steps; the deliveries' and timeouts' recording edit raises on any read of the messages or
the budget; the keys of the drops and duplicates (the messages and the budget) and of
anti-entropy and retirement gossip (the context) are still taken on trust at check time,
computed on the state itself at a miss (docs/model-checking.md, "Review of the kernel's
coverage (session 55, review)"), and checked by tests/model_check/test_kernel_read_sets.py
since session 57 (each run on views of sampled states that hide every other part). The
walks are what sees such a mutant, so the
test also requires that they take every cached step (requests, deliveries, timeouts,
drops, duplicates, each node fault, anti-entropy, retirement gossip) from two states
that differ in what its key leaves out, walking three small configurations beyond the
suite's for the duplicates, partitions, buffered crashes and gossip no CI entry has
(docs/model-checking.md, "Review of the kernel (session 54, review)").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import attrgetter
from typing import Any

from model_check.explorer import Reducer
from model_check.model import JSON
from model_check.por import reducible
from model_check.spec_memo import (
    _PURGE,
    _REMOVE,
    _SEND,
    LIMIT,
    WITNESS_PARTS,
    MemoSuccessors,
    Op,
    PropertyScreen,
    _Recorder,
    memo_available,
    replay,
)
from model_check.spec_model import SpecModel
from spec import model as _spec
from spec.actions import (
    Action,
    BufferedCrash,
    Crash,
    DiskLoss,
    Drop,
    Duplicate,
    FailedWrite,
    Restore,
    Timeout,
    action_from_json,
    new_deliver,
)
from spec.anti_entropy import anti_entropy
from spec.config import Config
from spec.coordination import (
    client_timeouts,
    exchanges,
    time_out,
    timeouts,
    timeouts_enabled,
)
from spec.deletes import reaps
from spec.delivery import deliver, deliverable, deliveries
from spec.faults import _refused_writes, faults
from spec.handoff import hinted_handoffs, outsider_copies
from spec.learning import retirement_gossip
from spec.membership import membership_changes
from spec.requests import client_requests, forward_retries, spent_refusal
from spec.state import Message, NodeState, State, messages_hash, new_state, nodes_hash, state_hash
from spec.step import Edit, Plan, plan_of
from spec.symmetry import candidates, preferred, renamed, renamed_messages

__all__ = ["CANONICAL_LIMIT", "CHAIN", "CONTEXT_WITNESS_PARTS", "DECODED_LIMIT", "GENERATIONAL",
           "LOOK_SPAN", "STEP_LIMIT",
           "Kernel", "KernelModel", "Packed", "PackedReduction", "PackedScreen", "PackedTransport",
           "covers",
           "kernel_model"]

Packed = tuple[int, int, int]
"""A packed state: (context id, messages id, budget id) of one :class:`Kernel`."""

DECODED_LIMIT = 1 << 14
"""Decoded states kept per kernel (the properties of one admitted batch read each)."""

STEP_LIMIT = 1 << 21
"""The step caches' entries kept per kernel before they are emptied (:attr:`Kernel.limit`;
the memo's :data:`~model_check.spec_memo.LIMIT` until session 56, 2^20 until session 59).
Session 59, on the first 10^6 states of model_check/configs/sloppy-two-keys-drop-partition.toml
with every property (two rounds side by side): 2^20 52.86 and 55.08 CPU-s, 3 flushes,
418,847 misses, peak 979-982 MiB; 2^21 48.10 and 50.35 CPU-s (1.09-1.10x), no flush,
351,650 misses, peak 1,149-1,164 MiB (the machine has 24 GB; the 12.6 x 10^6-state
search peaked at 4,968 MiB with 2^20). Session 56, on the
first 10^6 states of sloppy-two-keys-drop-crash (two clients, 479,444 states expanded):
with the memo's 2^18, counting the representatives too, 13 flushes and 1,065,650 misses
in 85.9 CPU-s, peak 797 MiB; with 2^20 and the representatives apart
(:data:`CANONICAL_LIMIT`), 1 flush and 732,467 misses in 71.6 CPU-s, peak 965 MiB
(single runs side by side, load 13-20). The states, transitions and verdicts are the
same either way (the caches are exact)."""

GENERATIONAL = ("delivered", "timeout_effects", "exchanged", "learnt", "requests",
                "message_faults", "node_faults", "read_sets", "reached",
                "deliverable", "replayed", "in_flight", "timed_out")
"""The step caches kept one generation back by :meth:`Kernel.flush` (session 57): the
deliveries' and the coordinator timeouts' effects, anti-entropy's and retirement gossip's
steps (per context), the client requests and the node faults (per context and budget),
the drops and duplicates (per messages and budget); since session 59 also the
deliverable positions (per messages and partition), the messages an operation leaves (per
messages, position and operations), the exchanges in flight (per messages) and the
coordinator timeouts enabled (per context and exchanges), and the renamings' tables
(:meth:`_Renaming.age`), whose misses decode or build a state.
A flush moves each to :attr:`Kernel.older` (dropping the generation there) and starts it
empty; a miss looks there before it asks the spec, and takes the entry back. Both
generations count towards :attr:`Kernel.limit`, so the bound on memory is the same; what
was in use since the last flush survives the next one. On the first 10^6 states of
model_check/configs/sloppy-two-keys-drop-partition.toml (two flushes), emptying every
cache made 789,061 misses, 660,078 with no bound at all (47.7 against 51.8 CPU-s, 1,075
against 936 MiB peak, single runs)."""

LOOK_SPAN = 16
"""At most this many times :attr:`Kernel.every` states expanded between two looks at the
step caches' size (:meth:`Kernel._look`, session 59)."""

CANONICAL_LIMIT = 1 << 18
"""Symmetry representatives kept per kernel (:meth:`Kernel.canonicalize`, one per packed
state whose clients' signatures tie: they churn), emptied alone at this size, not
counted with the step caches (and emptied with them too, by :meth:`Kernel.flush`)."""

_EMPTY: tuple[Message, ...] = ()
_UNKNOWN: Any = object()
"""A table's miss, told apart from a cached None."""
_EMPTY_HASH = messages_hash(_EMPTY)
_DURABLE = "acked_writes_durable"
_DOWN = (Crash, BufferedCrash, DiskLoss, Restore)
"""The node faults that take a node down (:func:`spec.faults._down`, and a restore's
``_restored``), each purging its coordinations' exchanges."""

CONTEXT_WITNESS_PARTS: dict[str, tuple[str, ...]] = {
    **WITNESS_PARTS,
    "siblings_stored": ("nodes",),
    "fallback_holds_hint": ("nodes",),
    "hint_handed_off": ("hints_deleted",),
    "change_completed": ("membership",),
}
"""The parts of the context each state witness of :mod:`model_check.properties` reads
(:data:`~model_check.spec_memo.WITNESS_PARTS` and four that read the nodes, the hint
records or the membership alone): over packed states each is asked once per context
id, through :func:`~model_check.spec_memo.memo_predicate` (a part read outside them
raises)."""

CHAIN: tuple[Callable[[State, Plan], Iterator[tuple[Action, State]]], ...] = (
    client_requests, deliveries, timeouts,  # tables over ids (client timeouts: decoded)
    forward_retries, hinted_handoffs, outsider_copies,  # the decoded state
    anti_entropy, reaps, membership_changes, retirement_gossip,  # per context; decoded
    faults)  # per (messages, budget) and per (context, budget)
"""The spec's mechanisms :meth:`Kernel.successors` reproduces, in the order it yields
their steps: :func:`covers` refuses every configuration unless this is
:data:`spec.model.MECHANISMS` itself (the same functions in the same order), so a
mechanism added to the spec (as session 54's ``forward_retries`` and
``outsider_copies`` were, after the kernel was written: the kernel then left their
steps out) sends the search to the spec's states until the kernel reproduces it."""

Effect = tuple[Action, int, int]
"""A cached step: its action, the next context id, the message operations' id."""


def covers(config: Config, symmetry: bool = True) -> tuple[bool, str]:
    """Whether the kernel covers ``config`` (and why not): see the module docstring.
    Nothing is covered while :data:`spec.model.MECHANISMS` is not :data:`CHAIN` (a
    mechanism the kernel does not reproduce, or another order), or without the compiled
    spec; every configuration otherwise (session 55: two clients or more with symmetry,
    ``faults.write_failures`` and ``faults.restores`` too). ``symmetry`` is accepted for
    the callers' sake: it changes nothing since session 55."""
    if not memo_available():
        return False, "the compiled spec (spec.compiled): not covered by the kernel"
    if _spec.MECHANISMS != CHAIN:
        missing = [m.__name__ for m in _spec.MECHANISMS if m not in CHAIN]
        return False, (f"the spec's mechanisms are not the kernel's (new to it: "
                       f"{', '.join(missing) or 'none; another order'}): not covered by the "
                       f"kernel")
    return True, ""


class Kernel:
    """The packed-state successors of one configuration (module docstring).

    ``successors(packed)`` yields ``(action, packed)`` in the spec's order;
    ``decode(packed)`` is the spec's state; ``encode(state)`` its packed form (the
    same id for equal parts). Raises ``AssertionError`` if a memoised step reads a part
    outside its key (as :class:`~model_check.spec_memo.MemoSuccessors`)."""

    def __init__(self, config: Config, limit: int = STEP_LIMIT, every: int = 4096) -> None:
        self.config = config
        self.limit = limit
        """Cached steps held before the step caches are emptied (the interned parts stay:
        a packed state must decode); looked at every ``every`` states expanded."""
        self.every = every
        self.expanded = 0
        #: the states expanded at which :attr:`limit` is next looked at, and the entries
        #: held and states expanded at the last look (:meth:`_look`, session 59)
        self.next_look = every
        self.last_look: tuple[int, int] | None = None
        self.looks = 0
        self.plan: Plan = plan_of(config)
        self.memo = MemoSuccessors()
        #: context id -> (nodes, clients, puts, side, hints_acked, hints_deleted, epochs,
        #: membership, key_epochs, backups, known, unpersisted, (hn, hc, hp), rebuilding)
        self.contexts: list[tuple[Any, ...]] = []
        self.context_ids: dict[tuple[Any, ...], int] = {}
        #: messages id -> (messages, hash)
        self.message_tuples: list[tuple[tuple[Message, ...], int]] = []
        self.message_ids: dict[int, int] = {}
        self.budgets: list[tuple[int, ...]] = []
        self.budget_ids: dict[tuple[int, ...], int] = {}
        #: one object per distinct message operations
        self.operations: list[tuple[Op, ...]] = [()]
        self.operation_ids: dict[tuple[Op, ...], int] = {(): 0}
        #: (messages id, side) -> ((position, message), ...) deliverable
        self.deliverable: dict[tuple[int, frozenset[str]], tuple[tuple[int, Message], ...]] = {}
        #: context id -> message -> effect
        self.delivered: dict[int, dict[Message, Effect]] = {}
        #: (session 58) a delivery's effect by what its handler read
        #: (:meth:`_delivered`): context id -> the id of every part of it but the nodes
        #: (:meth:`_tail`); (tail id, message) -> the node read sets met (each the
        #: indices read whole, and those whose up flag alone was read); (tail id,
        #: message, read set, what was read) -> (action, the nodes written, the next
        #: context's parts but the nodes, the operations id)
        self.tail_of: dict[int, int] = {}
        self.tails: dict[tuple[Any, ...], int] = {}
        self.read_sets: dict[tuple[int, Message],
                             list[tuple[tuple[int, ...], tuple[int, ...]]]] = {}
        self.reached: dict[tuple[Any, ...], tuple[Action, tuple[tuple[int, NodeState], ...],
                                                  tuple[Any, ...], int]] = {}
        self.narrow_hits = 0
        #: (messages id, position, operations id) -> messages id
        self.replayed: dict[tuple[int, int, int], int] = {}
        #: messages id -> exchanges in flight
        self.in_flight: dict[int, frozenset[tuple[str, str, int]]] = {}
        #: (context id, exchanges) -> the enabled coordinator timeouts (each action, node,
        #: coordination, target)
        self.timed_out: dict[tuple[int, frozenset[tuple[str, str, int]]],
                             tuple[tuple[Timeout, str, Any, str], ...]] = {}
        #: context id -> timeout action -> its effect (next context, operations id)
        self.timeout_effects: dict[int, dict[Action, tuple[int, int]]] = {}
        #: (messages id, budget id) -> ((action, messages id, budget id), ...)
        self.message_faults: dict[tuple[int, int], tuple[tuple[Action, int, int], ...]] = {}
        #: (context id, budget id) -> ((action, context id, budget id, operations id), ...)
        self.node_faults: dict[tuple[int, int], tuple[tuple[Action, int, int, int], ...]] = {}
        #: the refusals budgeted (faults.write_failures), and per (context, budget) each
        #: message's refused write (its action, next context and operations id), or None
        #: (per budget too since session 55's review: a refusal keyed by the context
        #: alone hid a spec whose refusal reads the budget beyond the refusals left)
        self.refusing = config.write_failures
        self.refused: dict[tuple[int, int], dict[Message, Effect | None]] = {}
        #: budget id -> the budget id with one more write refused
        self.spent: dict[int, int] = {}
        #: packed state -> its symmetry representative's packing, where its clients'
        #: signatures tie (two clients or more; :meth:`canonicalize`)
        self.canonical: dict[Packed, Packed] = {}
        #: context id -> its clients' candidate renamings (:meth:`_candidates`)
        self.symmetric: dict[int, tuple[_Renaming | None, ...]] = {}
        #: permutation -> its renaming's tables
        self.renamings: dict[tuple[int, ...], _Renaming] = {}
        self.decoded: dict[Packed, State] = {}
        self.misses = 0
        #: the mechanisms run on the decoded state after the timeouts (their order
        #: in :data:`spec.model.MECHANISMS`)
        self.others: tuple[Callable[[State, Plan], Iterable[tuple[Action, State]]], ...] = ()
        #: a replaced disk's rebuild (session 56): State.rebuilding is in the context,
        #: and the memo's anti-entropy and reaps (keyed without it, their successors
        #: built without it: spec_memo._with_nodes) give way to the spec's own, cached
        #: per context here
        rebuilds = config.rebuild and config.disk_losses > 0
        if self.plan.tombstones and config.delete_mode != "keep":
            self.others += (reaps if rebuilds else self.memo.reaps,)
        if _spec.initial_state(config).membership is not None:
            self.others += (self.memo.membership_changes,)
        self.handoffs = config.hinted_handoff
        #: the forwarder's retries and the outsider's copies (session 54): on the decoded
        #: state, only where clients may send to any node (the spec yields none otherwise)
        self.forwarding = config.coordinator == "any"
        self.anti_entropy = config.anti_entropy
        self.exchange: Callable[[State, Plan], Iterable[tuple[Action, State]]] = (
            anti_entropy if rebuilds else self.memo.anti_entropy)
        self.gossip = config.prune_knowledge == "learnt"
        #: (context id, budget id) -> the client requests' steps
        self.requests: dict[tuple[int, int], tuple[tuple[Action, int, int, int], ...]] = {}
        #: context id -> (an up node coordinates, a client waits)
        self.waiting: dict[int, tuple[bool, bool, bool, bool]] = {}
        #: context id -> anti-entropy's steps; retirement gossip's
        self.exchanged: dict[int, tuple[tuple[Action, int], ...]] = {}
        self.learnt: dict[int, tuple[tuple[Action, int], ...]] = {}
        #: the previous generation of each :data:`GENERATIONAL` table (:meth:`flush`)
        self.older: dict[str, dict[Any, Any]] = {name: {} for name in GENERATIONAL}

    # -- encoding -------------------------------------------------------------------
    def context_of(self, s: State) -> int:
        """The id of ``s``'s context (every part but the messages and the budget)."""
        p = s._parts
        key = (p[0], p[2], p[3], s.side, s.hints_acked, s.hints_deleted, s.epochs,
               s.membership, s.key_epochs, s.backups, s.known, s.unpersisted, s.rebuilding)
        c = self.context_ids.get(key)
        if c is None:
            c = self.context_ids[key] = len(self.contexts)
            self.contexts.append((s.nodes, s.clients, s.puts, s.side, s.hints_acked,
                                  s.hints_deleted, s.epochs, s.membership, s.key_epochs,
                                  s.backups, s.known, s.unpersisted, (p[0], p[2], p[3]),
                                  s.rebuilding))
        return c

    def messages_of(self, messages: tuple[Message, ...], hm: int) -> int:
        """The id of the messages ``messages`` (their hash ``hm``)."""
        m = self.message_ids.get(hm)
        if m is None:
            m = self.message_ids[hm] = len(self.message_tuples)
            self.message_tuples.append((messages, hm))
        return m

    def budget_of(self, used: tuple[int, ...]) -> int:
        """The id of the fault budget used ``used``."""
        u = self.budget_ids.get(used)
        if u is None:
            u = self.budget_ids[used] = len(self.budgets)
            self.budgets.append(used)
        return u

    def operations_of(self, ops: tuple[Op, ...]) -> int:
        """The id of the message operations ``ops``."""
        o = self.operation_ids.get(ops)
        if o is None:
            o = self.operation_ids[ops] = len(self.operations)
            self.operations.append(ops)
        return o

    def encode(self, s: State) -> Packed:
        """``s`` packed."""
        return (self.context_of(s), self.messages_of(s.messages, s._parts[1]),
                self.budget_of(s.used))

    def build(self, c: int, messages: tuple[Message, ...], hm: int, u: int) -> State:
        """The spec's state of context ``c``, the messages ``messages`` (hash ``hm``) and
        budget ``u``."""
        (nodes, clients, puts, side, acked, deleted, epochs, membership, key_epochs,
         backups, known, unpersisted, (hn, hc, hp), rebuilding) = self.contexts[c]
        return new_state(nodes, messages, clients, puts, side, self.budgets[u], acked,
                         deleted, epochs, self.config, (hn, hm, hc, hp), membership,
                         key_epochs, backups, known, unpersisted, rebuilding)

    def decode(self, packed: Packed) -> State:
        """The spec's state packed as ``packed`` (cached: :data:`DECODED_LIMIT`)."""
        s = self.decoded.get(packed)
        if s is None:
            c, m, u = packed
            messages, hm = self.message_tuples[m]
            if len(self.decoded) >= DECODED_LIMIT:
                self.decoded.clear()
            s = self.decoded[packed] = self.build(c, messages, hm, u)
        return s

    def canonicalize(self, packed: Packed) -> Packed:
        """The packing of the symmetry representative of ``packed``'s state
        (:func:`spec.model.canonicalize`: client symmetry, :mod:`spec.symmetry`), from
        the ids (session 56): the spec's candidate renamings
        (:func:`spec.symmetry.candidates`) per context id; each renaming of a context and
        of a messages tuple per (renaming, id), by the spec's own renaming
        (:func:`spec.symmetry.renamed`, :func:`~spec.symmetry.renamed_messages`), the
        budget as it is (nothing in it names a client). ``packed`` itself when the
        identity is the only candidate; the one renaming's packing when there is one
        other; among two or more (the clients' signatures tie) the spec's choice,
        :func:`spec.symmetry.preferred` of the candidates built, cached per packed state
        (a packed state is one state: exact; the choice reads the budget too, through the
        state's hash), that cache bounded apart from the step caches (emptied alone at
        :data:`CANONICAL_LIMIT` entries, and with them: s56-big). Raises nothing."""
        c, m, u = packed
        tried = self.symmetric.get(c)
        if tried is None:
            tried = self.symmetric[c] = self._candidates(c)
        if not tried:
            return packed  # the clients' signatures are distinct and in order
        if len(tried) == 1:
            only = tried[0]
            assert only is not None  # (the identity alone is ())
            c2 = only.contexts.get(c)
            m2 = only.messages.get(m)
            if c2 is None or m2 is None:
                return self._renamed(only, c, m, u)
            return c2, m2, u
        hit = self.canonical.get(packed)
        if hit is None:
            state_hash = self._state_hash
            best: Packed | None = None
            lowest = 0
            for renaming in tried:
                candidate = packed if renaming is None else self._renamed(renaming, c, m, u)
                if candidate == best:
                    continue  # the same state (a symmetric one): not preferred
                # the spec's preference (spec.symmetry.preferred): the smaller state hash,
                # computed from the ids (session 59: the states were built for it); ties
                # broken by the spec on the states built
                h = state_hash(candidate)
                if best is None or h < lowest:
                    best, lowest = candidate, h
                elif h == lowest and preferred(self._built(candidate), self._built(best)):
                    best = candidate
            assert best is not None
            if len(self.canonical) >= CANONICAL_LIMIT:
                self.canonical.clear()
            hit = self.canonical[packed] = best
        return hit

    def _state_hash(self, packed: Packed) -> int:
        """The hash of ``packed``'s state (``State._hash``): :func:`spec.state.state_hash`
        of its context's part hashes, its messages' hash and its budget, without building
        the state (:meth:`canonicalize`'s tied candidates; session 59, one formula with
        the spec's since session 60: tests/model_check/test_kernel.py and
        tests/spec/test_state_hash.py compare it with the built states')."""
        c, m, u = packed
        (_, _, _, side, acked, deleted, epochs, membership, key_epochs, backups, known,
         unpersisted, (hn, hc, hp), rebuilding) = self.contexts[c]
        return state_hash((hn, self.message_tuples[m][1], hc, hp), side, self.budgets[u],
                          acked, deleted, epochs, membership, key_epochs, backups, known,
                          unpersisted, rebuilding)

    def _built(self, packed: Packed) -> State:
        """``packed``'s state built (not decoded: the decoded states' cache is the
        properties')."""
        return self.build(packed[0], *self.message_tuples[packed[1]], packed[2])

    def _candidates(self, c: int) -> tuple[_Renaming | None, ...]:
        """The candidate renamings of context ``c``'s clients, each as its
        :class:`_Renaming` (None: the identity); () when the identity is the only one."""
        perms = candidates(self.contexts[c][1])
        if perms is None:
            return ()
        out: list[_Renaming | None] = []
        for perm in perms:
            if perm is None:
                out.append(None)
                continue
            renaming = self.renamings.get(perm)
            if renaming is None:
                renaming = self.renamings[perm] = _Renaming(perm)
            out.append(renaming)
        return tuple(out)

    def _renamed(self, renaming: _Renaming, c: int, m: int, u: int) -> Packed:
        """``(c, m, u)`` renamed by ``renaming`` (its context and messages ids remembered
        per id; the budget names no client)."""
        c2 = renaming.contexts.get(c)
        if c2 is None:
            c2 = renaming.older_contexts.pop(c, None)
            if c2 is None:
                state = self.build(c, _EMPTY, _EMPTY_HASH, u)
                c2 = self.context_of(renamed(state, renaming.perm))
            renaming.contexts[c] = c2
        m2 = renaming.messages.get(m)
        if m2 is None:
            m2 = renaming.older_messages.pop(m, None)
            if m2 is None:
                messages = renamed_messages(self.config, renaming.perm,
                                            self.message_tuples[m][0])
                m2 = self.messages_of(messages, messages_hash(messages))
            renaming.messages[m] = m2
        return c2, m2, u

    # -- successors -----------------------------------------------------------------
    def _replayed(self, packed: Packed, position: int, o: int) -> int:
        """The messages id ``packed``'s messages leave after operations ``o`` (the
        removed message's ``position``, or -1), by the spec's :class:`~spec.step.Edit`."""
        m = packed[1]
        if o == 0:
            return m
        key = (m, position, o)
        result = self.replayed.get(key)
        if result is None:
            result = self.older["replayed"].pop(key, None)
            if result is None:
                edit = Edit(self.decode(packed), self.plan)
                replay(edit, self.operations[o], position)
                after = edit.build()
                result = self.messages_of(after.messages, after._parts[1])
            self.replayed[key] = result
        return result

    def _tail(self, c: int) -> int:
        """The id of context ``c``'s parts but the nodes (interned for good: a key of
        :attr:`reached` names it)."""
        t = self.tail_of.get(c)
        if t is None:
            key = self._tail_key(self.contexts[c])
            t = self.tails.get(key)
            if t is None:
                t = self.tails[key] = len(self.tails)
            self.tail_of[c] = t
        return t

    @staticmethod
    def _tail_key(ctx: tuple[Any, ...]) -> tuple[Any, ...]:
        """The parts of context tuple ``ctx`` but the nodes, as :meth:`context_of` keys
        them (its key less the nodes' hash)."""
        return (*ctx[12][1:], *ctx[3:12], ctx[13])

    @staticmethod
    def _reading(nodes: tuple[NodeState, ...], whole: tuple[int, ...], ups: tuple[int, ...]
                 ) -> tuple[Any, ...]:
        """What a delivery of read set ``(whole, ups)`` read of ``nodes``: the hashes of
        the nodes read whole, the up flags of the others."""
        return (tuple([nodes[i]._hash for i in whole]), tuple([nodes[i].up for i in ups]))

    def _delivered(self, packed: Packed, position: int, message: Message) -> Effect:
        """The effect of delivering ``message`` (at ``position``) in ``packed``, on a miss
        of the per-(context, message) table (session 58): :meth:`_by_reads` of the spec's
        :func:`~spec.delivery.deliver`."""
        return self._by_reads(packed, message, (), deliver, position, message, position)

    def _by_reads(self, packed: Packed, step: Any, held: tuple[int, ...],
                  run: Callable[..., None], position: int, *args: Any) -> Effect:
        """The effect of ``step`` (a message delivered at ``position``, or a coordinator
        timeout: position -1) in ``packed``, on a miss of its per-context table (session
        58): looked up by what the step read, every part of the context but the nodes
        (:meth:`_tail`) and, of the nodes, those it read (whole: by their hashes; through
        :meth:`spec.step.Edit.reachable` alone: their up flags) and those in ``held``
        (the nodes its arguments were taken from: a timeout's coordinator), as the read
        sets met for (tail, step) name them (:attr:`read_sets`); else ``run(recorder,
        *args)`` on a :class:`_NodeRecorder` (a read of the messages or the budget raises,
        as the memo's recorder), which notes those reads. A hit applies the nodes written
        to this context's nodes and takes the rest of the next context from the recorded
        one. Exact: a step given equal parts and equal nodes where it reads them makes
        the same reads and the same writes (the 64-bit hashes of the nodes are the trade
        the contexts' interning already makes). Returns (action, next context id,
        operations id)."""
        c = packed[0]
        t = self._tail(c)
        nodes = self.contexts[c][0]
        sets = self.read_sets.get((t, step))
        if sets is None:
            sets = self.read_sets[(t, step)] = self.older["read_sets"].pop((t, step), [])
        reached = self.reached
        reading = self._reading
        for whole, ups in sets:
            key = (t, step, whole, ups, reading(nodes, whole, ups))
            hit = reached.get(key)
            if hit is None:
                hit = self.older["reached"].pop(key, None)
                if hit is None:
                    continue
                reached[key] = hit
            self.narrow_hits += 1
            action, written, after, o = hit
            return action, self._context_after(c, written, after), o
        self.misses += 1
        recorder = _NodeRecorder(self.decode(packed), self.plan)
        tracked = recorder.tracked
        tracked.read.update(held)
        run(recorder, *args)
        o = self.operations_of(tuple(recorder.ops))
        successor = recorder.successor(position)
        c2 = self.context_of(successor)
        if position >= 0:
            self.replayed[(packed[1], position, o)] = self.messages_of(successor.messages,
                                                                       successor._parts[1])
        whole = tuple(sorted(tracked.read))
        ups = tuple(sorted(tracked.ups - tracked.read))
        if (whole, ups) not in sets:
            sets.append((whole, ups))
        action = new_deliver(step) if position >= 0 else step
        ctx = self.contexts[c2]
        reached[(t, step, whole, ups, reading(nodes, whole, ups))] = (
            action, tuple(sorted(tracked.written.items())), (self._tail_key(ctx), ctx), o)
        return action, c2, o

    def _context_after(self, c: int, written: tuple[tuple[int, NodeState], ...],
                       after: tuple[tuple[Any, ...], tuple[Any, ...]]) -> int:
        """The id of context ``c`` with the nodes ``written`` replaced and every other
        part as in ``after`` (the key's tail and the parts of a recorded next context)."""
        ctx = self.contexts[c]
        nodes = ctx[0]
        if written:
            changed = list(nodes)
            for i, node in written:
                changed[i] = node
            nodes = tuple(changed)
            hn = nodes_hash(nodes)
        else:
            hn = ctx[12][0]
        tail, parts = after
        key = (hn, *tail)
        c2 = self.context_ids.get(key)
        if c2 is None:
            c2 = self.context_ids[key] = len(self.contexts)
            self.contexts.append((nodes, *parts[1:12], (hn, *parts[12][1:]), parts[13]))
        return c2

    def successors(self, packed: Packed) -> Iterator[tuple[Action, Packed]]:
        """``packed``'s successors, as :func:`spec.model.successors` gives them (the same
        actions, the same states packed, in the same order)."""
        c, m, u = packed
        self.expanded += 1
        if self.expanded >= self.next_look:
            self._look()
        plan = self.plan
        decode = self.decode
        encode = self.encode
        replayed = self._replayed
        context = self.contexts[c]
        waiting = self.waiting.get(c)
        if waiting is None:
            waiting = self.waiting[c] = self._waiting(c)
        asking, coordinating, outstanding, hinting = waiting
        # client requests: per (context, budget)
        if asking:
            requests = self.requests.get((c, u))
            if requests is None:
                requests = self.older["requests"].pop((c, u), None)
                if requests is None:
                    requests = self._requests(c, u)
                    self._confirm(packed, client_requests(decode(packed), plan), requests)
                self.requests[(c, u)] = requests
            for action, c2, u2, o in requests:
                yield action, (c2, replayed(packed, -1, o), u2)
        # deliveries
        side = context[3]
        positions = self.deliverable.get((m, side))
        if positions is None:
            positions = self.older["deliverable"].pop((m, side), None)
            if positions is None:
                positions = tuple(deliverable(decode(packed)))
            self.deliverable[(m, side)] = positions
        table = self.delivered.get(c)
        if table is None:
            table = self.delivered[c] = self.older["delivered"].pop(c, None) or {}
        cached_messages = self.replayed
        for position, message in positions:
            effect = table.get(message)
            if effect is None:
                effect = table[message] = self._delivered(packed, position, message)
            cached = cached_messages.get((m, position, effect[2]))
            yield effect[0], (effect[1], replayed(packed, position, effect[2])
                              if cached is None else cached, u)
        # coordinator timeouts, then the client timeouts
        if coordinating:
            flying = self.in_flight.get(m)
            if flying is None:
                flying = self.older["in_flight"].pop(m, None)
                if flying is None:
                    flying = exchanges(self.message_tuples[m][0])
                self.in_flight[m] = flying
            enabled = self.timed_out.get((c, flying))
            if enabled is None:
                enabled = self.older["timed_out"].pop((c, flying), None)
                if enabled is None:
                    enabled = tuple(
                        (Timeout(node, coord.request, target), node, coord, target)
                        for node, coord, target in timeouts_enabled(context[0], side, flying,
                                                                     plan))
                self.timed_out[(c, flying)] = enabled
            if enabled:
                effects = self.timeout_effects.get(c)
                if effects is None:
                    effects = self.timeout_effects[c] = (
                        self.older["timeout_effects"].pop(c, None) or {})
                index = plan.index
                for timeout, node, coord, target in enabled:
                    done = effects.get(timeout)
                    if done is None:
                        _, c2, o = self._by_reads(packed, timeout, (index[node],), time_out,
                                                  -1, node, coord, target)
                        done = effects[timeout] = (c2, o)
                    yield timeout, (done[0], replayed(packed, -1, done[1]), u)
        if outstanding:
            for action, successor in client_timeouts(decode(packed), plan):
                yield action, encode(successor)
        if self.forwarding:
            for action, successor in forward_retries(decode(packed), plan):
                yield action, encode(successor)
        if hinting:
            for action, successor in hinted_handoffs(decode(packed), plan):
                yield action, encode(successor)
        if self.forwarding:
            for action, successor in outsider_copies(decode(packed), plan):
                yield action, encode(successor)
        # anti-entropy: per context
        if self.anti_entropy:
            exchanged = self.exchanged.get(c)
            if exchanged is None:
                exchanged = self.older["exchanged"].pop(c, None)
                if exchanged is None:
                    exchanged = self._context_steps(self.exchange, packed)
                self.exchanged[c] = exchanged
            for action, c2 in exchanged:
                yield action, (c2, m, u)
        # reaps and membership changes (they read the messages): on the decoded state
        for mechanism in self.others:
            for action, successor in mechanism(decode(packed), plan):
                yield action, encode(successor)
        if self.gossip:
            learnt = self.learnt.get(c)
            if learnt is None:
                learnt = self.older["learnt"].pop(c, None)
                if learnt is None:
                    learnt = self._context_steps(retirement_gossip, packed)
                self.learnt[c] = learnt
            for action, c2 in learnt:
                yield action, (c2, m, u)
        # faults: drops and duplicates per (messages, budget), then the node faults
        dropped = self.message_faults.get((m, u))
        if dropped is None:
            dropped = self.older["message_faults"].pop((m, u), None)
            if dropped is None:
                dropped = self._message_faults(decode(packed))
            self.message_faults[(m, u)] = dropped
        for action, m2, u2 in dropped:
            yield action, (c, m2, u2)
        # refused writes (faults.write_failures): per (context, budget, message), between the
        # drops and the node faults (the spec's order)
        if self.refusing and self.budgets[u][5] < self.refusing:
            refusals = self.refused.get((c, u))
            if refusals is None:
                refusals = self.refused[(c, u)] = {}
            spent = self.spent.get(u)
            if spent is None:
                spent = self.spent[u] = self.budget_of(spent_refusal(self.budgets[u]))
            for position, message in positions:
                refusal = refusals.get(message, _UNKNOWN)
                if refusal is _UNKNOWN:
                    refusal = refusals[message] = self._refusal(c, message, u)
                    self._confirm(packed, [  # the spec's refusals alone (faults' block)
                        (a, s) for a, s in _refused_writes(decode(packed), plan)
                        if isinstance(a, FailedWrite) and a.message == message],
                        () if refusal is None else ((refusal[0], refusal[1], spent,
                                                     refusal[2]),), position)
                if refusal is not None:
                    yield refusal[0], (refusal[1], replayed(packed, position, refusal[2]),
                                       spent)
        down = self.node_faults.get((c, u))
        if down is None:
            down = self.older["node_faults"].pop((c, u), None)
            if down is None:
                down = self._node_faults(c, u)
                self._confirm(packed, [(a, s) for a, s in faults(decode(packed), plan)
                                       if not isinstance(a, Drop | Duplicate | FailedWrite)],
                              down)
            self.node_faults[(c, u)] = down
        for action, c2, u2, o in down:
            yield action, (c2, replayed(packed, -1, o), u2)

    def _confirm(self, packed: Packed, steps: Iterable[tuple[Action, State]],
                 cached: Iterable[tuple[Action, int, int, int]], position: int = -1) -> None:
        """On a miss of a table whose steps were computed on the context with no message
        in flight (client requests, node faults) or with one (a refused write): the steps
        just cached (each action, next context, budget and message operations), replayed
        on ``packed``'s own messages (``position``: the removed message's), are the
        spec's ``steps`` of ``packed`` itself. Raises ``AssertionError`` if not: a step
        that reads the messages in flight (a spec change, e.g. a client request that
        looks at them) is refused loudly rather than replayed, wrong, on the other states
        of its key (session 55's review: such a spec mutant was hidden). A miss only:
        a hit costs nothing more; the step is asked of the spec once more per miss, unless
        ``packed`` holds no other message than those the step was computed with."""
        if len(self.message_tuples[packed[1]][0]) == (position >= 0):
            return  # computed on this very state
        ours = [(a, c2, self._replayed(packed, position, o), u2) for a, c2, u2, o in cached]
        theirs = [(a, self.context_of(s), self.messages_of(s.messages, s._parts[1]),
                   self.budget_of(s.used)) for a, s in steps]
        assert ours == theirs, (
            f"a step cached without the messages in flight reads them: at {packed} the "
            f"kernel's {[a for a, *_ in ours]} against the spec's {[a for a, *_ in theirs]} "
            f"(or their successors): check this spec with kernel=False / --no-kernel")

    def _waiting(self, c: int) -> tuple[bool, bool, bool, bool]:
        """Of context ``c``: whether a client is idle with a put, a delete or a get left
        (a request may be enabled: :func:`spec.requests.client_requests` skips every
        other client), whether an up node coordinates (a coordinator timeout may be
        enabled), whether a client has a request outstanding (a client timeout may be),
        whether an up node holds a hint with handoffs on (a handoff may be). Each is
        necessary for its steps; the spec's own functions then decide."""
        nodes, clients = self.contexts[c][0], self.contexts[c][1]
        config = self.config
        return (any([not client.outstanding and (
                        client.puts_issued < config.writes_per_client
                        or client.gets_issued < config.gets_per_client)
                     for client in clients]),
                any([node.up and bool(node.coord) for node in nodes]),
                any([bool(client.outstanding) for client in clients]),
                self.handoffs and any([node.up and bool(node.hints) for node in nodes]))

    def _requests(self, c: int, u: int) -> tuple[tuple[Action, int, int, int], ...]:
        """The client requests of context ``c`` under budget ``u``: the spec's
        :func:`~spec.requests.client_requests` on the context with no message in flight
        (a request reads none); each action, next context, budget and its sends."""
        self.misses += 1
        out = []
        for action, successor in client_requests(self.build(c, _EMPTY, _EMPTY_HASH, u),
                                                 self.plan):
            sends = tuple([(_SEND, message) for message in successor.messages])
            out.append((action, self.context_of(successor), self.budget_of(successor.used),
                        self.operations_of(sends)))
        return tuple(out)

    def _context_steps(self, mechanism: Callable[[State, Plan], Iterable[tuple[Action, State]]],
                       packed: Packed) -> tuple[tuple[Action, int], ...]:
        """The steps of ``mechanism`` (one that reads and changes the context alone:
        anti-entropy, retirement gossip), computed on ``packed`` decoded: each action
        and next context."""
        self.misses += 1
        state = self.decode(packed)
        out = []
        for action, successor in mechanism(state, self.plan):
            assert successor.messages is state.messages and successor.used is state.used, (
                f"{mechanism} changed more than the context")
            out.append((action, self.context_of(successor)))
        return tuple(out)
    def _message_faults(self, state: State) -> tuple[tuple[Action, int, int], ...]:
        """The drops and duplicates of ``state`` (the first block of the spec's
        :func:`~spec.faults.faults`): each action, messages id and budget id."""
        self.misses += 1
        c = self.context_of(state)
        out = []
        for action, successor in faults(state, self.plan):
            if not isinstance(action, Drop | Duplicate):
                break
            assert self.context_of(successor) == c, "a drop or duplicate changed the context"
            out.append((action, self.messages_of(successor.messages, successor._parts[1]),
                        self.budget_of(successor.used)))
        return tuple(out)

    def _refusal(self, c: int, message: Message, u: int) -> Effect | None:
        """The refused write of ``message`` in context ``c`` (budget ``u``, one refusal
        left), or None: the spec's :func:`~spec.faults.faults` on the context with
        ``message`` alone in flight, its :class:`~spec.actions.FailedWrite` of it (the
        delivery removes the message; its sends replayed on each state's messages)."""
        self.misses += 1
        alone = (message,)
        state = self.build(c, alone, messages_hash(alone), u)
        for action, successor in faults(state, self.plan):
            if isinstance(action, FailedWrite):
                assert successor.used == spent_refusal(state.used)
                sends = tuple([(_SEND, sent) for sent in successor.messages])
                return action, self.context_of(successor), self.operations_of(
                    ((_REMOVE,), *sends))
        return None

    def _node_faults(self, c: int, u: int) -> tuple[tuple[Action, int, int, int], ...]:
        """The node faults of context ``c`` under budget ``u`` (the spec's
        :func:`~spec.faults.faults` on the context with no message in flight): each
        action, next context, budget and the purges of its node's coordinations."""
        self.misses += 1
        state = self.build(c, _EMPTY, _EMPTY_HASH, u)
        index = self.plan.index
        out = []
        for action, successor in faults(state, self.plan):
            assert not isinstance(action, Drop | Duplicate)
            o = 0
            if isinstance(action, _DOWN):
                node = state.nodes[index[action.node]]
                o = self.operations_of(tuple([(_PURGE, action.node, coord.request, None)
                                              for coord in node.coord]))
            out.append((action, self.context_of(successor), self.budget_of(successor.used), o))
        return tuple(out)

    def _step_caches(self) -> tuple[dict[Any, Any], ...]:
        return (self.deliverable, self.delivered, self.replayed, self.in_flight, self.timed_out,
                self.timeout_effects, self.message_faults, self.node_faults, self.requests,
                self.waiting, self.exchanged, self.learnt, self.refused, self.spent,
                self.symmetric, self.decoded, self.tail_of, self.read_sets,
                self.reached)

    def cached(self) -> int:
        """Entries held in the step caches now, both generations of the
        :data:`GENERATIONAL` ones (the delivery and timeout tables counted per effect;
        not the representatives: :data:`CANONICAL_LIMIT`)."""
        older = self.older
        return (sum(map(len, self._step_caches())) + sum(map(len, older.values()))
                + sum(map(len, self.delivered.values()))
                + sum(map(len, older["delivered"].values()))
                + sum(map(len, self.timeout_effects.values()))
                + sum(map(len, older["timeout_effects"].values()))
                + sum(map(len, self.refused.values()))
                + sum([len(r.contexts) + len(r.messages) + len(r.older_contexts)
                       + len(r.older_messages) for r in self.renamings.values()]))

    def _look(self) -> None:
        """Empty the step caches if they hold more than :attr:`limit` entries
        (:meth:`flush`), and choose when to look next (session 59): :meth:`cached` walks
        every per-context table (1-2 x 10^5 of them at 2^20 entries: 4.4% of a search's
        CPU at 1.1-1.6 x 10^6 states when it ran every :attr:`every` states), so the next
        look comes when, at the growth per state expanded since the last look, half of
        the room left would be filled: at least :attr:`every` states on, at most
        :data:`LOOK_SPAN` times that; :attr:`every` states after a flush (the growth
        unknown). The bound is kept as before unless the growth more than doubles
        between two looks."""
        self.looks += 1
        held, expanded, every = self.cached(), self.expanded, self.every
        if held > self.limit:
            self.flush()
            self.last_look = None
            self.next_look = expanded + every
            return
        gap = every
        if self.last_look is not None:
            before, at = self.last_look
            growth = (held - before) / max(1, expanded - at)
            room = (self.limit - held) / 2
            gap = (every * LOOK_SPAN if growth * every * LOOK_SPAN <= room
                   else max(every, int(room / growth)))
        self.last_look = (held, expanded)
        self.next_look = expanded + gap

    def flush(self) -> None:
        """Empty the step caches (a bound on their memory: :attr:`limit`), the
        :data:`GENERATIONAL` ones kept one generation back in :attr:`older` (the
        generation there dropped); the interned parts stay, so every packed state still
        decodes."""
        for name in GENERATIONAL:
            self.older[name] = getattr(self, name)
            setattr(self, name, {})
        for cache in self._step_caches():
            cache.clear()
        for renaming in self.renamings.values():  # (few: one per client permutation)
            renaming.age()
        self.canonical.clear()

    def entries(self) -> int:
        """Entries held in the kernel's tables now (interned parts and cached steps)."""
        return (len(self.contexts) + len(self.message_tuples) + len(self.budgets)
                + len(self.operations) + len(self.tails) + self.cached())


class _UpOnly:
    """A node as :meth:`spec.step.Edit.reachable` reads it in a :class:`_NodeRecorder`:
    its up flag alone (any other read raises ``AttributeError``: the read set would be
    wrong)."""

    __slots__ = ("up",)

    def __init__(self, up: bool) -> None:
        self.up = up


class _ReadNodes:
    """The nodes of a :class:`_NodeRecorder`: the source's, with the nodes written since;
    notes each node read (``read``: indices read whole before being written; ``ups``:
    those whose up flag alone was read, inside ``reachable``)."""

    __slots__ = ("nodes", "read", "upping", "ups", "written")

    def __init__(self, nodes: tuple[NodeState, ...]) -> None:
        self.nodes = nodes
        self.read: set[int] = set()
        self.ups: set[int] = set()
        self.upping = False
        self.written: dict[int, NodeState] = {}

    def __getitem__(self, i: int) -> Any:
        assert i.__class__ is int, f"the nodes read by {i!r}: not tracked"
        if i < 0:
            i += len(self.nodes)
        node = self.written.get(i)
        if node is not None:
            return node
        node = self.nodes[i]
        if self.upping and i not in self.read:
            self.ups.add(i)
            return _UpOnly(node.up)
        self.read.add(i)
        return node

    def __iter__(self) -> Iterator[Any]:
        return iter([self[i] for i in range(len(self.nodes))])

    def __len__(self) -> int:
        return len(self.nodes)


class _NodeRecorder(_Recorder):
    """The memo's recording edit (:class:`~model_check.spec_memo._Recorder`) that also
    notes which nodes a step reads (:class:`_ReadNodes`; :meth:`spec.step.Edit.reachable`
    run as the spec's with the nodes giving their up flags alone) and keeps the nodes it
    writes apart until :meth:`successor` (session 58: :meth:`Kernel._delivered`)."""

    __slots__ = ("tracked",)

    def __init__(self, state: State, plan: Plan) -> None:
        super().__init__(state, plan)
        self.tracked = _ReadNodes(state.nodes)
        self.nodes = self.tracked  # type: ignore[assignment]

    def set_node(self, name: str, node: NodeState) -> None:
        self.tracked.written[self.plan.index[name]] = node

    def reachable(self, a: str, b: str) -> bool:
        tracked = self.tracked
        tracked.upping = True
        try:
            return Edit.reachable(self, a, b)
        finally:
            tracked.upping = False

    def successor(self, position: int) -> State:
        written = self.tracked.written
        if written:
            changed = list(self.source.nodes)
            for i, node in written.items():
                changed[i] = node
            self.nodes = changed
            self.nodes_dirty = True
        else:
            self.nodes = self.source.nodes
        return super().successor(position)


class _Renaming:
    """One client renaming's tables (:meth:`Kernel.canonicalize`): ``perm`` (client ``i``
    -> client ``perm[i]``), and each context id and messages id renamed by it."""

    __slots__ = ("contexts", "messages", "older_contexts", "older_messages", "perm")

    def __init__(self, perm: tuple[int, ...]) -> None:
        self.perm = perm
        self.contexts: dict[int, int] = {}
        self.messages: dict[int, int] = {}
        #: the previous generation of each table (:meth:`age`, session 59)
        self.older_contexts: dict[int, int] = {}
        self.older_messages: dict[int, int] = {}

    def age(self) -> None:
        """Move the tables one generation back (dropping the generation there), as
        :meth:`Kernel.flush` does with :data:`GENERATIONAL`'s tables: a miss looks there
        before it builds a state and renames it (session 59)."""
        self.older_contexts, self.contexts = self.contexts, {}
        self.older_messages, self.messages = self.messages, {}


class KernelModel:
    """The spec's model (:class:`~model_check.spec_model.SpecModel`'s members) over
    packed states (:class:`Kernel`): what :func:`model_check.check.check` explores
    when :func:`covers` says so. Its states are :data:`Packed`; ``decode`` gives the
    spec's state (the properties read it)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.kernel = Kernel(config)
        self.successors = self.kernel.successors
        self.decode = self.kernel.decode
        self.canonicalize: Callable[[Packed], Packed] = (
            self.kernel.canonicalize if config.clients > 1 else _identity)
        """The packing of a state's symmetry representative (:meth:`Kernel.canonicalize`;
        the identity with one client)."""
        self.spec = SpecModel(config, memo=False)
        """The spec's model: it describes and narrates the decoded states."""

    is_fault = staticmethod(_spec.is_fault)
    fault_free = staticmethod(attrgetter("fault_free"))
    """``not is_fault(action)`` in C (as :class:`~model_check.spec_model.SpecModel`'s)."""

    def initial_states(self) -> tuple[Packed]:
        return (self.kernel.encode(_spec.initial_state(self.config)),)

    def describe(self, state: Packed) -> dict[str, JSON]:
        return self.spec.describe(self.decode(state))

    def narrate(self, before: Packed, action: Action, after: Packed) -> str:
        return self.spec.narrate(self.decode(before), action, self.decode(after))

    def narrate_initial(self, state: Packed) -> str:
        return self.spec.narrate_initial(self.decode(state))

    def action_to_json(self, action: Action) -> dict[str, JSON]:
        return action.to_json()

    def action_from_json(self, data: Mapping[str, JSON]) -> Action:
        return action_from_json(dict(data))

    def lift(self, predicate: Callable[[State], bool]) -> Callable[[Packed], bool]:
        """``predicate`` of the spec's state, asked of a packed state."""
        decode = self.decode
        return lambda packed: predicate(decode(packed))

    def lift_context(self, predicate: Callable[[State], bool]) -> Callable[[Packed], bool]:
        """``predicate`` (one that reads the context alone: no message in flight, no
        budget, e.g. :func:`~model_check.spec_memo.memo_predicate` of
        :data:`~model_check.spec_memo.WITNESS_PARTS`) asked of a packed state, its
        answer cached per context id (bounded by :data:`~model_check.spec_memo.LIMIT`)."""
        decode = self.decode
        cache: dict[int, bool] = {}
        get = cache.get

        def asked(packed: Packed) -> bool:
            answer = get(packed[0])
            if answer is None:
                if len(cache) >= LIMIT:
                    cache.clear()
                answer = cache[packed[0]] = predicate(decode(packed))
            return answer

        return asked

    def lift_step(self, step: Callable[[State, Action, State], bool]
                  ) -> Callable[[Packed, Action, Packed], bool]:
        """A step predicate of the spec's states, asked of packed states: each state is
        decoded only if the predicate reads more of it than its configuration (most read
        the action alone: :class:`_Decoded`)."""
        decode = self.decode
        config = self.config

        def asked(before: Packed, action: Action, after: Packed) -> bool:
            return step(_Decoded(decode, before, config), action,  # type: ignore[arg-type]
                        _Decoded(decode, after, config))  # type: ignore[arg-type]

        return asked


class _Decoded:
    """A packed state that decodes itself on its first read of a part other than its
    configuration (a step predicate's states)."""

    __slots__ = ("_decode", "_packed", "_state", "config")

    def __init__(self, decode: Callable[[Packed], State], packed: Packed, config: Config) -> None:
        self._decode = decode
        self._packed = packed
        self._state: State | None = None
        self.config = config

    def __getattr__(self, name: str) -> Any:
        if self._state is None:
            self._state = self._decode(self._packed)
        return getattr(self._state, name)


class PackedReduction:
    """A partial-order reduction of the spec's states (:mod:`model_check.por`'s
    :class:`~model_check.por.SpecReduction`, a
    :class:`~model_check.explorer.Reducer`) asked of packed states: ``applies`` is
    :func:`model_check.por.reducible`, the spec's own rule, of the messages tuple that
    the messages id names (no state decoded; session 57: one rule, not a restatement),
    ``ample`` the state and its successors decoded, so the same persistent sets are
    chosen as over the spec's states (session 55)."""

    def __init__(self, reduction: Reducer[State, Action], model: KernelModel) -> None:
        self.reduction = reduction
        self.decode = model.decode
        self.messages = model.kernel.message_tuples

    def applies(self, packed: Packed) -> bool:
        return reducible(self.messages[packed[1]][0])

    def ample(self, packed: Packed, steps: Sequence[tuple[Action, Packed]]
              ) -> int | Sequence[int] | None:
        decode = self.decode
        return self.reduction.ample(decode(packed), [(a, decode(s)) for a, s in steps])


def _identity(packed: Packed) -> Packed:
    return packed


def kernel_model(config: Config) -> KernelModel:
    """The packed-state model of ``config`` (check :func:`covers` first)."""
    return KernelModel(config)


class PackedScreen:
    """:class:`~model_check.spec_memo.PropertyScreen` over packed states: the
    properties of :data:`~model_check.spec_memo.SCREEN_PARTS` (they read the context
    alone) cached per context id; acked_writes_durable per (context id, the put ids
    in flight, cached per messages id); each answer computed once by the spec's
    screen on the decoded state. ``covers`` as the screen's."""

    def __init__(self, model: KernelModel, predicates: dict[str, Callable[[State], bool]]
                 ) -> None:
        self.decode = model.decode
        self.group = PropertyScreen({name: holds for name, holds in predicates.items()
                                     if name != _DURABLE})
        self.durable = PropertyScreen({name: holds for name, holds in predicates.items()
                                       if name == _DURABLE})
        self.covers = self.group.covers | self.durable.covers
        self.contexts: dict[int, bool] = {}
        self.flying: dict[int, frozenset[int]] = {}
        self.verdicts: dict[tuple[int, frozenset[int]], bool] = {}
        self.messages = model.kernel.message_tuples

    def __call__(self, packed: Packed) -> bool:
        c, m, _ = packed
        if self.group.covers:
            ok = self.contexts.get(c)
            if ok is None:
                if len(self.contexts) >= LIMIT:
                    self.contexts.clear()
                ok = self.contexts[c] = self.group(self.decode(packed))
            if not ok:
                return False
        if not self.durable.covers:
            return True
        flying = self.flying.get(m)
        if flying is None:
            if len(self.flying) >= LIMIT:
                self.flying.clear()
            flying = self.flying[m] = frozenset(_spec.in_flight_values(self.messages[m][0]))
        key = (c, flying)
        verdict = self.verdicts.get(key)
        if verdict is None:
            if len(self.verdicts) >= LIMIT:
                self.verdicts.clear()
            verdict = self.verdicts[key] = self.durable(self.decode(packed))
        return verdict


class PackedTransport:
    """A :class:`model_check.parallel.Transport` of packed states (session 61): a worker's
    packed ids are its own :class:`Kernel`'s, so a state crosses to its owner as its ids
    and, the first time each id crosses to that owner, the part itself (a context, a
    messages tuple and its hash, a budget); the owner interns each part once and keeps,
    per sender, the sender's id -> its own id. So a part is pickled once per pair of
    workers, not once per state (on 20,000 states of
    sloppy-two-keys-drop-partition, unpickling the parts of every state cost about 20 us a
    state). The states' fingerprints are their state hashes
    (:func:`spec.state.state_hash`, :meth:`fingerprint`), the same in every worker."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        #: per owner, the ids (context, messages, budget) already sent there
        self.sent: dict[int, tuple[set[int], set[int], set[int]]] = {}
        #: per sender, its ids -> this kernel's (context, messages, budget)
        self.aliases: dict[int, tuple[dict[int, int], dict[int, int], dict[int, int]]] = {}
        #: context id -> :meth:`partition`'s hash
        self.owners: dict[int, int] = {}

    def fingerprint(self, packed: Packed) -> int:
        """The hash of ``packed``'s state (``hash(kernel.decode(packed))``, without
        building it): the same in every process forked with one hash secret."""
        return self.kernel._state_hash(packed)

    def partition(self, packed: Packed) -> int:
        """Which worker owns ``packed`` (modulo their number): the hash of its context's
        nodes, clients and puts hashes, the same in every worker, so the states of a
        context are expanded by one worker and the steps cached per context are computed
        by it alone (the fingerprint's owner spread them over every worker)."""
        c = packed[0]
        owner = self.owners.get(c)
        if owner is None:
            owner = self.owners[c] = hash(self.kernel.contexts[c][12])
        return owner

    def export(self, owner: int, states: list[tuple[int, Packed]]) -> tuple[Any, ...]:
        """``states`` for worker ``owner``: ``(rows, contexts, messages, budgets)``, the
        ``(fp, c, m, u)`` of each state flat and the parts not sent there before."""
        sent_c, sent_m, sent_u = self.sent.setdefault(owner, (set(), set(), set()))
        k = self.kernel
        rows: list[int] = []
        contexts: list[tuple[int, tuple[Any, ...]]] = []
        messages: list[tuple[int, tuple[tuple[Message, ...], int]]] = []
        budgets: list[tuple[int, tuple[int, ...]]] = []
        for fp, (c, m, u) in states:
            if c not in sent_c:
                sent_c.add(c)
                contexts.append((c, k.contexts[c]))
            if m not in sent_m:
                sent_m.add(m)
                messages.append((m, k.message_tuples[m]))
            if u not in sent_u:
                sent_u.add(u)
                budgets.append((u, k.budgets[u]))
            rows += (fp, c, m, u)
        return rows, contexts, messages, budgets

    def adopt(self, sender: int, shipped: tuple[Any, ...]) -> list[tuple[int, Packed]]:
        """What :meth:`export` of worker ``sender`` sent here, as ``(fp, packed)`` pairs of
        this kernel. Raises ``KeyError`` for an id whose part was never sent."""
        rows, contexts, messages, budgets = shipped
        to_c, to_m, to_u = self.aliases.setdefault(sender, ({}, {}, {}))
        k = self.kernel
        for c, context in contexts:
            key = (*context[12], *context[3:12], context[13])  # Kernel.context_of's
            own = k.context_ids.get(key)
            if own is None:
                own = k.context_ids[key] = len(k.contexts)
                k.contexts.append(context)
            to_c[c] = own
        for m, (tup, hm) in messages:
            to_m[m] = k.messages_of(tup, hm)
        for u, used in budgets:
            to_u[u] = k.budget_of(used)
        return [(rows[i], (to_c[rows[i + 1]], to_m[rows[i + 2]], to_u[rows[i + 3]]))
                for i in range(0, len(rows), 4)]
