"""Faults and their repair: message loss and duplication, crashes, partitions.

Theory of operation
-------------------
The spec's network and nodes fail the ways the paper's section 4.6 ("Handling
temporary failures") and 4.8 ("failure detection") plan for, each within its
budget (``faults`` of the configuration, spent counts in ``State.used``):

* drop: one copy of an in-flight message is lost; duplicate: it is copied;
  (reordering needs no action: any in-flight message may be delivered next);
* crash: a node goes down; its durable store and hint store survive, its
  volatile coordination records are lost (with the messages of their exchanges
  that could no longer have an effect); recover (not a fault) brings it back;
* partition: the network splits in two sides (the side holding the first node is
  kept in ``State.side``); heal (not a fault) joins them again.

Equal copies of a message are one choice: only the first of a run is dropped or
duplicated.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from spec.actions import Action, Crash, Heal, Partition, Recover, new_drop, new_duplicate
from spec.state import State, new_node
from spec.step import Edit, Plan

__all__ = ["faults"]

# Actions are values: one shared object per distinct action.
_crash = lru_cache(maxsize=4096)(Crash)
_recover = lru_cache(maxsize=4096)(Recover)
_HEAL = Heal()


def faults(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Drops and duplicates (per message), crashes and recoveries (per node), then a
    partition or the heal."""
    config = plan.config
    drops, duplicates, crashes, partitions = state.used
    if drops < config.drops or duplicates < config.duplicates:
        previous = None
        for position, m in enumerate(state.messages):
            if previous is not None and m._hash == previous._hash and m == previous:
                continue
            previous = m
            if drops < config.drops:
                edit = Edit(state, plan)
                edit.remove_at(position)
                edit.used = (drops + 1, duplicates, crashes, partitions)
                yield new_drop(m), edit.build()
            if duplicates < config.duplicates:
                edit = Edit(state, plan)
                edit.send(m)
                edit.used = (drops, duplicates + 1, crashes, partitions)
                yield new_duplicate(m), edit.build()
    for node_name, node in zip(plan.nodes, state.nodes, strict=True):
        if node.up and crashes < config.crashes:
            edit = Edit(state, plan)
            for coord in node.coord:
                edit.purge(node_name, coord.request)
            edit.set_node(node_name, new_node(False, node.store, node.hints, ()))
            edit.used = (drops, duplicates, crashes + 1, partitions)
            yield _crash(node_name), edit.build()
        elif not node.up:
            edit = Edit(state, plan)
            edit.set_node(node_name, new_node(True, node.store, node.hints, ()))
            yield _recover(node_name), edit.build()
    side = state.side
    if not side and partitions < config.partitions:
        for split in plan.sides:
            edit = Edit(state, plan)
            edit.side = split
            edit.used = (drops, duplicates, crashes, partitions + 1)
            yield Partition(tuple(n for n in plan.nodes if n in split)), edit.build()
    elif side:
        edit = Edit(state, plan)
        edit.side = frozenset()
        yield _HEAL, edit.build()
