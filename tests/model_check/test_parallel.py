"""Parallel exploration (model_check.parallel): the seen-set partitioned across worker
processes gives the distinct states, transitions, depth, verdicts and counterexample
lengths of one process, and its traces replay on the spec."""

from __future__ import annotations

import pytest

from model_check.check import check
from model_check.errors import CheckError
from model_check.parallel import RUNS
from model_check.replay import replay_on_spec
from model_check.suite import entry

ENTRIES = ["strict-weak-quorum", "sloppy-no-handoff", "lww-blind-rewrite",
           "strict-no-anti-entropy", "dvv-context-collapses"]


@pytest.mark.parametrize("name", ENTRIES)
def test_two_workers_agree_with_one_process(name: str) -> None:
    config = entry(name).config
    one = check(config)
    two = check(config, workers=2)
    assert two.distinct_states == one.distinct_states == entry(name).distinct_states
    assert (two.transitions, two.depth) == (one.transitions, one.depth)
    assert two.verdicts == one.verdicts
    for mine, theirs in zip(two.results, one.results, strict=True):
        assert (mine.counterexample_length, mine.witness_length) == (
            theirs.counterexample_length, theirs.witness_length)
        if mine.trace is not None:
            report = replay_on_spec(mine.trace)
            assert report.replayed, report.reason
            assert report.broke_at is not None


def test_one_worker_process_agrees_too() -> None:
    config = entry("strict-weak-quorum").config
    assert check(config, workers=1).verdicts == check(config).verdicts


def test_bounds_and_bad_worker_counts_are_refused() -> None:
    config = entry("strict-weak-quorum").config
    with pytest.raises(CheckError):
        check(config, workers=2, max_depth=3)
    with pytest.raises(CheckError):
        check(config, workers=0)


def test_each_worker_expands_the_states_it_owns() -> None:
    """The frontier is partitioned as the seen-set is: every state is expanded once, by
    its owner, so two workers share the work (before the fix the worker that generated a
    state kept it, and from one initial state worker 0 expanded everything: (22082, 0)
    on sloppy-crash). lww-two-clients (1,402 states) shows it as well as sloppy-crash
    did, for 0.4 CPU-s instead of 18 (session 15; that fix reverted, the workers
    keeping what they generate: (1402, 0), this test fails)."""
    config = entry("lww-two-clients").config
    result = check(config, workers=2)
    reports = RUNS[-1]
    assert [r.expanded for r in reports] == [r.owned for r in reports]
    assert sum(r.expanded for r in reports) == result.distinct_states == 1_402
    for report in reports:
        assert report.expanded > result.distinct_states // 3, reports
        assert report.cpu_seconds > 0


def test_states_are_numbered_level_by_level_whichever_worker_owns_them() -> None:
    """A lower state index is never deeper, as in one process, so "the lowest-index stuck
    state" of the liveness check is a shallowest one. Numbered worker by worker, the deep
    states of worker 0 came first: a CI run (some hash seed) reported the convergence
    counterexample of strict-no-anti-entropy with 3 steps where one process gives 2."""
    from model_check.parallel import explore_parallel

    def successors(state: int) -> list[tuple[str, int]]:
        return [("inc", state + 1)] if state < 5 else []

    def fingerprint(state: int) -> int:  # worker 1 owns 0, 1, 2; worker 0 owns 3, 4, 5
        return 2 * state + (1 if state < 3 else 0)

    run = explore_parallel([0], successors, workers=2, fingerprint=fingerprint)
    assert run.distinct_states == 6
    assert [run.path_to(i).states[-1] for i in range(6)] == [0, 1, 2, 3, 4, 5]
    assert [len(run.path_to(i).actions) for i in range(6)] == [0, 1, 2, 3, 4, 5]
