"""The named properties of Dynamo that the model checker verifies on the spec.

(About 660 lines, over the project's 600, on purpose: the table of every named
property of the suite, each a small predicate with its description and source,
reads in one place; the machinery they share is in :mod:`model_check.model`.)

Theory of operation
-------------------
A :class:`Property` is one type with an *expectation* (Stateright's
``Expectation``: ``Always``, ``Eventually``, ``Sometimes``):

* ``always`` (safety): ``holds`` must be true in every reachable state; a
  violation comes with the shortest path to a state where it is false.
* ``eventually`` (the liveness kind): ``holds`` is a target that must stay
  reachable: from every reachable state, once faults stop, a state where it is
  true can still be reached (AG EF over fault-free steps, computed on the
  explored state graph by :mod:`model_check.liveness`).
* ``sometimes`` (reachability): some reachable state satisfies ``holds``, or
  some step ``before --action--> after`` satisfies ``step``. It is how a
  configuration shows that it really exercises what it claims (a hint is handed
  off, read repair repairs, siblings appear, a coordinator times out ...), so
  that no ``always`` verdict holds vacuously. It reports ``found`` with the
  shortest path to a witness, or ``not found``. Sometimes-properties are
  evaluated during the same exploration and never change what is explored.

The properties read the spec's *ghost* state, not its clocks: every put id has a
true causal history (the put ids its writing client had read, plus itself), so a
write that a later write causally overwrote is told apart from a write that a
clock mode silently lost.

Always:

* ``acked_writes_durable``: every put acknowledged to its client is in the true
  history of some version held by a node's store, a hint, or an in-flight message.
* ``read_your_writes``: every completed get returns, for each of its client's puts
  of that key acknowledged before the get began, a version whose true history
  contains that put.
* ``siblings_are_antichain``: no node stores, and no get returned, two versions of
  a key one of whose clocks dominates the other's (dvv: one's dot is in the
  other's context; lww: timestamps, so any two versions of a key are ordered and
  lww must never keep siblings).
* ``hint_kept_until_acked``: every hint deletion is of a hint whose intended node
  acknowledged it (ghost: deletions are a subset of acknowledged handoffs).
* ``context_collapses_siblings``: a put whose context came from a get that
  returned siblings has a clock that dominates every one of them.
* ``monotonic_reads``: a client's later get of a key returns, for every version
  its earlier get of the key returned, a version whose true history contains it
  (it never reads older than it read before).
* ``no_false_concurrency``: a get returns two versions as siblings only if
  neither's true history contains the other (the clocks invented no concurrency).
* ``sibling_bound``: no node stores more siblings of a key than the number of
  truly concurrent writes of it (the largest set of its puts none of whose true
  histories contains another).

Eventually: ``convergence``: see :func:`spec.model.converged`.

Sometimes: see :data:`SOMETIMES` (each says which always-property or mechanism
it keeps from being vacuous).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from model_check.chain_witnesses import (
    chains,
    chains_dvv,
    fresh_pair_minted,
    write_after_own_write,
)
from model_check.errors import CheckError
from model_check.rebuild_witnesses import (
    rebuilding_own_write_uncounted,
    rebuilding_put_unacked,
    rebuilding_read_fails,
    rebuilds,
    refused_target_acks_again,
    refuses_copies,
)
from spec.actions import (
    Action,
    AntiEntropy,
    BufferedCrash,
    ClientGet,
    ClientPut,
    Deliver,
    DiskLoss,
    ForceRemove,
    ForwardAgain,
    ForwardFallback,
    OutsiderHandoff,
    OutsiderLetGo,
    Reap,
    Restore,
    Timeout,
)
from spec.clocks import Payload, PutRecord, dominates, values
from spec.config import Config
from spec.dvv import DVVSet
from spec.membership import view_of
from spec.model import converged, stored_values
from spec.retired import lifetime_of
from spec.state import Kind, State
from spec.step import plan_of

__all__ = [
    "ALWAYS",
    "EVENTUALLY",
    "PROPERTIES",
    "SOMETIMES",
    "Expectation",
    "Property",
    "acked_durable_in",
    "acked_writes_durable",
    "context_collapses_siblings",
    "deleted",
    "hint_kept_until_acked",
    "monotonic_reads",
    "no_false_concurrency",
    "no_resurrection",
    "read_your_writes",
    "sibling_bound",
    "siblings_are_antichain",
]

S = TypeVar("S")
A = TypeVar("A")


class Expectation(enum.StrEnum):
    """What a property expects of the reachable states (compares equal to its value)."""

    ALWAYS = "always"
    EVENTUALLY = "eventually"
    SOMETIMES = "sometimes"


@dataclass(frozen=True, slots=True)
class Property(Generic[S, A]):
    """A named property with its expectation (see the module docstring).

    ``holds`` is a predicate on one state: the invariant (``always``), the target
    (``eventually``) or the witness (``sometimes``). A ``sometimes`` property may
    instead give ``step``, a predicate on one step ``(before, action, after)``, and
    with it ``actions``: the action classes it can hold on (its own first test; None:
    any) and ``messages``: the kinds of the message such an action carries (a
    ``Deliver``'s; None: any), so that the explorer asks it of those steps alone
    (:meth:`can_hold`; session 44: asking every step witness of every transition was
    a quarter of a search's CPU).
    Raises :class:`~model_check.errors.CheckError` for any other combination.
    """

    name: str
    kind: Expectation
    description: str
    holds: Callable[[S], bool] | None = None
    step: Callable[[S, A, S], bool] | None = None
    actions: tuple[type[Any], ...] | None = None
    messages: frozenset[Kind] | None = None
    possible: Callable[[Any], bool] | None = None
    """Of a sometimes-property: whether a configuration allows a witness at all, a test
    of the configuration alone that ``holds`` or ``step`` makes first (False: the
    predicate is false on every state or step of that configuration); None: any. A
    check does not ask the property where it is False (session 55: a step witness with
    no action classes, asked of every transition of every configuration)."""

    def __post_init__(self) -> None:
        if self.actions is not None and self.step is None:
            raise CheckError(f"property {self.name!r} names actions but has no step")
        if self.messages is not None and self.actions is None:
            raise CheckError(f"property {self.name!r} names messages but no actions")
        if self.possible is not None and self.kind is not Expectation.SOMETIMES:
            raise CheckError(f"property {self.name!r} is not a sometimes-property: it "
                             "takes no possible")
        if self.kind is Expectation.SOMETIMES:
            if (self.holds is None) == (self.step is None):
                raise CheckError(f"sometimes-property {self.name!r} needs exactly one of "
                                 "holds (a state) or step (a step)")
        elif self.holds is None or self.step is not None:
            raise CheckError(f"{self.kind}-property {self.name!r} needs holds (a state "
                             "predicate) and no step")

    @classmethod
    def always(cls, name: str, description: str, holds: Callable[[S], bool]) -> Property[S, A]:
        """A safety property: ``holds`` is true in every reachable state."""
        return cls(name, Expectation.ALWAYS, description, holds)

    @classmethod
    def eventually(cls, name: str, description: str,
                   target: Callable[[S], bool]) -> Property[S, A]:
        """A liveness property: once faults stop, a ``target`` state stays reachable."""
        return cls(name, Expectation.EVENTUALLY, description, target)

    @classmethod
    def sometimes(cls, name: str, description: str, holds: Callable[[S], bool] | None = None,
                  step: Callable[[S, A, S], bool] | None = None,
                  actions: tuple[type[Any], ...] | None = None,
                  messages: frozenset[Kind] | None = None,
                  possible: Callable[[Any], bool] | None = None) -> Property[S, A]:
        """A reachability property: some reachable state (``holds``) or step (``step``,
        false on every action not of the classes ``actions``, or carrying no message of
        the kinds ``messages``, when given; false on every state or step of a
        configuration ``possible`` is false of, when given)."""
        return cls(name, Expectation.SOMETIMES, description, holds, step, actions, messages,
                   possible)

    def possible_in(self, config: Any) -> bool:
        """Whether a witness of this property may exist in ``config`` (:attr:`possible`)."""
        return self.possible is None or self.possible(config)

    def can_hold(self, action: Any) -> bool:
        """Whether :attr:`step` can hold on a step by ``action``: of :attr:`actions`'
        classes (any when None) carrying a message of :attr:`messages`' kinds (any when
        None). It reads the action's class and its message's kind alone (the spec
        model's ``step_key``), so the explorer asks it once per such pair."""
        if self.actions is None:
            return True
        if not isinstance(action, self.actions):
            return False
        return self.messages is None or action.message.kind in self.messages


_NOTHING: frozenset[int] = frozenset()


def deleted(state: State) -> frozenset[int]:
    """The put ids a delete that was not definitely refused covers: the union of the
    true histories of every tombstone a coordinator performed (its put record
    exists), acknowledged or not (empty without deletes).

    A delete whose coordinator crashed or timed out before acknowledging it is
    *indeterminate* (Jepsen's term): its replica puts may still land and its
    tombstones be reaped, so a version it covers may legitimately be gone. A delete
    no coordinator performed (refused: no put record) exempts nothing.
    ``no_resurrection`` still asks only about *acknowledged* deletes."""
    if not state.config.deletes_per_client:
        return _NOTHING
    out: frozenset[int] = frozenset()
    for p in plan_of(state.config).tombstones:
        if state.puts[p - 1] is not None:
            out |= _history_in(state.puts, p)
    return out


def acked_writes_durable(state: State) -> bool:
    """Every acknowledged put is in the true history of a version still held
    somewhere, unless a delete that was not refused (acknowledged or indeterminate:
    :func:`deleted`) covers it (its tombstone may be reaped)."""
    return acked_durable_in(state, stored_values(state))


def acked_durable_in(state: State, held: Iterable[int]) -> bool:
    """:func:`acked_writes_durable` given ``held``, the put ids held anywhere
    (:func:`spec.model.stored_values` of ``state``): it reads the clients, the put
    table and the configuration of ``state`` besides (so the checker can cache
    ``held`` per nodes and per messages, :mod:`model_check.spec_memo`)."""
    acked = [p for client in state.clients for p in client.acked]
    if not acked:
        return True
    gone = deleted(state)
    if gone:
        acked = [p for p in acked if p not in gone]
    covered: set[int] = set()
    for v in held:
        record = state.puts[v - 1]
        if record is not None:
            covered |= record.history
    return all(p in covered for p in acked)


def read_your_writes(state: State) -> bool:
    """A get returns the client's own puts of the key acknowledged before it began
    (unless an acknowledged delete covers them)."""
    gone = deleted(state)
    for client in state.clients:
        for get in client.gets:
            for p in get.acked_before:
                record = state.puts[p - 1]
                if record is None or record.key != get.key or p in gone:
                    continue
                if not any(p in _history_in(state.puts, v) for v in get.returned):
                    return False
    return True


def _antichain(state: State, put_ids: tuple[int, ...]) -> bool:
    if len(put_ids) < 2:
        return True
    records = []
    for v in put_ids:
        record = state.puts[v - 1]
        if record is None:
            return False
        records.append(record)
    return not any(dominates(a, b) for a in records for b in records)


def siblings_are_antichain(state: State) -> bool:
    """No store and no get result holds two versions, one dominating the other."""
    puts = state.puts
    for node in state.nodes:
        for payload in node.store:
            # memoised per (payload object, put table object): both are shared widely
            ident = (id(payload), id(puts))
            cached = _STORE_ANTICHAIN.get(ident)
            if cached is None or cached[0] is not payload or cached[1] is not puts:
                if len(_STORE_ANTICHAIN) > 100_000:
                    _STORE_ANTICHAIN.clear()
                cached = (payload, puts, _antichain(state, values(payload)))
                _STORE_ANTICHAIN[ident] = cached
            if not cached[2]:
                return False
    return all(
        _antichain(state, get.returned) for client in state.clients for get in client.gets
    )


# Each entry holds the payload and put table whose ids make its key.
_STORE_ANTICHAIN: dict[tuple[int, int], tuple[Payload, tuple[PutRecord | None, ...], bool]] = {}


def hint_kept_until_acked(state: State) -> bool:
    """A hint is deleted only after its intended node acknowledged it."""
    return state.hints_deleted <= state.hints_acked


def context_collapses_siblings(state: State) -> bool:
    """A put with the context of a get that returned siblings dominates them all."""
    for record in state.puts:
        if record is None or not record.read_siblings:
            continue
        for sibling in record.read_siblings:
            other = state.puts[sibling - 1]
            if other is None or not dominates(record, other):
                return False
    return True


def monotonic_reads(state: State) -> bool:
    """A client's later get of a key covers every version its earlier gets of it
    returned (but for versions an acknowledged delete covers: those may be reaped)."""
    puts = state.puts
    gone = deleted(state)
    for client in state.clients:
        gets = client.gets
        if len(gets) < 2:
            continue
        for i, later in enumerate(gets):
            for earlier in gets[:i]:
                if earlier.key != later.key:
                    continue
                for v in earlier.returned:
                    if v in gone:
                        continue
                    if not any(v in _history_in(puts, w) for w in later.returned):
                        return False
    return True


def no_resurrection(state: State) -> bool:
    """Once a delete is acknowledged to its client, none of that client's later gets
    returns a (non-tombstone) version in the delete's true history."""
    if not state.config.deletes_per_client:
        return True
    tombstones = plan_of(state.config).tombstones
    puts = state.puts
    for client in state.clients:
        for get in client.gets:
            for d in get.acked_before:
                if d not in tombstones:
                    continue
                covered = _history_in(puts, d)
                if any(v in covered and v not in tombstones for v in get.returned):
                    return False
    return True


def _history_in(puts: tuple[PutRecord | None, ...], put_id: int) -> frozenset[int]:
    record = puts[put_id - 1]
    return record.history if record is not None else frozenset()


def no_false_concurrency(state: State) -> bool:
    """A get returns two versions as siblings only if they are truly concurrent."""
    puts = state.puts
    for client in state.clients:
        for get in client.gets:
            returned = get.returned
            if len(returned) < 2:
                continue
            for i, a in enumerate(returned):
                history_a = _history_in(puts, a)
                for b in returned[i + 1 :]:
                    if b in history_a or a in _history_in(puts, b):
                        return False
    return True


def sibling_bound(state: State) -> bool:
    """No store holds more siblings of a key than its truly concurrent writes."""
    puts = state.puts
    keys = state.config.keys
    for node in state.nodes:
        for key, payload in zip(keys, node.store, strict=True):
            count = len(values(payload))
            if count > 1 and count > concurrent_writes(puts, key):
                return False
    return True


def concurrent_writes(puts: tuple[PutRecord | None, ...], key: str) -> int:
    """The largest number of ``key``'s performed puts none of whose true histories
    contains another (memoised per put table object)."""
    ident = (id(puts), key)
    cached = _CONCURRENT.get(ident)
    if cached is not None and cached[0] is puts:
        return cached[1]
    records = [r for r in puts if r is not None and r.key == key]
    best = 0
    for mask in range(1, 1 << len(records)):
        chosen = [r for i, r in enumerate(records) if mask >> i & 1]
        if len(chosen) > best and not any(
                a.put_id in b.history for a in chosen for b in chosen if a is not b):
            best = len(chosen)
    if len(_CONCURRENT) > 100_000:
        _CONCURRENT.clear()
    _CONCURRENT[ident] = (puts, best)
    return best


# Each entry holds the put table whose id makes its key.
_CONCURRENT: dict[tuple[int, str], tuple[tuple[PutRecord | None, ...], int]] = {}


# ------------------------------------------------------------------ sometimes


def put_acknowledged(state: State) -> bool:
    """Some put was acknowledged to its client."""
    return any(client.acked for client in state.clients)


def read_after_acknowledged_write(state: State) -> bool:
    """A get completed that began after one of its client's puts was acknowledged."""
    return any(get.acked_before for client in state.clients for get in client.gets)


def siblings_stored(state: State) -> bool:
    """Some node stores two or more concurrent versions (siblings) of a key."""
    return any(len(values(payload)) > 1 for node in state.nodes for payload in node.store)


def siblings_collapsed(state: State) -> bool:
    """A put was written with the context of a get that returned siblings."""
    return any(record is not None and record.read_siblings for record in state.puts)


def read_after_read(state: State) -> bool:
    """A client completed a get of a key after an earlier get of it returned a version."""
    for client in state.clients:
        gets = client.gets
        for i, later in enumerate(gets):
            if any(earlier.key == later.key and earlier.returned for earlier in gets[:i]):
                return True
    return False


def get_returns_siblings(state: State) -> bool:
    """A get returned two or more versions."""
    return any(len(get.returned) > 1 for client in state.clients for get in client.gets)


def write_after_read(state: State) -> bool:
    """A put carried the context of a get that returned a version (read-then-write)."""
    return any(record is not None and len(record.history) > 1 for record in state.puts)


def new_actor_writes(state: State) -> bool:
    """A put was minted under a node's new actor (a later storage lifetime)."""
    return any(record is not None and "~" in record.dot[0] for record in state.puts)


def clock_truncated(state: State) -> bool:
    """A put's clock was truncated: it does not dominate a version it truly descends."""
    puts = state.puts
    for record in puts:
        if record is None or record.dot[1] or record.stamp[1]:
            continue
        for v in record.history:
            other = puts[v - 1]
            if v != record.put_id and other is not None and not dominates(record, other):
                return True
    return False


def disk_lost_holding_data(before: State, action: Action, after: State) -> bool:
    """A node lost its disk (or, buffered, its unflushed writes) while it held a version."""
    if not isinstance(action, DiskLoss | BufferedCrash):
        return False
    node = before.node(action.node)
    return any(values(p) for p in node.store) or bool(node.hints)


def restored_behind(before: State, action: Action, after: State) -> bool:
    """A node's disk was restored from a backup that lacks a version it held."""
    if not isinstance(action, Restore):
        return False
    held = before.node(action.node).store
    restored = after.node(action.node).store
    return any(set(values(p)) - set(values(q)) for p, q in zip(held, restored, strict=True))


def fallback_holds_hint(state: State) -> bool:
    """A fallback holds a hinted replica for a replica it could not reach."""
    return any(node.hints for node in state.nodes)


def hint_handed_off(state: State) -> bool:
    """A hint reached its intended node, and its fallback deleted it after the ack."""
    return bool(state.hints_deleted)


def converged_after_a_write(state: State) -> bool:
    """The replicas converged on a written version (not only on the empty store)."""
    return converged(state) and any(
        values(payload) for node in state.nodes for payload in node.store
    )


def coordinator_times_out(before: State, action: Action, after: State) -> bool:
    """A coordinator stops waiting for a target (and, with a sloppy quorum, tries a
    fallback)."""
    return isinstance(action, Timeout)


def read_repair_repairs(before: State, action: Action, after: State) -> bool:
    """A read repair is delivered and changes the replica's store."""
    if not isinstance(action, Deliver) or action.message.kind is not Kind.READ_REPAIR:
        return False
    name = action.message.dst
    return before.node(name).store != after.node(name).store


def _deletes(config: Config) -> bool:
    """Whether ``config`` has deletes (tombstones: :func:`spec.step.plan_of`)."""
    return bool(plan_of(config).tombstones)


def _prunes_retired(config: Config) -> bool:
    """Whether ``config`` prunes retired lifetimes' entries (``[features] prune_retired``)."""
    return config.prune_retired >= 0


def _joins(config: Config) -> bool:
    """Whether ``config`` has a node joining the ring."""
    return bool(config.joining)


def _changes_ring(config: Config) -> bool:
    """Whether ``config`` may change the ring (a join, a leave or a force-remove budget):
    else ``State.membership`` is None in every state (:func:`spec.membership.
    initial_membership`; no mechanism sets it), and a step witness that needs it cannot
    hold (session 59: ``anti_entropy_with_new_owner`` was asked of every anti-entropy
    step of model_check/configs/sloppy-two-keys-drop-partition.toml, 12.6 x 10^6 states)."""
    return config.membership


def _refuses_writes(config: Config) -> bool:
    """Whether ``config`` budgets refused writes (``faults.write_failures``): else the
    fault budget ``State.used`` has five entries (:func:`spec.model.initial_state`) and
    no refusal is ever spent (session 59: ``acked_after_refused_write`` was asked of every
    delivered ``replica-put-ack`` of the configuration above)."""
    return config.write_failures > 0


def delete_acknowledged(state: State) -> bool:
    """A delete (a tombstone) is acknowledged to its client."""
    if not _deletes(state.config):
        return False
    tombstones = plan_of(state.config).tombstones
    return any(p in tombstones for client in state.clients for p in client.acked)


def tombstone_reaped(before: State, action: Action, after: State) -> bool:
    """A reap empties a copy that held a tombstone."""
    return isinstance(action, Reap) and before.nodes != after.nodes


def retired_entry_pruned(before: State, action: Action, after: State) -> bool:
    """A node's dvv record of a key lost the entry of a retired storage lifetime and
    still holds entries: ``[features] prune_retired`` dropped it (spec/retired.py;
    session 33's review). Nothing else drops an entry from a record it leaves
    non-empty (a merge takes the union; a reap, a disk loss or a key let go empties
    the record), but a restore replaces it: not counted."""
    if not _prunes_retired(before.config) or isinstance(action, Restore):
        return False
    live = dict(zip(before.config.all_nodes, after.epochs, strict=True))
    for b, a in zip(before.nodes, after.nodes, strict=True):
        if b is a:
            continue
        for old, new in zip(b.store, a.store, strict=True):
            if (old is new or not isinstance(old, DVVSet) or not isinstance(new, DVVSet)
                    or not new.entries):
                continue
            held = {entry.id for entry in new.entries}
            for entry in old.entries:
                if entry.id not in held:
                    node, lifetime = lifetime_of(entry.id)
                    if lifetime < live.get(node, 0):
                        return True
    return False


def outside_copy_dropped(before: State, action: Action, after: State) -> bool:
    """A reap drops a copy holding a live version (not only tombstones): a copy
    outside the key's replicas that a replica's tombstones dominate
    (spec/deletes.py: a read-repaired fallback, a late write to an old owner),
    which no plain reap empties."""
    if not isinstance(action, Reap) or before.nodes == after.nodes:
        return False
    tombstones = plan_of(before.config).tombstones
    k = before.config.keys.index(action.key)
    return any(not tombstones.issuperset(values(before.node(name).store[k]))
               for name in action.nodes)


def reaped_during_get(before: State, action: Action, after: State) -> bool:
    """A reap empties a copy of a key while an up node coordinates a get of that key
    (session 39: a reap waits only for the gets that hold a version a delete covers,
    spec/deletes.py guard 2; before, any get of the key in progress refused it, and
    gets overlapping at every node kept a hot deleted key's tombstones for ever)."""
    if not isinstance(action, Reap) or before.nodes == after.nodes:
        return False
    return any(node.up and any(c.key == action.key and not c.is_put for c in node.coord)
               for node in before.nodes)


def read_after_delete(state: State) -> bool:
    """A get completes that began after its client's delete was acknowledged."""
    if not _deletes(state.config):
        return False
    tombstones = plan_of(state.config).tombstones
    return any(d in tombstones for client in state.clients for get in client.gets
               for d in get.acked_before)


def put_survives_delete(state: State) -> bool:
    """A get returns a tombstone and a put concurrent with it as siblings (the put
    the delete did not cover is kept)."""
    if not _deletes(state.config):
        return False
    tombstones = plan_of(state.config).tombstones
    for client in state.clients:
        for get in client.gets:
            returned = get.returned
            if any(v in tombstones for v in returned) and any(
                    v not in tombstones for v in returned):
                return True
    return False


def anti_entropy_repairs(before: State, action: Action, after: State) -> bool:
    """An anti-entropy exchange changes a replica's store."""
    return isinstance(action, AntiEntropy) and before.nodes != after.nodes


def range_transferred(before: State, action: Action, after: State) -> bool:
    """A range transfer carrying a version reaches the node gaining the range."""
    if not isinstance(action, Deliver) or action.message.kind is not Kind.RANGE_TRANSFER:
        return False
    payload = action.message.payload
    return payload is not None and bool(values(payload))


def late_write_forwarded(before: State, action: Action, after: State) -> bool:
    """A late re-transfer (:func:`spec.membership.late_transfers`, session 35: a range
    transfer of a transfer that arrived already, sent again once a write reached its
    old owner) reaches the new owner and adds a version to its copy."""
    if not isinstance(action, Deliver) or action.message.kind is not Kind.RANGE_TRANSFER:
        return False
    m, membership = action.message, before.membership
    return (membership is not None and (m.key, m.src, m.dst) in membership.handed
            and before.node(m.dst).store != after.node(m.dst).store)


def change_completed(state: State) -> bool:
    """A membership change is complete: its last log entry ("settled" with pending
    ownership, "handed" with the immediate rule) was announced."""
    membership = state.membership
    if membership is None or not membership.log:
        return False
    final = "settled" if state.config.join_handover == "pending" else "handed"
    return membership.log[-1][0] == final


def removed_holding_data(before: State, action: Action, after: State) -> bool:
    """A node is force-removed while its (lost) store held a version: the survivors'
    copies are all that is left of it (session 23)."""
    if not isinstance(action, ForceRemove):
        return False
    return any(values(p) for p in before.node(action.node).store)


def anti_entropy_with_new_owner(before: State, action: Action, after: State) -> bool:
    """An anti-entropy exchange changes a replica's store while a membership change
    is under way (announced, not yet complete: the last entry of the log is no
    ``settled``, or with the naive handover no ``handed``) and one of its pair is
    new in the key's top N (in the top N of the ring after the change, not of the
    ring before it): anti-entropy runs with the node that gains the range
    (:func:`spec.membership.exchanges`, session 24; session 25's join and leave
    entries with anti-entropy on)."""
    membership = before.membership
    if (not isinstance(action, AntiEntropy) or membership is None or not membership.log
            or change_completed(before) or before.nodes == after.nodes):
        return False
    config = before.config
    view = view_of(config, membership.log)
    old = [n for n in config.ring.preference_list(action.key) if n in view.old][: config.n]
    return action.a not in old or action.b not in old


def acked_after_refused_write(before: State, action: Action, after: State) -> bool:
    """A put is acknowledged to its client (by a ``replica-put-ack`` its coordinator
    awaited) while a disk has refused a write (``faults.write_failures``, session 51:
    a refusal spent), so acked_writes_durable and read_your_writes are checked on a put
    acknowledged despite a refused write."""
    return (len(before.used) > 5 and before.used[5] > 0
            and sum(len(c.acked) for c in after.clients)
            > sum(len(c.acked) for c in before.clients))


@dataclass(frozen=True, slots=True)
class _TakenStep:
    """A step predicate: the step is an action of class ``kind`` (the forwarder's
    sometimes-properties of session 54's review: each says that its action of
    :func:`spec.requests.forward_retries` or :func:`spec.handoff.outsider_copies` is
    explored)."""

    kind: type[Action]

    def __call__(self, before: State, action: Action, after: State) -> bool:
        return isinstance(action, self.kind)


def joined_node_coordinates(before: State, action: Action, after: State) -> bool:
    """A client's get goes to a node that joined the ring (it coordinates it)."""
    return (_joins(before.config) and isinstance(action, ClientGet)
            and action.node in before.config.joining)


ALWAYS: tuple[Property[State, Action], ...] = (
    Property.always(
        "acked_writes_durable",
        "a put acknowledged to its client is never lost: some store, hint or in-flight "
        "message holds a version whose true causal history contains it",
        acked_writes_durable,
    ),
    Property.always(
        "read_your_writes",
        "a get started after the client's own put was acknowledged returns a version "
        "whose true causal history contains that put",
        read_your_writes,
    ),
    Property.always(
        "siblings_are_antichain",
        "no node stores, and no get returns, two versions of a key where one's clock "
        "dominates the other's",
        siblings_are_antichain,
    ),
    Property.always(
        "hint_kept_until_acked",
        "a hint is deleted only after its intended node acknowledged it",
        hint_kept_until_acked,
    ),
    Property.always(
        "context_collapses_siblings",
        "a put whose context came from a get that returned siblings produces a version "
        "that dominates all of them",
        context_collapses_siblings,
    ),
    Property.always(
        "monotonic_reads",
        "a client's later get of a key returns, for every version an earlier get of it "
        "returned, a version whose true causal history contains it",
        monotonic_reads,
    ),
    Property.always(
        "no_false_concurrency",
        "a get returns two versions as siblings only if neither's true causal history "
        "contains the other",
        no_false_concurrency,
    ),
    Property.always(
        "sibling_bound",
        "no node stores more siblings of a key than there are truly concurrent writes of it",
        sibling_bound,
    ),
    Property.always(
        "no_resurrection",
        "once a delete is acknowledged, a version its true causal history covers is never "
        "returned by the deleting client's later gets",
        no_resurrection,
    ),
)

EVENTUALLY: tuple[Property[State, Action], ...] = (
    Property.eventually(
        "convergence",
        "once faults stop, a state stays reachable where every replica of each key holds "
        "the same versions, no hint is left and no message is in flight",
        converged,
    ),
)

SOMETIMES: tuple[Property[State, Action], ...] = (
    Property.sometimes(
        "put_acknowledged",
        "a put is acknowledged to its client (acked_writes_durable is not vacuous)",
        holds=put_acknowledged,
    ),
    Property.sometimes(
        "read_after_acknowledged_write",
        "a get completes that began after its client's put was acknowledged "
        "(read_your_writes is not vacuous)",
        holds=read_after_acknowledged_write,
    ),
    Property.sometimes(
        "siblings_stored",
        "a node stores concurrent versions of a key (siblings_are_antichain is not vacuous)",
        holds=siblings_stored,
    ),
    Property.sometimes(
        "siblings_collapsed",
        "a put carries the context of a get that returned siblings "
        "(context_collapses_siblings is not vacuous)",
        holds=siblings_collapsed,
    ),
    Property.sometimes(
        "read_after_read",
        "a client completes a get of a key after an earlier get of it returned a version "
        "(monotonic_reads is not vacuous)",
        holds=read_after_read,
    ),
    Property.sometimes(
        "get_returns_siblings",
        "a get returns two or more versions (no_false_concurrency is not vacuous)",
        holds=get_returns_siblings,
    ),
    Property.sometimes(
        "write_after_read",
        "a put carries the context of a get that returned a version (a read-then-write)",
        holds=write_after_read,
    ),
    Property.sometimes(
        "disk_lost_holding_data",
        "a node loses its disk, or its unflushed writes, while it holds a version",
        step=disk_lost_holding_data,
        actions=(DiskLoss, BufferedCrash),
    ),
    Property.sometimes(
        "restored_behind",
        "a node's disk is restored from a backup that lacks a version it held",
        step=restored_behind,
        actions=(Restore,),
    ),
    Property.sometimes(
        "new_actor_writes",
        "a put is minted under a node's new actor after it lost its disk (actor epochs)",
        holds=new_actor_writes,
    ),
    Property.sometimes(
        "clock_truncated",
        "a put's clock was truncated: it does not dominate a version it truly descends",
        holds=clock_truncated,
    ),
    Property.sometimes(
        "fallback_holds_hint",
        "the sloppy quorum sends a put to a fallback, which keeps it as a hint",
        holds=fallback_holds_hint,
    ),
    Property.sometimes(
        "hint_handed_off",
        "a fallback hands its hint off to the intended node and deletes it after the "
        "acknowledgement (hint_kept_until_acked is not vacuous)",
        holds=hint_handed_off,
    ),
    Property.sometimes(
        "coordinator_times_out",
        "a coordinator times out on a target that did not answer",
        step=coordinator_times_out,
        actions=(Timeout,),
    ),
    Property.sometimes(
        "read_repair_repairs",
        "a read repair is delivered and changes a stale replica's store",
        step=read_repair_repairs,
        actions=(Deliver,),
        messages=frozenset({Kind.READ_REPAIR}),
    ),
    Property.sometimes(
        "anti_entropy_repairs",
        "an anti-entropy exchange changes a replica's store",
        step=anti_entropy_repairs,
        actions=(AntiEntropy,),
    ),
    Property.sometimes(
        "converged_after_a_write",
        "the replicas converge on a written version (convergence is not vacuous)",
        holds=converged_after_a_write,
    ),
)

SOMETIMES = (
    *SOMETIMES,
    Property.sometimes(
        "delete_acknowledged",
        "a delete is acknowledged to its client (no_resurrection is not vacuous)",
        holds=delete_acknowledged,
        possible=_deletes,
    ),
    Property.sometimes(
        "read_after_delete",
        "a get completes that began after its client's delete was acknowledged "
        "(no_resurrection is not vacuous)",
        holds=read_after_delete,
        possible=_deletes,
    ),
    Property.sometimes(
        "tombstone_reaped",
        "a tombstone is reaped from a replica's store (delete_mode)",
        step=tombstone_reaped,
        actions=(Reap,),
    ),
    Property.sometimes(
        "outside_copy_dropped",
        "a reap drops a copy outside the key's replicas that holds a live version the "
        "reaping replica's tombstones dominate (else it would refuse every reap)",
        step=outside_copy_dropped,
        actions=(Reap,),
    ),
    Property.sometimes(
        "reaped_during_get",
        "a tombstone is reaped while a get of its key is in progress (a get holding no "
        "version a delete covers does not hold the reap off)",
        step=reaped_during_get,
        actions=(Reap,),
    ),
    Property.sometimes(
        "retired_entry_pruned",
        "a node's record of a key drops the value-less entry of a retired storage "
        "lifetime ([features] prune_retired is not vacuous)",
        step=retired_entry_pruned,
        possible=_prunes_retired,
    ),
    Property.sometimes(
        "put_survives_delete",
        "a get returns a put concurrent with a delete as a sibling of its tombstone",
        holds=put_survives_delete,
        possible=_deletes,
    ),
)

SOMETIMES = (
    *SOMETIMES,
    Property.sometimes(
        "range_transferred",
        "a range transfer carrying a version reaches the node gaining the range "
        "(membership change)",
        step=range_transferred,
        actions=(Deliver,),
        messages=frozenset({Kind.RANGE_TRANSFER}),
    ),
    Property.sometimes(
        "change_completed",
        "a join, a leave or a force-remove completes: its ranges were transferred (and, "
        "with pending ownership, every member settled on the new ring)",
        holds=change_completed,
    ),
    Property.sometimes(
        "anti_entropy_with_new_owner",
        "an anti-entropy exchange with a node new in the key's top N changes a store "
        "while a join, a leave or a force-remove is under way (anti-entropy during a "
        "membership change is not vacuous)",
        step=anti_entropy_with_new_owner,
        actions=(AntiEntropy,),
        possible=_changes_ring,
    ),
    Property.sometimes(
        "joined_node_coordinates",
        "a client's get is coordinated by a node that joined the ring",
        step=joined_node_coordinates,
        actions=(ClientGet,),
        possible=_joins,
    ),
    Property.sometimes(
        "late_write_forwarded",
        "a late re-transfer (a write that reached an old owner after its range transfer "
        "arrived, forwarded to the new owner) adds a version to the new owner's copy "
        "(the late re-transfer is not vacuous)",
        step=late_write_forwarded,
        actions=(Deliver,),
        messages=frozenset({Kind.RANGE_TRANSFER}),
    ),
    Property.sometimes(
        "acked_after_refused_write",
        "a put is acknowledged after a node's disk refused a write (the failing disk is "
        "not vacuous: acked_writes_durable and read_your_writes are checked on it)",
        step=acked_after_refused_write,
        actions=(Deliver,),
        messages=frozenset({Kind.REPLICA_PUT_ACK}),
        possible=_refuses_writes,
    ),
    Property.sometimes(
        "removed_holding_data",
        "a node is force-removed while its lost store held a version (the removal "
        "is not vacuous: acked_writes_durable rests on the survivors' copies)",
        step=removed_holding_data,
        actions=(ForceRemove,),
    ),
    # session 54's review: the forwarder's retries and its copy's hand-off
    # (workload.coordinator = "any"; spec.requests.forward_retries,
    # spec.handoff.outsider_copies) are explored
    Property.sometimes(
        "forward_retried",
        "a forward whose target cannot answer goes on to a later node of the top N",
        step=_TakenStep(ForwardAgain),
        actions=(ForwardAgain,),
    ),
    Property.sometimes(
        "forwarder_coordinates",
        "a forwarder that reaches no node of the top N coordinates the put itself",
        step=_TakenStep(ForwardFallback),
        actions=(ForwardFallback,),
    ),
    Property.sometimes(
        "outsider_hands_off",
        "a node outside the top N keeps its copy of a key as hints for the top N",
        step=_TakenStep(OutsiderHandoff),
        actions=(OutsiderHandoff,),
    ),
    Property.sometimes(
        "outsider_lets_go",
        "a node outside the top N deletes its copy once every top-N node acknowledged it",
        step=_TakenStep(OutsiderLetGo),
        actions=(OutsiderLetGo,),
    ),
)

# session 56: the rebuild's and the refusing target's rules reached
# (model_check.rebuild_witnesses: each a verdict a spec mutant of its rule changes)
SOMETIMES = (
    *SOMETIMES,
    Property.sometimes(
        "rebuilding_put_unacked",
        "a replica whose disk was lost, not rebuilt yet, stores a put's copy its "
        "coordinator awaits and does not acknowledge it (features.rebuild)",
        step=rebuilding_put_unacked,
        actions=(Deliver,),
        messages=frozenset({Kind.REPLICA_PUT}),
        possible=rebuilds,
    ),
    Property.sometimes(
        "rebuilding_own_write_uncounted",
        "a put reaches a coordinator whose disk was lost, not rebuilt yet: it stores its "
        "own write and does not count it towards W (features.rebuild)",
        step=rebuilding_own_write_uncounted,
        actions=(ClientPut,),
        possible=rebuilds,
    ),
    Property.sometimes(
        "rebuilding_read_fails",
        "a get whose coordinator's own read does not count (its disk was lost, not "
        "rebuilt yet) fails once R is out of reach without it, rather than waiting for "
        "ever (features.rebuild)",
        step=rebuilding_read_fails,
        actions=(Deliver, Timeout),
        possible=rebuilds,
    ),
    Property.sometimes(
        "refused_target_acks_again",
        "a target whose refusal of a put's copy its coordinator took stores another copy "
        "(a duplicate) and acknowledges it, which then counts (write_failures with "
        "duplicates)",
        step=refused_target_acks_again,
        actions=(Deliver,),
        messages=frozenset({Kind.REPLICA_PUT}),
        possible=refuses_copies,
    ),
)

# session 60: clients that chain a put's answered context (model_check.chain_witnesses)
SOMETIMES = (
    *SOMETIMES,
    Property.sometimes(
        "write_after_own_write",
        "a client's write carries a context that covers its own earlier put "
        "(workload.chain_puts: the context its acknowledgement answered)",
        holds=write_after_own_write,
        possible=chains,
    ),
    Property.sometimes(
        "fresh_pair_minted",
        "a dvv put past an unread value of its client's pair mints under a fresh pair "
        "(spec.dvv.dot_actor; workload.chain_puts)",
        holds=fresh_pair_minted,
        possible=chains_dvv,
    ),
)

PROPERTIES: dict[str, Property[State, Action]] = {
    p.name: p for p in (*ALWAYS, *EVENTUALLY, *SOMETIMES)
}
"""Every named property of the spec, by name: always, then eventually, then sometimes."""
