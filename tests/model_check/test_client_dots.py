"""client-vclock's counter rule, stated and checked on the spec (session 23).

A vector-clock entry's counter claims every earlier event of its actor, so only an
actor that remembers its events may mint the next one. Before session 23 a
client-vclock put incremented the client's own entry, counted from the counter
the client sent (``client_vclock_entry = "client"``): a client that forgot it (a
restarted process) minted a counter again, and the version holding it first could
dominate the new one (docs/runtime.md, session 22's data probe: ``[v3]`` where
``[v3, v4]`` is right). Since session 23 the entry is the pair (coordinator's
actor, client), counted by the coordinator, with a fresh entry of the pair when
the context misses one of the pair's stored events (:func:`spec.vclock.client_entry`).

``distinct_clocks`` states "every dot is unique" on the spec: a put's clock is its
context plus its dot, so two puts of a key minted under one dot with one context
get equal clocks. The suite entries client-vclock-forgetful-client-entry (old rule:
acked_writes_durable violated in 4 steps) and client-vclock-forgetful (new rule:
every property holds) are the same workload; tests/model_check/test_suite_verdicts.py
pins them.
"""

from __future__ import annotations

import pytest

from model_check.check import Verdict, check
from model_check.properties import Property
from model_check.suite import CONFIG_DIR
from spec.config import load_config
from spec.state import State

OLD = CONFIG_DIR / "client-vclock-forgetful-client-entry.toml"
NEW = CONFIG_DIR / "client-vclock-forgetful.toml"


def _distinct_clocks(state: State) -> bool:
    """No two performed puts of one key carry equal clocks (a reused dot)."""
    seen: set[tuple[str, object]] = set()
    for record in state.puts:
        if record is None:
            continue
        mark = (record.key, record.clock)
        if mark in seen:
            return False
        seen.add(mark)
    return True


DISTINCT_CLOCKS = Property.always(
    "distinct_clocks", "no two puts of a key are minted under one clock (a reused dot)",
    _distinct_clocks)


@pytest.mark.parametrize(("path", "forgetful", "reused"), [
    (OLD, True, True),     # the old rule with a forgetful client: a dot minted twice
    (OLD, False, False),   # the old rule with a client that keeps its counter: never
    (NEW, True, False),    # the session 23 rule: never, whatever the client remembers
])
def test_a_dot_is_reused_only_by_the_old_rule_with_a_forgetful_client(
        path: object, forgetful: bool, reused: bool) -> None:
    config = load_config(str(path)).replace(forgetful_clients=forgetful)
    result = check(config, properties=[DISTINCT_CLOCKS, "acked_writes_durable"])
    expected = Verdict.VIOLATED if reused else Verdict.HOLDS
    assert result.verdicts["distinct_clocks"] is expected
    if reused:  # n1 mints {c1: 1} (acknowledged at W = 1), the client restarts, and n2,
        # which has not received it, mints {c1: 1} again: two steps
        assert result.result("distinct_clocks").counterexample_length == 2


def test_the_old_rule_loses_a_forgetful_clients_write_and_the_new_rule_keeps_it() -> None:
    old = check(OLD, properties=["acked_writes_durable"])
    new = check(NEW, properties=["acked_writes_durable"])
    assert old.verdicts["acked_writes_durable"] is Verdict.VIOLATED
    assert old.result("acked_writes_durable").counterexample_length == 4
    assert new.verdicts["acked_writes_durable"] is Verdict.HOLDS
