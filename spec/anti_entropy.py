"""Anti-entropy: replica synchronization (paper section 4.7).

Theory of operation
-------------------
In the paper, replicas of a key range compare Merkle trees and exchange the keys
that differ. The spec abstracts one such exchange for one key into a single
atomic step (:class:`~spec.actions.AntiEntropy`): two reachable members ``a`` and
``b`` of the key's top N reconcile their versions of the key, and both end up
holding the merge. With membership change the pair must also serve the key by
what they know (:func:`spec.membership.exchanges`, session 24): a node new in the
top N takes part once it and its peer know the handover. It is enabled only
between replicas whose copies differ (a reduction: an exchange between equal
copies changes nothing). The implementation's Merkle exchange refines this step
(docs/refinement.md). A replaced disk's exchange still to do
(``features.rebuild``, :mod:`spec.rebuild`) is enabled between equal copies too,
and its end, :class:`~spec.actions.Rebuilt`, is generated here. With
``prune_knowledge = "learnt"`` (session 34) the exchange also teaches each side the
retirements the other knows of the lifetimes of the two copies' entries
(:func:`spec.learning.exchanged`) before both merge.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from spec import clocks
from spec.actions import Action, AntiEntropy
from spec.learning import exchanged
from spec.membership import exchange_candidates, exchanges
from spec.rebuild import pending, rebuilt_steps, synced
from spec.state import State
from spec.step import Edit, Plan

__all__ = ["anti_entropy"]

_anti_entropy = lru_cache(maxsize=4096)(AntiEntropy)  # one shared value per action


def anti_entropy(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Every exchange between two reachable replicas of a key whose copies differ."""
    config = plan.config
    if not config.anti_entropy:
        return
    nodes = state.nodes
    index = plan.index
    side = state.side
    membership = state.membership
    learnt = config.prune_knowledge == "learnt"
    for key in plan.keys:
        k = plan.key_index[key]
        top = plan.top[key] if state.membership is None else exchange_candidates(state, key)
        for i, a in enumerate(top):
            na = nodes[index[a]]
            if not na.up:
                continue
            for b in top[i + 1 :]:
                nb = nodes[index[b]]
                if not nb.up or (a in side) != (b in side):
                    continue
                if clocks.payload_equal(na.store[k], nb.store[k]) and not (
                        state.rebuilding and pending(state.rebuilding, a, b, key)):
                    continue
                if membership is not None and not exchanges(plan, membership, a, b, key):
                    continue
                edit = Edit(state, plan)
                if learnt:
                    edit.known = exchanged(state.known, a, b, (na.store[k], nb.store[k]),
                                           plan.nodes, state.epochs)
                merged = clocks.merge(config.clock, na.store[k], nb.store[k], state.puts)
                edit.store(a, key, merged)
                edit.store(b, key, merged)
                synced(edit, a, b, key)  # (session 55: spec.rebuild)
                yield _anti_entropy(a, b, key), edit.build()
    yield from rebuilt_steps(state, plan)
