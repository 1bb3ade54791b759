"""Session 54's levers on the simulator's put/get path (docs/simulator.md, "The
simulator's speed (session 54)"), each against what it replaced; the frozen values'
quick constructors are tested in ``test_quick_init.py``.

- :meth:`impl.simulator.Simulator.wait` is :meth:`~impl.simulator.Simulator.run_until`
  with "every handle is done" written out: the same events in the same order, the
  same SimulationError past ``max_time``.
- :func:`impl.versions.merge` asks whether either record is empty before comparing
  them: the same record as before (the old form written out here) on seeded
  records of every clock mode, empty ones and equal ones included.

Mutants killed (hand edits, each checked to fail here): ``wait`` returning before
its handles are done (the position loop's ``.done`` test left out); ``wait`` without
its ``max_time`` bound; ``merge`` returning ``a`` when ``a`` is empty.
"""

from __future__ import annotations

import random

import pytest

from impl import SimulatedCluster
from impl.faults import Faults
from impl.simulator import SimulationError
from impl.versions import ClockMode, Record, apply_put, context_clock, merge
from spec.vclock import VClock


def _run(use_wait: bool, seed: int) -> tuple[list[object], list[object]]:
    faults = Faults(loss=0.05, duplication=0.05, reorder=0.05)
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, faults=faults, log=True)
    outcomes: list[object] = []
    rng = random.Random(seed)
    clients = [cluster.client() for _ in range(3)]
    keys = [b"k%d" % i for i in range(6)]
    for _ in range(12):
        batch = [client.submit_put(rng.choice(keys), b"v%d" % rng.randrange(100))
                 if rng.random() < 0.6 else client.submit_get(rng.choice(keys))
                 for client in clients]
        if use_wait:
            cluster.sim.wait(batch)
        else:
            cluster.sim.run_until(lambda batch=batch: all(h.done for h in batch))  # type: ignore[misc]
        outcomes.append([(h.done, repr(h.value), type(h.error).__name__) for h in batch])
    return list(cluster.sim.log), outcomes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_wait_performs_the_events_run_until_performs(seed: int) -> None:
    log_wait, outcomes_wait = _run(True, seed)
    log_until, outcomes_until = _run(False, seed)
    assert len(log_wait) > 100
    assert log_wait == log_until
    assert outcomes_wait == outcomes_until
    assert all(done for batch in outcomes_wait for done, _, _ in batch)  # type: ignore[attr-defined]


def test_wait_past_max_time_raises_as_run_until_does() -> None:
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4, client_timeout=30.0)
    cluster.sim.partition(["n1"], ["n2", "n3"])
    handle = cluster.client(coordinator="n1").submit_put(b"k", b"v", w=3)
    with pytest.raises(SimulationError, match=r"condition not reached by t=0\.[0-9]+ "
                       r"\([0-9]+ events, .* requests pending, seed 4\)"):
        cluster.sim.wait([handle], max_time=0.5)
    assert not handle.done and cluster.now <= 0.5
    cluster.sim.wait([handle])  # its deadline ends it
    assert handle.done


def _old_merge(a: Record, b: Record) -> Record:
    """:func:`impl.versions.merge`'s first tests as they were before session 54."""
    if b.is_empty or a == b:
        return a
    if a.is_empty:
        return b
    return merge(a, b)


@pytest.mark.parametrize("mode", list(ClockMode))
def test_merge_answers_as_before_on_empty_equal_and_other_records(mode: ClockMode) -> None:
    rng = random.Random(54)
    empty = Record.empty(mode)
    records = [empty, Record.empty(mode)]
    for i in range(12):
        base = rng.choice(records)
        context = context_clock(base) if rng.random() < 0.5 else VClock()
        records.append(apply_put(base, context, b"v%d" % i, coordinator=f"n{i % 3}",
                                 client_id="c", now=float(i), client_counter=i))
    records.append(merge(records[-1], records[-2]))
    compared = 0
    for a in records:
        for b in records:
            got, want = merge(a, b), _old_merge(a, b)
            assert got == want, (a, b)
            if want is a or want is b:
                assert got is want, (a, b)
                compared += 1
    assert compared >= 2 * len(records)
