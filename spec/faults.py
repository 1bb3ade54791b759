"""Faults and their repair: message loss and duplication, crashes, partitions, disks.

Theory of operation
-------------------
The spec's network and nodes fail the ways the paper's section 4.6 ("Handling
temporary failures") and 4.8 ("failure detection") plan for, each within its
budget (``faults`` of the configuration, spent counts in ``State.used``):

* drop: one copy of an in-flight message is lost; duplicate: it is copied;
  (reordering needs no action: any in-flight message may be delivered next);
* crash: a node goes down; its durable store and hint store survive, its
  volatile coordination records are lost (with the messages of their exchanges
  that could no longer have an effect); recover (not a fault) brings it back,
  unless the node was force-removed meanwhile (``[membership] removes``: it is
  down for good, :func:`spec.membership.removals`);
* partition: the network splits in two sides (the side holding the first node is
  kept in ``State.side``); heal (not a fault) joins them again;
* disk loss (``faults.disk_losses``): a node crashes and its disk is replaced:
  its store, hint store and counters are gone (it recovers empty). With
  ``features.actor_epochs`` its next storage lifetime mints under a new actor
  (``State.epochs``); without, under its bare name again (Riak's kv679);
* buffered crash (``features.storage = "buffered"``, within the crash budget):
  a crash that loses the writes the node had not flushed. The spec does not
  track flushes, so it takes the worst case, a flush interval longer than the
  run: everything the node wrote is lost, as in a disk loss. With actor epochs,
  every crash of a buffered node begins a new lifetime (the implementation
  gives a buffered engine a new actor on every start); with
  ``features.actor_per_start`` every crash of any node does (the
  implementation's ``ClusterConfig.actor_per_start``: a new actor at every start);
* backup and restore (``faults.restores``): ``Backup(n)`` (not a fault: an
  operator's copy) copies an up node's disk, its store, hint store, storage
  lifetime and key epochs, into its backup slot (``State.backups``; one backup
  per node, at most ``restores`` in a run); ``Restore(n)`` (the fault, at most
  ``restores`` in a run) crashes an up node that has a backup and replaces its
  disk by it, as a disk loss replaces it by an empty one. The restored disk holds
  the counters of the backup's time: with ``features.restore_actor = "new"``
  its next lifetime mints under a new actor (what the implementation's
  ``ClusterConfig.actor_per_start`` gives every start), with ``"kept"`` under the
  backup's (the implementation with ``actor_per_start = false``), which
  mints again the dots minted since (docs/impl.md, "Operation ids after a
  restored backup").

* a failing disk (``faults.write_failures``, session 51): a node's disk refuses
  one write (ENOSPC, EIO), the node staying up and its store as it was. Two steps,
  the granularity of the implementation (docs/runtime.md, "A node whose disk is
  full (session 50)"): :class:`~spec.actions.FailedWrite` delivers a
  ``replica-put`` that would change its receiver's copy (or hint store: a write
  the engine is asked to make) and whose receiver (a replica, or a fallback with
  its hint) keeps nothing and answers the coordinator ``replica-put-failed``
  (:func:`spec.replica.refuse_replica_put`), which the coordinator counts as one
  failed replica, never an acknowledgement: the target is given up as on a
  timeout (with a sloppy quorum its part goes to the next fallback) and the put
  fails at once once W (PW) is out of reach
  (:func:`spec.coordination.on_replica_put_failed`); and a put's coordinator whose
  own write is refused (:class:`~spec.actions.FailedPut` of a client's put,
  :class:`~spec.actions.FailedWrite` of a put's ``forward``) mints the version as
  ever, sends it to the others, and counts its own copy as one failed replica
  (:func:`spec.coordination.start`). Sources: riak_kv's vnode answers a put it
  could not write ``{error, Reason}`` and ``riak_kv_put_fsm`` counts only ``{w,
  ...}``/``{dw, ...}`` replies towards W (``too_many_fails`` once W is out of
  reach); the implementation's ``ReplicaPutFailed`` (wire 45) and
  ``PutCoordinator.local_write_failed``. The broken twin
  ``features.failed_write_acks``: a refused write is acknowledged as if it was
  stored. A coordinator whose own write was refused keeps the put's record in
  memory (``State.unpersisted``, the implementation's ``PutCoordinator.unpersisted``)
  and merges it into its copy before its next mint of the key, so it never mints
  the refused put's dot again; a crash (any going down here) loses the records, a
  reap of the key forgets them; ``features.failed_write_kept = false`` (the
  implementation before session 50's fix) keeps none: the refused dot is minted
  again (kv679 through a full disk; docs/spec.md, "A failing disk in the spec
  (session 51)"). A refused read repair or hint delivery is not a step of its own:
  neither answers, so it is a ``drop``.

Equal copies of a message are one choice: only the first of a run is dropped or
duplicated.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from spec import clocks
from spec.actions import (
    Action,
    Backup,
    BufferedCrash,
    Crash,
    DiskLoss,
    FailedWrite,
    Heal,
    Partition,
    Recover,
    Restore,
    new_drop,
    new_duplicate,
)
from spec.delivery import deliverable
from spec.membership import is_removed, knows
from spec.rebuild import begin, restart, restarts
from spec.replica import on_replica_put, refuse_replica_put
from spec.requests import forward_starts, on_forward, spent_refusal
from spec.retired import forget
from spec.state import Backup as DiskCopy
from spec.state import Backups, Kind, Message, NodeState, State, new_node
from spec.step import Edit, Plan, forget_unpersisted

__all__ = ["faults"]

# Actions are values: one shared object per distinct action.
_crash = lru_cache(maxsize=4096)(Crash)
_recover = lru_cache(maxsize=4096)(Recover)
_disk_loss = lru_cache(maxsize=4096)(DiskLoss)
_buffered_crash = lru_cache(maxsize=4096)(BufferedCrash)
_failed_write = lru_cache(maxsize=4096)(FailedWrite)
_HEAL = Heal()


def faults(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Drops and duplicates (per message), crashes and recoveries (per node), then a
    partition or the heal."""
    config = plan.config
    drops, duplicates, crashes, partitions, losses = state.used[:5]
    rest = state.used[5:]  # the writes refused (faults.write_failures), if budgeted
    if drops < config.drops or duplicates < config.duplicates:
        previous = None
        for position, m in enumerate(state.messages):
            if previous is not None and m._hash == previous._hash and m == previous:
                continue
            previous = m
            if drops < config.drops:
                edit = Edit(state, plan)
                edit.remove_at(position)
                edit.used = (drops + 1, duplicates, crashes, partitions, losses, *rest)
                yield new_drop(m), edit.build()
            if duplicates < config.duplicates:
                edit = Edit(state, plan)
                edit.send(m)
                edit.used = (drops, duplicates + 1, crashes, partitions, losses, *rest)
                yield new_duplicate(m), edit.build()
    if rest and rest[0] < config.write_failures:
        yield from _refused_writes(state, plan)
    buffered = config.storage == "buffered"
    per_start = buffered or config.actor_per_start  # the next start takes a new actor
    removes = config.removes  # a force-removed node never recovers (spec.membership)
    for node_name, node in zip(plan.nodes, state.nodes, strict=True):
        if node.up and crashes < config.crashes:
            for again in restarts(state.rebuilding, node_name):  # (session 61)
                edit = _down(state, plan, node_name, node, lose=False,
                             new_lifetime=per_start)
                restart(edit, node_name, again)  # (session 55: a rebuild left begins again)
                edit.used = (drops, duplicates, crashes + 1, partitions, losses, *rest)
                yield _crash(node_name, again), edit.build()
            if buffered:
                edit = _down(state, plan, node_name, node, lose=True, new_lifetime=True)
                edit.used = (drops, duplicates, crashes + 1, partitions, losses, *rest)
                yield _buffered_crash(node_name), edit.build()
        elif not node.up and not (removes and is_removed(state.membership, node_name)):
            edit = Edit(state, plan)
            edit.set_node(node_name, new_node(True, node.store, node.hints, ()))
            yield _recover(node_name), edit.build()
        if node.up and losses < config.disk_losses:
            edit = _down(state, plan, node_name, node, lose=True, new_lifetime=True)
            begin(edit, node_name)  # (session 55: features.rebuild)
            edit.used = (drops, duplicates, crashes, partitions, losses + 1, *rest)
            yield _disk_loss(node_name), edit.build()
    side = state.side
    if not side and partitions < config.partitions:
        for split in plan.sides:
            edit = Edit(state, plan)
            edit.side = split
            edit.used = (drops, duplicates, crashes, partitions + 1, losses, *rest)
            yield Partition(tuple(n for n in plan.nodes if n in split)), edit.build()
    elif side:
        edit = Edit(state, plan)
        edit.side = frozenset()
        yield _HEAL, edit.build()
    if state.backups is not None:
        yield from _backups_and_restores(state, plan, state.backups)


def _refused_writes(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Per deliverable message that writes at an up receiver, a ``replica-put`` or a
    put's ``forward`` that starts its coordination there: its delivery with the
    receiver's disk refusing the write (``faults.write_failures``; session 51)."""
    total_puts = plan.total_puts
    for position, m in deliverable(state):
        kind = m.kind
        if kind is not Kind.REPLICA_PUT and not (kind is Kind.FORWARD
                                                 and m.request <= total_puts):
            continue
        dst = state.nodes[plan.index[m.dst]]
        if not dst.up or (state.membership is not None
                          and not knows(plan, state.membership, m.dst, m.src)):
            continue  # lost at the receiver: no write to refuse
        edit = Edit(state, plan)
        edit.remove_at(position)
        if kind is Kind.REPLICA_PUT:
            if not _writes(edit, m, dst):
                continue  # nothing to write (it holds the versions): no write to refuse
            refuse_replica_put(edit, m)
        elif forward_starts(edit, m, dst):
            on_forward(edit, m, dst, failed=True)
        else:
            continue  # the client gave up, or it was started before: nothing written
        edit.used = spent_refusal(state.used)
        yield _failed_write(m), edit.build()


def _writes(edit: Edit, m: Message, dst: NodeState) -> bool:
    """Whether delivering the ``replica-put`` ``m`` would change its receiver ``dst``'s
    store (or hint store): an engine is asked to write only then (the implementation's
    replica emits no Write for a put its record already covers, and acknowledges it)."""
    trial = Edit(edit.source, edit.plan)
    on_replica_put(trial, m, dst)
    after = trial.node(m.dst)
    return after.store != dst.store or after.hints != dst.hints


def _backups_and_restores(state: State, plan: Plan,
                          backups: Backups) -> Iterator[tuple[Action, State]]:
    """Per up node: a backup of its disk (none taken of it yet, budget left), and a
    restore of its disk from its backup (budget left)."""
    budget = plan.config.restores
    slots = backups.slots
    for i, (name, node) in enumerate(zip(plan.nodes, state.nodes, strict=True)):
        if not node.up:
            continue
        slot = slots[i]
        if slot is None and backups.taken < budget:
            copy = DiskCopy(node.store, node.hints, state.epochs[i],
                            frozenset((k, e) for n, k, e in state.key_epochs if n == name))
            edit = Edit(state, plan)
            edit.backups = Backups((*slots[:i], copy, *slots[i + 1 :]), backups.taken + 1,
                                   backups.restored, backups.highest)
            yield Backup(name), edit.build()
        if slot is not None and backups.restored < budget:
            yield Restore(name), _restored(state, plan, name, node, slot, backups).build()


def _restored(state: State, plan: Plan, name: str, node: NodeState, copy: DiskCopy,
              backups: Backups) -> Edit:
    """``name`` goes down (as :func:`_down`) with its disk replaced by ``copy``, the
    restore budget spent: with ``restore_actor = "new"`` its next lifetime mints
    under a new actor (its key epochs forgotten, as after a disk loss); with
    ``"kept"`` under the backup's actor and key epochs (the lifetime it left is
    remembered in ``Backups.highest``: a later new lifetime is past it)."""
    edit = Edit(state, plan)
    for coord in node.coord:
        edit.purge(name, coord.request)
    if edit.unpersisted:  # in memory: lost with the crash (session 51)
        edit.unpersisted = forget_unpersisted(edit.unpersisted, name)
    edit.set_node(name, new_node(False, copy.store, copy.hints, ()))
    if edit.known:  # what it learnt of retirements was on the disk replaced (session 34)
        edit.known = forget(edit.known, name)
    i = plan.index[name]
    epochs = edit.epochs
    others = frozenset(e for e in edit.key_epochs if e[0] != name)
    highest = backups.highest
    if plan.config.restore_actor == "new":
        edit.epochs = (*epochs[:i], backups.next_epoch(epochs, i), *epochs[i + 1 :])
        edit.key_epochs = others
    else:
        edit.epochs = (*epochs[:i], copy.epoch, *epochs[i + 1 :])
        edit.key_epochs = others | {(name, k, e) for k, e in copy.key_epochs}
        if copy.epoch < epochs[i]:
            top = highest or tuple(0 for _ in epochs)
            highest = (*top[:i], max(top[i], epochs[i]), *top[i + 1 :])
    edit.backups = Backups(backups.slots, backups.taken, backups.restored + 1, highest)
    return edit


def _down(state: State, plan: Plan, name: str, node: NodeState, *, lose: bool,
          new_lifetime: bool) -> Edit:
    """``name`` goes down: its coordination records (and the messages of their
    exchanges that can no longer have an effect) are lost; with ``lose`` its
    store and hints too; with ``new_lifetime`` (and actor epochs on) its next
    lifetime mints under a new actor."""
    edit = Edit(state, plan)
    for coord in node.coord:
        edit.purge(name, coord.request)
    if edit.unpersisted:  # in memory: lost with the crash (session 51)
        edit.unpersisted = forget_unpersisted(edit.unpersisted, name)
    if lose:
        empty = clocks.empty(plan.config.clock)
        edit.set_node(name, new_node(False, tuple(empty for _ in node.store), (), ()))
        if edit.known:  # what it learnt of retirements was on the lost disk (session 34)
            edit.known = forget(edit.known, name)
    else:
        edit.set_node(name, new_node(False, node.store, node.hints, ()))
    if new_lifetime and plan.config.actor_epochs:
        i = plan.index[name]
        epochs = edit.epochs
        # past any lifetime begun before a restore took the node back (faults.restores)
        epoch = epochs[i] + 1 if edit.backups is None else edit.backups.next_epoch(epochs, i)
        edit.epochs = (*epochs[:i], epoch, *epochs[i + 1 :])
        if edit.key_epochs:  # the new lifetime's actor is new for every key
            edit.key_epochs = frozenset(e for e in edit.key_epochs if e[0] != name)
    return edit
