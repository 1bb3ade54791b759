"""The checker on a failing disk (session 51, issue 12): a coordinator that counts a
refused write as an acknowledgement is caught.

The suite's two entries (``write-failure-strict``: every property holds;
``write-failure-acked``: the broken twin, ``features.failed_write_acks``, violates
acked_writes_durable and read_your_writes) are checked with their verdicts by
tests/model_check/test_suite_verdicts.py. Here: a broken *coordinator* (the spec's
handler of ``replica-put-failed`` replaced by the one of ``replica-put-ack``: the
failure the brief named, "a coordinator that counts a failed write as an
acknowledgement would pass every model check") violates acked_writes_durable on
write-failure-strict's configuration, with a counterexample that replays on the
mutated spec and is refused on the real one; and the configuration really fails a
put because of a refusal (no put fails in it otherwise).
"""

from __future__ import annotations

import pytest

from model_check.check import Verdict, check
from model_check.replay import replay_on_spec
from model_check.suite import entry
from spec import delivery
from spec.actions import Deliver, FailedWrite, action_from_json
from spec.coordination import on_replica_put_ack
from spec.model import initial_state, successors
from spec.state import Kind, State

CONFIG = entry("write-failure-strict").config


def test_a_coordinator_counting_a_refusal_as_an_ack_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """About 0.5 CPU-s (the configuration's 7,968 states and the mutant's). On the
    real spec the same search holds (the suite's verdict); the mutant's counterexample
    (6 steps: n1 stores the put, n2 refuses it and is counted, a get through n2 reads
    n2 and n3, whose replica put is still in flight) replays on the mutant and is
    refused on the real spec. acked_writes_durable holds on the mutant: the
    coordinator's own copy still counts only when stored, and with no crash its copy
    stays (the twin ``failed_write_acks``, both lies, violates it in 4 steps)."""
    monkeypatch.setitem(delivery._HANDLERS, Kind.REPLICA_PUT_FAILED, on_replica_put_ack)
    result = check(CONFIG, ["acked_writes_durable", "read_your_writes"])
    assert result.result("acked_writes_durable").verdict is Verdict.HOLDS
    ryw = result.result("read_your_writes")
    assert ryw.verdict is Verdict.VIOLATED and ryw.trace is not None
    actions = [action_from_json(a) for a in ryw.trace.actions]
    assert len(actions) == 6 and any(isinstance(a, FailedWrite) for a in actions)
    mutated = replay_on_spec(ryw.trace)
    assert mutated.replayed and mutated.broke_at == len(actions)
    monkeypatch.undo()
    assert not replay_on_spec(ryw.trace).replayed
    assert check(CONFIG, ["read_your_writes"]).result("read_your_writes").verdict is (
        Verdict.HOLDS)


def test_the_strict_entry_fails_a_put_by_a_refusal() -> None:
    """Breadth first to depth 3 (0.1 CPU-s): some step that ends c1's request
    unanswered is the delivery of a replica-put-failed (both other replicas refused:
    W = 2 of 3 out of reach at once; mutant: the coordinator ignoring a refusal, so
    only a timeout fails the put: fails)."""
    level: list[State] = [initial_state(CONFIG)]
    seen = set(level)
    ending: set[str] = set()
    for _ in range(3):
        following = []
        for state in level:
            for action, after in successors(state):
                before_c1, c1 = state.client("c1"), after.client("c1")
                if before_c1.outstanding and not c1.outstanding and not c1.acked:
                    ending.add(action.kind if not isinstance(action, Deliver)
                               else action.message.kind.value)
                if after not in seen:
                    seen.add(after)
                    following.append(after)
        level = following
    assert "replica-put-failed" in ending
