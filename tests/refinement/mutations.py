"""Seeded bugs for the refinement tests' non-vacuity check.

Theory of operation
-------------------
Each mutant is a context manager that patches one small piece of the
implementation (a module-level function as a mechanism module imported it, or a
method of a mechanism's class) and restores it on exit.
Nothing here is imported by shipped code paths: the harness applies a mutant
around a run of the lockstep tests (``tests/refinement/test_mutations.py``) and
expects the run to fail, i.e. the mutant to be *killed*.

The kill list (:data:`MUTANTS`):

``ack-before-w``
    a put is acknowledged once W - 1 replicas stored it;
``hint-deleted-before-ack``
    a hint scan deletes each hint as soon as it sends it;
``reconcile-keeps-dominated``
    merging two records keeps the versions the other dominates;
``reconcile-drops-concurrent``
    merging two concurrent records keeps only one side;
``read-repair-writes-older``
    read repair sends a stale replica the oldest answer instead of the
    reconciled versions;
``fallback-ack-without-hint``
    a fallback stores a hinted replica as its own version (no hint) and the
    coordinator counts its acknowledgement anyway.

Mutants that do *less* than the spec (issue 12: each passed every lockstep test
while the lockstep took a missing step for a stutter):

``read-repair-first-stale-only``
    read repair repairs only the first stale responder;
``merkle-one-way``
    a Merkle exchange copies one way only: the side that sent its records never
    receives the merged ones back;
``merkle-back-send-malformed``
    the same, because the back-send is built with a missing argument (its
    records) and the resulting error is taken for a peer's bad data;
``merkle-trees-stale``
    the Merkle trees never update after they are built;
``hint-scan-sends-nothing``
    a hint scan keeps its hints and sends none;
``trees-kept-at-ring-change``
    a node's Merkle trees are not re-cut when the ring it serves by changes (session
    24): a node new in a key's top N after a handover holds no tree of the key's
    range, so its exchanges move nothing (only a membership change with anti-entropy
    on reaches it: the force-remove entries, mapped since session 24).

Mutants of session 35's one-way ask (:data:`ONE_WAY_MUTANTS`, session 36: before
the lockstep let the ask run, each passed every test of tests/refinement):

``one-way-never-asks``
    a replica whose merge kept an entry its sender pruned never asks;
``one-way-answer-ignored``
    the asker drops the answer unmerged;
``one-way-answer-names-nothing``
    the asked node answers without the retirements it knows;
``one-way-ask-unanswered``
    the ask goes as an answer (``reply`` False): nobody answers it.

A mutant whose only symptom is an internal error (the lockstep's internal-error
check, ``Lockstep._no_internal_errors``, is what kills it):

``late-ack-raises``
    an acknowledgement that arrives after its put ended (every target acknowledged,
    or the deadline passed) raises instead of being ignored; the ack is consumed
    either way and nothing changes (a stutter in the spec), so every state matches.

A mutant only the end-of-run progress check catches (``Lockstep.quiesce`` in the
machine's teardown, ``check_progress``):

``gossip-answers-forever``
    a node answers every gossip message, an answer too, with a push of its view:
    two nodes gossip for ever. Each step is a stutter (the spec has no gossip when
    the membership does not change, and the abstraction no gossip message), but
    with the faults stopped the run never quiesces, so it never converges.

Mutants of issue 10's mappings (disk loss, buffered crashes, clock skew, truncation):

``actor-reused-after-wipe``
    a node whose disk was replaced mints under the actor of its first lifetime
    again although actor epochs are on (kv679 unfixed);
``buffered-restart-keeps-actor``
    a buffered engine's restart keeps the actor of the lifetime whose unflushed
    writes the crash lost (the buffered actor rule dropped);
``op-ids-reused-after-wipe``
    a node whose disk was replaced counts its operation ids from where its first
    lifetime did, so a late answer to an old operation counts for a new one;
``hybrid-ignores-context``
    the hybrid lww stamp ignores the context (only the clock and the stored stamp);
``wall-clock-rule-ignored``
    ``lww_timestamps = "wall-clock"`` stamps with the hybrid rule anyway;
``truncation-drops-the-new-pair``
    the per-put truncation drops the pair the put just incremented, not the oldest.

Deletes and reaping (issue 11; killed by the seeded walks of
:mod:`tests.refinement.walks` on the suite's delete entries):

``reap-before-all-n``
    a delete's coordinator decides the (safe) reap once W targets acknowledged
    it, not all N, and reaps when the grace period passed without asking the
    members (the timed rule before impl/reaping.py's query round; with the query,
    deciding at W is safe: the members' answers check the spec's guard 3);
``reap-removes-newer``
    a reap removes the record whatever it holds now (a put that arrived after
    the reap was decided is lost with the tombstone);
``delete-covers-unseen-put``
    a delete's tombstone carries the coordinator's whole clock, not its
    context's: a put concurrent with the delete is superseded (lost);
``delete-keeps-concurrent-tombstones``
    a dvv delete keeps the tombstones it is concurrent with (the rule before
    session 26: a delete retried with one context added a sibling per try);
``delete-collapses-live-values``
    a dvv delete drops the live values it is concurrent with too, not only the
    tombstones (a put concurrent with the delete is lost);
``read-repair-skips-tombstones``
    read repair does not send a reconciled record that holds a tombstone;
``anti-entropy-skips-tombstones``
    a Merkle exchange does not carry the records that hold a tombstone;
``handoff-skips-tombstones``
    a hint scan keeps the hints that hold a tombstone and never hands them off.

Mutants of the membership change (issue 11, naive handover):

``old-owner-hands-nothing``
    a node that leaves a key's top N (a leaving node) never hands the key over;
``every-holder-hands-over``
    every node holding a key hints the key's new owner (the rule before riak_core's
    ownership handoff);
``old-copy-kept-after-handover``
    the old owner keeps its copy once the range was handed over.

Mutants of pending ownership (issue 11, the default handover):

``write-acked-in-old-group-only``
    during a change a put is acknowledged after W acks within the old top N, the
    new top N not counted (the joint write quorum broken);
``joining-node-serves-before-transfer``
    a node routes by the ring the ranges are moving to at once (a joining node
    coordinates and answers for its ranges before their transfer).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import impl.antientropy as antientropy_module
import impl.gossip as gossip_module
import impl.node as node_module
import impl.put_coordinator as put_coordinator_module
import impl.read_repair as read_repair_module
import impl.replica as replica_module
from impl import versions
from impl.antientropy import AntiEntropy, RangeTrees
from impl.context import encode_context_pairs
from impl.effects import Effect, Send
from impl.forwarding import ReplyTo
from impl.gossip import Gossiper
from impl.handoff import HintedHandoff
from impl.messages import (
    Gossip,
    HintDelivery,
    KeyRecords,
    PutRequest,
    ReadRepair,
    ReplicaPut,
    ReplicaPutAck,
)
from impl.put_coordinator import PutCoordination, PutCoordinator, ack_counts
from impl.read_repair import ReadRepairer, read_repair_targets
from impl.reaping import Reaper
from impl.replica import Replica
from impl.storage.base import Storage
from impl.timers import HintScan
from impl.versions import (
    ACTOR_META,
    TOMBSTONE,
    ClockMode,
    Record,
    Sibling,
    context_pairs,
    encode_record,
)
from model_check.refinement import Lockstep
from spec import dvv
from spec.ring import Partitioning
from spec.vclock import VClock

__all__ = ["MUTANTS", "Mutant"]

Mutant = Callable[[], contextlib.AbstractContextManager[None]]

#: the modules that reconcile records with impl.versions.merge
_MERGING = (replica_module, antientropy_module, read_repair_module)


@contextlib.contextmanager
def _patch(owner: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextlib.contextmanager
def ack_before_w() -> Iterator[None]:
    def quorum(coordination: PutCoordination) -> bool:
        return len(coordination.acks) >= coordination.w - 1

    with _patch(put_coordinator_module, "put_quorum_reached", quorum):
        yield


@contextlib.contextmanager
def hint_deleted_before_ack() -> Iterator[None]:
    original = HintedHandoff.on_scan

    def scan(self: HintedHandoff, now: float, timer: HintScan) -> list[Effect]:
        out = original(self, now, timer)
        for effect in out:
            if isinstance(effect, Send) and isinstance(effect.message, HintDelivery):
                self.hints.storage.remove_hint(effect.message.hint_id)
        return out

    with _patch(HintedHandoff, "on_scan", scan):
        yield


def _merge_keeping_dominated(a: Record, b: Record) -> Record:
    merged = _MERGE(a, b)
    if a.mode is ClockMode.DVV:
        lost = [v for v in (*dvv.values(a.dvvset), *dvv.values(b.dvvset))
                if v not in dvv.values(merged.dvvset)]
        if lost:
            anonymous = tuple(sorted({*merged.dvvset.anonymous, *lost}))
            return Record(a.mode, dvvset=dvv.DVVSet(merged.dvvset.entries, anonymous))
        return merged
    kept = {s.value for s in merged.siblings}
    extra = tuple(s for s in (*a.siblings, *b.siblings) if s.value not in kept)
    return Record(a.mode, tuple({s.value: s for s in (*merged.siblings, *extra)}.values()))


def _merge_dropping_concurrent(a: Record, b: Record) -> Record:
    merged = _MERGE(a, b)
    if a.is_empty or b.is_empty:
        return merged
    if versions.sibling_count(merged) > max(versions.sibling_count(a),
                                            versions.sibling_count(b)):
        return a  # concurrent: one side is silently dropped
    return merged


_MERGE = versions.merge


@contextlib.contextmanager
def _merging_with(merge: Callable[[Record, Record], Record]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for module in _MERGING:
            stack.enter_context(_patch(module, "merge", merge))
        yield


@contextlib.contextmanager
def reconcile_keeps_dominated() -> Iterator[None]:
    with _merging_with(_merge_keeping_dominated):
        yield


@contextlib.contextmanager
def reconcile_drops_concurrent() -> Iterator[None]:
    with _merging_with(_merge_dropping_concurrent):
        yield


@contextlib.contextmanager
def read_repair_writes_older() -> Iterator[None]:
    def repair(self: ReadRepairer, key: bytes, replies: dict[str, Record],
               replicas: frozenset[str] | None = None) -> list[Effect]:
        merged, stale = read_repair_targets(replies)
        if replicas is not None and not self.replica.config.read_repair_fallbacks:
            stale = [node for node in stale if node in replicas]  # (session 27's rule)
        older = [r for _, r in sorted(replies.items()) if _MERGE(r, merged) != r]
        oldest = older[0] if older else merged  # an answer missing something
        out: list[Effect] = []
        for node in stale:
            if node == self.name:
                self.replica.write_local(key, _MERGE(self.replica.local_record(key), oldest))
            elif not oldest.is_empty:
                out.append(Send(node, ReadRepair(key, encode_record(oldest))))
        return out

    with _patch(ReadRepairer, "repair", repair):
        yield


@contextlib.contextmanager
def fallback_ack_without_hint() -> Iterator[None]:
    def store_as_own(self: Replica, src: str, message: ReplicaPut,
                     now: float = 0.0) -> list[Effect]:
        record = self.decode(message.key, message.record)
        self.write_local(message.key, versions.merge(self.local_record(message.key), record))
        return [Send(src, ReplicaPutAck(message.op_id, message.key))]

    def counts(coordination: PutCoordination, src: str, hint: str) -> str | None:
        if src in coordination.hints_sent:
            return coordination.hints_sent[src]
        return ack_counts(coordination, src, "")

    with _patch(Replica, "on_replica_put", store_as_own), \
            _patch(put_coordinator_module, "ack_counts", counts):
        yield


@contextlib.contextmanager
def read_repair_first_stale_only() -> Iterator[None]:
    def first_only(replies: dict[str, Record]) -> tuple[Record, list[str]]:
        merged, stale = read_repair_targets(replies)
        return merged, stale[:1]

    with _patch(read_repair_module, "read_repair_targets", first_only):
        yield


@contextlib.contextmanager
def merkle_one_way() -> Iterator[None]:
    original = AntiEntropy.on_key_records

    def no_back_send(self: AntiEntropy, src: str, message: KeyRecords) -> list[Effect]:
        original(self, src, message)
        return []

    with _patch(AntiEntropy, "on_key_records", no_back_send):
        yield


@contextlib.contextmanager
def merkle_back_send_malformed() -> Iterator[None]:
    original = AntiEntropy.on_key_records

    def malformed(self: AntiEntropy, src: str, message: KeyRecords) -> list[Effect]:
        out = original(self, src, message)
        for effect in out:
            if isinstance(effect, Send) and isinstance(effect.message, KeyRecords):
                # the records argument forgotten: the constructor refuses the message
                KeyRecords(effect.message.keys, (), effect.message.session)
        return out

    with _patch(AntiEntropy, "on_key_records", malformed):
        yield


@contextlib.contextmanager
def late_ack_raises() -> Iterator[None]:
    original = PutCoordinator.on_ack

    def on_ack(self: PutCoordinator, now: float, src: str,
               message: ReplicaPutAck) -> list[Effect]:
        if message.op_id not in self.coordinations:  # the late ack's path, rarely taken
            raise KeyError(f"put {message.op_id}: no coordination")
        return original(self, now, src, message)

    with _patch(PutCoordinator, "on_ack", on_ack):
        yield


@contextlib.contextmanager
def gossip_answers_forever() -> Iterator[None]:
    original = Gossiper.on_gossip

    def on_gossip(self: Gossiper, src: str, message: Gossip) -> list[Effect]:
        out = original(self, src, message)
        if not any(isinstance(e, Send) and isinstance(e.message, Gossip) for e in out):
            out = [*out, Send(src, Gossip(self.view.to_bytes()))]  # an answer to an answer
        return [Send(e.dest, Gossip(e.message.view, reply=True))
                if isinstance(e, Send) and isinstance(e.message, Gossip) else e for e in out]

    with _patch(Gossiper, "on_gossip", on_gossip):
        yield


@contextlib.contextmanager
def merkle_trees_stale() -> Iterator[None]:
    def never(self: RangeTrees, key: bytes, record: bytes) -> None:
        return None

    with _patch(RangeTrees, "update", never):
        yield


@contextlib.contextmanager
def trees_kept_at_ring_change() -> Iterator[None]:
    with _patch(AntiEntropy, "on_ring_change", lambda self: None):
        yield


@contextlib.contextmanager
def hint_scan_sends_nothing() -> Iterator[None]:
    def scan(self: HintedHandoff, now: float, timer: HintScan) -> list[Effect]:
        return []

    with _patch(HintedHandoff, "on_scan", scan):
        yield


@contextlib.contextmanager
def actor_reused_after_wipe() -> Iterator[None]:
    original = versions.lifetime_actor  # as impl.node imports it (it exports only Node)
    first: dict[str, str] = {}

    def reused(storage: Storage, name: str, *, seed: int, now: float,
               epochs: bool = True, per_start: bool = True) -> str:
        return first.setdefault(name, original(storage, name, seed=seed, now=now,
                                               epochs=epochs, per_start=per_start))

    with _patch(node_module, "lifetime_actor", reused):
        yield


@contextlib.contextmanager
def reap_before_all_n() -> Iterator[None]:
    original = PutCoordinator._check

    def check(self: PutCoordinator, coordination: PutCoordination, now: float) -> list[Effect]:
        replied = coordination.replied
        out = original(self, coordination, now)
        if coordination.tombstone and coordination.replied and not replied:
            out.extend(self.reaper.schedule(now, coordination.key,
                                            self.replica.parse(coordination.tombstone),
                                            coordination.targets))
        return out

    def timed(self: Reaper, now: float, timer: Any) -> list[Effect]:
        return self.reap_now(timer.key, timer.record, timer.targets)

    with _patch(PutCoordinator, "_check", check), _patch(Reaper, "on_timer", timed):
        yield


@contextlib.contextmanager
def buffered_restart_keeps_actor() -> Iterator[None]:
    original = versions.lifetime_actor  # as impl.node imports it (it exports only Node)

    def kept(storage: Storage, name: str, *, seed: int, now: float,
             epochs: bool = True, per_start: bool = True) -> str:
        actor = storage.get_meta(ACTOR_META)
        if epochs and actor is not None:
            return actor.decode("utf-8")
        return original(storage, name, seed=seed, now=now, epochs=epochs,
                        per_start=per_start)

    with _patch(node_module, "lifetime_actor", kept):
        yield


@contextlib.contextmanager
def reap_removes_newer() -> Iterator[None]:
    def reap_any(self: Reaper, key: bytes, record: bytes) -> None:
        if self.replica.storage.read(key) is not None:
            self.replica.reap(key)

    with _patch(Reaper, "reap_local", reap_any):
        yield


@contextlib.contextmanager
def op_ids_reused_after_wipe() -> Iterator[None]:
    def base(storage: Storage, name: str, seed: int, now: float, *,
             per_start: bool = False, actor: str = "") -> int:
        return 0

    with _patch(node_module, "_op_id_base", base):
        yield


_LWW_VERSION = versions.lww_version


@contextlib.contextmanager
def hybrid_ignores_context() -> Iterator[None]:
    def no_context(record: Record, context: VClock, value: bytes, *, coordinator: str,
                   now: float, hybrid: bool = True) -> Sibling:
        return _LWW_VERSION(record, VClock(), value, coordinator=coordinator, now=now,
                            hybrid=hybrid)

    with _patch(versions, "lww_version", no_context):
        yield


@contextlib.contextmanager
def delete_covers_unseen_put() -> Iterator[None]:
    original = PutCoordinator.start

    def start(self: PutCoordinator, now: float, request: PutRequest,
              reply_to: ReplyTo) -> list[Effect]:
        if request.delete:
            stored = self.replica.local_record(request.key)
            context = encode_context_pairs(context_pairs(stored), key=request.key,
                                           mode=self.mode, secret=self.config.context_secret)
            request = dataclasses.replace(request, context=context)
        return original(self, now, request, reply_to)

    with _patch(PutCoordinator, "start", start):
        yield


@contextlib.contextmanager
def delete_keeps_concurrent_tombstones() -> Iterator[None]:
    with _patch(versions, "_is_tombstone", lambda value: False):
        yield


@contextlib.contextmanager
def delete_collapses_live_values() -> Iterator[None]:
    with _patch(versions, "_is_tombstone", lambda value: True):
        yield


@contextlib.contextmanager
def wall_clock_rule_ignored() -> Iterator[None]:
    def always_hybrid(record: Record, context: VClock, value: bytes, *, coordinator: str,
                      now: float, hybrid: bool = True) -> Sibling:
        return _LWW_VERSION(record, context, value, coordinator=coordinator, now=now)

    with _patch(versions, "lww_version", always_hybrid):
        yield


@contextlib.contextmanager
def read_repair_skips_tombstones() -> Iterator[None]:
    original = ReadRepairer.repair

    def repair(self: ReadRepairer, key: bytes, replies: dict[str, Record],
               replicas: frozenset[str] | None = None) -> list[Effect]:
        return [effect for effect in original(self, key, replies, replicas)
                if not (isinstance(effect, Send) and isinstance(effect.message, ReadRepair)
                        and TOMBSTONE in effect.message.record)]

    with _patch(ReadRepairer, "repair", repair):
        yield


@contextlib.contextmanager
def truncation_drops_the_new_pair() -> Iterator[None]:
    def oldest_kept(clock: VClock, threshold: int, entry: str) -> VClock:
        if len(clock.pairs) <= threshold:
            return clock
        kept = sorted(clock.pairs, key=lambda pair: (pair[0] == entry, pair[0]))[:threshold]
        return VClock.of(dict(kept))

    with _patch(versions, "truncate_new_clock", oldest_kept):
        yield


@contextlib.contextmanager
def anti_entropy_skips_tombstones() -> Iterator[None]:
    original = AntiEntropy.on_key_records

    def skip(self: AntiEntropy, src: str, message: KeyRecords) -> list[Effect]:
        kept = [(k, r) for k, r in zip(message.keys, message.records, strict=True)
                if TOMBSTONE not in r]
        if not kept:
            return []
        message = KeyRecords(tuple(k for k, _ in kept), tuple(r for _, r in kept),
                             message.session, reply=message.reply)
        return original(self, src, message)

    with _patch(AntiEntropy, "on_key_records", skip):
        yield


@contextlib.contextmanager
def handoff_skips_tombstones() -> Iterator[None]:
    original = HintedHandoff.on_scan

    def scan(self: HintedHandoff, now: float, timer: HintScan) -> list[Effect]:
        return [effect for effect in original(self, now, timer)
                if not (isinstance(effect, Send) and isinstance(effect.message, HintDelivery)
                        and TOMBSTONE in effect.message.record)]

    with _patch(HintedHandoff, "on_scan", scan):
        yield


@contextlib.contextmanager
def old_owner_hands_nothing() -> Iterator[None]:
    """A node that leaves a key's top N (a leaving node among them) keeps no hint for
    the key's new owner: its range is never handed over."""
    with _patch(Gossiper, "_rebalance", lambda self, old, new: None):
        yield


@contextlib.contextmanager
def every_holder_hands_over() -> Iterator[None]:
    """The rule before riak_core's: every node holding a key hints each node new in
    its top N, not only the old owner that left it."""
    def rebalance(self: Gossiper, old: Partitioning, new: Partitioning) -> None:
        self.moved_from = old
        self.transferred = set()
        n = self.config.n
        for key, raw in self.storage.scan():
            before = old.preference_list(key, n)
            for target in new.preference_list(key, n):
                if target not in before and target != self.name:
                    self.hints.add(target, key, raw)

    with _patch(Gossiper, "_rebalance", rebalance):
        yield


@contextlib.contextmanager
def old_copy_kept_after_handover() -> Iterator[None]:
    """The naive handover's old owner never lets its copy go (neither on the
    acknowledgement nor at a later scan)."""
    original = Gossiper.scanned

    def scanned(self: Gossiper, pending_for: set[str]) -> list[bytes]:
        original(self, pending_for)
        return []

    with _patch(Gossiper, "scanned", scanned), \
            _patch(Gossiper, "let_go", lambda self, target, key, record: False):
        yield


@contextlib.contextmanager
def write_acked_in_old_group_only() -> Iterator[None]:
    """A put during a change counts W acks within the old top N only."""
    original = put_coordinator_module.put_quorum_reached

    def quorum(coordination: PutCoordination) -> bool:
        if coordination.groups:
            return len(coordination.acks.intersection(coordination.groups[0])) >= coordination.w
        return original(coordination)

    with _patch(put_coordinator_module, "put_quorum_reached", quorum):
        yield


@contextlib.contextmanager
def joining_node_serves_before_transfer() -> Iterator[None]:
    """Pending ownership's serving ring is the future one (the naive rule's)."""
    original = Gossiper._routing_partitioning

    def routing(self: Gossiper, view: Any, statuses: Any = None) -> Partitioning:
        return original(self, view, gossip_module.ROUTING)

    def serving(self: Gossiper, view: Any) -> Partitioning:
        return original(self, view, gossip_module.ROUTING)

    with _patch(Gossiper, "_routing_partitioning", routing), _patch(Gossiper, "_serving",
                                                                    serving):
        yield


#: name -> mutant (a context manager factory)
MUTANTS: dict[str, Mutant] = {
    "ack-before-w": ack_before_w,
    "hint-deleted-before-ack": hint_deleted_before_ack,
    "reconcile-keeps-dominated": reconcile_keeps_dominated,
    "reconcile-drops-concurrent": reconcile_drops_concurrent,
    "read-repair-writes-older": read_repair_writes_older,
    "fallback-ack-without-hint": fallback_ack_without_hint,
    "read-repair-first-stale-only": read_repair_first_stale_only,
    "merkle-one-way": merkle_one_way,
    "merkle-back-send-malformed": merkle_back_send_malformed,
    "merkle-trees-stale": merkle_trees_stale,
    "hint-scan-sends-nothing": hint_scan_sends_nothing,
    "trees-kept-at-ring-change": trees_kept_at_ring_change,
    "late-ack-raises": late_ack_raises,
    "gossip-answers-forever": gossip_answers_forever,
    "actor-reused-after-wipe": actor_reused_after_wipe,
    "buffered-restart-keeps-actor": buffered_restart_keeps_actor,
    "op-ids-reused-after-wipe": op_ids_reused_after_wipe,
    "hybrid-ignores-context": hybrid_ignores_context,
    "wall-clock-rule-ignored": wall_clock_rule_ignored,
    "truncation-drops-the-new-pair": truncation_drops_the_new_pair,
    "reap-before-all-n": reap_before_all_n,
    "reap-removes-newer": reap_removes_newer,
    "delete-covers-unseen-put": delete_covers_unseen_put,
    "delete-keeps-concurrent-tombstones": delete_keeps_concurrent_tombstones,
    "delete-collapses-live-values": delete_collapses_live_values,
    "read-repair-skips-tombstones": read_repair_skips_tombstones,
    "anti-entropy-skips-tombstones": anti_entropy_skips_tombstones,
    "handoff-skips-tombstones": handoff_skips_tombstones,
    "old-owner-hands-nothing": old_owner_hands_nothing,
    "every-holder-hands-over": every_holder_hands_over,
    "old-copy-kept-after-handover": old_copy_kept_after_handover,
    "write-acked-in-old-group-only": write_acked_in_old_group_only,
    "joining-node-serves-before-transfer": joining_node_serves_before_transfer,
}


# ---- mutants killed by a named test outside the lockstep (issue 11's leftovers) ----
# (Not in MUTANTS: the lockstep configurations do not reach these paths; each entry
# names the test that kills it.)


@contextlib.contextmanager
def let_go_keeps_actor() -> Iterator[None]:
    """An old owner lets a handed-over copy go without beginning a key epoch (the
    let-go before the kv679 fix: it re-mints the dots it minted into that copy)."""
    with _patch(Reaper, "let_go", lambda self, key: self.replica.reap(key)):
        yield


@contextlib.contextmanager
def reap_asks_only_believed_up() -> Iterator[None]:
    """The reviewer's M17: a reap's query round asks only the members the deciding
    node's failure detector believes up (a member down or suspected may hold a live
    version or a hint of one: the reap must wait for it)."""
    def members(self: node_module.Node) -> tuple[tuple[str, ...], bytes]:
        view = self.gossiper.view
        return (tuple(m for m in view.live_nodes if self.quorum.reachable(m, self._now)),
                view.digest())

    with _patch(node_module.Node, "_members", members):
        yield


@contextlib.contextmanager
def serve_does_not_wait_for_settlement() -> Iterator[None]:
    """The reviewer's M19: ``vdynamo serve`` stops the nodes that left the ring
    without waiting until they announced their change's settlement (the others
    then use joint quorums for good: only the node that left can announce it)."""
    import impl.serve as serve_module

    def leave_state(servers: Any) -> str:
        if not servers or not all(server.node.has_left for server in servers):
            return "serving"
        return "left"

    with _patch(serve_module, "leave_state", leave_state):
        yield


#: name -> (mutant, the test that kills it)
TEST_KILLED: dict[str, tuple[Mutant, str]] = {
    "let-go-keeps-actor": (
        let_go_keeps_actor,
        "tests/impl/test_let_go_key_epoch.py::"
        "test_a_put_through_an_old_owner_after_its_let_go_is_not_lost"),
    "reap-asks-only-believed-up": (
        reap_asks_only_believed_up,
        "tests/impl/test_reap_members.py::test_a_reap_waits_for_a_member_it_believes_down"),
    "serve-does-not-wait-for-settlement": (
        serve_does_not_wait_for_settlement,
        "tests/runtime/test_serve_settlement.py"),
}


# ---- issue 11, the third review: the reviewer's surviving hand mutants, exactly ----


@contextlib.contextmanager
def _source_mutant(owner: type, name: str, old: str, new: str) -> Iterator[None]:
    """``owner.name`` recompiled from its own source with ``old`` (which must occur
    there exactly once) replaced by ``new``: a reviewer's one-line hand mutant
    (/work/wt/rev-findings/mutants/mutants_impl.py), applied in this process."""
    import __future__

    import inspect
    import sys
    import textwrap

    if "MUTANT_UNDER_TEST" in os.environ:
        # under mutmut (`make mutation`: it sets the variable, "" for its clean run) the
        # method is a trampoline without its source
        # text: a hand mutant cannot be rebuilt there, and mutmut mutates it anyway
        pytest.skip(f"{owner.__name__}.{name}: a source-text hand mutant under mutmut")
    function = getattr(owner, name)
    source = textwrap.dedent(inspect.getsource(function))
    if source.count(old) != 1:
        raise AssertionError(f"{owner.__name__}.{name}: {old!r} occurs "
                             f"{source.count(old)} times (the code moved: update the mutant)")
    namespace: dict[str, Any] = {}
    code = compile(source.replace(old, new), inspect.getsourcefile(function) or name, "exec",
                   flags=__future__.annotations.compiler_flag, dont_inherit=True)
    exec(code, sys.modules[function.__module__].__dict__, namespace)
    with _patch(owner, name, namespace[name]):
        yield


def _mutant(owner: type, name: str, old: str, new: str) -> Mutant:
    return lambda: _source_mutant(owner, name, old, new)


#: the review's names (R4, R6, R7, N2, N3, H4, Go11, Go6) -> their mutants
REVIEW3_MUTANTS: dict[str, Mutant] = {
    # R4: a reap's clean check ignores a get or put of the key in progress
    "reap-clean-ignores-busy": _mutant(
        Reaper, "_clean", "if self.busy(key) or self.members()[1] != view:",
        "if self.members()[1] != view:"),
    # R6: the deciding node skips its own clean check (its own hints, requests)
    "reap-decide-skips-own-check": _mutant(
        Reaper, "_decide", "if self._hints_of(key) or not self._clean(key, round_.view):",
        "if False:"),
    # R7: reap_local removes a record that holds a live version beside the tombstone
    "reap-local-drops-live-sibling": _mutant(
        Reaper, "reap_local", "if not is_tombstone_only(mine):", "if False:"),
    # N2: a node forwarding a request of the key is not busy (session 39: a put's; a
    # get's forward makes no node busy)
    "busy-ignores-forwardings": _mutant(
        node_module.Node, "_busy",
        "or any(r.key == key and not isinstance(r, GetRequest) for r in forwarded)",
        "or False"),
    # N3 (session 39: a get no longer makes its coordinator busy, the reviewer's line
    # is gone): a member coordinating a get of the key answers a reap query at once,
    # not once the gets in progress at the query's arrival ended
    "reap-answer-ignores-gets": _mutant(
        Reaper, "on_query", "if reading and self._clean(key, message.view):", "if False:"),
    # H4: a HintAck from any node deletes the hint
    "hint-ack-from-anyone": _mutant(
        HintedHandoff, "on_ack", "if self.hints.intended(message.hint_id) == src:",
        "if self.hints.intended(message.hint_id) is not None:"),
    # Go11: a Settled message from any sender (about any node) is accepted
    "settled-from-anyone": _mutant(
        Gossiper, "on_settled", "if message.node == src and src != self.name:", "if True:"),
    # Go6: an old owner's late write is not handed on to the key's new owners
    "late-write-not-handed-on": _mutant(
        Gossiper, "on_write", "if target not in self.transferred:", "if False:"),
}

_REVIEW3_TESTS = {
    "reap-clean-ignores-busy": "test_a_reap_waits_for_a_put_of_the_key_still_in_progress",
    "reap-decide-skips-own-check": "test_the_deciding_node_checks_its_own_state",
    "reap-answer-ignores-gets": "test_a_reap_answer_waits_for_a_get_of_the_key_in_progress",
    "busy-ignores-forwardings": "test_a_node_forwarding_a_request_of_the_key_is_busy",
    "reap-local-drops-live-sibling":
        "test_an_immediate_reap_keeps_a_put_concurrent_with_the_delete",
    "hint-ack-from-anyone": "test_only_the_intended_nodes_ack_deletes_a_hint",
    "settled-from-anyone": "test_only_the_node_itself_announces_its_settlement",
    "late-write-not-handed-on": "test_an_old_owner_hands_a_late_write_on",
}
TEST_KILLED["targeted-scan-sends-every-due-hint"] = (
    # a hint scan due for given hints (a hint's own retry timer) sends every due one
    _mutant(HintedHandoff, "_scan_page",
            "if given is not None and hint_id not in given:", "if False:"),
    "tests/refinement/test_conformance.py::"
    "test_conformance_catches_a_scan_that_sends_more_than_the_due_hint")
TEST_KILLED.update({name: (REVIEW3_MUTANTS[name],
                           f"tests/impl/test_review3_issue11.py::{test}")
                    for name, test in _REVIEW3_TESTS.items()})


# ---- session 10: a fresh reviewer's hand mutants that the conformance harness's excuses
# (model_check/refinement_conformance.py ``MEMBER_DOWN``; refinement_state.py
# ``late_transfers``) let through in session 9; each killed by a test in tests/refinement ----
TEST_KILLED["reap-on-retry"] = (
    # F2: a safe reap round's retry reaps anyway while members it asked are silent (down
    # or cut off), instead of ending the round not clean and asking again
    _mutant(Reaper, "on_timer", "self.rounds.pop(key, None)",
            "if (silent := self.rounds.pop(key, None)) is not None and silent.waiting:\n"
            "            return [CancelTimer(timer), "
            "*self.reap_now(key, timer.record, timer.targets)]"),
    "tests/refinement/test_reap_refusals.py::test_a_round_that_reaps_on_its_retry_is_not_excused")
TEST_KILLED["reap-on-second-retry"] = (
    # the session-10 reviewer's F2': as reap-on-retry, from the round's 2nd retry on
    # (a harness that drove one retry only excused it)
    _mutant(Reaper, "on_timer", "self.rounds.pop(key, None)",
            "if (silent := self.rounds.pop(key, None)) is not None and silent.waiting \\\n"
            "                    and self.attempts.get(key, 0) >= 2:\n"
            "            return [CancelTimer(timer), "
            "*self.reap_now(key, timer.record, timer.targets)]"),
    "tests/refinement/test_reap_refusals.py::test_a_round_that_reaps_on_a_later_retry_is_not_excused")
TEST_KILLED["reap-after-one-round-more"] = (
    # the session-10 reviewer's F2'': the reaper gives up one round later than
    # REAP_ATTEMPTS and reaps at that extra retry while the member is still down (the
    # harness's REAP_ATTEMPTS firings ended with the timer still set, excused)
    _mutant(Reaper, "on_timer", """    self.rounds.pop(key, None)
    self.due.setdefault(key, timer)
    attempts = self.attempts.get(key, 0) + 1
    if attempts > REAP_ATTEMPTS:""",
            """    if (silent := self.rounds.pop(key, None)) is not None \\
            and silent.waiting and self.attempts.get(key, 0) >= REAP_ATTEMPTS + 1:
        return [CancelTimer(timer), *self.reap_now(key, timer.record, timer.targets)]
    self.due.setdefault(key, timer)
    attempts = self.attempts.get(key, 0) + 1
    if attempts > REAP_ATTEMPTS + 1:"""),
    "tests/refinement/test_reap_refusals.py::test_a_round_that_reaps_on_a_later_retry_is_not_excused")
TEST_KILLED["reap-never-given-up"] = (
    # a refused round asks again for ever (its timer never given up): the harness's
    # firings end with the timer still set
    _mutant(Reaper, "on_timer", "if attempts > REAP_ATTEMPTS:", "if attempts > 10 ** 9:"),
    "tests/refinement/test_reap_refusals.py::test_a_round_that_reaps_on_a_later_retry_is_not_excused")
TEST_KILLED["late-write-keeps-stale-hint"] = (
    # F1: a write that reaches an old owner after its range transfer was sent does not
    # update the transfer hint it keeps (the hint keeps the record as it was at the
    # transfer: the re-transfer would lack the late write)
    _mutant(Gossiper, "on_write", "self._hand(target, key, encoded)",
            "if not any(h.intended == target and h.key == key for h in self.hints.all()):\n"
            "                        self._hand(target, key, encoded)"),
    "tests/refinement/test_conformance.py::"
    "test_conformance_catches_a_late_write_kept_out_of_the_transfer_hint")


# ---- session 11: the harness's own order (issue 12, the session-10 reviewer's finding 8) ----
_LATE_TRANSFERS = """\
    late = self.late_transfers()
    refused = [why for _, _, why in late if why]
    if refused:
        raise InvalidValueError(f"no handover by {node} on the implementation: "
                                + "; ".join(refused))
    if node not in self.handover_candidates():
        raise InvalidValueError(f"the spec does not enable a handover by {node}")
    self._learn_seen(self.present)  # each old owner's transfer, HandoffDone
    self._oracle()
    before = {x.id for x in self.sim.in_flight()}
    for src, hint, _ in late:  # the late re-transfers, each a stutter (see above)
        sent = {x.id for x in self.sim.in_flight()}
        self._fire(src, HintScan(frozenset({hint.hint_id})))
        for m in self.sim.in_flight():
            if m.id not in sent and isinstance(m.message, HintDelivery):
                self.sim.deliver(m.id)
"""
_STALE_CHECK = """\
    stale = self.stale_transfers()
    if stale:  # checked first: a stale hint must not pass as a stutter or unmapped
        raise self._failed_step(f"handover {node}", "; ".join(stale))
"""
TEST_KILLED["stale-check-after-late-transfers"] = (
    # the harness mutant: at the spec's Handover the lockstep judges (and delivers) the
    # late re-transfers before it checks the kept transfer hints for a stale one
    # (Lockstep.handover's two blocks swapped): a stale hint beside a late re-transfer
    # the spec cannot take makes the handover unmapped instead of diverged
    _mutant(Lockstep, "handover", _STALE_CHECK + _LATE_TRANSFERS,
            _LATE_TRANSFERS + _STALE_CHECK),
    "tests/refinement/test_handover_order.py::"
    "test_a_stale_hint_beside_a_refused_late_transfer_diverges")


# ---- session 34: trace validation's progress rule (issue 12, section 1) ----


@contextlib.contextmanager
def anti_entropy_never_sends() -> Iterator[None]:
    """Anti-entropy rounds still run (and set the next round) but open no Merkle
    exchange: a replica that missed a write keeps missing it once hints and read
    repair are done. Every event is a stutter; only the end-of-run progress rule
    (:func:`model_check.trace_validation.convergence_failure`) sees it."""
    original = AntiEntropy.on_round

    def on_round(self: AntiEntropy, now: float, timer: Any) -> list[Effect]:
        return [e for e in original(self, now, timer) if not isinstance(e, Send)]

    with _patch(AntiEntropy, "on_round", on_round):
        yield


TEST_KILLED["anti-entropy-never-sends"] = (
    anti_entropy_never_sends,
    "tests/refinement/test_trace_validation_progress.py::"
    "test_an_implementation_that_stops_converging_is_still_caught")


# ---- session 34: the retired-pruning lockstep (dvv-prune-retired, -own) ----

import impl.retired as retired_module  # noqa: E402  (the module its pruning is looked up in)

#: name -> mutant of the pruning of retired lifetimes' entries (impl/versions.py,
#: impl/replica.py, impl/antientropy.py), each killed by the conformance of
#: dvv-prune-retired (tests/refinement/test_prune_retired_lockstep.py)
PRUNE_MUTANTS: dict[str, Mutant] = {
    # an entry of a retired lifetime goes although it holds a value (a sibling)
    "prune-drops-a-sibling": _mutant(
        retired_module, "prune_retired",  # type: ignore[arg-type]
        "if entry.values or lifetime not in gone", "if lifetime not in gone"),
    # a replica's merge (of a put, a read repair, a hint) is stored unpruned
    "replica-merge-unpruned": _mutant(
        Replica, "merge_one_way", "merged = self.prune(union)",
        "merged = union"),
    # the count keeps one retired lifetime more than the spec's prune_retired
    "prune-keeps-one-more": _mutant(
        retired_module, "prune_retired",  # type: ignore[arg-type]
        "if age >= keep and lifetime in costs", "if age > keep and lifetime in costs"),
    # anti-entropy's back-send as before session 34: the pruned record, only where it
    # differs from the peer's (a stale copy the pruned entries covered comes back as a
    # false sibling; a peer ahead keeps its retired entries)
    "anti-entropy-sends-back-pruned": _mutant(
        AntiEntropy, "on_key_records",
        "back_records.append(encode_record(union))",
        "back_records.append(encode_record(merged))"),
    # no back-send where the peer's record is the union already (a peer ahead keeps
    # the entries of retired lifetimes the spec's exchange prunes at both replicas)
    "anti-entropy-no-back-send-to-a-peer-ahead": _mutant(
        AntiEntropy, "on_key_records",
        "union != record or replica.prunes_copy(union, message.retired)", "union != record"),
    # (session 34's review) anti-entropy's merge stored unpruned (the write path of an
    # exchange does less: the replica keeps retired entries the spec's exchange prunes)
    "anti-entropy-merge-unpruned": _mutant(
        AntiEntropy, "on_key_records", "merged = replica.prune(union)", "merged = union"),
    # (session 34's review) the harness's told knowledge ignored: each node knows what
    # gossip and the records' carried retirements taught it, not the spec's
    # prune_knowledge
    "told-knowledge-ignored": _mutant(
        retired_module.RetiredActors, "tell", "self.learns = False", "return"),
}


# ---- session 36: the one-way ask (impl/retired.py kept_pruned, AntiEntropy.ask_pruned) ----

#: name -> mutant of the one-way ask of session 35 (a replica's merge of a ReplicaPut
#: or a HintDelivery that keeps a value-less entry its sender pruned asks a node that
#: knows; the answer names the retirement), each killed by the lockstep of
#: dvv-prune-learnt once the harness lets the ask run
#: (tests/refinement/test_one_way_ask_lockstep.py, and ``test_mutations.py``'s
#: scenario ``one-way-ask``)
ONE_WAY_MUTANTS: dict[str, Mutant] = {
    # the receiver never asks (session 35's fix reverted at its one call)
    "one-way-never-asks": _mutant(
        AntiEntropy, "ask_pruned", "if not self.replica.kept_pruned(merged, theirs):",
        "if True:"),
    # the asker ignores the answer: a KeyRecords answering no batch of its own (the
    # ask's session is fresh and not kept) is dropped unmerged (its carried field is
    # still taken by Node.receive)
    "one-way-answer-ignored": _mutant(
        AntiEntropy, "on_key_records", "        del self._sent_batches[(src, message.session)]\n",
        "        del self._sent_batches[(src, message.session)]\n"
        "    elif not message.reply:\n        return []\n"),
    # the asked node answers with nothing it knows: the back-send's carried
    # retirements left out (the asker merges its own union back and keeps the entry)
    "one-way-answer-names-nothing": _mutant(
        AntiEntropy, "on_key_records",
        "message.session, reply=False, retired=retired))]",
        "message.session, reply=False, retired=b''))]"),
    # the ask is sent as an answer (``reply`` False): the asked node merges it and
    # answers nothing
    "one-way-ask-unanswered": _mutant(
        AntiEntropy, "ask_pruned", "reply=True, retired=self.replica.carried(sent)",
        "reply=False, retired=self.replica.carried(sent)"),
}
MUTANTS.update(ONE_WAY_MUTANTS)
