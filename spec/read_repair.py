"""Read repair (paper section 5, "read repair"; section 4.5's get path).

Theory of operation
-------------------
When a get's coordinator has R replies it answers the client with their
reconciliation (:func:`spec.coordination.settle_get`); with ``read_repair`` on
it then writes the reconciled versions back to every node that replied with
something else (:func:`repair`): its own store at once, the others through a
``read-repair`` message, which the receiving node reconciles into its store
(:func:`on_read_repair`, an entry of the delivery table of
:mod:`spec.delivery`). It writes no reconciliation of tombstones alone into a
copy that answered empty (session 39): a get answers "not found" from either,
and the empty copy is most often one a reap just emptied; a get that read one
replica before the reap and another after it wrote the tombstone back, the next
gets spread it, and the implementation reaped a deleted key read without pause
and wrote its tombstones back again, for as long as it was read (in the checker
such a write-back was delete-join-pending's only ``read_repair_repairs``).
Replies that arrive after the answer are not waited for
(the coordination record is gone), so only the first R repliers are repaired,
fallbacks of a sloppy quorum included; with ``read_repair_fallbacks = false``
(riak_kv's ``read_repair_primaryonly``) only those of the key's replicas
(:func:`repaired_nodes`): a fallback's store then never holds a copy of a key
through read repair, a copy no hand-off or let-go removes (session 27).

With ``[features] prune_retired`` on (session 34), as the implementation's read
repair (``impl.read_repair``, ``read-repairs-pruned``; docs/runtime.md), a replier
whose payload holds more than the coordinator's pruning of the reconciled payload
(by what the coordinator knows then: :meth:`spec.step.Edit.pruned`) is repaired
too, even one that answered with the reconciled payload itself, the coordinator's
own copy included (reconciled in place, so pruned by the coordinator; a receiver
prunes by what it knows as it stores): a copy still holding a value-less entry
of a retired lifetime drops it at the next get that reads it.
"""

from __future__ import annotations

from spec import clocks
from spec.clocks import Payload
from spec.membership import serving_top
from spec.state import Kind, Message, NodeState, new_message
from spec.step import Edit

__all__ = ["holds_pruned", "on_read_repair", "repair", "repaired_nodes"]


def repaired_nodes(edit: Edit, coordinator: str, key: str,
                   groups: tuple[tuple[str, ...], ...]) -> frozenset[str] | None:
    """The nodes a get of ``key`` by ``coordinator`` may read-repair: None (every
    replier) with ``read_repair_fallbacks``; else the key's replicas, its top N
    (with membership change: the top N by the coordinator's view, and the
    coordination's quorum ``groups``, the old and the new top N)."""
    plan = edit.plan
    if plan.config.read_repair_fallbacks:
        return None
    if edit.membership is None:
        return frozenset(plan.top[key])
    return frozenset(serving_top(plan, edit.membership, coordinator, key)).union(*groups)


def repair(edit: Edit, coordinator: str, key: str, replies: tuple[tuple[str, Payload], ...],
           result: Payload, replicas: frozenset[str] | None = None) -> None:
    """Send ``result`` (the reconciled payload of ``key``) to every node of
    ``replies`` that answered with a different payload (only those in ``replicas``
    unless it is None, :func:`repaired_nodes`), but not a ``result`` of tombstones
    alone to a node that answered with nothing (session 39: module docstring); the
    coordinator's own stale copy is reconciled in place. With ``[features]
    prune_retired`` on, also to every
    node that answered with a payload holding more than the coordinator's pruning
    of ``result`` (:func:`holds_pruned`; session 34)."""
    pruned = _coordinator_pruned(edit, coordinator, result)
    held = clocks.values(result)
    deleted = bool(held) and edit.plan.tombstones.issuperset(held)
    for node, payload in replies:
        if (replicas is not None and node not in replicas) or (
                clocks.payload_equal(payload, result)
                and (pruned is None or not holds_pruned(edit, payload, pruned))):
            continue
        if deleted and not clocks.values(payload):
            continue  # no tombstone into an empty copy (session 39)
        if node == coordinator:
            edit.store(coordinator, key, result)
        else:
            edit.send(new_message(Kind.READ_REPAIR, coordinator, node, 0, key, result))


def _coordinator_pruned(edit: Edit, coordinator: str, result: Payload) -> Payload | None:
    """``result`` as ``coordinator`` prunes it (by what it knows now,
    :meth:`spec.step.Edit.pruned`) when that drops an entry; None when pruning is
    off (``[features] prune_retired < 0``) or drops nothing."""
    if edit.plan.config.prune_retired < 0:
        return None
    pruned = edit.pruned(coordinator, result)
    return None if clocks.payload_equal(pruned, result) else pruned


def holds_pruned(edit: Edit, payload: Payload, pruned: Payload) -> bool:
    """Whether ``payload`` (a reply) holds more than ``pruned`` (the coordinator's
    pruning of the merge): merging it into ``pruned`` changes it, the
    implementation's test (``impl.read_repair.ReadRepairer.repair``,
    ``read-repairs-pruned``)."""
    return not clocks.payload_equal(
        clocks.merge(edit.plan.config.clock, payload, pruned, edit.puts), pruned)


def on_read_repair(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``read-repair`` reaches ``dst``: it reconciles the versions into its store."""
    assert m.payload is not None
    edit.store(m.dst, m.key, m.payload)
