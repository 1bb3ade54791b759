"""Learnt knowledge of retirements in the Z3 encoding (session 36; spec/learning.py,
spec/retired.py, docs/proofs.md "Learnt knowledge in the Z3 encoding").

Theory of operation
-------------------
With ``prune_knowledge = "learnt"`` the spec keeps, as state, the retirements each
node has learnt of other nodes' storage lifetimes (``State.known``: the triples
``(knower, owner, lifetime)``; a node knows its own earlier lifetimes from its
start, without listing them: ``spec.retired.known_by``). The encoding keeps the
part of it that pruning can read: ``knows[n][p]`` (:class:`AbstractState`), node
``n`` has learnt that the lifetime which minted put ``p``'s dot (the parameters
``minter[p]``, ``mepoch[p]``) is retired. A prune only ever asks about the
lifetimes of a clock's entries, and an entry's lifetime minted a put's dot, so a
retirement of a lifetime that minted no put is invisible to pruning and to the
abstraction (learning it is a stutter). Knowledge moves by

- :func:`learn_steps`: the exact step ``learn-retirement`` (the spec's
  :class:`~spec.actions.LearnRetirement`, ``spec.learning.retirement_gossip``):
  an up node learns a retirement another up node on its side knows and it does
  not; every performed put of that lifetime becomes known at once;
- :func:`exchange_teaches`: an anti-entropy exchange (``spec.learning.exchanged``):
  each side learns what the other knows of the lifetimes of the entries of the two
  copies, before both merge and prune
  (:func:`model_check.proofs.transition._pruned_anti_entropy`);
- :func:`forgotten_with_disk`: a disk loss or a buffered crash forgets what the
  node learnt (``spec.retired.forget``); a crash keeps it (the frame).

And it is read by the knowledge guard (``transition.retirement_known``): a node
counts its own earlier lifetimes, and another node's lifetime it knows, as
retired. Each is one function, so that a test can break it
(tests/model_check/test_proof_pruning_learnt.py).
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from model_check.proofs import terms as zt
from model_check.proofs.abstraction import AbstractState, Params, Term

__all__ = ["exchange_teaches", "forgotten_with_disk", "knows_retired", "learn_steps",
           "same_lifetime"]


def same_lifetime(params: Params, q: int, r: int) -> Term:
    """Puts ``q`` and ``r`` were minted by one storage lifetime (one node, one epoch;
    any of its actors: its pairs with clients, its key epochs)."""
    if q == r:
        return z3.BoolVal(True)
    return zt.And(params.minter[q] == params.minter[r], params.mepoch[q] == params.mepoch[r])


def knows_retired(z: AbstractState, params: Params, n: int, q: int) -> Term:
    """Node ``n`` knows, in state ``z``, the retirement of the lifetime that minted put
    ``q``'s dot (``spec.retired.known_by``): one of its own earlier lifetimes, or one it
    learnt (``knows``)."""
    return zt.Or(zt.And(params.minter[q] == n, params.mepoch[q] < z.epoch[n]), z.knows[n][q])


def forgotten_with_disk(y: AbstractState, n: int) -> tuple[list[Term], set[str]]:
    """What a disk loss or a buffered crash of node ``n`` does to its knowledge: the
    post-state's ``knows[n]`` all false (``spec.retired.forget``), and the names of the
    variables it changes."""
    nm, puts = y.shape.nodes, range(y.shape.puts)
    return ([zt.Not(y.knows[n][q]) for q in puts],
            {f"knows[{nm[n]}][{q + 1}]" for q in puts})


def exchange_teaches(x: AbstractState, params: Params, a: int, b: int, n: int) -> list[Term]:
    """``knows[n]`` (``n`` one of ``a``, ``b``) after an anti-entropy exchange between
    ``a`` and ``b`` in state ``x`` (``spec.learning.exchanged``): ``n`` learns, besides
    what it knew, each retirement the other side knows and ``n`` does not of a
    lifetime with an entry in either copy (an entry of a lifetime: the clock covers
    the dot of a put it minted), one term per put."""
    other = b if n == a else a
    puts = range(x.shape.puts)
    out = []
    for q in puts:
        in_records = zt.Or([zt.And(same_lifetime(params, q, r), zt.Or(x.seen[a][r], x.seen[b][r]))
                            for r in puts])
        out.append(zt.Or(x.knows[n][q],
                         zt.And(x.performed[q], in_records, knows_retired(x, params, other, q),
                                zt.Not(knows_retired(x, params, n, q)))))
    return out


def learn_steps(x: AbstractState, y: AbstractState, params: Params,
                add: Callable[..., None]) -> None:
    """The exact steps ``learn-retirement {n} from {s} #{q}``: up node ``n`` learns from
    up node ``s`` on its side of the partition the retirement of the lifetime that
    minted put ``q``'s dot, which ``s`` knows and ``n`` does not; ``n`` then knows it of
    every performed put of that lifetime (``spec.learning.retirement_gossip``)."""
    nm, puts = x.shape.nodes, range(x.shape.puts)
    nodes = range(len(nm))
    for n in nodes:
        for s in nodes:
            if s == n:
                continue
            for q in puts:
                add(f"learn-retirement {nm[n]} from {nm[s]} #{q + 1}", "learn-retirement", True,
                    x.up[n], x.up[s], x.side[n] == x.side[s], x.performed[q],
                    knows_retired(x, params, s, q), zt.Not(knows_retired(x, params, n, q)),
                    *[y.knows[n][r] == zt.Or(x.knows[n][r],
                                             zt.And(x.performed[r], same_lifetime(params, q, r)))
                      for r in puts],
                    skip={f"knows[{nm[n]}][{r + 1}]" for r in puts})
