"""The failing disk in the Z3 encoding (session 52, issue 12 §6).

The encoding's steps ``failed-put``, ``failed-write`` and a delivered
``replica-put-failed`` (:func:`model_check.proofs.transition._refusal_steps`), and a
coordinator's kept records of its refused writes (``State.unpersisted``, abstracted
into ``held`` and merged by its next put: :func:`~model_check.proofs.transition.
kept_and_put`), checked against every edge of the failing disk's suite entries (the
CI sample of tests/model_check/test_proof_agreement.py takes them too; every edge of
write-failure-strict under soak and in docs/refinement.md), and the inductive proof
``inductive_acked_writes_durable_with_write_failures`` with its twin.

Teeth (each shown failing the check): the encoding's put without the kept records'
merge (the spec's second put through n3 stores the refused v1 too: refused edges);
the abstraction without the kept records (``held`` forgets them: the same edges
refused); the spec's refused replica write storing the value after all (the
``failed-write`` step changes no store: refused); the twin's acknowledgement of a
refused write (write-failure-acked, left out of the suite's agreement by
``unencoded``: its acknowledgements with a holder short are refused).
"""

from __future__ import annotations

from typing import Any

import pytest

from model_check.proofs import mapping, transition
from model_check.proofs.agreement import check_graph, unencoded
from model_check.proofs.framework import Verdict, run_proof
from model_check.proofs.invariants import PROOFS
from model_check.suite import entry
from spec import faults, replica
from tests.conftest import PROFILE
from tests.model_check.first_refusal import stopping_at_a_refusal
from tests.proof_cache import RELATIONS

SAME = "write-failure-same-coordinator"


def test_every_edge_of_the_small_write_failure_entries_agrees() -> None:
    """Every edge of write-failure-same-coordinator (causal) and write-failure-forgotten
    (lossy: the twin re-mints the refused put's dot) agrees; the failing disk's steps
    explain the spec's ``FailedPut`` and ``FailedWrite`` edges; under soak every edge of
    write-failure-strict too (33,030, 12 s here)."""
    names = [SAME, "write-failure-forgotten"] + (["write-failure-strict"]
                                                 if PROFILE == "soak" else [])
    for name in names:
        result = check_graph(name, entry(name).config, relations=RELATIONS)
        assert result.ok, (name, result.disagreements, result.exact_disagreements)
        assert result.checked_states == result.states and not result.not_encoded
        assert result.by_family["failed-put"] > 0 and result.by_family["failed-write"] > 0
        assert result.rule == ("lossy" if name == "write-failure-forgotten" else "causal")
    assert unencoded(entry("write-failure-acked").config)
    assert not any(unencoded(entry(n).config) for n in
                   ("write-failure-strict", SAME, "write-failure-forgotten"))


def _refused(name: str, **options: Any) -> int:
    """Forward failures on ``name``'s graph, the walk stopped at its first."""
    with stopping_at_a_refusal(lambda result: result.forward_failures > 0):
        result = check_graph(f"mutant of {name}", entry(name).config, backward=False,
                             **options)
    return result.forward_failures


def test_a_put_that_does_not_merge_the_kept_record_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant of the encoding: the put merges its history only: the spec's second put
    through n3, which merges the refused v1 into n3's copy, is refused."""
    monkeypatch.setattr(transition, "kept_and_put",
                        lambda x, y, params, c, p: list(params.hist[p]))
    assert _refused(SAME) > 0


def test_an_abstraction_without_the_kept_records_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant of the abstraction: ``State.unpersisted`` not in ``held``
    (:func:`~model_check.proofs.mapping.kept_records` empty): once the refused put's
    coordination ended, v1 enters n3's copy from nowhere."""
    monkeypatch.setattr(mapping, "kept_records", lambda state: frozenset())
    assert _refused(SAME) > 0


def test_a_refused_replica_write_that_stores_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant of the spec: ``FailedWrite`` of a replica put stores it after all (and
    answers the refusal): the encoding's ``failed-write`` changes no store."""
    refuse = replica.refuse_replica_put

    def storing(edit: Any, m: Any) -> None:
        replica.on_replica_put(edit, m, edit.node(m.dst))
        refuse(edit, m)

    monkeypatch.setattr(faults, "refuse_replica_put", storing)
    assert _refused(SAME) > 0


def test_the_twin_acknowledging_a_refused_write_is_refused() -> None:
    """write-failure-acked (``failed_write_acks``: a refused write answered with an
    ack, the coordinator's refused copy counted): a put acknowledged while fewer than
    W nodes hold it, which the encoding's acknowledgement rule refuses."""
    assert _refused("write-failure-acked") > 0


def test_the_inductive_proof_holds_and_its_twin_is_refuted() -> None:
    """``inductive_acked_writes_durable_with_write_failures``: proved, its twin (a
    refused replica write counted as a holder) refuted."""
    proof = next(p for p in PROOFS
                 if p.name == "inductive_acked_writes_durable_with_write_failures")
    result = run_proof(proof)
    assert result.outcome.verdict is Verdict.PROVED
    assert result.twin.verdict is Verdict.REFUTED


def test_the_refusals_delivered_on_write_failure_strict_agree() -> None:
    """The first 1,000 states of write-failure-strict's walk (0.3 CPU-s here): its
    delivered refusals (``replica-put-failed``) and the timeouts after them agree.
    The two small entries above have no such edge, and CI's sample of the strict
    entry (500 states) none either: the encoding's ``replica-put-failed`` step made
    never enabled passed every CI test (session 52's review: this test refuses it at
    its first such edge; :func:`test_a_refusal_step_never_enabled_is_refused`)."""
    result = check_graph("write-failure-strict", entry("write-failure-strict").config,
                         max_states=1000, relations=RELATIONS)
    assert result.ok, (result.disagreements, result.exact_disagreements)
    assert result.by_family["replica-put-failed"] > 0 and result.by_family["timeout"] > 0


def test_a_refusal_step_never_enabled_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant of the encoding (session 52's review): ``replica-put-failed`` never
    enabled. The proof and its twin keep their verdicts under it (the step only
    shrinks records and hands a part on); the strict entry's walk refuses it."""
    steps = transition._refusal_steps

    def without_refusals(x: Any, y: Any, params: Any, add: Any, *rest: Any) -> None:
        def adding(name: str, family: str, *args: Any, **kwargs: Any) -> None:
            if family != "replica-put-failed":
                add(name, family, *args, **kwargs)
        steps(x, y, params, adding, *rest)

    monkeypatch.setattr(transition, "_refusal_steps", without_refusals)
    assert _refused("write-failure-strict", max_states=1000) > 0
