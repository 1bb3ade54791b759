"""Smoke tests of the simulator benchmark's harness (bench/sim.py): the collector's
clock and the line that states issue 13's goal (session 57).

Mutants killed (hand edits of ``bench/sim.py``, each run against this file): the
clock left installed after its block (``gc.callbacks.remove`` dropped: the first test
fails); the goal's ratio inverted (``row['cpu_all_ops'] / GOAL``: the second test
fails); a row above the goal said short (the comparison reversed: the second test
fails)."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from tests.bench import load_bench

bench = load_bench("sim")


def test_the_collector_clock_times_collections_while_installed() -> None:
    with bench.CollectorClock() as clock:
        assert clock in gc.callbacks
        gc.collect()
        gc.collect()
    assert clock not in gc.callbacks
    assert clock.collections == 2 and clock.seconds >= 0.0
    gc.collect()
    assert clock.collections == 2


def test_the_goal_line_states_the_gap(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    def row(storage: str, keys: int, window: int, routing: str = "random",
            gc_tuned: bool = False) -> dict[str, Any]:
        ops = 10_000.0 if routing == "preference" else 60_000.0
        return {"engine": "memory/pref" if routing == "preference" else storage,
                "put_ops": ops, "get_ops": ops, "all_ops": ops, "cpu_put_ops": ops,
                "cpu_get_ops": ops, "cpu_all_ops": ops, "keys": keys,
                "events_per_put": 4.0, "events_per_get": 4.0, "stored_replicas": 3 * keys,
                "gc_share": 0.08}

    monkeypatch.setattr(bench, "run_engine", row)
    monkeypatch.setattr(bench, "calibrate", lambda: 0.4)
    assert bench.main(["--keys", "10", "--rows", "memory/pref,memory",
                       "--memory-keys", "0"]) == 0
    out = capsys.readouterr().out
    assert ("issue 13's goal, 50,000 client operations per CPU second: memory/pref 10,000 "
            "(5.0x short; the cyclic garbage collector 8.0% of its CPU); memory 60,000 (met; "
            "the cyclic garbage collector 8.0% of its CPU)") in out
