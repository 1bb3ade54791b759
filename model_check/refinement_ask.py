"""The one-way ask in the lockstep: when the spec says a replica must ask (session 36).

Theory of operation
-------------------
With ``[features] prune_knowledge = "learnt"`` a node prunes the dvv records it
writes by the retirements it knows (:mod:`spec.retired`, :mod:`spec.learning`). A
replica put, a read repair or a hint delivery carries no knowledge in the spec, so
a replica that merges a record whose sender pruned an entry it still holds keeps
that entry. The implementation's receiver sees the trace of such a pruning
(``impl.retired.RetiredActors.kept_pruned``) and asks a node that knows
(``impl.antientropy.AntiEntropy.ask_pruned``: its merged copy as an anti-entropy
batch of one key; the answer is the union and the retirements of its entries).

The spec has no step for the ask and its answer as such; what they do, together, is
the spec's anti-entropy of that one key between the two nodes
(:class:`spec.actions.AntiEntropy`: each side learns what the other knows of the
lifetimes of the two copies' entries, :func:`spec.learning.exchanged`, and both
store the union, each pruned by what it then knows). The lockstep maps the ask's
round to that step (``model_check.refinement.Lockstep.ask_round``), with the two
nodes learning from the ask and the answer themselves (the harness stops telling
them for that round: ``impl.retired.RetiredActors.listen``), and checks what they
learnt against what the spec's exchange teaches.

An anti-entropy step is optional in the spec, so an implementation that never asks
would pass every step. :func:`ask_owed` states, on the spec's state after the
delivery, when the ask is owed: the receiver's copy holds a value-less entry of a
lifetime that is not its own live one and whose retirement it does not know, which
the record lacks, while the record holds every value of the copy (each entry with
values the same, its anonymous values among the record's). Without pruning a record
that covers a value holds every entry of its causal past, so that is a pruning
upstream (the implementation's rule, stated on spec values). The lockstep then
requires the ask (``Lockstep.deliver``): a replica that kept the entry and asked
nothing is a divergence, not a stutter.
"""

from __future__ import annotations

from spec.clocks import Payload
from spec.config import Config
from spec.dvv import DVVSet
from spec.retired import known_by, lifetime_of
from spec.state import State

__all__ = ["ask_owed"]


def ask_owed(config: Config, state: State, node: str, key: str,
             record: Payload | None) -> bool:
    """Whether node ``node``, whose copy of ``key`` in ``state`` is its merge of a
    one-way ``record`` (a replica put's or a hint's payload), owes its sender's side
    an ask (module docstring): the copy holds a value-less entry of a lifetime other
    than ``node``'s live one (``state.epochs``) whose retirement ``node`` does not
    know (:func:`spec.retired.known_by` of ``state.known``), which ``record``
    lacks, while ``record`` holds every value of the copy. False outside dvv and
    unless ``prune_knowledge = "learnt"`` (no other knowledge grows)."""
    if config.prune_knowledge != "learnt" or not isinstance(record, DVVSet):
        return False
    copy = state.node(node).store[config.keys.index(key)]
    if not isinstance(copy, DVVSet) or copy == record:
        return False
    if not set(copy.anonymous) <= set(record.anonymous):
        return False
    nodes = config.all_nodes
    live = (node, state.epochs[nodes.index(node)])
    knows = known_by(node, nodes, state.epochs, state.known)
    held = {entry.id: entry for entry in record.entries}
    extra = False
    for entry in copy.entries:
        other = held.get(entry.id)
        if entry.values:
            if other is None or (other.counter, other.values) != (entry.counter, entry.values):
                return False  # a value the record lacks: no evidence of a pruning
        elif other is None and not extra:
            lifetime = lifetime_of(entry.id)
            extra = lifetime != live and lifetime not in knows
    return extra
