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

The ask as a message (session 37)
---------------------------------
The ask travels as any message does, so it may be lost, copied or delivered late
(the lockstep with ``asks_at_once`` False: the seeded walks'
``walk(..., asks_at_once=False)``, tests/refinement/test_one_way_ask_faults.py).
What the spec allows of it, stated here on spec values:

- *Lost*: a stutter (the spec has no message for the ask). Nothing is learnt and
  the copies stay as they are: the ask stays owed, at the next one-way merge that
  shows the pruning (:func:`ask_owed`). The implementation holds a second ask of
  the same key back for ``request_timeout`` after the first (its answer may be on
  the way); a hold is excused only within that window of an ask of the same start
  of the node, and after it the owed ask must be sent again
  (``Lockstep._asked_if_owed``).
- *Delivered late*: its round is the spec's exchange of the two copies as they are
  then, but the ask carries the asker's copy and knowledge of when it asked. The
  round is that step (or a stutter where the copies agree) only while those are
  the asker's still (:func:`round_allowed`, rule 1); an ask whose asker moved on
  is left undelivered (the lockstep drops it): its round would be a partial
  exchange (the asked node merges the old copy), which the spec has no step for.
- *A copy delivered after the first* (a duplicate): idempotent, a stutter. It is
  delivered only where the spec says it changes nothing (rule 2: the copies agree,
  the old copy adds nothing either node keeps, and neither node learns from it
  what it does not know).

Half exchanges (session 38)
---------------------------
The ask may also be delivered alone (``Lockstep.deliver_ask``), its answer left in
flight as any message: lost, copied, delivered late. Each half is then a step of
its own, stated on spec values:

- *The ask alone* (:func:`half_actions`): the asked node takes the retirements the
  ask names (those the asker knew of the lifetimes of its copy and of the one-way
  record: :func:`named`), merges the ask's record, and stores the union pruned by
  what it then knows. Where that leaves its copy as it was, the step is the spec's
  ``LearnRetirement`` of each retirement it learnt from the asker (a stutter where
  none), provided the asker knows them still (the spec's gossip step copies what
  its source knows). That holds of a stale ask too (one whose asker's copy moved
  on since, which rule 1 refuses as a whole round): the asked node merges an old
  copy of the asker's, which its own copy covers once pruned (the usual case: the
  asked node is the pruning upstream). An ask whose record would move the asked
  node's copy is not delivered alone (a partial exchange: the asker has not
  merged; no spec step stores the union at one side only).
- *The answer* (:func:`answer_actions`; its record is the union the asked node
  merged, unpruned, naming the retirements it then knew of the lifetimes of its
  copy and of the ask's record): the asker takes the retirements, merges the
  record and prunes. Where that leaves the asker's copy as it was: the spec's
  ``LearnRetirement`` of each retirement it learnt (a spent answer: a copy of one
  delivered, or one the copies caught up with). Else, the spec's ``AntiEntropy``
  of the two nodes, where that exchange of the copies as they are now leaves the
  asked node's copy and knowledge as they are, stores at the asker what its merge
  of the answer stores, and teaches it what the answer names (a late answer
  whose record still stands for the asked node's copy). Anything else is a stale
  answer: no spec step merges an old copy of one node's at another only; the
  lockstep does not deliver it, and quiescence drops it.
- *The answer lost*: a stutter (nothing is learnt; the ask stays owed, as for a
  lost ask).
"""

from __future__ import annotations

from collections.abc import Iterable

from spec import clocks
from spec.actions import Action, AntiEntropy, LearnRetirement
from spec.clocks import Payload
from spec.config import Config
from spec.dvv import DVVSet
from spec.learning import exchanged
from spec.retired import known_by, lifetime_of, prune_at
from spec.state import State
from spec.step import plan_of

__all__ = ["answer_actions", "ask_owed", "half_actions", "knows", "named",
           "round_allowed"]

Retirements = frozenset[tuple[str, int]]


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


def knows(config: Config, state: State, node: str) -> frozenset[tuple[str, int]]:
    """The retirements ``(owner, lifetime)`` node ``node`` knows in ``state``
    (:func:`spec.retired.known_by`)."""
    return known_by(node, config.all_nodes, state.epochs, state.known)


def round_allowed(config: Config, state: State, asker: str, asked: str, key: str,
                  record: Payload, knew: frozenset[tuple[str, int]], *,
                  copy: Payload | None = None) -> bool:
    """Whether the round of a one-way ask from ``asker`` to ``asked`` of ``key``,
    sent with ``record`` (the asker's copy when it asked merged with the one-way
    record, unpruned: session 40) when its copy was ``copy`` (None: ``record``)
    and the asker knew ``knew``, delivered in ``state``, is a spec step (module
    docstring, "The ask as a message"). Rule 1, a fresh ask: the asker's copy and
    knowledge are still ``copy`` and ``knew``, and the copies differ (the round is the spec's
    ``AntiEntropy`` of the two). Rule 2, a spent ask (a copy of one answered, or
    one the copies caught up with): the copies agree, each node's pruning of their
    merge with ``record`` (by what it knows) is the copy itself, the ask names
    nothing of ``record``'s lifetimes the asked node does not know, and the answer
    nothing of the lifetimes of the copy and ``record`` the asker does not know (a
    stutter). False for anything else, and outside learnt dvv."""
    if config.prune_knowledge != "learnt" or not isinstance(record, DVVSet):
        return False
    k = config.keys.index(key)
    mine, theirs = state.node(asker).store[k], state.node(asked).store[k]
    if not (state.node(asker).up and state.node(asked).up):
        return False
    know_asker, know_asked = knows(config, state, asker), knows(config, state, asked)
    agree = clocks.payload_equal(mine, theirs)
    asked_with = record if copy is None else copy
    if clocks.payload_equal(mine, asked_with) and know_asker == knew and not agree:
        return True  # rule 1
    if not agree:
        return False
    union = clocks.merge(config.clock, mine, record, state.puts)
    for node in (asker, asked):
        pruned = prune_at(node, union, config.all_nodes, state.epochs,
                          config.prune_retired, config.prune_knowledge, state.known) \
            if isinstance(union, DVVSet) else union
        if not clocks.payload_equal(pruned, mine):
            return False
    lifetimes = {lifetime_of(entry.id) for copy in (mine, record)
                 if isinstance(copy, DVVSet) for entry in copy.entries}
    return (knew & lifetimes) <= know_asked and (know_asked & lifetimes) <= know_asker


def named(knew: Retirements, records: Iterable[Payload]) -> Retirements:
    """The retirements of ``knew`` that minted an entry of one of ``records``: what a
    message sending them names (``impl.retired.RetiredActors.carried``; session
    38)."""
    lifetimes = {lifetime_of(entry.id) for record in records if isinstance(record, DVVSet)
                 for entry in record.entries}
    return frozenset(knew & lifetimes)


def _stores(config: Config, state: State, node: str, copy: Payload, record: Payload,
            learnt: Retirements) -> Payload:
    """What ``node`` stores once it took ``learnt`` and merged ``record`` into
    ``copy`` (pruned by what it then knows; ``copy`` itself where that is equal),
    as :meth:`spec.step.Edit.store` does."""
    merged = clocks.merge(config.clock, copy, record, state.puts)
    if isinstance(merged, DVVSet):
        known = state.known | {(node, owner, lifetime) for owner, lifetime in learnt}
        merged = prune_at(node, merged, config.all_nodes, state.epochs,
                          config.prune_retired, config.prune_knowledge, known)
    return copy if clocks.payload_equal(merged, copy) else merged


def _talk(config: Config, state: State, a: str, b: str) -> bool:
    """Both up, on the same side of the partition, in learnt dvv."""
    nodes = config.all_nodes
    if config.prune_knowledge != "learnt" or a == b:
        return False
    if not (state.nodes[nodes.index(a)].up and state.nodes[nodes.index(b)].up):
        return False
    return (a in state.side) == (b in state.side)


def half_actions(config: Config, state: State, asker: str, asked: str, key: str,
                 record: Payload, carried: Retirements) -> list[Action] | None:
    """The spec steps of a one-way ask from ``asker`` to ``asked`` of ``key`` with
    ``record`` naming ``carried`` (:func:`named`), delivered alone in ``state``
    (module docstring, "Half exchanges"): a ``LearnRetirement`` of ``asked`` from
    ``asker`` of each retirement of ``carried`` it does not know, where ``asker``
    knows them all and ``asked``'s merge of ``record`` (pruned by what it then
    knows) leaves its copy as it is. None where it is no spec step."""
    if not _talk(config, state, asker, asked) or not isinstance(record, DVVSet):
        return None
    if not carried <= knows(config, state, asker):
        return None
    new = carried - knows(config, state, asked)
    copy = state.node(asked).store[config.keys.index(key)]
    if _stores(config, state, asked, copy, record, new) is not copy:
        return None
    return [LearnRetirement(asked, asker, owner, lifetime) for owner, lifetime in sorted(new)]


def answer_actions(config: Config, state: State, asker: str, asked: str, key: str,
                   record: Payload, carried: Retirements) -> list[Action] | None:
    """The spec steps of the answer of ``asked`` to ``asker``'s one-way ask of
    ``key`` (``record``: the union it sent, naming ``carried``) delivered in
    ``state`` (module docstring, "Half exchanges"): where ``asker``'s merge leaves
    its copy as it is, a ``LearnRetirement`` of ``asker`` from ``asked`` of each
    retirement it learns; else the spec's ``AntiEntropy`` of the two where it
    leaves ``asked``'s copy and knowledge as they are and ``asker`` as the answer
    does. None where it is no spec step (a stale answer)."""
    if not _talk(config, state, asker, asked) or not isinstance(record, DVVSet):
        return None
    know_asker, know_asked = knows(config, state, asker), knows(config, state, asked)
    if not carried <= know_asked:
        return None
    new = carried - know_asker
    k = config.keys.index(key)
    mine, theirs = state.node(asker).store[k], state.node(asked).store[k]
    outcome = _stores(config, state, asker, mine, record, new)
    if outcome is mine:
        return [LearnRetirement(asker, asked, owner, lifetime)
                for owner, lifetime in sorted(new)]
    top = plan_of(config).top[key]
    if (not config.anti_entropy or state.membership is not None
            or asker not in top or asked not in top):
        return None
    nodes, epochs = config.all_nodes, state.epochs
    learnt = exchanged(state.known, asker, asked, (mine, theirs), nodes, epochs)
    taught_asker = known_by(asker, nodes, epochs, learnt)
    taught_asked = known_by(asked, nodes, epochs, learnt)
    if taught_asked != know_asked or taught_asker != know_asker | new:
        return None
    union = clocks.merge(config.clock, mine, theirs, state.puts)
    if not isinstance(union, DVVSet):
        return None
    at_asked = prune_at(asked, union, nodes, epochs, config.prune_retired,
                        config.prune_knowledge, learnt)
    at_asker = prune_at(asker, union, nodes, epochs, config.prune_retired,
                        config.prune_knowledge, learnt)
    if not (clocks.payload_equal(at_asked, theirs) and clocks.payload_equal(at_asker, outcome)):
        return None
    a, b = sorted((asker, asked), key=top.index)  # (the spec's order: the top N's)
    return [AntiEntropy(a, b, key)]
