"""Trace validation's progress rule is the lockstep's (session 34).

Before session 34 a trace-validation run with anti-entropy on failed as
``no-convergence`` whenever the implementation was not converged after the
quiet period ("with anti-entropy on the spec promises convergence of every
fair run"). Session 33 showed that the spec itself cannot converge from some
states without a new request: a dot a naive actor re-issued after a disk loss
(kv679) holds two values on two replicas, and no exchange reconciles them
(tests/refinement/test_progress_reissued_dot.py). The rule now asks the spec
from the run's frontier
(:func:`model_check.trace_validation.convergence_failure`, reusing
:func:`model_check.refinement_state.spec_converges_from`, the lockstep's own
search).

Trace validation cannot draw such a run today: the simulator's nemesis has no
disk loss (:class:`impl.faults.Faults`) and the validator maps no disk-loss
event, so no trace-validation run re-issues a dot. The first test therefore
builds the state on trace validation's own configuration with the lockstep (a
put, the coordinator's disk wiped, a put again) and asks the rule; the second
runs a real trace-validation seed under a mutant that stops converging.
docs/refinement.md, "Trace validation's progress rule and the retired-pruning
lockstep (session 34)".
"""

from __future__ import annotations

import dataclasses

from model_check.refinement import Lockstep
from model_check.trace_validation import convergence_failure, trace_config, validate_seed
from spec import model as spec_model
from tests.refinement import mutations
from tests.refinement.clean_runs import clean_report

#: the first seed of 0-199 whose run ends unconverged under the mutant (seeds 72,
#: 99, 147, 149, 173, 180 and 182 too; the other 190, the clean verdict or a
#: divergence)
NO_ANTI_ENTROPY_SEED = 60


def _put(ls: Lockstep, node: str) -> None:
    ls.put("c1", node, "k")
    while ls.deliverable():
        ls.deliver(ls.deliverable()[0].id)


def test_a_reissued_dot_is_not_a_false_no_convergence() -> None:
    # trace validation's configuration (dvv, anti-entropy on, actor_epochs off: the
    # naive actor) with one disk loss in the budget (without the rebuild, session 55:
    # the lockstep's cluster has no restore guard, so its replaced disk never rebuilds)
    config = dataclasses.replace(trace_config(clients=1, rounds=3), disk_losses=1,
                                 rebuild=False)
    assert config.anti_entropy and not config.actor_epochs
    ls = Lockstep(config)
    try:
        coordinator = ls.entry_nodes("k")[0]
        _put(ls, coordinator)  # v1 under (n4, 1) on n4, n1, n2
        ls.wipe(coordinator)
        _put(ls, coordinator)  # v2 under (n4, 1) again: n1 and n2 keep v1
        ls.quiesce()
        nodes = ls.abstract().readable(config)["nodes"]
        assert isinstance(nodes, dict)
        assert {name: node["store"]["k"] for name, node in nodes.items()} == {
            "n1": "{v1}", "n2": "{v1}", "n3": "{}", "n4": "{v2}"}
        assert not ls.converged() and not spec_model.converged(ls.frontier[0])
        # the old rule: anti-entropy on and not converged is a no-convergence
        assert config.anti_entropy and not ls.converged()
        # the rule now: the spec cannot converge from there either
        assert convergence_failure(config, ls.frontier, ls.converged()) == ""
    finally:
        ls.cluster.close()


def test_the_rule_still_fails_an_implementation_left_apart() -> None:
    """On the same configuration, two concurrent puts left unreconciled (no
    quiescence): the spec converges by its exchanges, so the rule fails the run."""
    config = trace_config(clients=2, rounds=1)
    ls = Lockstep(config)
    try:
        a, b = ls.entry_nodes("k")[:2]
        ls.put("c1", a, "k")
        ls.put("c2", b, "k")
        assert not ls.converged()
        failure = convergence_failure(config, ls.frontier, ls.converged())
        assert "the spec converges from it without faults or new requests" in failure
        # and an implementation converged where the spec is not fails as before
        assert "the impl is converged; the spec's state is not converged" in (
            convergence_failure(config, ls.frontier, True))
    finally:
        ls.cluster.close()


def test_an_implementation_that_stops_converging_is_still_caught() -> None:
    """A real trace-validation run: seed 60's anti-entropy rounds open no exchange
    (``anti-entropy-never-sends``); every event validates (each round a stutter),
    and the run ends with a replica that missed a write: no-convergence, by the
    spec's search (the spec's state is not converged either, so only the search
    clause catches it)."""
    assert clean_report(NO_ANTI_ENTROPY_SEED).verdict == "ok"
    with mutations.anti_entropy_never_sends():
        report = validate_seed(NO_ANTI_ENTROPY_SEED)
    assert report.verdict == "no-convergence", report.line()
    assert report.impl_converged is False and report.spec_converged is False
    assert "the spec converges from it without faults or new requests" in report.reason
