"""The soak-only suite entries (:data:`model_check.suite.SOAK_SUITE`), pinned.

They are too large for ``make check`` (over 10^6 states each; minutes of CPU), so:

* in CI: their shape (two clients, two faults, over 10^6 pinned states), and a
  search to :data:`CI_DEPTH` steps that must find every witness and violation
  pinned at that length or shorter, at exactly that length, and no violation of
  a property expected to hold (a bounded search: ``holds`` is not claimed there);
* under ``HYPOTHESIS_PROFILE=soak`` (and ``vdynamo check --soak``): every
  verdict, every pinned length and the state count, in full.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model_check.check import Verdict, check
from model_check.cli import EXIT_OK, EXIT_USAGE, main
from model_check.suite import DEFAULT_SUITE, PROPERTY_NAMES, SOAK_SUITE, SuiteEntry, entry
from tests.conftest import PROFILE

SOAK = PROFILE == "soak"
CI_DEPTH = 4
"""The depth the CI search of a soak entry goes to (about 17,000 states, a few CPU-s)."""

ENTRIES = [pytest.param(e, id=e.name) for e in SOAK_SUITE]


def test_the_soak_suite_has_a_million_state_two_client_two_fault_entry() -> None:
    assert not {e.name for e in SOAK_SUITE} & {e.name for e in DEFAULT_SUITE}
    big = [e for e in SOAK_SUITE
           if (e.distinct_states or 0) >= 1_000_000 and e.config.clients >= 2
           and e.config.drops + e.config.crashes + e.config.partitions
           + e.config.duplicates + e.config.disk_losses >= 2]
    assert big, "no soak entry of 10^6 states with two clients and two faults"
    for item in SOAK_SUITE:
        assert entry(item.name) is item
        assert set(PROPERTY_NAMES) <= set(item.expected)
        violated = {p for p, v in item.expected.items() if v == "violated"}
        assert violated == set(item.counterexample_length), item.name
        assert set(item.witness_length) == {p for p, v in item.expected.items() if v == "found"}
        assert {"put_acknowledged", "converged_after_a_write"} <= set(item.witness_length)
        assert item.config.name == item.name and item.note


@pytest.mark.parametrize("item", ENTRIES)
def test_a_bounded_search_agrees_with_the_pinned_verdicts(item: SuiteEntry) -> None:
    result = check(item.config, properties=list(item.expected), max_depth=CI_DEPTH)
    assert result.depth <= CI_DEPTH
    for r in result.results:
        expected = item.expected[r.property]
        pinned = item.pinned_length(r.property)
        if pinned is not None and pinned <= CI_DEPTH:
            assert r.verdict is Verdict(expected), r.property
            assert (r.counterexample_length if expected == "violated"
                    else r.witness_length) == pinned, r.property
        elif expected in ("holds", "not found"):
            assert r.verdict in (Verdict.BOUNDED, Verdict(expected)), r.property
        else:  # expected deeper than the bound: not reached, so bounded
            assert r.verdict is Verdict.BOUNDED, r.property


@pytest.mark.skipif(not SOAK, reason="over 10^6 states: soak only (HYPOTHESIS_PROFILE=soak)")
@pytest.mark.parametrize("item", ENTRIES)
def test_all_verdicts_as_expected_in_full(item: SuiteEntry) -> None:
    result = check(item.config, properties=list(item.expected))
    assert {p: str(v) for p, v in result.verdicts.items()} == dict(item.expected)
    for r in result.results:
        assert item.pinned_length(r.property) in (
            None, r.counterexample_length, r.witness_length), r.property
    assert item.figure_mismatches(result) == []


def test_vdynamo_check_soak_runs_the_soak_entries(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--soak", "--property", "put_acknowledged", "--max-depth", "3",
                 "--quiet", "--trace-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert all(e.name in out for e in SOAK_SUITE)
    assert not any(f"\n{e.name} " in out for e in DEFAULT_SUITE)
    assert main(["--soak", "some.toml"]) == EXIT_USAGE
