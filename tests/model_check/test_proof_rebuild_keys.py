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
