"""The rebuild of a lost disk with several keys in the Z3 encoding (session 61;
model_check/proofs/rebuild.py's ``_keys`` rules, docs/proofs.md "The rebuild with several
keys in Z3 (session 61)"): a projection onto one key keeps, per node replicating another
key, whether another key's exchange is left (``others``); the crash's restart, its
``again`` outcome and ``rebuilt`` read it, another key's anti-entropy may end it. Every
edge of a two-key rebuild configuration agrees, per key, both ways, and each rule broken
is refused.

Mutants (each a test below, monkeypatched; each also edited in the source of
model_check/proofs/rebuild.py and run against this file, reverted):

- K1 ``others_done`` always true (``rebuilt`` enabled while another key's exchange is
  left: the encoding before session 61 read in a projection): refused backward (the
  exact ``rebuilt`` proposes a mark dropped that no spec step drops);
- K2 ``restarted_keys`` the one-key :func:`~model_check.proofs.rebuild.restarted` (a
  crash with only another key's exchanges left drops the mark): refused forward (the
  spec begins them all again);
- K3 ``restarted_again_keys`` the one-key rule (``Crash.again`` with another key's
  exchange left, ``others`` left free): refused backward;
- K4 ``begun_keys`` the one-key :func:`~model_check.proofs.rebuild.begun` (a disk
  loss leaves ``others`` free): refused backward at a disk loss;
- K5 ``exchanged_elsewhere`` never enabled (no ``exchange elsewhere`` step): refused
  forward at another key's anti-entropy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import z3

from model_check.proofs import invariants
from model_check.proofs import rebuild as rb
from model_check.proofs.agreement import (
    GraphAgreement,
    check_graph,
    check_projections,
    unencoded,
)
from model_check.proofs.framework import Verdict, decide
from model_check.proofs.mapping import shape_of
from model_check.suite import entry
from spec.config import Config
from tests.model_check.first_refusal import stopping_at_a_refusal
from tests.proof_cache import RELATIONS

SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"

#: Two keys on three nodes, N = 2 (k on n3, n1; j on n2, n3: n3 replicates both), W = 2,
#: a put, a crash and a disk loss: 2,640 states, 7,505 edges; every edge per key in CI
#: (1.4 CPU-s both projections, load 12-16).
TWO_KEYS = Config(
    name="disk-loss-rebuild-two-keys", nodes=("n1", "n2", "n3"), n=2, r=1, w=2, clock="dvv",
    rebuild=True, disk_losses=1, crashes=1, keys=("k", "j"), clients=1, puts_per_client=1,
    gets_per_client=0,
)
#: ... with a get (a rebuilding node's silent read, read repair): 15,684 states, every
#: edge per key under HYPOTHESIS_PROFILE=soak (5.7 CPU-s both projections); the suite's
#: entry of that name since session 61 (model_check/configs/, its sample of edges in
#: test_proof_agreement's sweep, ``vdynamo prove``)
TWO_KEYS_READ = entry("disk-loss-read-rebuild-two-keys").config


def _agrees(results: list[GraphAgreement], states: int) -> None:
    assert [r.key for r in results] == ["k", "j"]
    for result in results:
        assert result.ok, (result.key, result.disagreements, result.exact_disagreements)
        assert result.states == result.checked_states == states
        assert not result.not_encoded and result.outside == 0
        assert result.exact_proposals > 0
        for family in ("rebuilt", "disk-loss", "crash", "exchange elsewhere",
                       "put elsewhere"):
            assert result.by_family[family] > 0, (result.key, family)
        assert sum(n for step, n in result.by_step.items() if step.endswith(" again")) > 0


def test_the_rebuild_with_two_keys_is_encoded() -> None:
    """Each projection keeps ``others`` for the nodes of the other key's top N (k's
    projection: n2 and n3, j's: n1 and n3), and the agreement takes the configuration
    (session 57's ``unencoded`` declined it)."""
    assert not unencoded(TWO_KEYS)
    assert TWO_KEYS.replace(name=TWO_KEYS_READ.name, gets_per_client=1) == TWO_KEYS_READ
    k, j = shape_of(TWO_KEYS, key="k"), shape_of(TWO_KEYS, key="j")
    assert (k.other_pairs, k.other_rebuilds) == (((1, 2),), (1, 2))
    assert (j.other_pairs, j.other_rebuilds) == (((0, 2),), (0, 2))
    assert shape_of(TWO_KEYS.replace(keys=("k",)), key="k").other_pairs == ()


def test_every_edge_of_the_two_key_rebuild_agrees_per_key() -> None:
    """Every edge of :data:`TWO_KEYS`, per key, forward and backward (under soak
    :data:`TWO_KEYS_READ` as well): the crash that begins every exchange again for
    another key's, ``rebuilt`` once no key's is left, another key's exchange."""
    _agrees(check_projections(TWO_KEYS.name, TWO_KEYS, relations=RELATIONS), 2_640)
    if SOAK:
        _agrees(check_projections(TWO_KEYS_READ.name, TWO_KEYS_READ, relations=RELATIONS),
                15_684)


def _refused(monkeypatch: pytest.MonkeyPatch, name: str, mutant: Callable[..., Any],
             forward: bool, backward: bool) -> list[GraphAgreement]:
    """The projections of :data:`TWO_KEYS` with ``rb.<name>`` replaced by ``mutant``
    (a fresh relation), each walk stopped at its first refusal of the wanted kinds,
    until one refuses."""
    monkeypatch.setattr(rb, name, mutant)

    def found(r: GraphAgreement) -> bool:
        return (r.forward_failures > 0 or not forward) and (
            r.backward_failures > 0 or not backward)

    results = []
    for key in TWO_KEYS.keys:
        with stopping_at_a_refusal(found):
            results.append(check_graph(f"mutant-{name}", TWO_KEYS, key=key,
                                       backward=backward))
        if found(results[-1]):
            return results
    raise AssertionError([(r.key, r.forward_failures, r.backward_failures)
                          for r in results])


def test_rebuilt_with_another_keys_exchange_left_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """K1: ``rebuilt`` enabled while an exchange of another key is left
    (``others_done`` always true): refused backward, a mark dropped that the spec's
    ``Rebuilt`` (it asks of every key) keeps."""
    results = _refused(monkeypatch, "others_done", lambda x, n: z3.BoolVal(True),
                       forward=False, backward=True)
    assert any("mark[" in text for r in results for text in r.exact_disagreements)


def test_a_crash_with_another_keys_exchange_left_begins_them_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """K2: the crash reads this key's exchanges only (the one-key ``restarted``):
    refused forward, the spec's crash of a node with only another key's exchanges left
    keeps its mark and begins this key's again."""
    original = rb.restarted_keys

    def one_key(x: Any, y: Any, n: int) -> tuple[list[Any], set[str]]:
        _, names = original(x, y, n)  # the names it may change: the disk loss's too
        return rb.restarted(x, y, n)[0], names

    results = _refused(monkeypatch, "restarted_keys", one_key, forward=True,
                       backward=False)
    assert any("Crash" in text for r in results for text in r.disagreements)


def test_crash_again_only_with_no_key_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """K3: ``Crash.again`` by the one-key rule (enabled with another key's exchange
    left, and leaving ``others`` free): refused backward, the exact step proposes a
    crash whose ``others`` the spec's does not reach (forward it agrees: it allows
    more)."""
    results = _refused(monkeypatch, "restarted_again_keys", rb.restarted_again,
                       forward=False, backward=True)
    assert any("others[" in text for r in results for text in r.exact_disagreements)


def test_a_disk_loss_begins_the_other_keys_exchanges(monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    """K4: a disk loss by the one-key ``begun`` (``others`` left free): refused
    backward, the exact ``disk-loss`` proposes a node replicating another key with no
    exchange of it to do."""
    results = _refused(monkeypatch, "begun_keys", rb.begun, forward=False, backward=True)
    assert all(r.forward_failures == 0 for r in results)


def test_another_keys_exchange_is_a_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """K5: no ``exchange elsewhere`` step (another key's anti-entropy must be a
    stutter, as before session 61): refused forward where it ends a rebuild's wait."""
    def never(x: Any, y: Any, a: int, b: int) -> tuple[list[Any], set[str]]:
        return [z3.BoolVal(False)], set()

    results = _refused(monkeypatch, "exchanged_elsewhere", never, forward=True,
                       backward=False)
    assert any("AntiEntropy" in text or "anti-entropy" in text
               for r in results for text in r.disagreements)


def test_the_rebuild_proof_holds_per_key() -> None:
    """``inductive_acked_writes_durable_with_rebuild_keys`` (registered: test_proofs.py)
    on :data:`~model_check.proofs.invariants.REBUILD_KEYS_SHAPE`: proved, and its twin
    (W = 1, one disk loss) refuted at the disk loss of the one holder."""
    proof = next(p for p in invariants.PROOFS
                 if p.name == "inductive_acked_writes_durable_with_rebuild_keys")
    assert decide(proof.check()).verdict is Verdict.PROVED
    refuted = decide(proof.twin())
    assert refuted.verdict is Verdict.REFUTED
    assert "another key's exchanges left" in (refuted.counterexample or "")


# -- session 61's review (docs/proofs.md "The rebuild with several keys reviewed") ----------


def test_others_is_read_exactly_from_the_rebuild_state() -> None:
    """Every reachable state of :data:`TWO_KEYS` (2,640), per key: ``others[n]`` is
    whether ``spec.rebuild.unrebuilt`` holds for ``n`` and some other key, there is such
    a variable exactly for the nodes replicating another key, and no node without one
    (n1 in k's projection, n2 in j's) has another key's exchange left. Met: a node
    marked with no other key, and a state right after ``Crash.again`` with
    ``others`` set.

    Mutants (each edited in model_check/proofs/mapping.py, reverted): the abstraction
    counting the mark as another key's exchange (``e[1] != key``): fails here
    (``others[n3]`` set with only its mark left), and the every-edge test (``Rebuilt``,
    ``Crash`` forward); ``_other_pairs`` taking the key's own top N too (``other !=
    key`` dropped): fails here (an ``others`` variable for n1), and the every-edge
    test (``DiskLoss`` of n1 both ways)."""
    from model_check.proofs.mapping import abstract_parts
    from spec import model
    from spec.actions import Crash
    from spec.rebuild import unrebuilt

    shapes = {key: shape_of(TWO_KEYS, key=key) for key in TWO_KEYS.keys}
    initial = model.initial_state(TWO_KEYS)
    seen, frontier = {model.canonicalize(initial)}, [initial]
    met = {"alone marked": 0, "after again": 0}
    while frontier:
        state = frontier.pop()
        for action, after in model.successors(state):
            again = isinstance(action, Crash) and action.again
            for key, shape in shapes.items():
                values, _ = abstract_parts(after, shape, key)
                nodes, others = shape.nodes, [j for j in TWO_KEYS.keys if j != key]
                replicas = {n for j in others for n in TWO_KEYS_TOP[j]}
                assert {nodes[n] for n in shape.other_rebuilds} == replicas
                for name in nodes:
                    left = any(unrebuilt(after.rebuilding, name, j) for j in others)
                    assert values.get(f"others[{name}]", False) == left, (key, name, action)
                    assert f"others[{name}]" in values or not left
                    if name not in replicas and values[f"mark[{name}]"]:
                        met["alone marked"] += 1
                    if again and action.node == name and left:
                        met["after again"] += 1
            canonical = model.canonicalize(after)
            if canonical not in seen:
                seen.add(canonical)
                frontier.append(after)
    assert len(seen) == 2_640 and all(met.values()), met


#: the top N of each key of :data:`TWO_KEYS` (spec.ring's preference lists)
TWO_KEYS_TOP = {"k": ("n3", "n1"), "j": ("n2", "n3")}


def _marks(monkeypatch: pytest.MonkeyPatch, name: str, mutant: Callable[..., Any]) -> str:
    """:func:`~model_check.proofs.invariants.rebuild_marks_every_exchange` with
    ``rb.<name>`` replaced by ``mutant``: refuted, its counterexample."""
    monkeypatch.setattr(rb, name, mutant)
    outcome = decide(invariants.rebuild_marks_every_exchange())
    assert outcome.verdict is Verdict.REFUTED, (name, outcome.verdict)
    return outcome.counterexample or ""


def test_every_exchange_left_is_of_a_marked_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """``inductive_acked_writes_durable_with_rebuild_keys`` is proved with any rule
    reading ``others`` broken (K1-K5 and an ``exchange elsewhere`` setting a flag, each
    run against it: PROVED), since durability does not read the marks.
    :func:`~model_check.proofs.invariants.rebuild_marked` (an exchange left, of the key
    or another, only for a marked node) does: proved on
    :data:`~model_check.proofs.invariants.REBUILD_KEYS_SHAPE` (and the one-key
    ``REBUILD_SHAPE``), refuted with K1 (``rebuilt`` while ``others`` is set), a crash
    reading this key's exchanges only (K2, ``others`` kept or free: the mark dropped
    under it) and ``exchange elsewhere`` setting a flag. Not by K3, K4, K5 (each only
    sets or keeps flags of a marked node: the edge walks above refuse them)."""
    assert decide(invariants.rebuild_marks_every_exchange()).verdict is Verdict.PROVED
    assert decide(invariants.rebuild_marks_every_exchange(invariants.REBUILD_SHAPE)
                  ).verdict is Verdict.PROVED
    with monkeypatch.context() as m:
        text = _marks(m, "others_done", lambda x, n: z3.BoolVal(True))
        assert "step: rebuilt" in text and "(not marked)" in text
    with monkeypatch.context() as m:
        text = _marks(m, "restarted_keys", rb.restarted)
        assert "step: crash" in text and "(not marked)" in text
    original = rb.exchanged_elsewhere

    def sets_a_flag(x: Any, y: Any, a: int, b: int) -> tuple[list[Any], set[str]]:
        formulas, names = original(x, y, a, b)
        return [f for f in formulas if not z3.is_implies(f)], names

    with monkeypatch.context() as m:
        text = _marks(m, "exchanged_elsewhere", sets_a_flag)
        assert "step: exchange elsewhere" in text and "(not marked)" in text


def test_another_keys_exchange_keeps_this_keys_data(monkeypatch: pytest.MonkeyPatch
                                                    ) -> None:
    """The over-approximated ``exchange elsewhere`` is bounded by the durability proof
    on the data side: one that may change a store of this key (``store[B][1]`` among
    the names it changes) makes ``inductive_acked_writes_durable_with_rebuild_keys``
    refuted at that step (an acknowledged put losing a holder)."""
    original = rb.exchanged_elsewhere

    def frees_a_store(x: Any, y: Any, a: int, b: int) -> tuple[list[Any], set[str]]:
        formulas, names = original(x, y, a, b)
        return formulas, names | {f"store[{x.shape.nodes[a]}][1]",
                                  f"store[{x.shape.nodes[b]}][1]"}

    monkeypatch.setattr(rb, "exchanged_elsewhere", frees_a_store)
    proof = next(p for p in invariants.PROOFS
                 if p.name == "inductive_acked_writes_durable_with_rebuild_keys")
    outcome = decide(proof.check())
    assert outcome.verdict is Verdict.REFUTED
    assert "step: exchange elsewhere" in (outcome.counterexample or "")


def _exchange_elsewhere_bound() -> list[str]:
    """What is wrong with the ``exchange elsewhere`` steps of
    :data:`~model_check.proofs.invariants.REBUILD_KEYS_SHAPE`'s relation against their
    stated bound (one per pair of ``Shape.other_pairs``; changing only ``others`` of
    the pair's nodes; no flag set; each able to clear a flag), as messages."""
    from model_check.proofs.abstraction import new_states
    from model_check.proofs.transition import relation, transition

    shape = invariants.REBUILD_KEYS_SHAPE
    x, y, params = new_states(shape)
    every = transition(x, y, params)
    selector = z3.Int("step")
    taken = relation(x, y, every, selector)  # with each step's frame
    steps = [(k, s) for k, s in enumerate(every) if s.family == "exchange elsewhere"]
    wrong = [] if len(steps) == len(shape.other_pairs) else [f"{len(steps)} steps"]
    for (k, step), (a, b) in zip(steps, shape.other_pairs, strict=False):
        this = [params.wellformed(), taken, selector == k]
        pair = {f"others[{shape.nodes[n]}]" for n in (a, b)}
        if not step.changes <= pair:
            wrong.append(f"{step.name} changes {sorted(step.changes - pair)}")
        for n in (a, b):
            sets = z3.Solver()
            sets.add(*this, y.others[n], z3.Not(x.others[n]))
            if sets.check() != z3.unsat:
                wrong.append(f"{step.name} may set others[{shape.nodes[n]}]")
            clears = z3.Solver()
            clears.add(*this, x.others[n], z3.Not(y.others[n]))
            if clears.check() != z3.sat:
                wrong.append(f"{step.name} never clears others[{shape.nodes[n]}]")
    return wrong


def test_another_keys_exchange_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The over-approximated ``exchange elsewhere`` (checked forward only by the edge
    walks) is bounded by its relation: it changes only ``others`` of its two nodes,
    never sets one, and can clear each (so it is the step K5's walk needs). The bound
    is what the edge walks and the proofs cannot see: the mutants below (``rb.
    exchanged_elsewhere`` replaced) each break it; a flag set on an unmarked node is
    also refused by :func:`test_every_exchange_left_is_of_a_marked_node`, on a marked
    node by nothing else."""
    assert _exchange_elsewhere_bound() == []
    original = rb.exchanged_elsewhere

    def sets_a_flag(x: Any, y: Any, a: int, b: int) -> tuple[list[Any], set[str]]:
        formulas, names = original(x, y, a, b)
        return [f for f in formulas if not z3.is_implies(f)], names

    def frees_a_store(x: Any, y: Any, a: int, b: int) -> tuple[list[Any], set[str]]:
        formulas, names = original(x, y, a, b)
        return formulas, names | {f"store[{x.shape.nodes[a]}][1]"}

    def keeps(x: Any, y: Any, a: int, b: int) -> tuple[list[Any], set[str]]:
        return original(x, y, a, b)[0], set()

    for mutant, says in ((sets_a_flag, "may set"), (frees_a_store, "changes ['store"),
                         (keeps, "never clears")):
        with monkeypatch.context() as m:
            m.setattr(rb, "exchanged_elsewhere", mutant)
            assert any(says in text for text in _exchange_elsewhere_bound()), says
