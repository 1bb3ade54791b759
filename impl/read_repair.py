"""Read repair (Dynamo paper, sections 4.4 and 5).

Theory of operation
-------------------
When a get's coordinator has heard from every node it asked (or its request
deadline passed) it reconciles their records (syntactic reconciliation,
:func:`impl.versions.merge`) and sends the reconciled record (``ReadRepair``)
to each node that answered with a record missing part of it
(:func:`read_repair_targets`): every node of the key's replicas that answered
(its top N, and during a change the old and new top N), riak_kv's
``read_repair_primaryonly``; with ``read_repair_fallbacks`` also a node that
answered from outside them (a fallback of a sloppy quorum, the coordinator
itself when it is none of them), as riak_kv does by default and the spec's
feature of that name. A node receiving a ``ReadRepair`` merges it into its own
versions. :class:`ReadRepairer` is that mechanism of the node.

Why only the replicas by default (session 27): a fallback's main store holds no
copy of the key otherwise (a write it takes for a suspected target is a hint,
handed off and deleted once delivered, paper 4.6), and no hand-off, let-go or
anti-entropy looks at a copy there; a repair made one that stayed for good
(session 26's probe: 23 copies outside their key's top N in 6 seeds, 0 with
``read_repair = False``), answering later sloppy reads with an old value. riak_kv
hands a fallback vnode's whole data to the owner and deletes it; here the
fallback has nothing to hand, so it is not written.

:func:`read_repair_targets` is a place the refinement tests' mutants patch.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
from typing import Any

from impl.effects import Effect, Send
from impl.messages import ReadRepair
from impl.replica import Replica
from impl.versions import Record, encode_record, is_tombstone_only, merge

__all__ = ["ReadRepairer", "read_repair_targets", "reconciled"]


def reconciled(replies: Mapping[str, Record]) -> Record:
    """The reconciled record of a get's ``replies`` (node -> record), merged in the
    order of the nodes' names, whatever order the replies arrived in (the spec's:
    ``spec.coordination`` keeps a get's replies sorted by node and folds them in that
    order, ``_get_result``). :func:`impl.versions.merge` commutes, so the order
    changes nothing, except for two records holding one dot with different values,
    which a node minting under its bare name again after losing its disk makes
    (``actor_epochs = False``, Riak's kv679): the DVV sync keeps one side's value
    for the dot, which one depending on the order. Folded in the order of arrival
    (the coordinator's own read first; until session 58), a get's answer depended
    on the network's timing, the same replies answering one value or the other:
    trace validation's rebuild mix, seeds 786 and 811 (docs/refinement.md, "Trace
    validation, the repeated dot (session 58)"). Raises AssertionError for no
    replies (a get always has its coordinator's or one peer's)."""
    merged: Record | None = None
    for node in sorted(replies):
        record = replies[node]
        merged = record if merged is None else merge(merged, record)
    assert merged is not None
    return merged


def read_repair_targets(replies: Mapping[str, Record]) -> tuple[Record, list[str]]:
    """The reconciled record of a get's ``replies`` (node -> record), and the nodes
    that answered with a record missing part of it, sorted; not one that answered
    with nothing when the reconciled record holds only tombstones (session 39).

    A tombstone written into an empty copy supersedes nothing there (a get answers
    "not found" from either), and the empty copy is most often one a reap just
    removed: a get that read one replica before the reap and another after it
    wrote the tombstone back, the next gets spread it to every replica, and a
    deleted key read without pause was reaped and written back again every
    ``tombstone_grace_s``, its tombstones on disk for good (the spec's
    ``spec.read_repair.repair`` skips it the same way; Riak's get core repairs a
    notfound with the tombstone "so reap will work", and its issue 1813/PR 1814
    found tombstones perpetually re-appearing). A reap no longer needs it: the
    safe rule accepts a target that answered with nothing (:func:`impl.reaping.
    all_targets_hold`)."""
    merged = reconciled(replies)
    deleted = is_tombstone_only(merged)
    stale = [node for node, record in sorted(replies.items())
             if merge(record, merged) != record and not (deleted and record.is_empty)]
    return merged, stale


class ReadRepairer:
    """Read repair at node ``name``: sending repairs as a coordinator, merging them
    as a replica."""

    def __init__(self, name: str, replica: Replica, stats: collections.Counter[str]) -> None:
        self.name = name
        self.replica = replica
        self.stats = stats

    def handlers(self) -> dict[type, Callable[[float, str, Any], list[Effect]]]:
        """The peer messages this mechanism handles: type -> handler(now, src, message)."""
        return {ReadRepair: lambda now, src, message: self.on_read_repair(message)}


    def timers(self) -> dict[type, Callable[[float, Any], list[Effect]]]:
        """The timers this mechanism handles: none (a repair is part of a get)."""
        return {}
    def repair(self, key: bytes, replies: Mapping[str, Record],
               replicas: frozenset[str] | None = None) -> list[Effect]:
        """Send the reconciled record of ``replies`` (node -> record) to every node
        that answered without it (this node's own record is repaired in place), and
        in dvv to every node that answered with entries of retired lifetimes this
        node's pruning of it drops (session 34); with ``replicas`` (the key's top
        N, and during a change the old and new top N) and ``read_repair_fallbacks``
        off, only to those of them (riak_kv's ``read_repair_primaryonly``)."""
        merged, stale = read_repair_targets(replies)
        pruned = self.replica.prune(merged)
        holding: list[str] = []
        if pruned != merged:
            # dvv: a copy holding entries that this node's pruning of the merge drops
            # (of retirements its node may never have heard: the records of the
            # others no longer name them) is repaired too, so that it learns them
            # from the field below and prunes alike (session 34)
            holding = [node for node, record in sorted(replies.items())
                       if node not in stale and merge(record, pruned) != pruned]
            stale = sorted((*stale, *holding))
        if replicas is not None and not self.replica.config.read_repair_fallbacks:
            skipped = [node for node in stale if node not in replicas]
            stale = [node for node in stale if node in replicas]
            self.stats["read-repairs-skipped"] += len(skipped)
        if holding:
            # counted once repaired: a holding fallback skipped above is counted in
            # read-repairs-skipped only (session 34's review of the counters)
            self.stats["read-repairs-pruned"] += sum(node in stale for node in holding)
        encoded = encode_record(merged) if stale else b""
        # dvv: the retirements of its entries, so the stale replica prunes alike
        carried = self.replica.carried(merged, *replies.values()) if stale else b""
        out: list[Effect] = []
        for node in stale:
            if node == self.name:
                self.replica.merge_into_local(key, merged)
            else:
                out.append(Send(node, ReadRepair(key, encoded, retired=carried)))
        self.stats["read-repairs"] += len(stale)
        return out

    def on_read_repair(self, message: ReadRepair) -> list[Effect]:
        """A coordinator's reconciled record: merge it into this node's versions."""
        record = self.replica.decode(message.key, message.record)
        self.replica.merge_into_local(message.key, record, message.record)
        return []
