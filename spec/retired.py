"""Pruning the dvv entries of retired storage lifetimes (session 33).

Theory of operation
-------------------
With actor epochs every storage lifetime of a node mints its dots under its own
actor (``name``, ``name~<epoch>``, a key epoch ``name~<epoch>.<e>``, a pair
``"<actor> <client>"``: :func:`spec.state.actor_id`, :func:`spec.dvv.dot_actor`),
so a DVVSet gains one entry per lifetime that coordinated a put of its key, and
once a later put superseded its value the entry holds none. The implementation
(impl/retired.py, ``versions.prune_retired``; docs/impl.md, "Pruning the entries
of retired lifetimes") drops such entries: a lifetime is *retired* once its node
began a later one (no start reuses an actor), and an entry may go only if

(a) its lifetime is retired: a live lifetime's entry going would let its node
    mint the same dot again, and a replica whose clock still covers that dot
    drops the new acknowledged write (Riak's kv679);
(b) it holds no value: an entry with values is a sibling, never dropped.

The cost: a stale copy of a value whose dot only a dropped entry covered comes
back (a false sibling; over a tombstone the deleted value) when it meets the
pruned record.

The spec states the rule as :func:`prune_retired`, a pure function of a DVVSet,
the nodes' current lifetimes (``State.epochs``: lifetime ``e`` of node ``n`` is
retired iff ``e < epochs[n]``), what the pruning node knows of the retirements,
and ``keep`` (``[features] prune_retired``): of each node's known retired
lifetimes that the set holds an entry of, the newest ``keep`` stay, the value-less
entries of the older ones go (all of a lifetime's together: its key epochs and
pairs with clients). The implementation keeps a byte budget instead of a count
(``RETIRED_BYTES_KEPT``: 22 short-named lifetimes; since session 39 never fewer
than each node's newest retired lifetime, ``RETIRED_NEWEST_KEPT``, as ``keep`` >= 1),
the same rule at another threshold. :func:`prune_at` applies it wherever a node writes a dvv record
(``Edit.store``: every merge; :func:`spec.coordination.start`: the coordinator's
put, stored pruned and, since session 39, replicated whole: the entries a write
empties cover the values it superseded on the replicas, and a pruned replica put
left those values there, a delete acknowledged by every replica undone).

Knowledge (``[features] prune_knowledge``) is modelled without state, as an
over-approximation of what each node knows at a write (in the implementation, by
gossip, a subset of the retirements that happened, never one that did not):
``"all"`` (the default): every node knows every retirement at once, the most
pruning at every write; ``"own"``: a node knows only the retirements of its own
earlier lifetimes (the least: what it knows at start, before any gossip). Neither
is a behavioural over-approximation: no run of either graph has a node learn a
retirement mid-run, or two nodes know differently; the safety argument does not
depend on knowledge (only retired actors' entries go, never a live actor's
counter), and session 33's review checked the two mixed static assignments by hand
(docs/model-checking.md, "Review (session 33)").
``"naive"`` is the broken twin: every lifetime counts as retired, a node's
current one too (the guard of (a) fed a wrong view of what is live), so every
value-less entry may go.

``"learnt"`` (session 34) makes knowledge state, as the implementation's is:
``State.known`` holds the retirements ``(knower, owner, lifetime)`` each node has
learnt of other nodes' lifetimes (its own retired lifetimes it knows from its
start, as in ``"own"``, without listing them), and a node prunes by what it knows
*now*. Knowledge grows by the fault-free step :class:`spec.actions.LearnRetirement`
(:mod:`spec.learning`: a node learns, by gossip, a retirement a reachable node
knows; the implementation's ``Gossip.retired``) and travels with the records of an
anti-entropy exchange (each side learns what the other knows of the lifetimes of
the two records' entries; the implementation's ``KeyRecords.retired``); it is lost
with the disk (a disk loss, a restore: the implementation keeps it in a storage
meta entry). It only grows otherwise, and only ever holds real retirements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from spec.dvv import DVVSet
from spec.errors import InvalidValueError
from spec.vclock import entry_actor

__all__ = ["KNOWLEDGE", "Known", "forget", "known_by", "lifetime_of", "prune_at",
           "prune_retired"]

V = TypeVar("V")

KNOWLEDGE = ("all", "own", "naive", "learnt")
"""``[features] prune_knowledge``: what a pruning node knows (module docstring)."""

#: ``State.known``: the retirements learnt, ``(knower, owner, lifetime)``
Known = frozenset[tuple[str, str, int]]


def lifetime_of(entry: str) -> tuple[str, int]:
    """The ``(node, storage lifetime)`` a spec DVVSet entry id was minted under: the
    inverse of :func:`spec.state.actor_id` (``name`` -> ``(name, 0)``, ``name~3`` and
    the key epoch ``name~3.1`` -> ``(name, 3)``), through the actor of a pair
    ``"<actor> <client>"`` (:func:`spec.vclock.entry_actor`). Node names hold no
    ``~`` nor space when pruning is on (:class:`spec.config.Config` refuses them)."""
    actor = entry_actor(entry) or entry
    name, tilde, rest = actor.rpartition("~")
    if not tilde:
        return actor, 0
    return name, int(rest.partition(".")[0])


def prune_retired(clock: DVVSet[V], live: Mapping[str, int], keep: int,
                  known: Callable[[str, int], bool] | None = None) -> DVVSet[V]:
    """``clock`` less the value-less entries of retired lifetimes, past the newest
    ``keep`` (>= 0) of each node; ``clock`` itself when none goes.

    ``live`` maps each node to its current lifetime (``State.epochs``): a lifetime
    ``(n, e)`` is retired iff ``e < live[n]`` (the guard of safety rule (a),
    module docstring; a node ``live`` does not name has no retired lifetime).
    ``known(n, e)`` says whether the pruning node knows that retirement (None:
    it knows every one). The retired, known lifetimes of node ``n`` that ``clock``
    holds an entry of (with values or not) are ranked newest first; the entries
    of those ranked ``keep`` or later that hold no value go, every other entry
    stays (rule (b)), and so do the anonymous values. Deterministic; pruning a
    pruned set changes nothing. Raises InvalidValueError (a ValueError) if ``keep``
    is negative."""
    if keep < 0:
        raise InvalidValueError(f"keep must be >= 0, got {keep}")
    lifetimes = [lifetime_of(entry.id) for entry in clock.entries]
    retired: dict[str, set[int]] = {}
    for node, epoch in lifetimes:
        if node in live and epoch < live[node] and (known is None or known(node, epoch)):
            retired.setdefault(node, set()).add(epoch)
    if not retired:
        return clock
    gone = {(node, epoch) for node, epochs in retired.items()
            for epoch in sorted(epochs, reverse=True)[keep:]}
    kept = tuple(entry for entry, lifetime in zip(clock.entries, lifetimes, strict=True)
                 if entry.values or lifetime not in gone)
    if len(kept) == len(clock.entries):
        return clock
    return DVVSet(kept, clock.anonymous)


def known_by(node: str, nodes: tuple[str, ...], epochs: tuple[int, ...],
             learnt: Known) -> frozenset[tuple[str, int]]:
    """The retirements ``(owner, lifetime)`` node ``node`` knows with
    ``prune_knowledge = "learnt"``: its own earlier lifetimes (``epochs`` holds the
    current lifetime of each of ``nodes``) and what it learnt (``learnt``, the
    state's ``known``: :mod:`spec.learning`)."""
    own = epochs[nodes.index(node)]
    return frozenset([*((node, e) for e in range(own)),
                      *((owner, e) for knower, owner, e in learnt if knower == node)])


def forget(learnt: Known, node: str) -> Known:
    """``learnt`` (the state's ``known``) less what node ``node`` learnt: its disk is
    lost or replaced (a disk loss, a restore), and the implementation keeps what it
    learnt on that disk. ``learnt`` itself when ``node`` learnt nothing."""
    kept = frozenset([t for t in learnt if t[0] != node])
    return learnt if len(kept) == len(learnt) else kept


def prune_at(node: str, clock: DVVSet[V], nodes: tuple[str, ...], epochs: tuple[int, ...],
             keep: int, knowledge: str, learnt: Known = frozenset()) -> DVVSet[V]:
    """:func:`prune_retired` as node ``node`` applies it to a record it writes, with
    ``nodes`` and ``epochs`` the state's nodes and their current lifetimes, ``keep``
    ``[features] prune_retired`` and ``knowledge`` ``[features] prune_knowledge``
    (:data:`KNOWLEDGE`): ``"all"`` knows every retirement, ``"own"`` those of
    ``node``'s own lifetimes, ``"naive"`` counts every lifetime as retired, the
    current ones too, ``"learnt"`` its own and those ``learnt`` lists for it
    (``(knower, owner, lifetime)``: the state's ``known``), another node's lifetime
    retired by that knowledge alone, as in the implementation
    (``RetiredActors.prune`` guards only the node's own live actor): a lifetime
    learnt wrongly would be pruned, so the checker sees a step that teaches one
    (``tests/spec/test_learnt.py``'s mutant). Raises
    InvalidValueError (a ValueError) for another ``knowledge``."""
    if knowledge == "all":
        return prune_retired(clock, dict(zip(nodes, epochs, strict=True)), keep)
    if knowledge == "own":
        return prune_retired(clock, dict(zip(nodes, epochs, strict=True)), keep,
                             lambda owner, _: owner == node)
    if knowledge == "naive":
        live = dict(zip(nodes, epochs, strict=True))
        live[node] += 1  # its own current lifetime counted as retired too
        return prune_retired(clock, live, keep, lambda owner, _: owner == node)
    if knowledge == "learnt":  # as the implementation: by knowledge, the own actor guarded
        live = {owner: epoch if owner == node else epoch + 1
                for owner, epoch in zip(nodes, epochs, strict=True)}
        return prune_retired(clock, live, keep,
                             lambda owner, e: owner == node or (node, owner, e) in learnt)
    raise InvalidValueError(
        f"unknown prune knowledge {knowledge!r} (known: {', '.join(KNOWLEDGE)})")

