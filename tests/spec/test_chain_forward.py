"""Chained forwarded puts (session 61, issue 12): the suite entry dvv-chain-forward
(``workload.chain_puts`` with ``workload.coordinator = "any"``) with every put sent
to n2, the node outside k's top N (n3, n1), so that every put is forwarded to n3 and
every answered context the client chains is a forwarded put's
(:func:`spec.coordination.answered`; the implementation's ``ForwardReply`` carries
``PutResult.context`` back through the forwarder: ``impl.forwarding.answer``).

The entry's own shortest counterexample under the rule before session 59 (8 steps)
sends its puts straight to n3 and n1; here the client may use n2 alone (the plan's
``entry`` narrowed for the test), so the counterexample has to go through forwards.

Mutant (seen failing, then reverted): ``spec.dvv.dot_actor`` as before session 59
(``tests.refinement.test_chain_puts_lockstep.old_dot_actor``):
``test_the_old_rule_breaks_sibling_bound_through_forwards`` is its run; with the fixed
rule ``test_forwarded_chained_puts_keep_every_property`` holds (4,065 states; 1,974
before the unheard acknowledgement of session 61, ``spec.actions.Unheard``).
"""

from __future__ import annotations

import pytest

from model_check.check import check
from model_check.suite import entry
from spec import dvv
from spec.config import Config
from spec.step import plan_of
from tests.refinement.test_chain_puts_lockstep import old_dot_actor

NAME = "dvv-chain-forward"
ASKED = ["sibling_bound", "no_false_concurrency", "write_after_own_write",
         "fresh_pair_minted"]


def _through_the_forwarder(monkeypatch: pytest.MonkeyPatch) -> Config:
    """The entry's configuration whose client sends every request to n2 (a copy of
    its own name, so no other test's plan is narrowed)."""
    config = entry(NAME).config.replace(name=f"{NAME}-through-n2")  # type: ignore[arg-type]
    plan = plan_of(config)
    assert plan.top["k"] == ("n3", "n1") and plan.entry["k"] == ("n1", "n2", "n3")
    monkeypatch.setitem(plan.entry, "k", ("n2",))
    return config


def test_forwarded_chained_puts_keep_every_property(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every put forwarded: sibling_bound and no_false_concurrency hold; a chained put
    is forwarded (write_after_own_write: put, forward, replica-put, ack, put, forward)
    and a fresh pair is minted by a forwarded put."""
    result = check(_through_the_forwarder(monkeypatch), properties=ASKED)
    assert result.distinct_states == 4_065  # 1,974 before session 61's Unheard
    verdicts = {r.property: r.verdict.value for r in result.results}
    assert verdicts == {"sibling_bound": "holds", "no_false_concurrency": "holds",
                        "write_after_own_write": "found", "fresh_pair_minted": "found"}
    trace = result.result("write_after_own_write").trace
    assert trace is not None
    assert [(a["action"], a.get("node") or a["message"]["kind"]) for a in trace.actions] == [
        ("client-put", "n2"), ("deliver", "forward"), ("deliver", "replica-put"),
        ("deliver", "replica-put-ack"), ("client-put", "n2"), ("deliver", "forward")]


def test_the_old_rule_breaks_sibling_bound_through_forwards(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule before session 59: sibling_bound violated in 12 steps, every put sent
    to n2 and forwarded: n1 crashes, v1 and v2 fail, n1 recovers, v3 is acknowledged
    through the forward, v4 (with v3's answer) lands beside it."""
    config = _through_the_forwarder(monkeypatch)
    monkeypatch.setattr(dvv, "dot_actor", old_dot_actor)
    result = check(config, properties=["sibling_bound"])
    trace = result.result("sibling_bound").trace
    assert trace is not None
    steps = [(a["action"], a.get("node") or a["message"]["kind"]) for a in trace.actions]
    assert len(steps) == 12
    assert [s for s in steps if s[0] == "client-put"] == [("client-put", "n2")] * 4
    assert steps[-1] == ("deliver", "forward")
