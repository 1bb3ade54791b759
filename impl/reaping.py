"""Reaping tombstones (deletes; Riak's ``delete_mode``).

Theory of operation
-------------------
A delete is a put of a tombstone (:data:`impl.versions.TOMBSTONE`): a version
that carries the delete's clock like any other, is replicated, hinted, read
repaired and exchanged by anti-entropy like any other, and that a get leaves out
of the values it answers. Removing the tombstone itself (*reaping*) is what can
go wrong: a replica that missed the delete still holds the deleted value, and
once no replica holds the tombstone that covers it, read repair or anti-entropy
copies the value back (a *resurrection*). ``config.delete_mode`` chooses:

- ``"safe"`` (the default; Riak's delayed ``delete_mode``): a coordinator that
  saw every one of the key's N targets -- the nodes themselves, not fallbacks --
  hold the tombstone and nothing newer (all N acknowledged the delete, or all N
  answered a get with exactly the tombstone record) sets a
  :class:`~impl.timers.ReapTombstone` timer for ``tombstone_grace_s`` seconds;
  when it fires it sends :class:`~impl.messages.Reap` to the targets, and each
  removes its record only if it is still exactly that tombstone record. Riak:
  ``riak_kv_get_core:final_action/1`` (basho/riak_kv) decides ``delete`` only
  when the merged object is a tombstone, no read repair is pending and all N
  vnodes answered; Riak's deletion guide (basho/basho_docs,
  ``ops/advanced/deletion.md``): removed only if all N nodes store the tombstone,
  never while fallbacks are in use, after the ``delete_mode`` interval.
- ``"immediate"``: as soon as the delete is acknowledged (and again on each later
  acknowledgement of it), the coordinator sets a
  :class:`~impl.timers.ReapTombstone` timer due at once; when it fires the
  coordinator reaps its own copy and tells every target to reap, and each
  removes its record if it holds only tombstones, whether or not every replica
  got the tombstone: the naive rule, kept to show the resurrection
  (``tests/impl/test_delete.py``). (A timer rather than a reap inside the
  acknowledgement's handler, so that the reap is a step of its own, as the
  spec's ``Reap`` is: ``vdynamo replay --on impl`` replays the spec's
  counterexample, docs/refinement.md.)
- ``"keep"``: tombstones are never reaped.

*Actors* (Riak's kv679). A node mints a dvv dot (or a server-vclock entry) for a
key one above the counter of its actor in its own copy of the key; a reap removes
that copy, and a reap may happen on some replicas and not others (a ``Reap``
lost, a copy that changed). A node that reaped and then coordinated a put of the
key would mint a dot a tombstone still held elsewhere already carries, and that
replica (and every one anti-entropy or read repair then reaches) would drop the
put as already seen: an acknowledged write lost. So a node whose reaped copy
carried a counter of its actor for the key begins a new *key epoch*: it mints
that key, and only that key, under a new actor from then on
(:func:`impl.versions.renew_key_actor`, with ``actor_epochs``), as the spec's
reap does (:mod:`spec.deletes`). Per key, as Riak's fix (``riak_kv_vnode``'s
``new_key_epoch``: a vnode coordinating a put of a key it has no object for
begins a new epoch; "Per-Key Actor Epochs In Riak", R. Brown, 2015): renewing
the node's actor for every key would give each key the node coordinates one
more clock entry per reaped key, without bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from impl.config import ClusterConfig
from impl.effects import Effect, Send, SetTimer
from impl.messages import Reap
from impl.replica import Replica
from impl.timers import ReapTombstone
from impl.versions import Record, context_clock, encode_record, is_tombstone_only

__all__ = ["Reaper", "all_targets_hold"]


def all_targets_hold(targets: tuple[str, ...], sent_to: Mapping[str, str],
                     replies: Mapping[str, Record], merged: Record) -> bool:
    """Whether every target answered a get itself (not through a fallback) with
    exactly ``merged``, and ``merged`` is tombstones only: the safe rule's test."""
    if not is_tombstone_only(merged):
        return False
    return all(sent_to.get(target) == target and replies.get(target) == merged
               for target in targets)


class Reaper:
    """Tombstone reaping at node ``name`` (see the module docstring)."""

    def __init__(self, name: str, config: ClusterConfig, replica: Replica,
                 actor: Callable[[bytes], str] = lambda key: "",
                 renew_actor: Callable[[bytes], None] = lambda key: None) -> None:
        self.name = name
        self.config = config
        self.replica = replica
        #: the actor id the node mints a key under now, and how it begins a new one
        self.actor = actor
        self.renew_actor = renew_actor

    def handlers(self) -> dict[type, Callable[[float, str, Any], list[Effect]]]:
        """The peer messages this mechanism handles: type -> handler(now, src, message)."""
        return {Reap: lambda now, src, message: self.on_reap(message)}

    def timers(self) -> dict[type, Callable[[float, Any], list[Effect]]]:
        """The timers this mechanism handles: type -> handler(now, timer)."""
        return {ReapTombstone: self.on_timer}

    def schedule(self, now: float, key: bytes, record: Record,
                 targets: tuple[str, ...]) -> list[Effect]:
        """The safe rule holds for ``key``'s tombstone ``record`` at ``targets``: reap
        it there after the grace period (nothing in the other modes)."""
        if self.config.delete_mode != "safe":
            return []
        timer = ReapTombstone(key, encode_record(record), targets)
        return [SetTimer(timer, now + self.config.tombstone_grace_s)]

    def reap_acknowledged(self, now: float, key: bytes, record: bytes,
                          targets: tuple[str, ...]) -> list[Effect]:
        """A delete of ``key`` (the coordinator's tombstone ``record``, encoded) was
        just acknowledged (by W targets, or by one more after that): with the naive
        rule (``delete_mode = "immediate"``) reap it at ``targets`` now, without
        waiting for the rest (nothing in other modes)."""
        if self.config.delete_mode != "immediate":
            return []
        return [SetTimer(ReapTombstone(key, record, targets), now)]

    def reap_now(self, key: bytes, record: bytes, targets: tuple[str, ...]) -> list[Effect]:
        """Tell ``targets`` to reap ``key``'s tombstone ``record`` (this node reaps
        its own copy at once)."""
        out: list[Effect] = []
        for target in targets:
            if target == self.name:
                self.reap_local(key, record)
            else:
                out.append(Send(target, Reap(key, record)))
        return out

    def on_timer(self, now: float, timer: ReapTombstone) -> list[Effect]:
        """The timer is due (``safe``: the grace period passed; ``immediate``: the
        delete was just acknowledged): reap at the targets."""
        return self.reap_now(timer.key, timer.record, timer.targets)

    def on_reap(self, message: Reap) -> list[Effect]:
        """A coordinator decided to reap: remove the local record if it still is the
        tombstone record decided on (safe), or any tombstone-only record (immediate)."""
        self.replica.decode(message.key, message.record)  # refuse a malformed record
        self.reap_local(message.key, message.record)
        return []

    def reap_local(self, key: bytes, record: bytes) -> None:
        if self.config.delete_mode == "keep":
            return
        stored = self.replica.storage.read(key)
        if stored is None:
            return
        mine = self.replica.parse(stored)
        if not is_tombstone_only(mine):
            return  # something newer than the delete arrived: keep it
        if self.config.delete_mode == "safe" and mine != self.replica.parse(record):
            return
        self.replica.reap(key)
        if self.config.actor_epochs and context_clock(mine).counter(self.actor(key)):
            self.renew_actor(key)  # the counters go with the copy (kv679: module docstring)
