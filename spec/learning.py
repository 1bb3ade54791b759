"""Learning retirements: knowledge of retired lifetimes as state (session 34).

Theory of operation
-------------------
With ``[features] prune_knowledge = "learnt"`` what a node knows of other nodes'
retired storage lifetimes is part of the state (``State.known``: the triples
``(knower, owner, lifetime)``; a node knows its own earlier lifetimes from its
start without listing them: :func:`spec.retired.known_by`), and a node prunes a
record it writes by what it knows at that moment (:func:`spec.retired.prune_at`).
In the implementation (impl/retired.py) a node learns retirements by gossip (each
gossip names the newest four retired actors of each node its sender knows) and
with the records that hold their entries (the ``retired`` field of ReplicaPut,
ReadRepair, HintDelivery and KeyRecords). The spec states two of these ways:

* :func:`retirement_gossip`: the fault-free step
  :class:`~spec.actions.LearnRetirement`: an up node learns one retirement that
  another up node on its side of the partition knows and it does not (one at a
  time, so any subset of what gossip tells is reachable, the implementation's
  cap of four per node included). Like the membership's
  :class:`~spec.actions.Gossip` it is an internal step with no message in flight:
  a gossip lost or late is a step not taken yet.
* :func:`exchanged`: an anti-entropy exchange (:mod:`spec.anti_entropy`, one
  atomic step) teaches each side the retirements the other knows of the
  lifetimes of the entries of the two records exchanged, before both merge.

Knowledge never holds a retirement nobody began (each step copies one a node
knows, and a node's own are real), and it is lost with the disk (a disk loss, a
restore: :func:`spec.retired.forget`), since the implementation keeps it in a
storage meta entry. A replica put, a read repair or a hint delivery carries no
knowledge in the spec (a message would need a field for it; the gossip step can
teach the same at any moment both ends are reachable).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from spec.actions import Action, LearnRetirement
from spec.clocks import Payload
from spec.dvv import DVVSet
from spec.retired import Known, known_by, lifetime_of
from spec.state import State
from spec.step import Edit, Plan

__all__ = ["exchanged", "retirement_gossip"]


def retirement_gossip(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Every :class:`~spec.actions.LearnRetirement` enabled in ``state``: for each up
    node ``node``, each other up node ``src`` on its side of the partition, each
    retirement ``src`` knows and ``node`` does not (in the order of the nodes, then
    of the retirements). Nothing unless ``prune_knowledge = "learnt"``."""
    if plan.config.prune_knowledge != "learnt":
        return
    nodes, epochs, learnt, side = plan.nodes, state.epochs, state.known, state.side
    ups = [n.up for n in state.nodes]
    if not any(epochs):
        return  # no lifetime retired yet: nothing to learn
    knowledge = [known_by(name, nodes, epochs, learnt) for name in nodes]
    for i, node in enumerate(nodes):
        if not ups[i]:
            continue
        for j, src in enumerate(nodes):
            if j == i or not ups[j] or (src in side) != (node in side):
                continue
            for owner, lifetime in sorted(knowledge[j] - knowledge[i]):
                edit = Edit(state, plan)
                edit.known = learnt | {(node, owner, lifetime)}
                yield LearnRetirement(node, src, owner, lifetime), edit.build()


def exchanged(learnt: Known, a: str, b: str, records: Iterable[Payload],
              nodes: tuple[str, ...], epochs: tuple[int, ...]) -> Known:
    """``learnt`` (the state's ``known``) once nodes ``a`` and ``b`` exchanged
    ``records`` (their copies of a key) by anti-entropy: each learns the
    retirements the other knows of the lifetimes that minted an entry of one of
    the records. ``learnt`` itself when neither learns anything."""
    lifetimes = {lifetime_of(entry.id) for record in records if isinstance(record, DVVSet)
                 for entry in record.entries}
    if not lifetimes:
        return learnt
    know_a = known_by(a, nodes, epochs, learnt)
    know_b = known_by(b, nodes, epochs, learnt)
    taught = {(a, owner, e) for owner, e in (know_b - know_a) & lifetimes}
    taught |= {(b, owner, e) for owner, e in (know_a - know_b) & lifetimes}
    return learnt | taught if taught else learnt
