"""The lockstep's state: the abstraction of the implementation, and what is enabled.

(About 980 lines, over the project's 600, on purpose: the abstraction function
and the enabling conditions read the same bookkeeping and must be read together;
the steps and the checks are in :mod:`model_check.refinement`. Deletes added the
tombstone abstraction and the reap conditions, about 140 lines; membership
change the transfer abstraction and the change's enabled steps, about 90;
session 10's quiescence candidates, deadlines and hand-ons, about 90.)

Theory of operation
-------------------
:class:`LockstepState` holds both sides of the lockstep refinement
(:mod:`model_check.refinement`): the simulated implementation cluster, the
frontier of spec states consistent with what was seen, the harness's client
histories, and the bookkeeping that maps implementation operations and messages
to spec requests and messages. It observes the implementation only through
public surfaces (the simulator's step API, the storage engines, each node's
``snapshot()``) and acts on it only through each node's public inputs
(``set_suspected``, ``fire``). It answers two questions: what the
implementation's state is, seen as a spec state (the abstraction function), and
which steps the spec allows next (the enabling conditions the steps check).

Abstraction function (:meth:`Lockstep.abstract`), impl -> spec:

- node ``x``: up iff the simulator has it up; its store of key ``k`` is the
  record in ``x``'s storage engine, each value mapped back to its put id
  (vector-clock and lww modes: the sorted tuple of put ids; dvv: the DVVSet with
  put ids as values); its hints are its hint store as a *set* of
  (intended node, key, payload);
- messages: every impl message in flight maps to the spec message of the same
  kind, endpoints, key and payload (``ReplicaPut``->``replica-put`` with its hint,
  ``ReplicaPutAck``->``replica-put-ack``, ``ReplicaGet``->``replica-get``,
  ``ReplicaGetReply``->``replica-get-reply``, ``ReadRepair``->``read-repair``,
  ``HintDelivery``->``hint-delivery``, ``HintAck``->``hint-ack`` with the key and
  payload of the hint it acknowledges); the request id is the spec's id of the client
  request the coordinator's operation serves. Acks, reads and read responses of
  an operation that is no longer live at its coordinator are *dead* (they
  change nothing when delivered) and map to nothing, as the spec purges them.
  Gossip and anti-entropy traffic maps to nothing. With ``[membership]`` (a
  strict quorum: no fallback hints) every hint is a range transfer not sent yet and
  is hidden, a ``HintDelivery`` is the ``range-transfer`` of its key and record,
  its ``HintAck`` nothing, and a spec range transfer of an empty range is not
  compared (:func:`is_empty_transfer`);
- clients: the acknowledged puts and the completed gets (request, key, the put
  ids returned) seen by the harness, which is the implementation's client;
- the partition: the simulator's cut links (the side holding the first node);
- the put table: every version the implementation holds must carry the clock
  the spec gave that put (vector-clock modes), or the same lww timestamp (in
  ticks of ``LWW_TICK_S``, with its coordinator);
- actors: each node's implementation actor ids (``n~<hex>`` with actor epochs,
  from its storage's meta table), in order of appearance, are the spec's ``n``,
  ``n~1``, ``n~2``... (``State.actor``), and the key actors a reap begins
  (``<lifetime actor>.<e>``, from the storage's key epoch table) are the spec's
  ``n~<lifetime>.<e>``; DVVSet and server-vclock entries are renamed before
  comparing;
- tombstones (deletes): every tombstone has the same value
  (:data:`impl.versions.TOMBSTONE`), so a tombstone maps to the put id of the
  delete that wrote it by its *identity*: its dot (dvv), its clock (vector-clock
  modes) or its stamp and writer (lww), actors renamed as above, which the
  harness learns from the spec's ``ClientDelete`` successor when it issues the
  delete (:attr:`tombstones`); a get's answer (the implementation's client sees
  the live values only) is compared with the spec's returned put ids less the
  tombstones.
"""


from __future__ import annotations

import functools
import json
import operator
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from impl.cluster import SimulatedCluster
from impl.messages import Gossip as GossipMessage
from impl.messages import (
    HintAck,
    HintDelivery,
    ReadRepair,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutAck,
    ReplicaPutFailed,
)
from impl.node import Node
from impl.simulator import InFlight, Pending
from impl.snapshot import CoordinationSnapshot
from impl.storage.base import Hint
from impl.timers import GossipRound, ReapTombstone, Timer
from impl.versions import (
    ACTOR_META,
    LWW_TICK_S,
    TOMBSTONE,
    ClockMode,
    Record,
    Sibling,
    decode_record,
    is_tombstone_only,
    read_key_epochs,
)
from model_check.spec_memo import MemoSuccessors, memo_available
from spec import clocks, dvv
from spec import model as spec_model
from spec.actions import (
    Action,
    AntiEntropy,
    Backup,
    ClientDelete,
    ClientGet,
    ClientPut,
    ClientTimeout,
    ForceRemove,
    Gossip,
    Handover,
    Join,
    Leave,
    Settle,
    Timeout,
    Transfer,
)
from spec.clocks import Payload, payload_key
from spec.clocks import values as clocks_values
from spec.config import Config
from spec.errors import ConfigError, InvalidValueError
from spec.membership import (
    announcer,
    current_top,
    exchange_candidates,
    exchanges,
    serving_top,
)
from spec.retired import known_by, lifetime_of
from spec.state import Kind, Message, State, actor_id, new_message
from spec.step import plan_of, tombstone_ids
from spec.vclock import VClock

__all__ = [
    "INTRODUCTIONS",
    "Abstract",
    "AnswerSent",
    "AskSent",
    "HarnessClient",
    "HarnessRequest",
    "LockstepState",
    "apply_actions",
    "clear_spec_steps",
    "cluster_for",
    "difference",
    "forget_a_changed_spec",
    "guarded",
    "is_empty_transfer",
    "project",
    "put_id_of_value",
    "rebuilds",
    "set_aside_possible",
    "spec_converges_from",
    "spec_steps",
    "value_of",
    "with_idle_clients",
]

INFINITY = float("inf")

#: the spec's steps a run takes only when someone asks: a client's request, a
#: membership change an operator begins, a backup. Quiescence
#: (:meth:`model_check.refinement.Lockstep.quiesce`) takes none of them, and
#: :meth:`LockstepState.spec_can_converge` leaves them out
NEW_INPUTS: tuple[type[Action], ...] = (ClientPut, ClientGet, ClientDelete, Join, Leave,
                                        ForceRemove, Backup)

#: the spec states :meth:`LockstepState.spec_can_converge` explores at most
CONVERGENCE_SEARCH_LIMIT = 20_000


def _decoder() -> Callable[[bytes, ClockMode], Record]:
    """:func:`impl.records.decode_record`, its results kept per (bytes, mode) for
    :meth:`LockstepState.abstract_record` (pure speed, session 19: a lockstep abstracts
    every node's record of every key after every step, mostly the same bytes; in a
    trace-membership sweep 19,436 decodes, 12% of the test's CPU under cProfile). A
    :class:`~impl.records.Record` is immutable, so the same bytes give an equal
    record, shared; a malformed record raises each time (an error is not kept).
    Under mutmut (``MUTANT_UNDER_TEST`` set, ``make mutation``) every call decodes:
    a mutant of the decoder must not be answered from a clean run's results."""
    if "MUTANT_UNDER_TEST" in os.environ:
        return decode_record
    return functools.lru_cache(maxsize=16_384)(decode_record)


_decoded = _decoder()
#: whether the lockstep keeps what it computed (:func:`spec_steps`, the payloads of
#: :meth:`LockstepState.abstract_record`, the memoised successors of
#: :func:`spec_converges_from`): not under mutmut (``MUTANT_UNDER_TEST``), as
#: :func:`_decoder`
_KEEP = "MUTANT_UNDER_TEST" not in os.environ


def value_of(put_id: int) -> bytes:
    """The value the put with spec id ``put_id`` writes."""
    return b"v%06d" % put_id


def put_id_of_value(value: bytes) -> int:
    """The spec put id of a value written by the harness."""
    if len(value) != 7 or not value.startswith(b"v"):
        raise InvalidValueError(f"value {value!r} was not written by the refinement harness")
    return int(value[1:])


def unmapped_features(config: Config, *, traces: bool = False) -> tuple[str, ...]:
    """The configuration keys of ``config`` the lockstep cannot map onto the
    implementation yet (the spec has them, the abstraction function does not;
    docs/refinement.md says what each needs). Empty: the configuration is refined
    step by step. ``traces``: a given trace is replayed (no feature differs since
    session 24, when force-remove with anti-entropy became mapped on a whole graph:
    docs/refinement.md, "Force-remove with anti-entropy (session 24)")."""
    del traces  # the same features for a trace and a whole graph (see above)
    unmapped: list[str] = []
    if config.restores and config.restore_actor == "new" and not config.actor_per_start:
        unmapped.append('features.restore_actor = "new" without actor_per_start (the '
                        "implementation gives a restored node a new actor only by giving "
                        "every start one: actor_per_start = true)")
    if config.restores and (config.joining or config.joins or config.leaves):
        unmapped.append("faults.restores with [membership] (the implementation keeps a "
                        "node's membership view and handover state on its disk, so a "
                        "restored disk rolls them back; the spec's Restore keeps them)")
    if config.clock == "client-vclock" and config.client_vclock_entry == "client":
        unmapped.append('features.client_vclock_entry = "client" (the implementation mints '
                        "under the (coordinator actor, client) entry since session 23: "
                        "the old rule is the spec's, to state its fault)")
    if config.prune_retired >= 0 and config.prune_knowledge == "naive":
        unmapped.append('features.prune_knowledge = "naive" (the broken twin: a node counts '
                        "its own live lifetime as retired; the implementation never does "
                        "(RetiredActors.prune passes its live actor as live, and a "
                        "retirement naming it is never taken), so the twin has no "
                        "implementation to compare; session 34, docs/refinement.md)")
    if rebuilds(config) and (config.restores or config.storage == "buffered"):
        unmapped.append("features.rebuild with disk losses and restores or buffered "
                        "storage (the spec keeps a restored or buffered-crashed store's "
                        "copies counted; the implementation's restore guard sets a store "
                        "restored behind a start its peers heard aside, emptied under a "
                        "new actor, and rebuilds it: spec/rebuild.py, not stated; "
                        "docs/refinement.md, \"Restores with the rebuild in the lockstep "
                        "(session 61)\")")
    if config.write_failures and (config.failed_write_acks or not config.failed_write_kept):
        unmapped.append("features.failed_write_acks or failed_write_kept = false (the broken "
                        "twins of the failing disk: the implementation counts a refused "
                        "write as a failure and keeps a coordinator's refused record, so "
                        "the twins have no implementation to compare; session 51)")
    return tuple(unmapped)


INTRODUCTIONS = 20
"""Gossip rounds :meth:`LockstepState.introduce` takes at most."""


def rebuilds(config: Config) -> bool:
    """Whether the spec's replaced disk rebuilds in ``config`` (``features.rebuild`` with
    disk losses and anti-entropy, no membership change: :func:`spec.rebuild.rebuilds`):
    the lockstep runs the implementation with its restore guard then, the part of it that
    tells a replaced disk it is one (session 56; :meth:`LockstepState.introduce`)."""
    return bool(config.rebuild and config.disk_losses and config.anti_entropy
                and spec_model.initial_state(config).membership is None)


def guarded(config: Config) -> bool:
    """Whether the lockstep runs the implementation with its restore guard
    (``restore_guard``, :mod:`impl.restore_guard`, on by default in the implementation):
    where the spec rebuilds (:func:`rebuilds`), and, since session 61, where a node is
    restored from a backup with ``features.rebuild`` on, anti-entropy and no membership
    change (the implementation's restore as it ships; before, the lockstep compared the
    spec's restore with an implementation whose guard was off), unless the guard may
    set the restored store aside there (:func:`set_aside_possible`): the spec does not
    state that, and those configurations run with the guard off, as before."""
    return rebuilds(config) or bool(
        config.rebuild and config.restores and config.anti_entropy
        and spec_model.initial_state(config).membership is None
        and not set_aside_possible(config))


def set_aside_possible(config: Config) -> bool:
    """Whether the implementation's restore guard may set a restored store of
    ``config`` aside (``Node._set_aside``): its peers may have heard a later generation
    of the node than its backup's, from a restart between the two (a crash, a buffered
    crash, a disk loss, the recovery after an earlier restore) or from a reap it took
    part in (``impl.restore_guard.advance``: delete_mode "safe" or "immediate" with
    deletes). Without any, the backup's start is the one the peers heard, the restored
    store's next start counts above it, and nothing is set aside."""
    return bool(config.crashes or config.disk_losses or config.restores > 1
                or config.storage == "buffered"
                or (config.deletes_per_client and config.delete_mode != "keep"))


def cluster_for(config: Config, *, seed: int = 0, traces: bool = False) -> SimulatedCluster:
    """A simulated cluster with the spec configuration's nodes, ring, N/R/W, clock
    mode and features; timeouts are huge because the harness fires them. Raises
    ConfigError for a configuration with :func:`unmapped_features` (``traces``: as
    there)."""
    unmapped = unmapped_features(config, traces=traces)
    if unmapped:
        raise ConfigError(f"configuration {config.name!r}: the lockstep does not map "
                          f"{'; '.join(unmapped)} onto the implementation yet")
    cluster = SimulatedCluster(
        list(config.nodes), config.n, config.r, config.w, seed=seed, clock=config.clock,
        sloppy_quorum=config.sloppy_quorum, hinted_handoff=config.hinted_handoff,
        read_repair=config.read_repair,
        read_repair_fallbacks=config.read_repair_fallbacks,  # session 27's feature
        hinted_reads=config.hinted_reads,  # session 49: spec.replica.served
        anti_entropy=config.anti_entropy, partitioning="evenly-spaced", request_timeout=1e6,
        # session 39's primary quorums: mapped since its review (the spec's failure
        # of a request short of its primaries is the harness's deadline, as short
        # of R or W; docs/refinement.md, "Primary quorums mapped (session 39)")
        pr=config.pr, pw=config.pw, replica_timeout=1e5,
        suspicion_timeout=1e7, gossip_interval=1e5, hint_scan_interval=1e5,
        anti_entropy_interval=1e5, client_timeout=1e7,
        # issue 10's features: the same actor rule and lww rule; the buffered engine
        # never flushes by itself (the harness fires its Flush timer before a plain
        # crash; a BufferedCrash finds nothing flushed); the spec's truncation is the
        # paper's per-put rule past vclock_threshold pairs; the spec's durable Recover
        # keeps the node's lifetime actor unless features.actor_per_start, the
        # implementation's rule of that name (docs/refinement.md, "Restore from a backup")
        actor_epochs=config.actor_epochs, actor_per_start=config.actor_per_start,
        # the spec's Restore has no guard (docs/runtime.md); with the spec's rebuild
        # (session 56) the guard is what tells a replaced disk it is one; with restores
        # and the rebuild (session 61) it runs as the implementation ships it
        restore_guard=guarded(config),
        lww_timestamps=config.lww_timestamps,
        fsync="buffered" if config.storage == "buffered" else "always", flush_interval=1e6,
        vclock_truncation="put" if config.vclock_threshold else "record",
        vclock_threshold=config.vclock_threshold or 10,
        delete_mode=config.delete_mode, tombstone_grace_s=1e5,  # the harness fires reaps
        reap_checks=False,  # the spec's reap is decided by a delete or a get (docs/runtime.md)
        # session 34: the spec's count of retired lifetimes kept, not the byte budget
        # (the harness tells each node the retirements it knows: LockstepState._oracle)
        retired_keep=max(config.prune_retired, -1),
        # session 52: a coordinator's refused own write (the spec's FailedPut) still
        # sends its ReplicaPuts, as the runtime's group commit does (impl.staging)
        early_replica_puts=True,
        **_membership_options(config),
    )
    for key in config.keys:
        for name in config.nodes:
            impl_pref = cluster.node(name).preference_list(key.encode())
            if tuple(impl_pref) != config.preference_list(key):
                raise AssertionError(
                    f"preference list of {key!r} differs: impl {impl_pref} vs spec "
                    f"{config.preference_list(key)}")
    return cluster


def _membership_options(config: Config) -> dict[str, Any]:
    """The cluster options of a configuration with ``[membership]`` budgets: its
    handover, and with ``joining`` the spec's ring layout (every node of
    ``all_nodes`` has its slot)."""
    if not config.membership:
        return {}
    slots = {"ring_slots": config.all_nodes} if config.joining else {}
    return {**slots, "join_handover": config.join_handover}


# ---------------------------------------------------------------------------- abstraction


@dataclass(frozen=True, slots=True)
class Abstract:
    """The part of a spec state the implementation is compared on."""

    nodes: tuple[tuple[bool, tuple[Payload, ...], tuple[tuple[str, str, Payload], ...]], ...]
    messages: tuple[Message, ...]
    clients: tuple[tuple[tuple[int, ...], tuple[tuple[int, str, tuple[int, ...]], ...]], ...]
    side: frozenset[str]
    #: (session 52) the records a coordinator keeps of its refused own writes,
    #: ``(node, key, payload)`` sorted: the spec's ``State.unpersisted``, the
    #: implementation's :meth:`impl.node.Node.unpersisted` of each up node
    unpersisted: tuple[tuple[str, str, Payload], ...] = ()

    def readable(self, config: Config) -> dict[str, object]:
        kept = ({"unpersisted": [f"{n} {k} {_text(p)}" for n, k, p in self.unpersisted]}
                if config.write_failures else {})
        return {**kept,
            "nodes": {
                name: {"up": up,
                       "store": {k: _text(p) for k, p in zip(config.keys, store, strict=True)},
                       "hints": [f"{k} {_text(p)} for {i}" for i, k, p in hints]}
                for name, (up, store, hints) in zip(config.all_nodes, self.nodes, strict=True)
            },
            "messages": [_message_text(m) for m in self.messages],
            "clients": {
                name: {"acked": [f"v{v}" for v in acked],
                       "gets": [f"#{r} {k} -> {[f'v{v}' for v in ret]}" for r, k, ret in gets]}
                for name, (acked, gets) in zip(config.client_names, self.clients, strict=True)
            },
            "partition": sorted(self.side) or None,
        }


def _text(payload: Payload) -> str:
    from spec.clocks import values as payload_values

    return "{" + ", ".join(f"v{v}" for v in payload_values(payload)) + "}"


def _message_text(m: Message) -> str:
    extra = f" {_text(m.payload)}" if m.payload is not None else ""
    hint = f" intended={m.intended}" if m.intended else ""
    return f"{m.kind.value} {m.src}->{m.dst} #{m.request} {m.key}{extra}{hint}"


def _message_sort(m: Message) -> tuple[object, ...]:
    return m.order


def project(state: State) -> Abstract:
    """The compared part of a spec state."""
    nodes = tuple(
        (n.up, n.store, tuple(sorted(((h.intended, h.key, h.payload) for h in n.hints),
                                     key=lambda t: (t[0], t[1], payload_key(t[2])))))
        for n in state.nodes
    )
    tombstones = tombstone_ids(state.config)  # a get answers the live values only
    clients = tuple(
        (tuple(sorted(c.acked)), tuple((g.request, g.key,
                                        tuple(sorted(p for p in g.returned
                                                     if p not in tombstones)))
                                       for g in c.gets))
        for c in state.clients
    )
    messages = tuple(m for m in state.messages if not is_empty_transfer(m))
    return Abstract(nodes, tuple(sorted(messages, key=_message_sort)), clients, state.side,
                    _kept_sorted(state.unpersisted))


def _kept_sorted(kept: Iterable[tuple[str, str, Payload]]
                 ) -> tuple[tuple[str, str, Payload], ...]:
    """The refused writes' records kept (``State.unpersisted``), in one order."""
    return tuple(sorted(kept, key=lambda t: (t[0], t[1], payload_key(t[2]))))


def is_empty_transfer(m: Message) -> bool:
    """A spec range transfer of a range its sender held nothing of: the implementation
    sends nothing (its hint scan finds no hint for the new owner), so it is not
    compared (its delivery is :meth:`model_check.refinement.Lockstep.deliver_empty`)."""
    return (m.kind is Kind.RANGE_TRANSFER and m.payload is not None
            and not clocks_values(m.payload))


# ---------------------------------------------------------------------------- lockstep


@dataclass(slots=True)
class HarnessRequest:
    client: str
    spec_id: int
    key: str
    is_put: bool
    handle: Pending
    done: bool = False


@dataclass(slots=True)
class HarnessClient:
    acked: list[int] = field(default_factory=list)
    gets: list[tuple[int, str, tuple[int, ...]]] = field(default_factory=list)
    last_get: tuple[str, bytes] | None = None
    #: (session 61, ``workload.chain_puts``) ``()``, or after an acknowledged put's
    #: answer, with a write left, a 1-tuple of the last get it replaced: the spec's
    #: ``LastGet.before``, put back by :meth:`model_check.refinement.Lockstep.unheard`
    unheard: tuple[tuple[str, bytes] | None, ...] = ()
    #: the client-vclock counter the client sends: its writes so far, or since its
    #: last restart with ``workload.forgetful_clients`` (session 24)
    counter: int = 0
    puts_issued: int = 0
    gets_issued: int = 0
    busy: bool = False


@dataclass(frozen=True, slots=True)
class AskSent:
    """A one-way ask as the spec saw it sent (session 37): the message (kept, so
    that its ``id`` is not reused), the asker, the node asked, the key, the asker's
    copy merged with the one-way record, unpruned (the spec's: the ask's record;
    session 40) and the retirements it knew then."""

    message: object
    asker: str
    asked: str
    key: str
    record: Payload
    knew: frozenset[tuple[str, int]]
    #: the retirements the ask names (session 38): those of ``knew`` that minted an
    #: entry of ``record`` or of the one-way record it was merged from
    #: (``impl.retired.RetiredActors.carried``)
    carried: frozenset[tuple[str, int]] = frozenset()
    #: the asker's copy when it asked (session 40: ``record`` is its union with the
    #: one-way record; None: ``record`` itself), by which a fresh ask is told
    #: (``model_check.refinement_ask.round_allowed``)
    copy: Payload | None = None


@dataclass(frozen=True, slots=True)
class AnswerSent:
    """The answer to a one-way ask delivered alone (session 38: a half exchange,
    :meth:`model_check.refinement.Lockstep.deliver_ask`) as the spec saw it sent: the
    message (kept, so that its ``id`` is not reused), the asker (its destination),
    the node asked (its sender), the key, its record (the spec's merge of the asked
    node's copy and the ask's record, unpruned: the implementation sends the union)
    and the retirements it names (what the asked node knew then of the lifetimes of
    the entries of its copy and of the ask's record)."""

    message: object
    asker: str
    asked: str
    key: str
    record: Payload
    carried: frozenset[tuple[str, int]]


#: the spec's steps from each state the lockstep asked about lately (see
#: :func:`spec_steps`), for the configuration object :data:`_STEPS_CONFIG` holds
_STEPS: dict[State, tuple[tuple[Action, State], ...]] = {}
_STEPS_CONFIG: list[object] = [None, None]
#: the states :data:`_STEPS` holds at most (emptied when full)
STEPS_LIMIT = 20_000


def spec_steps(state: State) -> tuple[tuple[Action, State], ...]:
    """``tuple(spec.model.successors(state))``, computed once per state while the
    same configuration object and the same ``spec.model.successors`` are in use (the
    spec is pure, its states canonical: equal states have the same steps; a state's
    ``config`` is not compared, hence the configuration held). The lockstep asks
    for the steps of each frontier state many times a step (the mapped actions, the
    stutters, the clients' timeouts, the steps enabled everywhere): session 43 counted
    20,230 calls for 4,639 states in tests/refinement/test_lockstep.py, one Lockstep
    at a time. Emptied by a new :class:`LockstepState` when the spec changed since
    the steps were kept (:func:`forget_a_changed_spec`: a spec patched between two
    runs, a mutant, is asked afresh; until session 45 by every new one, so each
    conformance pass and each replayed edge asked again) and past
    :data:`STEPS_LIMIT` states; never kept under mutmut (:data:`_KEEP`)."""
    if not _KEEP:
        return tuple(spec_model.successors(state))
    config, function = _STEPS_CONFIG
    if config is not state.config or function is not spec_model.successors:
        clear_spec_steps()
        _STEPS_CONFIG[:] = [state.config, spec_model.successors]
    found = _STEPS.get(state)
    if found is None:
        if len(_STEPS) >= STEPS_LIMIT:
            _STEPS.clear()
        found = _STEPS[state] = tuple(spec_model.successors(state))
    return found


def clear_spec_steps() -> None:
    """Forget every state's steps :func:`spec_steps` keeps."""
    _STEPS.clear()
    _STEPS_CONFIG[:] = [None, None]


#: the spec's objects (:func:`_spec_objects`) when :data:`_STEPS` began to be kept
#: (held, so that no object of them is freed and its id reused)
_STEPS_SPEC: list[tuple[object, ...]] = [()]


def _spec_objects() -> tuple[object, ...]:
    """Every value of every loaded module of the ``spec`` package, and of every class
    such a module defines, in order: what a patch of the spec (``monkeypatch.setattr``
    of a module's function or constant, or of a class's method) replaces. About 3,000
    objects, 0.1-0.2 ms."""
    found: list[object] = []
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "spec" or name.startswith("spec.")):
            continue
        values = list(vars(module).values())
        found.append(name)
        found.extend(values)
        for value in values:
            if isinstance(value, type) and value.__module__ == name:
                found.extend(vars(value).values())
    return tuple(found)


def forget_a_changed_spec() -> None:
    """Forget every state's steps :func:`spec_steps` keeps if an object of the spec
    (:func:`_spec_objects`, compared by identity) is not the one it was when they
    began to be kept: a spec patched between two lockstep runs (a mutant, or its
    removal) is asked afresh; an unchanged spec keeps them from one run to the next
    (session 45: a conformance run's detour passes, each from a new lockstep, and
    its replayed edges ask for the same states' steps again)."""
    now = _spec_objects()
    kept = _STEPS_SPEC[0]
    if len(now) != len(kept) or not all(map(operator.is_, now, kept)):
        clear_spec_steps()
        _STEPS_SPEC[0] = now


class LockstepState:
    """The lockstep's two sides, the abstraction, and the enabling conditions (see the
    module docstring); :class:`model_check.refinement.Lockstep` adds the steps."""

    #: whether the harness maps forwarded requests (``workload.coordinator = "any"``):
    #: trace validation's does (:mod:`model_check.trace_forwarding`, session 53)
    maps_forwards = False
    def __init__(self, config: Config, *, seed: int = 0, traces: bool = False,
                 asks_at_once: bool = True) -> None:
        if config.coordinator == "any" and not self.maps_forwards:
            raise ConfigError("the lockstep maps workload.coordinator = 'top-n' or 'first' "
                             "only (forwarding is not mapped)")
        self.config = config
        forget_a_changed_spec()  # (a spec patched since the last run is asked afresh)
        self.mode = ClockMode(config.clock)
        self.cluster = cluster_for(config, seed=seed, traces=traces)
        self.sim = self.cluster.sim
        self.frontier: list[State] = [spec_model.initial_state(config)]
        self.clients: dict[str, HarnessClient] = {c: HarnessClient() for c in config.client_names}
        self.requests: dict[int, HarnessRequest] = {}  # impl request id -> request
        self.ops: dict[tuple[str, int], int] = {}  # (coordinator, op id) -> spec request
        #: (node, hint id) -> the key and payload of the hint it holds (or last held)
        #: under that id, and the hint's raw record: a replaced disk numbers its hints
        #: from the start again, so an id held with another record is another hint
        self.hint_payloads: dict[tuple[str, int], tuple[str, Payload]] = {}
        self.hint_records: dict[tuple[str, int], bytes] = {}
        #: impl message id of a ``HintAck`` -> the key and payload of the hint it
        #: acknowledged when first seen in flight (disk seed 276, session 34)
        self.ack_payloads: dict[int, tuple[str, Payload]] = {}
        self.clocks: dict[int, VClock | tuple[float, str]] = {}
        self.dead: set[int] = set()  # impl message ids the spec purged
        #: a tombstone's identity (dot, clock, or stamp and writer) -> the delete's put id
        self.tombstones: dict[object, int] = {}
        #: :meth:`abstract_record`'s payloads by record bytes, and the sizes of
        #: :attr:`actor_names` and :attr:`tombstones` they were computed under
        self._records: dict[bytes, tuple[Payload, tuple[tuple[int, Any], ...]]] = {}
        self._records_names: tuple[int, int] | None = None
        self.steps = 0
        self.history: list[str] = []
        #: a step diverged (the run is over: nothing more is checked)
        self.failed = False
        #: per node, the implementation actors of its storage lifetimes in order of
        #: appearance, and each one's spec name (``n``, then ``n~1``, ``n~2``...)
        self.lifetimes: dict[str, list[str]] = {name: [] for name in config.all_nodes}
        self.actor_names: dict[str, str] = {}
        #: buffered nodes whose engine the harness flushed (before a plain crash): a
        #: BufferedCrash of one would keep that, where the spec loses everything
        self.flushed: set[str] = set()
        #: the side of the partition the harness made (the spec's ``State.side``): it
        #: may name a joining node that is not present yet
        self.cut_side: frozenset[str] = frozenset()
        #: per node, the copy of its storage engine a ``Backup`` took
        self.disk_backups: dict[str, Any] = {}
        #: with ``prune_knowledge = "learnt"``, the spec's ``State.known`` the harness
        #: tells while a step that teaches is under way (an anti-entropy exchange: the
        #: spec's exchange teaches before it merges), else None: the frontier's
        self.teaching: frozenset[tuple[str, str, int]] | None = None
        #: with ``prune_knowledge = "learnt"``, whether a one-way ask (a replica's
        #: merge of a ReplicaPut or a HintDelivery that kept an entry its sender
        #: pruned: ``impl.antientropy.AntiEntropy.ask_pruned``) and its answer are
        #: delivered within the step that sent it (session 36: the lockstep's walks,
        #: so that nothing moves the two copies in between); False: the ask is left
        #: in flight (the exhaustive conformance and the replay of a spec trace, whose
        #: every step must reach the spec's own successor); only its sending is
        #: checked then
        self.asks_at_once = asks_at_once
        #: (node, key) -> the node object (of that node's present start) that sent a
        #: one-way ask of the key in a step of this lockstep: the only ask a later
        #: hold of the key at that node (``one-way-pruned-asks-held``) may stand on
        #: (session 36's review: the harness took the node's own counter for it)
        self.asked: dict[tuple[str, str], object] = {}
        #: (node, key) -> the node's time of that ask (session 37: a hold stands on
        #: it only within the node's ``request_timeout``, the window the
        #: implementation holds a second ask for)
        self.asked_at: dict[tuple[str, str], float] = {}
        #: ``id`` of a one-way ask's message (its copies share it) -> the ask as the
        #: spec saw it sent (:class:`AskSent`; session 37: an ask left in flight may
        #: be delivered only where its round is a spec step,
        #: :func:`model_check.refinement_ask.round_allowed`)
        self.asks_sent: dict[int, AskSent] = {}
        #: ``id`` of the answer's message to an ask delivered alone (its copies share
        #: it) -> the answer as the spec saw it sent (:class:`AnswerSent`; session 38:
        #: it is delivered only where :func:`model_check.refinement_ask.answer_actions`
        #: maps it to spec steps)
        self.answers_sent: dict[int, AnswerSent] = {}
        self._note_actors()
        if self.cluster.config.restore_guard:  # (session 56: the spec's rebuild)
            self.introduce()

    def introduce(self) -> None:
        """Before the first step, with the restore guard (the spec's rebuild:
        :func:`rebuilds`): a gossip round at every node, every gossip delivered, until
        each node has heard every other's store start (at most :data:`INTRODUCTIONS`
        rounds, else AssertionError). A replaced disk is told it is one only by a peer
        that heard its store's start (:mod:`impl.rebuild`, ``Node._set_aside``), and
        the lockstep's cluster gossips only when told (session 56: without this no peer
        had heard n1's start when its disk was lost, and it counted its own write).
        No replica, hint or request moves: a stutter before the spec's initial state."""
        names = self.config.nodes
        for _ in range(INTRODUCTIONS):
            heard = [self._node(name).guard for name in names]
            if all(guard is not None and set(guard.heard) >= set(names) - {name}
                   for name, guard in zip(names, heard, strict=True)):
                return
            for name in names:
                self._fire(name, GossipRound())
            while gossip := [m.id for m in self.sim.in_flight()
                             if isinstance(m.message, GossipMessage)]:
                self.sim.deliver(gossip[0])
        raise AssertionError(f"{INTRODUCTIONS} gossip rounds did not tell every node of "
                             f"{', '.join(names)} every other's store start")

    @property
    def state(self) -> State:
        """One spec state of the frontier (the first)."""
        return self.frontier[0]

    @property
    def present(self) -> tuple[str, ...]:
        """The nodes the simulated cluster has (a node of ``[membership] joining``
        only once it joined)."""
        return tuple(n for n in self.config.all_nodes if n in self.cluster.storages)

    def up(self, node: str) -> bool:
        return not self.sim.is_down(node)

    def reachable(self, a: str, b: str) -> bool:
        return (self.up(a) and self.up(b) and not self.sim.is_cut(a, b))

    def budget_left(self, index: int) -> bool:
        """Budget left in every frontier state for fault ``index`` (drops, duplicates,
        crashes, partitions, disk losses)."""
        limits = (self.config.drops, self.config.duplicates, self.config.crashes,
                  self.config.partitions, self.config.disk_losses)
        return all(s.used[index] < limits[index] for s in self.frontier)

    def idle_clients(self) -> list[str]:
        """Clients with no request in progress on either side."""
        out = []
        for ci, name in enumerate(self.config.client_names):
            if self.clients[name].busy:
                continue
            if any(s.clients[ci].outstanding for s in self.frontier):
                continue
            out.append(name)
        return out

    def can_put(self, client: str) -> bool:
        return (self.clients[client].puts_issued < self.config.puts_per_client
                and self.may_write(client))

    def can_delete(self, client: str) -> bool:
        """``client``'s next write is a delete (its puts are spent: a client's writes
        are its puts, then its deletes, ``spec.step.put_id_of``) and it may write."""
        issued = self.clients[client].puts_issued
        return (self.config.puts_per_client <= issued < self.config.writes_per_client
                and self.may_write(client))

    def next_write(self, client: str, key: str) -> tuple[int, int, bytes]:
        """Issue ``client``'s next write of ``key`` (a put, or a delete once its puts
        are spent): its spec put id (``spec.model.put_id_of``), its client-vclock
        counter so far (the writes it issued before, since its last restart with
        ``forgetful_clients``), and its context (the context of its last get, if
        that was of ``key``; else empty)."""
        ci = self.config.client_names.index(client)
        state = self.clients[client]
        put_id = spec_model.put_id_of(self.config, ci, state.puts_issued)
        counter = state.counter
        state.puts_issued += 1
        state.counter += 1
        context = b""
        if state.last_get is not None and state.last_get[0] == key:
            context = state.last_get[1]
        return put_id, counter, context

    def may_write(self, client: str) -> bool:
        """The spec's read-modify-write rule (``workload.read_modify_write``): a
        client's next write waits for a get begun once its previous write was
        acknowledged (``spec.requests.client_requests``); always true without it."""
        issued = self.clients[client].puts_issued
        if not self.config.read_modify_write or not issued:
            return True
        ci = self.config.client_names.index(client)
        previous = spec_model.put_id_of(self.config, ci, issued - 1)
        return all(bool(s.clients[ci].gets) and previous in s.clients[ci].gets[-1].acked_before
                   for s in self.frontier)

    def buffered_crash_enabled(self, node: str) -> bool:
        """A BufferedCrash of ``node`` maps to a plain crash of its buffered engine
        only while the engine flushed nothing (the spec loses everything the node
        wrote, the worst case of a flush interval longer than the run)."""
        return (self.config.storage == "buffered" and self.up(node)
                and node not in self.flushed and self.budget_left(2))

    def backup_enabled(self, node: str) -> bool:
        """The spec's ``Backup(node)`` is enabled in every frontier state (``node`` up,
        no backup of it yet, backup budget left)."""
        return self.up(node) and node not in self.disk_backups and all(
            s.backups is not None and s.backups.taken < self.config.restores
            and s.backups.slots[self.config.all_nodes.index(node)] is None
            for s in self.frontier)

    def restore_enabled(self, node: str) -> bool:
        """The spec's ``Restore(node)`` is enabled in every frontier state (``node`` up,
        its backup taken, restore budget left)."""
        return self.up(node) and node in self.disk_backups and all(
            s.backups is not None and s.backups.restored < self.config.restores
            and s.backups.slots[self.config.all_nodes.index(node)] is not None
            for s in self.frontier)

    def _note_actors(self) -> None:
        """Name each node's implementation actors (``name~<hex>`` with actor epochs,
        kept in its storage's meta table) as the spec does, in order of appearance:
        the first lifetime's is ``name``, the k-th later one's ``name~k`` (a joining
        node's once it joined); and its key actors (:meth:`_note_key_actors`)."""
        for name in self.present:
            kept = self.cluster.storages[name].get_meta(ACTOR_META)
            actor = (kept.decode("utf-8") if kept is not None
                     else None if self.config.actor_epochs else name)
            if actor is None:
                continue
            if actor not in self.actor_names:
                lifetime = len(self.lifetimes[name])
                self.lifetimes[name].append(actor)
                self.actor_names[actor] = f"{name}~{lifetime}" if lifetime else name
            if self.config.actor_epochs:
                self._note_key_actors(name, actor)

    def _note_key_actors(self, name: str, actor: str) -> None:
        """Name node ``name``'s key actors in its lifetime ``actor``
        (``<actor>.<e>``, from its storage's key epoch table) as the spec does:
        ``name~<lifetime>.<e>`` (``State.actor`` with a key epoch)."""
        storage = self.cluster.storages[name]
        lifetime = self.lifetimes[name].index(actor)
        counter, _ = read_key_epochs(storage, actor)
        # the node-wide counter numbers every key's epochs: the spec's per-key
        # numbers when one key is reaped (every delete entry has one key)
        for e in range(1, counter + 1):
            self.actor_names.setdefault(f"{actor}.{e}", actor_id(name, lifetime, e))

    def _renamed_clock(self, clock: VClock) -> VClock:
        """A vector ``clock`` with every implementation actor renamed to the spec's: a
        server-vclock entry, or the actor of a client-vclock (actor, client) entry
        (:func:`spec.vclock.client_entry`, fresh suffix kept)."""
        return VClock.of({self._renamed_entry(n): c for n, c in clock.pairs})

    def _renamed_entry(self, entry: str) -> str:
        if entry in self.actor_names:
            return self.actor_names[entry]
        actor, space, client = entry.partition(" ")
        if not space:
            return entry
        base, slash, fresh = actor.rpartition("/")
        if slash and fresh.isdigit():
            return f"{self.actor_names.get(base, base)}/{fresh} {client}"
        return f"{self.actor_names.get(actor, actor)} {client}"

    def _renamed(self, clock: dvv.DVVSet[int]) -> dvv.DVVSet[int]:
        """``clock`` with every implementation actor id renamed to the spec's."""
        if all(self._renamed_entry(e.id) == e.id for e in clock.entries):
            return clock
        return dvv.DVVSet.of(((self._renamed_entry(e.id), e.counter, e.values)
                              for e in clock.entries), clock.anonymous)

    def can_get(self, client: str) -> bool:
        return self.clients[client].gets_issued < self.config.gets_per_client

    def entry_nodes(self, key: str) -> list[str]:
        """The up nodes a client may send a request for ``key`` to (its top N, or only
        the first of them with ``coordinator = "first"``)."""
        if self.frontier[0].membership is not None:
            return [n for n in self.present if self.up(n) and all(
                n in self._serving_entry(s, n, key) for s in self.frontier)]
        top = self.config.top_n(key)
        allowed = top[:1] if self.config.coordinator == "first" else top
        return [n for n in allowed if self.up(n)]

    def _serving_entry(self, state: State, node: str, key: str) -> tuple[str, ...]:
        """Membership: the nodes of ``key``'s serving top N by ``node``'s own view in
        ``state`` that a client may send to (the spec's entry rule)."""
        assert state.membership is not None
        top = serving_top(plan_of(self.config), state.membership, node, key)
        return top[:1] if self.config.coordinator == "first" else top

    def current_top(self, key: str) -> tuple[str, ...]:
        """``key``'s top N on the ring of every membership change announced so far
        (the initial ring's without ``[membership]``): the replicas convergence and
        anti-entropy are about."""
        return current_top(self.frontier[0], key)

    def exchange_candidates(self, key: str) -> tuple[str, ...]:
        """The nodes that may take part in an anti-entropy exchange of ``key``
        (:func:`spec.membership.exchange_candidates`: its top N before or after the
        latest change, in preference-list order; the top N without membership)."""
        return exchange_candidates(self.frontier[0], key)

    def in_flight(self) -> list[InFlight]:
        return self.sim.in_flight()

    def deliverable(self) -> list[InFlight]:
        """The messages that may be delivered now (membership: a transfer's
        acknowledgement waits for :meth:`handover_candidates`, see
        :meth:`model_check.refinement.Lockstep.handover`; a gossip message whose
        sender has learnt more since it was sent is not delivered: the spec's
        ``Gossip`` tells all the sender knows, not an older prefix)."""
        stale = {m.id for m in self.stale_gossip()}
        return [m for m in self.sim.in_flight() if not m.blocked and m.id not in stale
                and not (self.config.membership and isinstance(m.message, HintAck))]

    def stale_gossip(self) -> list[InFlight]:
        """Gossip messages whose sender has learnt more since it sent them (see
        :meth:`deliverable`; quiescence drops them, a stutter)."""
        if not self.config.membership:
            return []
        return [m for m in self.sim.in_flight() if isinstance(m.message, GossipMessage)
                and m.message.view != self._node(m.src).view.to_bytes()]

    def abstract_record(self, raw: bytes | None) -> Payload:
        """The spec payload of a stored or sent record (``raw``: its bytes; None or
        empty: no record), its put ids' clocks noted in :attr:`clocks` (vector-clock
        and lww modes). Computed once per record's bytes while the names it depends on
        (:attr:`actor_names`, :attr:`tombstones`) stay as they are (session 43: the
        abstraction reads every node's copy of every key at every step, most of them
        unchanged; a copy of the lockstep starts without them, ``__getstate__``).
        InvalidValueError for a tombstone no delete of the lockstep wrote."""
        if not _KEEP:  # (mutmut)
            payload, facts = self._payload(
                Record.empty(self.mode) if not raw else _decoded(raw, self.mode))
            self.clocks.update(facts)
            return payload
        names = (len(self.actor_names), len(self.tombstones))
        if self._records_names != names:
            self._records.clear()
            self._records_names = names
        known = self._records.get(raw or b"")
        if known is None:
            record = Record.empty(self.mode) if not raw else _decoded(raw, self.mode)
            known = self._records[raw or b""] = self._payload(record)
        self.clocks.update(known[1])
        return known[0]

    def __getstate__(self) -> dict[str, Any]:
        """The lockstep's attributes but :meth:`abstract_record`'s cache (a copy,
        :mod:`model_check.refinement_snapshot`, fills its own)."""
        state = dict(self.__dict__)
        state["_records"] = {}
        state["_records_names"] = None
        return state

    def _payload(self, record: Record) -> tuple[Payload, tuple[tuple[int, Any], ...]]:
        """``record``'s payload and the clock of each of its put ids (vector-clock and
        lww modes; none with dvv)."""
        if self.mode is ClockMode.DVV:
            return self._dvv_payload(record.dvvset), ()
        facts = []
        for sibling in record.siblings:
            pid = self._sibling_put_id(sibling)
            fact: VClock | tuple[float, str] = sibling.clock
            if self.mode is ClockMode.LWW:  # the stamp in spec ticks
                fact = (sibling.stamp / LWW_TICK_S, sibling.writer)
            else:
                fact = self._renamed_clock(sibling.clock)
            facts.append((pid, fact))
        return tuple(sorted(self._sibling_put_id(s) for s in record.siblings)), tuple(facts)

    def _sibling_put_id(self, sibling: Sibling) -> int:
        """The put id of a vector-clock or lww sibling (a tombstone: by its identity)."""
        if sibling.value != TOMBSTONE:
            return put_id_of_value(sibling.value)
        if self.mode is ClockMode.LWW:
            return self._tombstone(("stamp", sibling.stamp / LWW_TICK_S, sibling.writer))
        return self._tombstone(("clock", self._renamed_clock(sibling.clock)))

    def _dvv_payload(self, dvvset: dvv.DVVSet[bytes]) -> Payload:
        """A DVVSet with put ids as values and the spec's actors; a tombstone maps by
        its dot (actor renamed)."""
        entries = tuple(
            dvv.Entry(e.id, e.counter, tuple(
                self._tombstone(("dot", self._renamed_entry(e.id), e.counter - j))
                if value == TOMBSTONE else put_id_of_value(value)
                for j, value in enumerate(e.values)))
            for e in dvvset.entries)
        anonymous = dvv.map(put_id_of_value, dvv.DVVSet((), dvvset.anonymous)).anonymous
        return self._renamed(dvv.DVVSet(entries, anonymous))

    def _tombstone(self, identity: object) -> int:
        put_id = self.tombstones.get(identity)
        if put_id is None:
            raise InvalidValueError(f"a tombstone no delete of the lockstep wrote: {identity}")
        return put_id

    def note_tombstones(self, states: Iterable[State], put_id: int) -> None:
        """Learn the identity of delete ``put_id``'s tombstone from the spec states
        reached by its ``ClientDelete`` (its dot, clock, or stamp and writer)."""
        self._records_names = None  # (abstract_record's payloads computed again)
        for state in states:
            record = state.puts[put_id - 1]
            if record is None:
                continue
            if self.mode is ClockMode.DVV:
                self.tombstones[("dot", *record.dot)] = put_id
            elif self.mode is ClockMode.LWW:
                self.tombstones[("stamp", float(record.stamp[0]), record.stamp[1])] = put_id
            else:
                self.tombstones[("clock", record.clock)] = put_id

    def reap_candidates(self) -> list[tuple[str, ReapTombstone]]:
        """(node, timer) for every reap timer (``ReapTombstone``) an up node has set
        whose grace period the harness lets pass: ``safe``, once nothing about the
        key is in flight on the implementation (no message, no hint, no coordination
        of the key at any node: the spec's quiescence guard, the abstraction of
        ``tombstone_grace_s``); ``immediate`` (due at once), always."""
        out = []
        for name in self.present:
            if not self.up(name):
                continue
            for timer in sorted(self.sim.named_timers(name), key=repr):
                if isinstance(timer, ReapTombstone) and (
                        self.config.delete_mode != "safe" or self._quiet(timer.key)):
                    out.append((name, timer))
        return out

    def reap_would_remove(self, name: str, timer: ReapTombstone) -> bool:
        """Whether firing ``timer`` at ``name`` removes a copy: ``safe``, ``name``'s
        own copy is the timer's tombstone record (exactly, or once both are pruned by
        what ``name`` knows: the node's own test, ``Reaper.holds_decided``; session
        34); ``immediate``, ``name`` or a target it reaches holds only tombstones."""
        if self.config.delete_mode == "safe":
            raw = self.cluster.storages[name].read(timer.key)
            return raw is not None and self._node(name).reaper.holds_decided(
                decode_record(raw, self.mode), timer.record)
        for target in timer.targets:
            raw = self.cluster.storages[target].read(timer.key)
            if (raw is not None and (target == name or self.reachable(name, target))
                    and is_tombstone_only(decode_record(raw, self.mode))):
                return True
        return False

    def _quiet(self, key: bytes) -> bool:
        """Nothing about ``key`` is in flight on the implementation."""
        if any(getattr(m.message, "key", None) == key for m in self.sim.in_flight()):
            return False
        for name in self.present:
            if any(h.key == key for h in self.cluster.storages[name].hints()):
                return False
            if self.up(name) and any(c.key == key for c in self._coordinations(name)):
                return False
        return True

    def _acks_may_come(self, name: str, op: CoordinationSnapshot) -> bool:
        """A delete's put coordination that answered its client while an
        acknowledgement of one of its targets may still come: its deadline waits
        (``safe``: the implementation schedules the reap once all N targets
        acknowledged it; ``immediate``: each later acknowledgement reaps again; as
        when the request timeout is longer than the replicas' round trips); the spec,
        which ended the coordination at W, sees those acknowledgements as dead. Not a
        delete that did not answer (session 45: the spec's give-up on a target down
        with the delete's put to it on the way, ``Lockstep.timeout_put_kept``, fails
        the request with that put in flight; held open, the node's ack of it, dead,
        answered the delete on the implementation when the reap step delivered it:
        dvv-prune-retired-delete, ``Timeout(n2, 2, n1)`` then ``Reap(k, n1)``)."""
        if (op.kind != "put" or not op.replied or self.config.delete_mode == "keep"
                or self.ops.get((name, op.op_id)) not in tombstone_ids(self.config)
                or len(op.acks) >= len(op.targets)):
            return False
        return any(getattr(m.message, "op_id", None) == op.op_id
                   and ((isinstance(m.message, ReplicaPut) and m.src == name)
                        or (isinstance(m.message, ReplicaPutAck) and m.dest == name))
                   for m in self.sim.in_flight())

    def _awaited(self, message: Message) -> bool:
        """Whether the spec's coordinator still waits for the answer to ``message``."""
        state = self.frontier[0]
        node = state.node(message.src)
        if not node.up:
            return False
        coord = next((c for c in node.coord if c.request == message.request), None)
        return coord is not None and any(t == message.dst for t, _ in coord.awaiting)

    def _purge(self, coordinator: str, op_id: int | None = None) -> None:
        """The exchange of ``coordinator``'s operation ``op_id`` (None: all of them)
        ended: the reads it sent and the answers coming back to it, in flight now
        (:meth:`_undelivered`), are dead (the spec purges them)."""
        for m in self._undelivered():
            msg = m.message
            if op_id is not None and getattr(msg, "op_id", None) != op_id:
                continue
            if ((isinstance(msg, ReplicaGet) and m.src == coordinator)
                    or (isinstance(msg, ReplicaGetReply | ReplicaPutAck | ReplicaPutFailed)
                        and m.dest == coordinator)):
                self.dead.add(m.id)

    def _undelivered(self) -> list[InFlight]:
        """The impl's messages sent and not delivered yet: the simulator's in flight
        (trace validation adds those a restarted node's shadow round holds)."""
        return self.sim.in_flight()

    def abstract_message(self, m: InFlight) -> Message | None:
        """The spec message an impl message maps to (None: it maps to nothing)."""
        msg = m.message
        if isinstance(msg, ReplicaPut):
            return Message(Kind.REPLICA_PUT, m.src, m.dest, self.ops[(m.src, msg.op_id)],
                           msg.key.decode(), self.abstract_record(msg.record), msg.hint)
        if m.id in self.dead:
            return None
        if isinstance(msg, ReplicaPutAck):
            return Message(Kind.REPLICA_PUT_ACK, m.src, m.dest, self.ops[(m.dest, msg.op_id)],
                           msg.key.decode())
        if isinstance(msg, ReplicaPutFailed):  # session 51: a refused write's answer
            return Message(Kind.REPLICA_PUT_FAILED, m.src, m.dest,
                           self.ops[(m.dest, msg.op_id)], msg.key.decode())
        if isinstance(msg, ReplicaGet):
            return Message(Kind.REPLICA_GET, m.src, m.dest, self.ops[(m.src, msg.op_id)],
                           msg.key.decode())
        if isinstance(msg, ReplicaGetReply):
            return Message(Kind.REPLICA_GET_REPLY, m.src, m.dest, self.ops[(m.dest, msg.op_id)],
                           msg.key.decode(), self.abstract_record(msg.record))
        if isinstance(msg, ReadRepair):
            return Message(Kind.READ_REPAIR, m.src, m.dest, 0, msg.key.decode(),
                           self.abstract_record(msg.record))
        if isinstance(msg, HintDelivery) and self.config.membership:
            return new_message(Kind.RANGE_TRANSFER, m.src, m.dest, 0, msg.key.decode(),
                               self.abstract_record(msg.record))
        if isinstance(msg, HintAck) and self.config.membership:
            return None  # a transfer's acknowledgement is not a spec message
        if isinstance(msg, HintDelivery):
            return Message(Kind.HINT_DELIVERY, m.src, m.dest, 0, msg.key.decode(),
                           self.abstract_record(msg.record), m.dest)
        if isinstance(msg, HintAck):
            known = self.ack_payloads.get(m.id)
            if known is None:
                known = self.hint_payloads.get((m.dest, msg.hint_id))
                if known is None:
                    return None
                self.ack_payloads[m.id] = known
            key, payload = known
            return Message(Kind.HINT_ACK, m.src, m.dest, 0, key, payload, m.src)
        return None

    def _note_hints(self) -> None:
        """Note the key and payload of every hint held, by (node, hint id). A hint's
        record never changes under its id within one store, but a replaced disk
        (``DiskLoss``) numbers its hints from the first id again: an id held with
        another record is a new hint, noted anew (disk seed 276, session 34: n3's
        second hint 1 was abstracted as its wiped first one)."""
        for name in self.present:
            for hint in self.cluster.storages[name].hints():
                at = (name, hint.hint_id)
                if self.hint_records.get(at) != hint.record:
                    self.hint_records[at] = hint.record
                    self.hint_payloads[at] = (hint.key.decode(),
                                              self.abstract_record(hint.record))

    def abstract(self, exclude: Iterable[int] = ()) -> Abstract:
        """The abstraction of the implementation's current state."""
        self.clocks = {}
        self._note_actors()
        self._note_hints()
        skip = set(exclude)
        removed = self.removed_nodes() if self.config.removes else frozenset()
        nodes: list[tuple[bool, tuple[Payload, ...], tuple[tuple[str, str, Payload], ...]]] = []
        for name in self.config.all_nodes:
            if name not in self.cluster.storages:  # a joining node before its join
                nodes.append((True, tuple(self.abstract_record(None) for _ in self.config.keys),
                              ()))
                continue
            storage = self.cluster.storages[name]
            if name in removed:  # down for good: its disk is gone (the spec's ForceRemove)
                nodes.append((False, tuple(self.abstract_record(None)
                                           for _ in self.config.keys), ()))
                continue
            store = tuple(self.abstract_record(storage.read(k.encode()))
                          for k in self.config.keys)
            hints = {(h.intended, h.key.decode(), self.abstract_record(h.record))
                     for h in storage.hints() if not self.config.membership}
            nodes.append((self.up(name), store,
                          tuple(sorted(hints, key=lambda t: (t[0], t[1], payload_key(t[2]))))))
        messages = []
        for m in self.sim.in_flight():
            if m.id in skip:
                continue
            abstract = self.abstract_message(m)
            if abstract is not None:
                messages.append(abstract)
        clients = tuple((tuple(sorted(c.acked)), tuple(c.gets))
                        for c in (self.clients[n] for n in self.config.client_names))
        side = self._side()
        kept = _kept_sorted((name, key.decode(), self.abstract_record(record))
                            for name in self.present if self.up(name)
                            for key, record in self._node(name).unpersisted().items()
                            ) if self.config.write_failures else ()
        return Abstract(tuple(nodes), tuple(sorted(messages, key=_message_sort)), clients, side,
                        kept)

    def _side(self) -> frozenset[str]:
        cut = self.sim.cut_links
        if not cut:
            return frozenset()
        first = self.config.nodes[0]
        present = self.present
        return frozenset({n for n in present if n == first or (first, n) not in cut}
                         | {n for n in self.cut_side if n not in present})

    def _node(self, name: str) -> Node:
        return self.cluster.node(name)

    def _coordinations(self, name: str) -> list[CoordinationSnapshot]:
        """The puts, then the gets, node ``name`` coordinates (by op id): the
        snapshot's ``puts() + gets()``, from the coordinations alone (session 20:
        the whole snapshot copied the store and the hints on every call)."""
        ordered = sorted(self._node(name).coordinations().items())
        return ([c for _, c in ordered if c.kind == "put"]
                + [c for _, c in ordered if c.kind == "get"])

    def _coordination(self, name: str, op_id: int) -> CoordinationSnapshot | None:
        return self._node(name).coordinations().get(op_id)

    def _oracle(self) -> None:
        """The failure detector as the spec's: suspect exactly the unreachable nodes;
        with ``[features] prune_retired`` on, each node told the retirements it knows
        (:meth:`_tell_retirements`)."""
        for name in self.present:
            if not self.up(name):
                continue
            self._node(name).set_suspected({other: INFINITY for other in self.present
                                            if other != name
                                            and not self.reachable(name, other)})
        if self.config.prune_retired >= 0:
            self._tell_retirements()

    def retired_actors(self) -> dict[str, dict[str, int]]:
        """Per node, the implementation actors of its retired lifetimes by the spec
        (``frontier[0].epochs``: lifetime ``e`` of node ``n`` is retired iff ``e <
        epochs[n]``, :func:`spec.retired.prune_retired`), each with its spec
        lifetime as rank. A node's current actor is retired from its crash on (the
        spec begins the next lifetime at the crash; the implementation's next start
        takes a new actor: ``actor_per_start``)."""
        epochs = dict(zip(self.config.all_nodes, self.frontier[0].epochs, strict=True))
        out: dict[str, dict[str, int]] = {}
        for name, actors in self.lifetimes.items():
            for actor in actors:
                _, lifetime = lifetime_of(self.actor_names[actor])
                if lifetime < epochs[name]:
                    out.setdefault(name, {})[actor] = lifetime
        return out

    def _tell_retirements(self) -> None:
        """Each up node knows the retirements the spec's ``[features]
        prune_knowledge`` gives it (session 34): ``"all"`` every node's, ``"own"``
        its own, ``"learnt"`` what the spec's ``State.known`` gives it (:meth:`_learnt`;
        session 34's review); set as the failure detector's suspicions are (the
        implementation's gossip and carried retirements are not driven:
        :meth:`impl.retired.RetiredActors.tell`)."""
        retired = self.retired_actors()
        everyone = {actor: rank for of in retired.values() for actor, rank in of.items()}
        learnt = self.config.prune_knowledge == "learnt"
        for name in self.present:
            if self.up(name):
                # (learnt: a one-way merge still asks, and the harness lets the ask's
                # answer teach the two nodes: Lockstep.ask_round; session 36)
                self._node(name).retired.tell(
                    everyone if self.config.prune_knowledge == "all"
                    else self._learnt(name, everyone) if learnt
                    else retired.get(name, {}), asks=learnt)

    def _learnt(self, name: str, everyone: dict[str, int],
                state: State | None = None) -> dict[str, int]:
        """The implementation actors (each with its spec lifetime as rank) of the
        retirements node ``name`` knows with ``prune_knowledge = "learnt"``
        (:func:`spec.retired.known_by` of ``state``'s ``State.known``; None: the
        frontier's, or :attr:`teaching` during an exchange): its own earlier
        lifetimes and what it learnt (session 34's review: the spec's
        ``LearnRetirement`` is the harness telling it, as the failure detector's
        suspicions are told)."""
        if state is None:
            state = self.frontier[0]
            learnt = state.known if self.teaching is None else self.teaching
        else:
            learnt = state.known
        knows = known_by(name, self.config.all_nodes, state.epochs, learnt)
        return {actor: rank for actor, rank in everyone.items()
                if lifetime_of(self.actor_names[actor]) in knows}

    def _fire(self, name: str, timer: Timer, at: float | None = None) -> None:
        """Fire ``timer`` at node ``name`` (at its time now, or ``at``) and perform
        the effects."""
        now = self.sim.node_now(name) if at is None else at
        self.sim.perform(name, self._node(name).fire(now, timer))

    def timeout_candidates(self) -> list[tuple[str, int]]:
        """(coordinator, op id) of every live operation whose timer round the spec
        allows now (see the module docstring)."""
        out = []
        for name in self.present:
            if not self.up(name):
                continue
            for coordination in self._coordinations(name):
                if self._round_given_up(name, coordination.op_id) is not None:
                    out.append((name, coordination.op_id))
        return out

    def _round_given_up(self, name: str, op_id: int) -> list[str] | None:
        """The nodes a timer round of the op would give up on (each the node an
        unanswered target's request went to), if the spec allows every one of those
        timeouts now; else None."""
        op = self._coordination(name, op_id)
        if op is None or op.replied:
            return None
        is_put = op.kind == "put"
        request = self.ops.get((name, op_id))
        if request is None:
            return None
        pairs: list[tuple[str, str]] = []  # (target, the node given up on: sent_to)
        for target in op.targets:
            sent = op.sent_to.get(target)
            if is_put and target in op.acks:
                continue
            if not is_put and sent is not None and sent in op.replies:
                continue
            if sent is None or sent == name:
                return None
            pairs.append((target, sent))
        if not pairs:
            return None
        in_flight = self.sim.in_flight()
        fallbacks = [f for f in op.fallbacks if f not in op.used and self.reachable(name, f)]
        spare = len(fallbacks) if self.config.sloppy_quorum else 0
        for target, sent in pairs:
            if any((m.src, m.dest) in ((name, sent), (sent, name))
                   and getattr(m.message, "op_id", None) == op_id for m in in_flight):
                return None
            if spare > 0:
                spare -= 1
            elif self.reachable(name, target):
                return None  # no fallback left: the impl retries the target itself
            for s in self.frontier:
                coord = next((c for c in s.node(name).coord if c.request == request), None)
                if coord is None or all(n != sent for n, _ in coord.awaiting):
                    return None
        return [sent for _, sent in pairs]

    def deadline_candidates(self) -> list[tuple[str, int, tuple[str, ...]]]:
        """``(coordinator, op id, targets)`` of every live operation, not answered and
        still coordinated by the spec, whose timer round the spec does not map (a
        reachable target and no fallback left: the implementation asks the target
        again, the spec gives up on it, :meth:`timeout_candidates`) but whose
        request the spec's ``Timeout`` of each awaited target, in ``targets``' order,
        fails on every frontier state (no message of the exchange in flight: the
        spec's accurate failure detector). The lockstep's deadline step
        (``Lockstep.deadline``, session 10: join-immediate seed 58, a get whose
        replica requests went to nodes that had not heard of the joining
        coordinator and were ignored) fires the operation's request deadline: the
        retries were slow (an environment choice), the request fails on both sides."""
        out: list[tuple[str, int, tuple[str, ...]]] = []
        for name in self.present:
            if not self.up(name):
                continue
            for op in self._coordinations(name):
                request = self.ops.get((name, op.op_id))
                if op.replied or request is None or self._round_given_up(
                        name, op.op_id) is not None or any(
                        name in (m.src, m.dest) and getattr(m.message, "op_id", None)
                        == op.op_id for m in self.sim.in_flight()):
                    continue
                targets = self._failing_timeouts(name, request)
                if targets:
                    out.append((name, op.op_id, targets))
        return out

    def retried_timeout(self, name: str, request: int, target: str
                        ) -> tuple[int, bool] | None:
        """``(op id, fails)`` when the spec's ``Timeout(name, request, target)`` gives up
        on a target the implementation asks again instead (session 44): ``name``'s
        live, unanswered operation of spec ``request`` sent ``target``'s share to
        ``target`` itself, reachable, and has no fallback left, so the implementation's
        timer for it is not mapped (:meth:`_timeout_sent_to`); no message of the
        exchange with ``target`` is in flight; the spec state awaits ``target``;
        ``fails``: the timeout fails the request on every frontier state (False: on
        none). None otherwise, or when the frontier states disagree. Other messages of
        the operation may be in flight (the spec's give-up fails a joint quorum at
        once, its request to another target still on the way). Mapped by the
        lockstep's ``retries_lost`` (fails) and ``retry_given_up`` (the request goes
        on)."""
        op_id = next((o for (n, o), r in self.ops.items() if n == name and r == request), None)
        op = None if op_id is None else self._coordination(name, op_id)
        if op_id is None or op is None or op.replied:
            return None
        silent = [t for t, sent in op.sent_to.items() if sent == target and t == target
                  and (t not in op.acks if op.kind == "put" else sent not in op.replies)]
        if not silent or self._timeout_sent_to(name, op_id, target) is not None:
            return None
        if any((m.src, m.dest) in ((name, target), (target, name))
               and getattr(m.message, "op_id", None) == op_id for m in self.sim.in_flight()):
            return None
        outcomes: set[bool] = set()
        for state in self.frontier:
            coord = next((c for c in state.node(name).coord if c.request == request), None)
            if coord is None or all(n != target for n, _ in coord.awaiting):
                return None
            after = apply_actions(state, [Timeout(name, request, target)])
            if not after:
                return None
            outcomes.update(all(c.request != request for c in s.node(name).coord)
                            for s in after)
        if len(outcomes) != 1:
            return None
        return op_id, outcomes.pop()

    def _failing_timeouts(self, name: str, request: int) -> tuple[str, ...] | None:
        """The awaited targets of ``name``'s coordination of ``request``, in the order
        whose spec ``Timeout`` one after another ends it (the request fails) on every
        frontier state; None if some state does not coordinate it, keeps it after
        them, or needs another order."""
        targets: tuple[str, ...] | None = None
        for state in self.frontier:
            given_up: list[str] = []
            states = [state]
            while states:
                coord = next((c for c in states[0].node(name).coord
                              if c.request == request), None)
                if coord is None:
                    break
                if not coord.awaiting or len(given_up) > len(self.present):
                    return None
                given_up.append(coord.awaiting[0][0])
                states = apply_actions(states[0], [Timeout(name, request, given_up[-1])])
            if not states or (targets is not None and tuple(given_up) != targets):
                return None
            targets = tuple(given_up)
        return targets

    def waiting_replicas(self) -> list[tuple[str, int, str]]:
        """(coordinator, op id, replica) for every replica a live, spec-coordinated
        operation still waits for (the candidates of a replica failure)."""
        out: list[tuple[str, int, str]] = []
        for name in self.present:
            if not self.up(name):
                continue
            for coordination in self._coordinations(name):
                op_id = coordination.op_id
                request = self.ops.get((name, op_id))
                coord = next((c for c in self.frontier[0].node(name).coord
                              if c.request == request), None)
                if coord is not None:
                    out.extend((name, op_id, replica) for replica, _ in coord.awaiting)
        return out

    def target_timeouts(self) -> list[tuple[str, int, str]]:
        """(coordinator, op id, target) for every target whose timeout the spec
        allows now (see :meth:`timeout_target`)."""
        out: list[tuple[str, int, str]] = []
        for name in self.present:
            if not self.up(name):
                continue
            for op in self._coordinations(name):
                out.extend((name, op.op_id, target) for target in op.targets
                           if self._timeout_sent_to(name, op.op_id, target) is not None)
        return out

    def _timeout_sent_to(self, name: str, op_id: int, target: str,
                         lost: frozenset[int] = frozenset()) -> str | None:
        """The node ``target``'s request went to (the target itself or a fallback),
        which a timeout of ``target`` gives up on, if the spec allows it now; the
        messages of ids ``lost`` counted as gone (:meth:`ack_lost_timeout`)."""
        op = self._coordination(name, op_id)
        request = self.ops.get((name, op_id))
        if op is None or op.replied or request is None:
            return None
        is_put = op.kind == "put"
        sent = op.sent_to.get(target)
        if sent is None or sent == name:
            return None
        if (is_put and target in op.acks) or (not is_put and sent in op.replies):
            return None
        if any((m.src, m.dest) in ((name, sent), (sent, name)) and m.id not in lost
               and getattr(m.message, "op_id", None) == op_id for m in self.sim.in_flight()):
            return None
        spare = self.config.sloppy_quorum and any(
            f not in op.used and self.reachable(name, f) for f in op.fallbacks)
        if not spare and self.reachable(name, target):
            return None  # no fallback left: the impl retries the target itself,
            # reachable here, where the spec gives up: not this timer (its retries
            # lost: retried_timeout, session 44)
        for state in self.frontier:
            coord = next((c for c in state.node(name).coord if c.request == request), None)
            if coord is None or all(n != sent for n, _ in coord.awaiting):
                return None
        return str(sent)

    def ack_lost_timeout(self, name: str, op_id: int, target: str
                         ) -> tuple[str, tuple[int, ...]] | None:
        """``(sent, lost)`` when the spec's ``Timeout`` of ``target`` (its request sent
        to ``sent``) is enabled only because ``sent`` is unreachable from ``name``
        (down; or across a cut, since session 45: sloppy-partition's 278 of 400
        sampled timeouts), an answer of the exchange still in flight (session 44, the
        ack in flight): ``lost``, the ids of
        the in-flight messages of ``name``'s operation ``op_id`` the spec's timeout
        purges (``spec.step.Edit.purge``: a ``ReplicaPutAck`` or ``ReplicaGetReply``
        from ``sent`` to ``name``, a ``ReplicaGet`` from ``name`` to ``sent``), at least
        one; with them gone, :meth:`_timeout_sent_to` must allow the timer (no other
        message of the exchange in flight: a ``ReplicaPut`` to ``sent``, which the spec
        keeps, refuses it). None otherwise. The lockstep's ``timeout_ack_lost`` loses
        them in the network (a message on the way to or from a down or cut-off node
        may be lost, paper section 4.6's failures), then fires the timer as
        :meth:`timeout_target`."""
        op = self._coordination(name, op_id)
        sent = None if op is None else op.sent_to.get(target)
        if sent is None or sent == name or self.reachable(name, sent):
            return None
        lost = tuple(m.id for m in self.sim.in_flight()
                     if getattr(m.message, "op_id", None) == op_id and (
                         ((m.src, m.dest) == (sent, name)
                         and isinstance(m.message, ReplicaPutAck | ReplicaGetReply))
                         or ((m.src, m.dest) == (name, sent)
                         and isinstance(m.message, ReplicaGet))))
        if not lost or self._timeout_sent_to(name, op_id, target, frozenset(lost)) != sent:
            return None
        return sent, lost

    def put_kept_timeout(self, name: str, op_id: int, target: str
                         ) -> tuple[str, tuple[int, ...], tuple[int, ...]] | None:
        """``(sent, kept, lost)`` when the spec's ``Timeout`` of ``target`` (its request
        sent to ``sent``) is enabled only because ``sent`` is unreachable from
        ``name`` (down, or across a cut), with the coordinator's ``ReplicaPut`` to
        ``sent`` still in flight (session 45, the put in flight): ``kept``, the ids of
        ``name``'s in-flight ``ReplicaPut`` messages of operation ``op_id`` to ``sent``
        (at least one), which the spec's timeout keeps (``spec.step.Edit.purge``:
        replica puts write); ``lost``, the answers the timeout purges
        (:meth:`ack_lost_timeout`'s kinds, possibly none). With both set aside,
        :meth:`_timeout_sent_to` must allow the timer (nothing else of the exchange in
        flight). None otherwise (a get's exchange has no put to keep: its
        ``ReplicaGet`` is purged, :meth:`ack_lost_timeout`). The lockstep's
        ``timeout_put_kept`` fires the timer as :meth:`timeout_target`, the put left
        in flight on both sides, ``sent``'s later ack dead (the spec's coordinator no
        longer awaits it and sends none: ``spec.replica.awaited``)."""
        op = self._coordination(name, op_id)
        sent = None if op is None else op.sent_to.get(target)
        if sent is None or sent == name or self.reachable(name, sent):
            return None
        exchange = [m for m in self.sim.in_flight()
                    if getattr(m.message, "op_id", None) == op_id]
        kept = tuple(m.id for m in exchange if (m.src, m.dest) == (name, sent)
                     and isinstance(m.message, ReplicaPut))
        lost = tuple(m.id for m in exchange if (m.src, m.dest) == (sent, name)
                     and isinstance(m.message, ReplicaPutAck))
        if not kept or self._timeout_sent_to(name, op_id, target,
                                             frozenset(kept + lost)) != sent:
            return None
        return sent, kept, lost

    def targets_of(self, name: str, op_id: int) -> tuple[str, ...]:
        """The targets of ``name``'s live operation ``op_id`` (none if it ended)."""
        op = self._coordination(name, op_id)
        return () if op is None else tuple(op.targets)

    def sent_to_of(self, name: str, op_id: int, target: str) -> str | None:
        """The node ``target``'s request of ``name``'s operation ``op_id`` was last
        sent to (``sent_to[target]``: the target itself or a fallback)."""
        op = self._coordination(name, op_id)
        return None if op is None else op.sent_to.get(target)

    def hint_scan_enabled(self, name: str) -> bool:
        """Whether a hint scan at ``name`` sends a hint (membership: never, its hints
        are range transfers, sent by :meth:`transfer_candidates`' steps)."""
        if not self.up(name) or not self.config.hinted_handoff or self.config.membership:
            return False
        return bool(self._scan_targets(name))

    def _scan_targets(self, name: str) -> list[Hint]:
        in_flight = self.sim.in_flight()
        out = []
        for hint in self.cluster.storages[name].hints():
            if not self.reachable(name, hint.intended):
                continue
            busy = any(
                (isinstance(m.message, HintDelivery) and m.src == name
                 and m.message.hint_id == hint.hint_id)
                or (isinstance(m.message, HintAck) and m.dest == name
                    and m.message.hint_id == hint.hint_id)
                for m in in_flight)
            if not busy:
                out.append(hint)
        return out

    # -- membership: the steps of a change the spec enables in every frontier state

    def _enabled_everywhere(self, kind: type[Action]) -> list[Action]:
        first = [label for label, _ in spec_steps(self.frontier[0])
                 if isinstance(label, kind)]
        return [label for label in first if all(
            any(other == label for other, _ in spec_steps(s))
            for s in self.frontier[1:])]

    def gossip_candidates(self) -> list[tuple[str, str]]:
        """``(src, dst)`` of every ``Gossip`` the spec enables now."""
        return [(a.src, a.dst) for a in self._enabled_everywhere(Gossip)
                if isinstance(a, Gossip)]

    def transfer_candidates(self) -> list[Transfer]:
        """The spec's range transfers ``Transfer(src, dst, key)`` enabled now."""
        return [a for a in self._enabled_everywhere(Transfer) if isinstance(a, Transfer)]

    def handover_candidates(self) -> list[str]:
        """The nodes whose ``Handover`` the spec enables now, unless an old owner still
        has a late re-transfer to make first (:meth:`late_transfers`)."""
        enabled = [a.node for a in self._enabled_everywhere(Handover)
                   if isinstance(a, Handover)]
        if enabled and any(why for _, _, why in self.late_transfers()):
            return []
        return enabled

    def settle_candidates(self) -> list[str]:
        """The nodes whose ``Settle`` the spec enables now (pending ownership)."""
        return [a.node for a in self._enabled_everywhere(Settle) if isinstance(a, Settle)]

    def force_remove_candidates(self) -> list[ForceRemove]:
        """The spec's ``ForceRemove(node, by)`` enabled now (``[membership] removes``)."""
        return [a for a in self._enabled_everywhere(ForceRemove) if isinstance(a, ForceRemove)]

    def removed_nodes(self) -> frozenset[str]:
        """The nodes some member that is up knows were force-removed (the
        implementation's ``removing`` or ``removed``): the abstraction maps each to
        the spec's removed node, down with an empty store and no hints (its disk is
        gone for good; the simulator keeps the file, which nothing reads again)."""
        up = [name for name in self.present if self.up(name)]
        return frozenset(node for node in self.present if any(
            other != node and self._node(other).gossiper.is_removed(node) for other in up))

    def announcer_of(self, node: str) -> str:
        """The node that announces the handover and the settlement of ``node``'s change
        (:func:`spec.membership.announcer`): ``node`` itself, or the claimant of its
        force-remove."""
        membership = self.frontier[0].membership
        if membership is None or ("remove", node) not in membership.log:
            return node
        return announcer(self.config, membership.log)

    def leave_candidates(self) -> list[str]:
        """The nodes whose ``Leave`` the spec enables now."""
        return [a.node for a in self._enabled_everywhere(Leave) if isinstance(a, Leave)]

    def join_candidates(self) -> list[str]:
        """The nodes whose ``Join`` the spec enables now."""
        return [a.node for a in self._enabled_everywhere(Join) if isinstance(a, Join)]

    def late_transfers(self) -> list[tuple[str, Hint, str]]:
        """The late re-transfers an old owner keeps (``impl.gossip.Gossiper.on_write``:
        a write reached it after its range transfer was sent; the transfers'
        acknowledgements are held until the handover, so every kept hint of a spec
        transfer that arrived, with no acknowledgement in flight, is one; any other
        hint left at the handover is the handover's divergence), as ``(old owner,
        hint, why not)``:
        ``why not`` is "" when the hint's record adds nothing to its receiver's
        store (the re-transfer is a stutter the handover completes: the joint write
        groups brought the write there already), else why the spec's ``Handover``
        before it is not the implementation's (it forwards the late write first: the
        spec's late re-transfer, ``Transfer`` once more, comes before its handover,
        :func:`spec.membership.late_transfers`, session 35; before, the spec had no
        such step and these handovers stayed unmapped: docs/refinement.md)."""
        acked = {(m.dest, m.message.hint_id) for m in self.sim.in_flight()
                 if isinstance(m.message, HintAck)}
        state = self.frontier[0]
        arrived = state.membership.handed if state.membership is not None else frozenset()
        out = []
        for src in self.present:
            for hint in self.cluster.storages[src].hints():
                if (src, hint.hint_id) in acked or (
                        hint.key.decode(), src, hint.intended) not in arrived:
                    continue  # acknowledged, or not of a spec transfer that arrived
                kept = state.node(hint.intended).store[self.config.keys.index(
                    hint.key.decode())]
                held = self.abstract_record(hint.record)
                covered = clocks.payload_equal(
                    clocks.merge(self.config.clock, kept, held, state.puts), kept)
                why = "" if covered else (
                    f"{src} forwards the late write of {hint.key.decode()} to "
                    f"{hint.intended} first ({hint.intended}'s copy lacks a version of it: "
                    f"the spec's late re-transfer Transfer({src}, {hint.intended}, "
                    f"{hint.key.decode()}) comes first)")
                if covered and not (self.up(src) and self.up(hint.intended)
                                    and self.reachable(src, hint.intended)):
                    why = (f"{src}'s late re-transfer of {hint.key.decode()} to "
                           f"{hint.intended} cannot be completed (down or cut off)")
                out.append((src, hint, why))
        return out

    def hand_on_hints(self) -> list[tuple[str, Hint, str]]:
        """The hints a node keeps once the latest change is complete (the spec's
        log ends with its handover, naive, or its settlement, pending) and whose
        acknowledgement is not in flight: with the naive handover, an old owner's
        hand-on of a write that reached it after it let its copy go (its writer had
        not heard of the change: ``impl.gossip.Gossiper.on_write``, kept until the
        new owner acknowledges it; leave-immediate seed 67, a read repair of the
        node that left), as ``(node, hint, why not)``. ``why not`` is "" when the
        hint's record adds nothing to its receiver's store and the receiver is up
        and reachable (the hand-on is a stutter, ``Lockstep.hand_on``), else why
        the spec has no step for it (it would add a version at the new owner: the
        spec keeps such a write at the old owner, the naive rule's stranded write,
        docs/refinement.md)."""
        state = self.frontier[0]
        if not self._change_complete():
            return []
        acked = {(m.dest, m.message.hint_id) for m in self.sim.in_flight()
                 if isinstance(m.message, HintAck)}
        out = []
        for src in self.present:
            for hint in self.cluster.storages[src].hints():
                if (src, hint.hint_id) in acked:
                    continue
                key = hint.key.decode()
                kept = state.node(hint.intended).store[self.config.keys.index(key)]
                held = self.abstract_record(hint.record)
                why = ""
                if not clocks.payload_equal(
                        clocks.merge(self.config.clock, kept, held, state.puts), kept):
                    why = (f"{src}'s hand-on of {key} adds a version at {hint.intended} "
                           "(the spec keeps the write at the old owner: no step forwards it)")
                elif not (self.up(src) and self.up(hint.intended)
                          and self.reachable(src, hint.intended)):
                    why = f"{src}'s hand-on of {key} to {hint.intended} cannot be completed"
                out.append((src, hint, why))
        return out

    def _change_complete(self) -> bool:
        """Whether the spec's log ends with the latest change complete: its handover
        (naive) or its settlement (pending ownership)."""
        ms = self.frontier[0].membership
        final = "settled" if self.config.join_handover == "pending" else "handed"
        return ms is not None and bool(ms.log) and ms.log[-1][0] == final

    def late_acks(self) -> list[InFlight]:
        """The range-transfer acknowledgements in flight once the latest change is
        complete (the spec's log ends with its handover, naive, or its settlement,
        pending) whose receiver is up and reachable: :meth:`deliverable` holds a
        transfer's ``HintAck`` until the handover, which delivers those in flight
        then; one sent after it (a second copy of a late re-transfer delivered
        after the handover: leave-pending, ``puts_per_client = 2``, seed 7, session
        60) waited for ever, and quiescence ended with it in flight (the
        implementation "not converged" where the spec was).
        :meth:`~model_check.refinement.Lockstep.deliver_late_ack` delivers one, a
        stutter."""
        if not self._change_complete():
            return []
        return [m for m in self.sim.in_flight() if isinstance(m.message, HintAck)
                and not m.blocked and self.up(m.dest) and self.reachable(m.src, m.dest)]

    def stale_transfers(self) -> list[str]:
        """The range-transfer hints an old owner keeps for a spec transfer that arrived
        (acknowledged or not) whose record does not cover the old owner's own copy of
        the key, each told in a line (session 10). The spec's ``Handover`` is enabled
        once every transfer of the change arrived, each carrying its sender's copy
        (``spec.membership``: a transfer waits for the writes to its sender in flight,
        the forwarding of late writes in riak_core's handoff abstracted as that
        guard): what an old owner handed, or will send again (the hint it keeps until
        its transfer is acknowledged, ``Gossiper.on_write`` -> ``_hand``: the whole
        record), must hold every version it holds. A kept hint that lacks one (a late
        write not put into it) is the implementation doing less: its re-transfer would
        not carry the write, and the old owner lets its copy go at the handover
        (naive) or the settlement (pending). A copy reaped meanwhile (none stored)
        has nothing to cover; no kept hint (an empty transfer, marked complete by the
        scan) is the naive rule's stranded write, which the spec has too."""
        state = self.frontier[0]
        if state.membership is None:
            return []
        arrived = state.membership.handed
        out = []
        for src in self.present:
            storage = self.cluster.storages[src]
            for hint in storage.hints():
                key = hint.key.decode()
                stored = storage.read(hint.key)
                if (key, src, hint.intended) not in arrived or stored is None:
                    continue
                held = self.abstract_record(hint.record)
                covered = clocks.payload_equal(clocks.merge(
                    self.config.clock, held, self.abstract_record(stored), state.puts), held)
                if not covered:
                    out.append(f"{src}'s transfer hint of {key} for {hint.intended} lacks a "
                               f"version {src} holds (a late write not handed on): hint "
                               f"{_text(held)}, {src}'s copy {_text(self.abstract_record(stored))}")
        return out

    def transfer_hint(self, src: str, dst: str, key: str) -> Hint | None:
        """The hint ``src`` keeps for the transfer of ``key`` to ``dst`` (None: it held
        nothing of the key, so there is nothing to send)."""
        return next((h for h in self.cluster.storages[src].hints()
                     if h.intended == dst and h.key == key.encode()), None)

    def anti_entropy_pairs(self, key: str) -> list[tuple[str, str]]:
        """The pairs that may run an anti-entropy exchange for ``key``: two replicas
        of it (:meth:`exchange_candidates`), both up, that reach each other and, with membership
        change, serve it by what they know (:func:`spec.membership.exchanges`): the
        spec's enabling condition for ``AntiEntropy``, less its "payloads differ",
        which only decides between that action and a stutter. Replicas holding a dot
        a naive actor re-issued with another value (:meth:`dot_reused`) are paired
        too since session 46: the implementation's exchange leaves each the spec's
        exchange's store (docs/refinement.md, "The actor entries' unmapped edges
        (session 46)"); until then they were left out, and the conformance run
        counted their exchanges unmapped."""
        top = self.exchange_candidates(key)
        state = self.frontier[0]
        membership = state.membership
        plan = plan_of(self.config)
        return [(a, b) for i, a in enumerate(top) for b in top[i + 1:]
                if self.reachable(a, b)
                and (membership is None or exchanges(plan, membership, a, b, key))]

    def exchange_moves(self, a: str, b: str, key: str) -> bool:
        """Whether the spec's exchange of replicas ``a`` and ``b`` on ``key`` changes
        their stores (the frontier's first state): their copies differ, and, where a
        dot re-issued by a naive actor holds another value on each
        (:meth:`dot_reused`), the spec's ``AntiEntropy`` of the pair is not a
        self-loop (each replica keeps its own value for that dot, as ``dvv.sync``'s
        merge of two entries of one counter keeps its left side's; where the copies
        differ in that dot alone nothing moves, on either side). Quiescence
        (:meth:`~model_check.refinement.Lockstep.quiesce`) takes only the exchanges
        that move: a self-loop taken again and again never quiesces."""
        k = self.config.keys.index(key)
        mine, theirs = self._stores(a, b, k)
        if mine == theirs:
            return False
        if not self.dot_reused(a, b, key):
            return True  # the rule before session 46: the copies differ
        state = self.frontier[0]
        return any((after.node(a).store[k], after.node(b).store[k])
                   != (state.node(a).store[k], state.node(b).store[k])
                   for action, after in spec_steps(state)
                   if isinstance(action, AntiEntropy) and action.key == key
                   and {action.a, action.b} == {a, b})

    def openers(self, a: str, b: str, key: str) -> list[tuple[str, str]]:
        """``(opener, peer)`` of the Merkle exchanges of the pair ``a``, ``b`` on
        ``key``, in that order: both ways, or with membership change the ways whose
        opener serves ``key`` and has the peer in its serving top N by its own view
        (the implementation's opener holds a tree of the range and picks its peer
        there)."""
        membership = self.frontier[0].membership
        if membership is None:
            return [(a, b), (b, a)]
        plan = plan_of(self.config)
        return [(x, y) for x, y in ((a, b), (b, a))
                if {x, y} <= set(serving_top(plan, membership, x, key))]

    def dot_reused(self, a: str, b: str, key: str) -> bool:
        """Whether replicas ``a`` and ``b`` of ``key`` hold one dot with different
        values (a naive actor re-issued it after a disk loss or a restore, Riak's
        kv679: basho/riak_kv#679), where ``dvv.sync`` is not commutative: its merge
        of two entries of one counter keeps its left argument's values. The spec's
        exchange merges the union into each replica's store (``spec.step.Edit.store``),
        the implementation's each record it receives into its own
        (``impl.antientropy.AntiEntropy.on_key_records``): each keeps its own value
        for the dot, on both sides (unless one lacks an entry sorted before the dot's
        that the other holds: ``dvv._sync_entries`` then swaps sides and it takes its
        peer's value, on both sides alike; there ``sync`` may commute and this answer
        False although one dot holds two values: session 46's review, whose test
        ``test_a_replica_without_an_earlier_entry_takes_its_peer_s_value_for_the_dot``
        runs one). Such an exchange was not mapped until session 46
        (:meth:`anti_entropy_pairs`); quiescence takes it only where it moves
        something (:meth:`exchange_moves`)."""
        if self.mode is not ClockMode.DVV:
            return False
        x, y = self._stores(a, b, self.config.keys.index(key))
        assert isinstance(x, dvv.DVVSet) and isinstance(y, dvv.DVVSet)
        return dvv.sync(x, y) != dvv.sync(y, x)

    def spec_can_converge(self, limit: int = CONVERGENCE_SEARCH_LIMIT) -> bool:
        """Whether the spec reaches a converged state from the state the lockstep
        reached (``frontier[0]``) without faults or new inputs:
        :func:`spec_converges_from` (whose docstring says what is searched and why)."""
        return spec_converges_from(self.frontier[0], limit)

    def replicas_agree(self) -> bool:
        """Every replica of each key (its top N) stores the same versions on the
        implementation (part of the spec's ``convergence``)."""
        for k, key in enumerate(self.config.keys):
            top = self.current_top(key)
            if len({self._stores(top[0], b, k)[1] for b in top}) > 1:
                return False
        return True

    def _stores(self, a: str, b: str, k: int) -> tuple[Payload, Payload]:
        key = self.config.keys[k].encode()
        return (self.abstract_record(self.cluster.storages[a].read(key)),
                self.abstract_record(self.cluster.storages[b].read(key)))

    def _clocks_agree(self, state: State) -> bool:
        for pid, fact in self.clocks.items():
            record = state.puts[pid - 1]
            if record is None:
                return False
            if self.mode is ClockMode.LWW:
                if fact != (float(record.stamp[0]), record.stamp[1]):
                    return False
            elif record.clock != fact:
                return False
        return True

    def verify(self) -> bool:
        """Whether the implementation's abstraction (stores, hints, messages, client
        histories, partition, clocks) is the projection of a spec state of the frontier."""
        impl = self.abstract()
        return any(project(s) == impl and self._clocks_agree(s) for s in self.frontier)


def spec_converges_from(start: State, limit: int = CONVERGENCE_SEARCH_LIMIT) -> bool:
    """Whether the spec reaches a converged state (:func:`spec.model.converged`)
    from ``start`` by steps that are neither faults nor new inputs
    (:data:`NEW_INPUTS`): the steps quiescence takes (and the exchanges that
    change nothing, :meth:`LockstepState.exchange_moves`). Breadth-first over at most ``limit``
    states; True when the limit is reached first (the strict answer: the
    implementation is then expected to converge).

    With anti-entropy on, this is what the spec promises once faults and
    requests stop (its ``convergence`` property allows the remaining
    requests too). It is false where no exchange can reconcile the replicas: a
    dot a naive actor re-issued after a disk loss (Riak's kv679) holds another
    value on two replicas; the spec's exchange merges the union into each
    replica's store (``spec.step.Edit.store``), which keeps its own value for
    a dot it holds, as the implementation's one-way merges do (unless it lacks an
    entry sorted before the dot's that its peer holds: then both take the peer's,
    ``dvv._sync_entries``' side swap; docs/refinement.md, "A review of the actor
    mapping (session 46, review)"); only a later
    write of that actor past the dot ends it (docs/refinement.md, "Progress
    after a re-issued dot (session 33)"). The lockstep's progress check
    (:meth:`LockstepState.spec_can_converge`) and trace validation's end of run
    (:func:`model_check.trace_validation.convergence_failure`, session 34) both
    ask it."""
    if spec_model.converged(start):
        return True
    # the memoised successors (the spec's steps in the spec's order, so the same
    # search and answer: tests/model_check/test_spec_memo.py) where the pure spec
    # runs; session 43: trace validation's end-of-run searches of 20,000 states cost
    # about 8 CPU-s each with the plain spec
    step: Callable[[State], Iterable[tuple[Action, State]]] = (
        MemoSuccessors() if memo_available() and _KEEP else spec_model.successors)
    seen = {start}
    queue = deque([start])
    while queue:
        for action, after in step(queue.popleft()):
            if (spec_model.is_fault(action) or isinstance(action, NEW_INPUTS)
                    or after in seen):
                continue
            if spec_model.converged(after) or len(seen) >= limit:
                return True
            seen.add(after)
            queue.append(after)
    return False


def apply_actions(state: State, actions: Sequence[Action]) -> list[State]:
    """Every spec state reached from ``state`` by ``actions`` in order."""
    states = [state]
    for action in actions:
        nxt: list[State] = []
        for s in states:
            for label, after in spec_steps(s):
                if label == action and after not in nxt:
                    nxt.append(after)
        states = nxt
    return states


def with_idle_clients(state: State) -> State:
    """Apply every enabled ClientTimeout (a client whose request nobody works on)."""
    changed = any(c.outstanding for c in state.clients)
    while changed:
        changed = False
        for label, after in spec_steps(state):
            if isinstance(label, ClientTimeout):
                state = after
                changed = True
                break
    return state


def difference(spec: object, impl: object, where: str = "") -> str:
    if isinstance(spec, dict) and isinstance(impl, dict):
        out = [difference(spec.get(k), impl.get(k), f"{where}.{k}")
               for k in sorted(set(spec) | set(impl)) if spec.get(k) != impl.get(k)]
        return "; ".join(o for o in out if o)
    if spec != impl:
        return f"{where or 'state'}: spec {json.dumps(spec)} vs impl {json.dumps(impl)}"
    return ""
