"""The parallel search on Ray (model_check.distributed), on a private local Ray cluster
(ray.init(address="local"): loopback only): the same states and verdicts as one process."""

from __future__ import annotations

import pytest

from model_check.check import check
from model_check.parallel import RUNS
from model_check.replay import replay_on_spec
from model_check.suite import entry

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'vdynamo[distributed]'")


def test_two_ray_actors_agree_with_one_process() -> None:
    suite_entry = entry("strict-weak-quorum")
    one = check(suite_entry.config)
    distributed = check(suite_entry.config, ray="local", workers=2)
    assert distributed.distinct_states == one.distinct_states == suite_entry.distinct_states
    assert (distributed.transitions, distributed.depth) == (one.transitions, one.depth)
    assert distributed.verdicts == one.verdicts
    violated = distributed.result("read_your_writes")
    assert violated.counterexample_length == one.result("read_your_writes").counterexample_length
    assert violated.trace is not None
    assert replay_on_spec(violated.trace).replayed
    assert not ray.is_initialized()  # the private cluster was shut down
    # Each actor expanded the states it owns (before the fix actor 0 expanded them all).
    reports = RUNS[-1]
    assert sum(r.owned for r in reports) == one.distinct_states
    for report in reports:
        assert report.expanded > one.distinct_states // 4, reports
