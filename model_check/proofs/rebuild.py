"""A replaced disk's rebuild in the Z3 encoding (session 57; spec/rebuild.py,
docs/proofs.md "The rebuild in the Z3 encoding (session 57)").

Theory of operation
-------------------
With ``features.rebuild`` (and anti-entropy, on a fixed ring) the spec keeps, as
state, ``State.rebuilding``: per node whose disk was lost its *mark* ``(n, "", "")``
(its acknowledgements, own writes and own reads are not counted) and the
anti-entropy exchanges its rebuild still waits for, ``(n, key, m)`` for every key
it replicates and every other replica ``m`` of it. The encoding (one key) keeps
them as ``mark[n]`` and ``todo[n][m]`` (:class:`~model_check.proofs.abstraction.
AbstractState`, ``Shape.rebuild``), and the steps of
:func:`model_check.proofs.transition.transition` read and write them through the
functions here, each one rule of spec/rebuild.py (one function each, so that a test
can break it: tests/model_check/test_proof_rebuild.py):

- :func:`begun` (``spec.rebuild.begin``): a disk loss sets the node's mark and
  every exchange of the key it replicates (exact);
- :func:`restarted` (``spec.rebuild.restart``): a crash with an exchange left
  begins them all again, keeping the mark; one with none left drops the mark (exact);
- :func:`restarted_again` (session 61, ``Crash.again``): a crash of a marked node
  with none left that keeps the mark and begins them all again (exact);
- :func:`exchange_due` (``spec.rebuild.pending``): anti-entropy between two
  replicas is enabled between equal copies too while their exchange is to do, and
  the exchange is done after it (``spec.rebuild.synced``; exact);
- :func:`rebuild_over` (``spec.rebuild.rebuilt_steps``): the exact ``rebuilt`` step
  of an up, marked node is enabled once no exchange of the key is left;
- :func:`acknowledges_hint` (``spec.handoff.on_hint_delivery``): a hint delivered to
  its intended node while that node rebuilds the key is stored, not recorded nor
  acknowledged (the exact ``hint-deliver unacked`` step; the fallback keeps its hint);
- :func:`answers_reads` (``spec.replica.on_replica_get``): a node rebuilding the key
  answers no ``replica-get`` of it (the delivery is a stutter of the abstraction).

With several keys (session 61: docs/proofs.md "The rebuild with several keys in Z3
(session 61)") the state is the projection onto one key (``Shape.other_keys``), and
what its rebuild rules read of the other keys is one boolean per node replicating
another key, ``others[n]`` (``Shape.other_pairs``): an exchange of another key is left
for ``n``'s rebuild. The spec's rules are per node over every key, so each one of the
functions above has a variant reading it, exact like it (a function of one key's
shape delegates to the one-key rule):

- :func:`begun_keys`: a disk loss also sets ``others[n]`` (the node replicates
  another key);
- :func:`restarted_keys`: a crash with an exchange of any key left begins every
  exchange again, ``others[n]`` included; with none left drops the mark;
- :func:`restarted_again_keys`: ``Crash.again`` only with none left of any key;
- :func:`others_done`: ``rebuilt`` also needs no other key's exchange left;
- :func:`exchanged_elsewhere`: another key's anti-entropy exchange between ``a`` and
  ``b`` (a new family, ``exchange elsewhere``) may leave ``others[a]``,
  ``others[b]`` unset. **Over-approximated** (checked forward only): the projection
  forgets which of another key's exchanges are left, so the step may clear a flag
  while another exchange of it is still to do, or keep one the spec's exchange
  cleared.

Over-approximated, as before the rebuild was encoded (the spec only counts less):
a marked node's ``replica-put`` acknowledgement withheld, its own write as a
coordinator not counted, its own read not counted until every replica answered
(``Coordination.uncounted``). The abstraction keeps no acknowledgement in flight nor
which replies a get counts: the inexact steps' acknowledgement rule (a put is
acknowledged only while ``W`` minus the disk losses of nodes hold it) and the get's
over-approximation allow what the spec does and more.
"""

from __future__ import annotations

import z3

from model_check.proofs import terms as zt
from model_check.proofs.abstraction import AbstractState, Term

__all__ = ["acknowledges_hint", "answers_reads", "begun", "begun_keys", "exchange_due",
           "exchanged_elsewhere", "others_done", "rebuild_over", "restarted",
           "restarted_again", "restarted_again_keys", "restarted_keys"]


def _mine(x: AbstractState, n: int) -> list[tuple[tuple[int, int], Term]]:
    return [(e, flag) for e, flag in x.todo.items() if e[0] == n]


def begun(x: AbstractState, y: AbstractState, n: int) -> tuple[list[Term], set[str]]:
    """A disk loss of node ``n``: its mark and every exchange of the key it replicates
    set (the formulas on ``y``, and the names of the variables they change)."""
    mine = _mine(x, n)
    return [y.mark[n], *[y.todo[e] for e, _ in mine]], _names(x, n, mine)


def restarted(x: AbstractState, y: AbstractState, n: int) -> tuple[list[Term], set[str]]:
    """A crash of node ``n``: with an exchange left, all of them again and the mark
    kept; with none, the mark dropped (the formulas, and the names they change)."""
    mine = _mine(x, n)
    left = zt.Or([flag for _, flag in mine]) if mine else z3.BoolVal(False)
    return [y.mark[n] == left, *[y.todo[e] == left for e, _ in mine]], _names(x, n, mine)


def restarted_again(x: AbstractState, y: AbstractState, n: int
                    ) -> tuple[list[Term], set[str]]:
    """A crash of node ``n`` whose mark is set and no exchange left, in the outcome
    that keeps the mark and begins every exchange again (session 61:
    ``Crash.again``, :func:`spec.rebuild.restarts`; the formulas, and the names they
    change)."""
    mine = _mine(x, n)
    none_left = [zt.Not(flag) for _, flag in mine]
    return ([x.mark[n], *none_left, y.mark[n], *[y.todo[e] for e, _ in mine]],
            _names(x, n, mine))


def _names(x: AbstractState, n: int, mine: list[tuple[tuple[int, int], Term]]) -> set[str]:
    nm = x.shape.nodes
    return {f"mark[{nm[n]}]"} | {f"todo[{nm[n]}][{nm[e[1]]}]" for e, _ in mine}


def exchange_due(x: AbstractState, a: int, b: int) -> list[Term]:
    """The exchanges between ``a`` and ``b`` still to do (either way): anti-entropy
    between them is enabled while one is, even between equal copies."""
    return [x.todo[e] for e in ((a, b), (b, a)) if e in x.todo]


def rebuild_over(x: AbstractState, n: int) -> Term:
    """Node ``n`` has no exchange of the key left: its ``rebuilt`` step may drop its
    mark."""
    return zt.Not(x.unrebuilt(n))


def acknowledges_hint(x: AbstractState, i: int) -> Term:
    """A hint delivered to its intended node ``i`` is recorded and acknowledged: ``i``
    does not rebuild the key."""
    return zt.Not(x.unrebuilt(i))


def answers_reads(x: AbstractState, n: int) -> Term:
    """Node ``n`` answers a ``replica-get`` of the key: it does not rebuild it."""
    return zt.Not(x.unrebuilt(n))


# -- several keys: the projection's ``others`` (session 61) --------------------------------------


def _other(x: AbstractState, n: int) -> str:
    return f"others[{x.shape.nodes[n]}]"


def begun_keys(x: AbstractState, y: AbstractState, n: int) -> tuple[list[Term], set[str]]:
    """:func:`begun` in a projection onto one key of several: the disk loss of ``n``
    also begins its exchanges of the other keys it replicates (``others[n]`` set;
    ``spec.rebuild.begin`` takes every key of the node's)."""
    formulas, names = begun(x, y, n)
    if n not in x.others:
        return formulas, names
    return [*formulas, y.others[n]], names | {_other(x, n)}


def restarted_keys(x: AbstractState, y: AbstractState, n: int
                   ) -> tuple[list[Term], set[str]]:
    """:func:`restarted` in a projection onto one key of several: an exchange of any
    key left (of this key's, or ``others[n]``) begins every one again, the other
    keys' included, keeping the mark; none of any key left drops the mark
    (``spec.rebuild.restart`` asks of every key)."""
    if n not in x.others:
        return restarted(x, y, n)
    mine = _mine(x, n)
    left = zt.Or([flag for _, flag in mine] + [x.others[n]])
    return ([y.mark[n] == left, *[y.todo[e] == left for e, _ in mine],
             y.others[n] == left], _names(x, n, mine) | {_other(x, n)})


def restarted_again_keys(x: AbstractState, y: AbstractState, n: int
                         ) -> tuple[list[Term], set[str]]:
    """:func:`restarted_again` in a projection onto one key of several: only with no
    exchange of another key left either (``spec.rebuild.restarts``), and the other
    keys' exchanges begun again too."""
    formulas, names = restarted_again(x, y, n)
    if n not in x.others:
        return formulas, names
    return ([*formulas, zt.Not(x.others[n]), y.others[n]], names | {_other(x, n)})


def others_done(x: AbstractState, n: int) -> Term:
    """Node ``n`` has no exchange of another key left (true in a shape of one key):
    with :func:`rebuild_over`, its ``rebuilt`` step is enabled
    (``spec.rebuild.rebuilt_steps`` asks of every key)."""
    return zt.Not(x.others[n]) if n in x.others else z3.BoolVal(True)


def exchanged_elsewhere(x: AbstractState, y: AbstractState, a: int, b: int
                        ) -> tuple[list[Term], set[str]]:
    """Another key's anti-entropy exchange between ``a`` and ``b`` (up, on one side
    of any partition, as ``spec.anti_entropy`` asks) in the projection: each of
    ``others[a]``, ``others[b]`` kept or unset (``spec.rebuild.synced`` removes that
    key's pair; whether others are left the projection does not know: an
    over-approximation), nothing else of this key's changed."""
    flags = [n for n in (a, b) if n in x.others]
    return ([x.up[a], x.up[b], x.side[a] == x.side[b],
             *[zt.Implies(y.others[n], x.others[n]) for n in flags]],
            {_other(x, n) for n in flags})
