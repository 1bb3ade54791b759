"""Deletes with tombstones, and reaping them (Riak's ``delete_mode``).

Theory of operation
-------------------
A delete is a write: ``delete(key, context)`` is a put whose value is a
*tombstone* (:class:`~spec.actions.ClientDelete`; a client's deletes come after
its puts, ``workload.deletes_per_client``, and their put ids are
:func:`spec.step.tombstone_ids`). The tombstone carries a clock like any version
(coordination, replica puts, hints, read repair and anti-entropy carry it
unchanged), so a put concurrent with the delete survives as its sibling, and a
later put whose context saw the tombstone supersedes it. A get whose versions are
all tombstones answers "not found" with a context (the ghost
:class:`~spec.state.GetRecord` keeps the tombstones it returned).

*Reaping* (:func:`reaps`, the action :class:`~spec.actions.Reap`) removes
tombstones from the stores, so they do not pile up; it is chosen by
``features.delete_mode`` (Riak's riak_kv ``delete_mode`` and the reap step of
``riak_kv_get_fsm``):

``keep``
    never reap.
``immediate``
    once a delete is acknowledged, every up node holding only tombstones of the
    key (one of them acknowledged) reaps its copy, in one step (Riak's
    ``delete_mode = immediate``: the delete FSM reaps right after the write): a
    replica that missed the delete can then bring the deleted value back.
``safe`` (the default)
    reap a key from all of its N replicas at once, only when every one of them
    is up and holds the same copy, made only of tombstones, and nothing about the
    key is in flight: no message, no hint, no coordination of the key (the
    grace period of Riak's ``delete_mode = <delay>`` abstracted as quiescence
    of the key; Riak's get FSM reaps only after all N primaries answered with the
    tombstone).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from spec import clocks
from spec.actions import Action, Reap
from spec.state import State, new_node
from spec.step import Edit, Plan

__all__ = ["reaps"]

_reap = lru_cache(maxsize=4096)(Reap)


def reaps(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Every reap the configuration's ``delete_mode`` enables (module docstring)."""
    if not plan.tombstones or plan.config.delete_mode == "keep":
        return iter(())  # a plain call, not a generator: the common case costs little
    return _reaps(state, plan)


def _reaps(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    tombstones = plan.tombstones
    mode = plan.config.delete_mode
    nodes = state.nodes
    index = plan.index
    for key in plan.keys:
        k = plan.key_index[key]
        if mode == "immediate":
            acked = {p for cl in state.clients for p in cl.acked if p in tombstones}
            if not acked:
                continue
            names = []
            for name, node in zip(plan.nodes, nodes, strict=True):
                held = clocks.values(node.store[k])
                if node.up and held and tombstones.issuperset(held) and acked.intersection(held):
                    names.append(name)
            if names:
                yield _reap(key, tuple(names)), _reaped(state, plan, key, tuple(names))
            continue
        top = plan.top[key]
        first = nodes[index[top[0]]].store[k]
        held = clocks.values(first)
        if not held or not tombstones.issuperset(held):
            continue
        if not all(nodes[index[n]].up and clocks.payload_equal(nodes[index[n]].store[k], first)
                   for n in top):
            continue
        if any(m.key == key for m in state.messages):
            continue
        if any(h.key == key for node in nodes for h in node.hints):
            continue
        if any(c.key == key for node in nodes for c in node.coord):
            continue
        yield _reap(key, top), _reaped(state, plan, key, top)


def _reaped(state: State, plan: Plan, key: str, names: tuple[str, ...]) -> State:
    """``state`` with ``key``'s copy on each of ``names`` emptied."""
    edit = Edit(state, plan)
    k = plan.key_index[key]
    empty = clocks.empty(plan.config.clock)
    for name in names:
        node = edit.node(name)
        store = (*node.store[:k], empty, *node.store[k + 1 :])
        edit.set_node(name, new_node(node.up, store, node.hints, node.coord))
    return edit.build()
