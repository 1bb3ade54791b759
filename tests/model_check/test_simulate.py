"""Swarm simulation (model_check.simulate): finds the suite's known safety violations from
a fixed seed, its traces replay on the spec, and the same seed gives the same trace."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from model_check.check import CheckResult, Verdict, simulate_check
from model_check.errors import CheckError
from model_check.properties import PROPERTIES, Expectation
from model_check.replay import replay_on_spec
from model_check.suite import DEFAULT_SUITE, entry
from tests.conftest import PROFILE

SEED = 7
#: 300 until session 15, 100 until session 34: since the swarm draw (session 34: kind
#: omission, newest first, novelty, by kind; model_check/simulate.py) 200 walks from SEED
#: find every violation of the suite but those of MORE_WALKS
WALKS = 200

#: walks an entry (or "entry property") needs beyond WALKS from SEED with the swarm draw
#: (session 34, measured
#: with bench/swarm.py: the walks to the first violation, in brackets; without the draw
#: in braces, "-" for none within 10,000 walks)
MORE_WALKS = {"sloppy-crash": 300,  # read_your_writes [283] {299}
              "join-immediate": 500,  # read_your_writes [461] {215}
              "delete-restore-after-reap": 300,  # no_resurrection [266] {359}
              # monotonic_reads: a crash between a put's replica writes and two gets
              # that meet different replicas, 10 exact steps [267] {-}
              "delete-safe-strict-crash": 300,
              # monotonic_reads, the same without the delete [2,401] {-}; a strict xfail
              # until session 34 (3,000 uniform walks missed it). A seed's luck more than
              # a rate: 2 of 10,000 swarm walks from SEED violate it, 0 of 10,000 from
              # SEED + 1 (docs/model-checking.md, "Swarm simulation (session 34)")
              "strict-dvv-reread": 2500,
              # no_false_concurrency and no_resurrection [277] each {18}, since session
              # 39's replica put carries the unpruned payload (spec.coordination)
              "dvv-prune-retired-delete no_false_concurrency": 300,
              "dvv-prune-retired-delete no_resurrection": 300,
              # session 59's kv679 scripts (three puts and a get, s59-dot): the naive
              # twins' loss and the twins' read_your_writes need the get's read first
              # [walk of the first violation from SEED, swarm draw; 10,000 walks run]
              "dvv-amnesia-naive-actor acked_writes_durable": 1100,  # [1,051]
              "dvv-amnesia-actor-epochs read_your_writes": 1800,  # [1,770]
              "dvv-buffered-crash-naive-actor acked_writes_durable": 300,  # [225]
              "dvv-restore-kept-actor acked_writes_durable": 300,  # [217]
              "dvv-restore-new-actor read_your_writes": 600}  # [584]
#: violations random walks do not find within their budget from SEED (none from session
#: 34 to 38; delete-join-immediate's no_resurrection, a join, a delete coordinated by the
#: joining node by the new ring, gossip to one node only and a get at the other, 10
#: exact steps: [110] {5,402}). Session 39: sloppy-crash-pw's read_your_writes (PW = 2
#: alone: a put acknowledged by two primaries, its coordinator's crash, and a get through
#: the third primary before its replica-put arrives, 7 exact steps): [4,427] {817}, 10.3
#: CPU-s of walks where CI's budget is about 1. Session 49: sloppy-crash-hinted-reads'
#: read_your_writes, the same 7-step coordinator crash (with hinted reads the walks'
#: easy witness, a get asking the fallback that keeps the write as a hint, is gone;
#: sloppy-crash's walks find that one)
#: Session 55: disk-loss-read's read_your_writes (a get through the third node before
#: its replica put arrives, the disk loss and recovery of a node that acknowledged the
#: put, and that node's empty answer, 8 exact steps): none within 3,000 swarm walks
#: from SEED (3.4 CPU-s)
#: Session 59: dvv-buffered-crash-actor-epochs' read_your_writes (three puts and a get,
#: a buffered crash between them): none within 10,000 swarm walks from SEED (11.9 CPU-s)
MISSED: set[tuple[str, str]] = {("sloppy-crash-pw", "read_your_writes"),
                                ("sloppy-crash-hinted-reads", "read_your_writes"),
                                ("disk-loss-read", "read_your_writes"),
                                ("dvv-buffered-crash-actor-epochs", "read_your_writes")}
#: violations CI leaves to the soak profile (session 43): strict-dvv-reread's
#: monotonic_reads is a seed's luck (its first violating walk from SEED is walk 2,400:
#: 6.4 of the file's CPU-s; none in 300 walks from each of the seeds 8 to 79); CI's
#: simulations find monotonic_reads on four other entries
SOAK_ONLY: set[tuple[str, str]] = {("strict-dvv-reread", "monotonic_reads")}

VIOLATING = [
    pytest.param(e.name, name, marks=pytest.mark.xfail(
        strict=True, reason="random walks miss it; breadth-first search finds it"))
    if (e.name, name) in MISSED else pytest.param(e.name, name, marks=pytest.mark.skipif(
        PROFILE != "soak", reason="2,500 walks (a seed's luck): soak only"))
    if (e.name, name) in SOAK_ONLY else (e.name, name)
    for e in DEFAULT_SUITE
    for name, verdict in e.expected.items()
    if verdict == "violated" and PROPERTIES[name].kind is Expectation.ALWAYS
]


def test_the_suite_has_always_violations_to_find() -> None:
    assert len(VIOLATING) >= 5


@functools.cache
def _until_found(name: str, prop: str, walks: int) -> CheckResult:
    """``walks`` seeded walks of the suite entry ``name`` until ``prop`` is violated,
    once per process (session 46: test_the_swarm_draw_finds_what_uniform_walks_miss
    drew delete-safe-strict-crash's monotonic_reads walks of the test below again,
    1.1-2.1 CPU-s; the result is frozen, both tests read it)."""
    return simulate_check(entry(name).config, [prop], walks=walks, seed=SEED,
                          until_found=True)


@pytest.mark.parametrize(("name", "prop"), VIOLATING)
def test_simulation_finds_the_known_violation_and_its_trace_replays(name: str, prop: str) -> None:
    suite_entry = entry(name)
    walks = MORE_WALKS.get(f"{name} {prop}", MORE_WALKS.get(name, WALKS))
    # Session 43: the walks stop at the first violating one (the shortest of all the
    # walks is test_the_command_line_simulates_and_writes_a_replayable_trace's and
    # test_the_same_seed_gives_the_same_trace_and_another_seed_other_walks' to pin)
    result = _until_found(name, prop, walks)
    found = result.result(prop)
    assert found.verdict is Verdict.VIOLATED
    assert found.trace is not None
    # A walk is never shorter than the shortest counterexample breadth-first search found.
    assert len(found.trace) >= suite_entry.counterexample_length[prop]
    report = replay_on_spec(found.trace)
    assert report.ok, report.reason
    assert report.broke_at == len(found.trace)


def test_the_swarm_draw_finds_what_uniform_walks_miss() -> None:
    # The same walks without the swarm draw (the walk before session 34) miss it.
    config = entry("delete-safe-strict-crash").config
    uniform = simulate_check(config, ["monotonic_reads"], walks=MORE_WALKS[
        "delete-safe-strict-crash"], seed=SEED, swarm=False)
    assert uniform.results[0].verdict is Verdict.BOUNDED
    swarm = _until_found("delete-safe-strict-crash", "monotonic_reads",
                         MORE_WALKS["delete-safe-strict-crash"])
    found = swarm.results[0]
    assert found.verdict is Verdict.VIOLATED and found.trace is not None
    draw = found.trace.extra["swarm"]
    assert set(draw) == {"fault_probability", "omission", "newest_first", "novelty",
                         "by_kind"}


#: the walks of the determinism test (WALKS until session 43: any number shows it)
SAME_SEED_WALKS = 50


def test_the_same_seed_gives_the_same_trace_and_another_seed_other_walks() -> None:
    config = entry("lww-two-clients").config
    first = simulate_check(config, ["acked_writes_durable"], walks=SAME_SEED_WALKS, seed=SEED)
    again = simulate_check(config, ["acked_writes_durable"], walks=SAME_SEED_WALKS, seed=SEED)
    trace = first.results[0].trace
    assert trace is not None
    assert trace == again.results[0].trace
    assert first.transitions == again.transitions
    other = simulate_check(config, ["acked_writes_durable"], walks=SAME_SEED_WALKS,
                           seed=SEED + 1)
    assert other.transitions != first.transitions
    # the trace is the shortest violating walk of all (7 steps: the breadth-first
    # search's length, walk 4); until_found stops at the first (walk 0, 10 steps)
    early = simulate_check(config, ["acked_writes_durable"], walks=SAME_SEED_WALKS,
                           seed=SEED, until_found=True).results[0].trace
    assert early is not None and early.extra["walks"] == 1
    assert (len(trace), trace.extra["walk"], len(early)) == (7, 4, 10)


def test_a_holding_configuration_is_bounded_never_holds() -> None:
    result = simulate_check(entry("dvv-same-coordinator").config, walks=50, seed=SEED)
    assert {r.verdict for r in result.results} == {Verdict.BOUNDED}
    assert [r.property for r in result.results] == [
        p for p in PROPERTIES if PROPERTIES[p].kind is Expectation.ALWAYS]
    assert result.bounded and not result.ok


def test_bad_arguments_are_refused() -> None:
    config = entry("dvv-same-coordinator").config
    with pytest.raises(CheckError):
        simulate_check(config, walks=0, seed=1)
    with pytest.raises(CheckError):
        simulate_check(config, walks=5, seed=1, max_steps=0)
    with pytest.raises(CheckError, match="always-properties"):
        simulate_check(config, ["convergence"], walks=5, seed=1)


def test_the_command_line_simulates_and_writes_a_replayable_trace(tmp_path: Path) -> None:
    from model_check.cli import EXIT_BOUNDED, EXIT_USAGE, EXIT_VIOLATED, main
    from model_check.suite import CONFIG_DIR
    from model_check.trace import Trace

    sloppy = str(CONFIG_DIR / "sloppy-crash.toml")
    status = main([sloppy, "--simulate", str(MORE_WALKS["sloppy-crash"]), "--seed", str(SEED),
                   "--quiet",
                   "--trace-dir", str(tmp_path)])
    assert status == EXIT_VIOLATED
    trace = Trace.load(tmp_path / "sloppy-crash.read_your_writes.json")
    assert trace.extra["simulation_seed"] == SEED
    assert replay_on_spec(trace).ok
    holding = str(CONFIG_DIR / "dvv-same-coordinator.toml")
    assert main([holding, "--simulate", "20", "--quiet", "--trace-dir", str(tmp_path)]) \
        == EXIT_BOUNDED
    assert main([holding, "--simulate", "0", "--quiet"]) == EXIT_USAGE
    assert main([holding, "--workers", "0", "--quiet"]) == EXIT_USAGE
    assert main([holding, "--workers", "2", "--max-depth", "3", "--quiet"]) == EXIT_USAGE


def test_until_found_stops_once_every_property_asked_for_is_violated() -> None:
    """``simulate_check(until_found=True)`` (session 43) runs on until each property
    asked for has a violating walk, not only the first: on dvv-prune-retired-delete
    from SEED sibling_bound is first violated by walk 18 and monotonic_reads by walk
    70, so 71 walks run of the 100 allowed (the traces say so), each trace the
    shortest violating walk among them. Session 43's review: stopping at the first
    property found (``len(first_found) >= 1`` in simulate) leaves monotonic_reads
    bounded, and the traces' walks as asked (``walks`` for ``outcome.walks`` in
    simulate_check) say 100; both fail here. About 0.3 CPU-s."""
    config = entry("dvv-prune-retired-delete").config
    result = simulate_check(config, ["monotonic_reads", "sibling_bound"], walks=100,
                            seed=SEED, until_found=True)
    traces = [result.result(name).trace for name in ("monotonic_reads", "sibling_bound")]
    assert [None if t is None else (t.extra["walk"], t.extra["walks"]) for t in traces] == [
        (70, 71), (18, 71)]
