"""The reap steps of the Z3 encoding (model_check/proofs/transition.py), clause by
clause, and against the spec's reaps (spec/deletes.py) at the states where each guard
decides (review of session 27's delete proofs).

Why these are not left to the proofs and the edge agreement: at a safe reap the
deleted version is already nowhere (guards 2 and 3), so ``delete_shields`` holds
whatever the reap does, and the delete proofs' shape (every node a replica) has no
outside-copy drop at all; the edge agreement sees a missing spec edge, not extra
freedom in an inexact step, and no CI edge reaches a state where guard 3 decides
(delete-safe has no fault: once the key is quiet every replica covers the delete).
Each test names the mutants it kills (docs/proofs.md, "Review (session 27)")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import z3

from model_check.proofs import transition
from model_check.proofs.abstraction import AbstractState, Params, Shape, new_states
from model_check.proofs.edges import EdgeCheck
from model_check.proofs.invariants import DELETE_SHAPE, PROOFS, _deletes
from spec import deletes
from spec.actions import ClientDelete, ClientGet, ClientPut, Drop, Reap, Timeout
from spec.config import Config
from spec.model import initial_state, successors
from spec.state import Kind, State
from spec.step import plan_of
from tests.model_check.test_deletes import (
    BASE,
    _get_through_n3,
    _late_replica_put,
    _missed_and_down,
    _put_read_delete,
)
from tests.spec.test_model import deliver, deliver_all, do

#: a fixed ring with two nodes outside the key's top N (N = 2 of 4), for the
#: outside-copy drop, which the delete proofs' shape (every node a replica) has not
FALLBACK_SHAPE = Shape(nodes=("A", "B", "C", "D"), puts=2, payloads=0, top=(0, 1),
                       anti_entropy=False, handoff=False, reaping=True, deletes=True)


def _unsat(*assertions: Any) -> bool:
    solver = z3.Solver()
    solver.add(*assertions)
    return bool(solver.check() == z3.unsat)


def _only_tombstones(x: AbstractState, params: Params, n: int) -> Any:
    """Guard 1 (spec.deletes): n's copy is not empty and holds only tombstones."""
    puts = range(x.shape.puts)
    return z3.And(z3.Or(list(x.live[n])),
                  *[z3.Implies(x.live[n][q], params.tomb[q]) for q in puts])


def _quiet(x: AbstractState, params: Params) -> Any:
    """Guard 2 as the abstraction sees it on a fixed ring without hints: no write in
    flight, and no reply or coordination record holding a live version a performed
    delete covers (session 39: before, no reply and no record holding anything)."""
    puts = range(x.shape.puts)
    return z3.And(*[z3.Not(f) for r in x.wmsg for f in r],
                  *[z3.Implies(z3.And(x.performed[d], params.tomb[d], params.hist[d][q],
                                      z3.Not(params.tomb[q])), z3.Not(x.alive[q]))
                    for d in puts for q in puts if d != q])


def _covered_nowhere(x: AbstractState, params: Params) -> Any:
    """Guard 3: no store, up or down, holds a live version an acknowledged delete
    covers."""
    puts = range(x.shape.puts)
    return z3.And([
        z3.Implies(z3.And(x.acked[d], params.tomb[d], params.hist[d][q], z3.Not(params.tomb[q])),
                   z3.Not(live[q]))
        for d in puts for q in puts if d != q for live in x.live])


def _live_stored(x: AbstractState) -> Any:
    """A live version is covered by its store (true of every reachable state:
    ``strong_no_resurrection``)."""
    return z3.And([z3.Implies(live[q], store[q])
                   for live, store in zip(x.live, x.store, strict=True)
                   for q in range(x.shape.puts)])


def _emptied_only(x: AbstractState, y: AbstractState, n: int) -> Any:
    """y is x with n's copy of the key gone (stores and live versions), nothing else."""
    xs, ys = x.variables(), y.variables()
    gone = {name for table in ("store", "live")
            for name in xs if name.startswith(f"{table}[{x.shape.nodes[n]}]")}
    return z3.And([z3.Not(ys[name]) if name in gone else ys[name] == xs[name] for name in xs])


def _steps(shape: Shape, prefix: str) -> tuple[Any, Any, Any, Any, dict[int, str]]:
    x, y, params = new_states(shape)
    steps = transition.transition(x, y, params)
    selector = z3.Int("step")
    relation = transition.relation(x, y, steps, selector)
    named = {k: s.name for k, s in enumerate(steps) if s.name.startswith(prefix)}
    return x, y, params, z3.And(params.wellformed(), relation), named


def test_the_safe_reap_step_is_its_guards() -> None:
    """Each ``reap at n`` step of the delete proofs' shape is taken exactly under the
    guards of spec.deletes, restated here (not read from the encoding): n up, its
    copy not empty and only tombstones (guard 1), the key quiet (guard 2), no store up
    or down holding a live version an acknowledged delete covers (guard 3); it empties
    n's copy and keeps every other store. Both ways: the step implies each clause,
    and the clauses allow the step (n's copy gone, nothing else changed). The delete
    proofs alone let a reap without guard 1, or one that changes other stores,
    through (at a safe reap the deleted version is already nowhere, so
    ``delete_shields`` holds whatever the reap does), and the edge agreement lets a
    guard stronger than the spec's through where no suite edge shows it (review,
    session 27: the mutants of docs/proofs.md, "Review (session 27)")."""
    x, y, params, taken, reaps = _steps(DELETE_SHAPE, "reap at")
    assert sorted(reaps.values()) == ["reap at A", "reap at B", "reap at C"]
    selector = z3.Int("step")
    puts = range(DELETE_SHAPE.puts)
    for k, name in reaps.items():
        n = DELETE_SHAPE.nodes.index(name.rsplit(" ", 1)[1])
        guards = {"up": x.up[n], "guard 1": _only_tombstones(x, params, n),
                  "guard 2": _quiet(x, params), "guard 3": _covered_nowhere(x, params)}
        effect = {
            "emptied": z3.And([z3.Not(f) for f in (*y.store[n], *y.live[n])]),
            "the others kept": z3.And([z3.And(y.store[m][q] == x.store[m][q],
                                              y.live[m][q] == x.live[m][q])
                                       for m in range(3) if m != n for q in puts]),
        }
        for what, clause in {**guards, **effect}.items():
            assert _unsat(taken, selector == k, z3.Not(clause)), (name, what)
        assert _unsat(params.wellformed(), _live_stored(x), *guards.values(),
                      _emptied_only(x, y, n), selector == k, z3.Not(taken)), (name, "allowed")


def test_the_fixed_ring_outside_copy_drop_is_the_spec_s() -> None:
    """The outside-copy drop on a fixed ring (session 27's fix): a step at a node
    outside the key's top N only (C, D here), taken exactly when that node is up with a
    non-empty copy, the key is quiet and a node *in* the top N, up, holds a non-empty
    copy of only tombstones whose store covers every put the dropped copy covers
    (spec.deletes._outside_copies: the asker a replica by
    spec.membership.replicates, guard 1 for it, its tombstones dominating; the
    reachability the abstraction has not). Both ways, as the reap's test. The delete
    proofs have no such step (every node a replica), and the edge agreement does not
    see extra freedom in it (a reap is inexact): without this test an outside node as
    the dominating one, a drop without the dominance, without the tombstones-only copy
    or without the quiet key survived (review, session 27)."""
    x, y, params, taken, drops = _steps(FALLBACK_SHAPE, "outside copy dropped")
    assert sorted(drops.values()) == ["outside copy dropped at C", "outside copy dropped at D"]
    selector = z3.Int("step")
    puts = range(FALLBACK_SHAPE.puts)
    for k, name in drops.items():
        m = FALLBACK_SHAPE.nodes.index(name.rsplit(" ", 1)[1])
        asker = z3.Or([z3.And(x.up[n], _only_tombstones(x, params, n),
                              *[z3.Implies(x.store[m][q], x.store[n][q]) for q in puts])
                       for n in FALLBACK_SHAPE.top])
        guards = {"up": x.up[m], "not empty": z3.Or(list(x.live[m])), "quiet": _quiet(x, params),
                  "a replica's tombstones dominate": asker}
        effect = {"emptied": z3.And([z3.Not(f) for f in (*y.store[m], *y.live[m])])}
        for what, clause in {**guards, **effect}.items():
            assert _unsat(taken, selector == k, z3.Not(clause)), (name, what)
        assert _unsat(params.wellformed(), _live_stored(x), *guards.values(),
                      _emptied_only(x, y, m), selector == k, z3.Not(taken)), (name, "allowed")


@pytest.mark.parametrize(("name", "with_loss"), [("inductive_delete_shields_quorum_reads", False),
                                                ("inductive_delete_shields_with_disk_loss", True)])
def test_the_delete_shields_proofs_are_not_vacuous(name: str, with_loss: bool) -> None:
    """A proof whose hypotheses are contradictory proves anything, and its twin (built
    apart) would not show it. Each query of the two ``delete_shields`` proofs but
    ``Init => Inv`` has its hypotheses (every assertion but the negated goal)
    satisfiable together with a state the invariant's shield is about: an acknowledged
    delete whose deleted version is still live in a store (in the pre-state and,
    for the step, the post-state), and, for the disk-loss proof, a disk lost already
    (review, session 27: hypotheses emptied by a constraint, or the disk-loss proof
    run without disk loss, were not caught before)."""
    proof = next(p for p in PROOFS if p.name == name)
    x, y, params = new_states(DELETE_SHAPE)

    def shielded(z: AbstractState) -> Any:
        return z3.Or([z3.And(deleted, live[q]) for _, q, deleted in _deletes(z, params)
                      for live in z.live])

    checked = 0
    for query in proof.check():
        if query.label.startswith("Init"):
            continue
        hypotheses = [*query.assertions[:-1], shielded(x)]
        if "Trans" in query.label:
            hypotheses.append(shielded(y))
        if with_loss:
            hypotheses.append(x.losses >= 1)
        solver = z3.Solver()
        solver.add(*hypotheses)
        assert solver.check() == z3.sat, (name, query.label)
        checked += 1
    assert checked == 2


def _unacknowledged_delete() -> State:
    """v1 on all three replicas and read; the delete v2 through n1, both its replica
    puts dropped, the coordinator timing out on each: n1 holds the tombstone, n2 and
    n3 hold v1, the delete failed and the key is quiet."""
    config = BASE.replace(drops=2)
    state = deliver_all(do(initial_state(config), ClientPut("c1", "n1", "k")))
    state = deliver_all(do(state, ClientGet("c1", "n1", "k")))
    state = do(state, ClientDelete("c1", "n1", "k"))
    for message in list(state.messages):
        state = do(state, Drop(message))
    for target in ("n2", "n3"):
        state = do(state, Timeout("n1", 2, target))
    assert not state.messages and not any(node.coord for node in state.nodes)
    assert 2 not in state.client("c1").acked
    return state


def _repaired() -> State:
    """:func:`_put_read_delete`, then a get through n1 read-repairs n2: every store
    holds only the tombstone, the key quiet."""
    state = do(_put_read_delete(BASE), ClientGet("c1", "n1", "k"))
    state = deliver(state, Kind.REPLICA_GET, "n1", "n2")
    return deliver_all(deliver(state, Kind.REPLICA_GET_REPLY))


#: (a state, the nodes whose reap the spec allows there)
DECIDING: dict[str, tuple[Callable[[], State], set[str]]] = {
    "a replica missed the delete (guard 3)": (lambda: _put_read_delete(BASE), set()),
    "a down replica missed it (guard 3 reads down stores)":
        (lambda: _missed_and_down(BASE.replace(crashes=1)), set()),
    "v1 in flight (guard 2)": (_late_replica_put, set()),
    "the delete failed (guard 3 counts acknowledged deletes)": (_unacknowledged_delete, {"n1"}),
    "read-repaired (every guard holds)": (_repaired, {"n1", "n2", "n3"}),
    # session 39: guard 2's get part
    "a get holds v1 (guard 2)": (lambda: _get_through_n3(read_first=True), set()),
    "a get holds only the tombstone (guard 2 passes it)":
        (lambda: _get_through_n3(read_first=False), {"n1", "n2", "n3"}),
}


@pytest.mark.parametrize("case", list(DECIDING))
def test_the_encoding_reaps_where_the_spec_does(case: str) -> None:
    """At a state where one guard decides, the encoding's ``reap at n`` explains the
    spec's reap of n's copy exactly for the nodes the spec reaps (n's copy emptied,
    ``spec.deletes._reaped``). Kills, on the spec's side, guard 3 without the down
    stores or dropped, guard 2 dropped, guard 3 counting deletes that failed, guard 2
    without its get part or holding every get off (session 39); on the encoding's,
    the same guards changed there."""
    build, expected = DECIDING[case]
    state = build()
    config: Config = state.config
    spec = {action.nodes[0] for action, _ in successors(state) if isinstance(action, Reap)}
    assert spec == expected
    check = EdgeCheck(config)
    plan = plan_of(config)
    encoded = set()
    for name in config.nodes:
        after = deletes._reaped(state, plan, "k", name)
        if check.edge(state, Reap("k", (name,)), after) is not None:
            encoded.add(name)
    assert encoded == expected
