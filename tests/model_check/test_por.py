"""Partial-order reduction (model_check/por.py and the explorer's ``reduce``).

The suite's verdicts must be identical with ``por`` on and off, and every trace
found with it on must replay on the spec to the same violation (or witness). In
CI a sample of entries (one with reductions); under ``HYPOTHESIS_PROFILE=soak``
every entry. A reducer that ignores the independence conditions (the greedy
mutant) must be caught by the same comparison, and the explorer's cycle proviso
must keep a step from being ignored around a cycle.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from model_check import por
from model_check.check import CheckResult, check
from model_check.errors import CheckError
from model_check.explorer import explore
from model_check.replay import replay_on_spec
from model_check.spec_model import SpecModel, spec_model
from model_check.suite import DEFAULT_SUITE, SuiteEntry, entry
from spec.actions import Action, Deliver
from spec.state import State
from tests.conftest import PROFILE
from tests.model_check.toys import counter_successors

SOAK = PROFILE == "soak"
CI_SAMPLE = ("strict-weak-quorum", "strict-no-anti-entropy", "strict-dvv")
"""Entries compared in CI (strict-dvv has reduced states); soak compares them all."""

ENTRIES = [pytest.param(e, id=e.name) for e in DEFAULT_SUITE
           if SOAK or e.name in CI_SAMPLE]


def _differences(full: CheckResult, reduced: CheckResult) -> dict[str, tuple[str, str]]:
    return {name: (str(verdict), str(reduced.verdicts[name]))
            for name, verdict in full.verdicts.items() if reduced.verdicts[name] != verdict}


def _replays(result: CheckResult) -> None:
    """Every counterexample and witness found replays on the spec to where it broke."""
    for r in result.results:
        if r.trace is None:
            continue
        report = replay_on_spec(r.trace)
        assert report.ok, (r.property, report.render())
        assert report.broke_at == len(r.trace), (r.property, report.render())


@pytest.mark.parametrize("suite_entry", ENTRIES)
def test_por_keeps_every_verdict_and_its_traces_replay(suite_entry: SuiteEntry) -> None:
    names = list(suite_entry.expected)
    full = check(suite_entry.config, names)
    reduced = check(suite_entry.config, names, por=True)
    # off, saying why, where the spec has actions whose independence por.py does not
    # state (the membership entries); otherwise on
    assert reduced.por
    assert bool(reduced.por_note) == bool(por.unknown_actions(suite_entry.config))
    assert _differences(full, reduced) == {}
    assert reduced.distinct_states <= full.distinct_states
    _replays(reduced)


def test_por_reduces_a_suite_entry() -> None:
    """strict-dvv: the replica-get deliveries of its quiet tail are reduced."""
    reduced = check(entry("strict-dvv").config, list(entry("strict-dvv").expected), por=True)
    assert reduced.reduced_states > 0
    assert reduced.to_json()["por_reduced_states"] == reduced.reduced_states


class _Greedy:
    """A mutant: takes the first delivery wherever a message is in flight, with none of
    the independence or visibility conditions."""

    def applies(self, state: State) -> bool:
        return bool(state.messages)

    def ample(self, state: State, steps: Sequence[tuple[Action, State]]) -> int | None:
        for ordinal, (action, _) in enumerate(steps):
            if isinstance(action, Deliver):
                return ordinal
        return None


@pytest.mark.parametrize("name", ["strict-weak-quorum", "strict-no-anti-entropy"])
def test_a_reduction_without_the_conditions_is_caught(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = sys.modules["model_check.check"]
    monkeypatch.setattr(module, "spec_reduction", lambda config, props: (_Greedy(), ""))
    suite_entry = entry(name)
    full = check(suite_entry.config, list(suite_entry.expected))
    mutant = check(suite_entry.config, list(suite_entry.expected), por=True)
    assert _differences(full, mutant), "the greedy mutant kept every verdict"


def test_por_is_refused_with_workers_or_another_model() -> None:
    config = entry("strict-no-anti-entropy").config
    with pytest.raises(CheckError, match="one process"):
        check(config, por=True, workers=1)

    class Other(SpecModel):
        pass

    with pytest.raises(CheckError, match="spec's actions only"):
        check(config, por=True, model=Other(config))


def test_por_is_off_for_an_unknown_property_or_action_kind(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from model_check.properties import Property

    config = entry("strict-dvv").config
    mine = Property.always("mine", "nothing", lambda state: True)
    result = check(config, ["read_your_writes", mine], por=True)
    assert result.reduced_states == 0 and "'mine'" in result.por_note
    monkeypatch.setattr(por, "KNOWN_ACTIONS", por.KNOWN_ACTIONS - {"Heal"})
    off, why = por.spec_reduction(config, [])
    assert off is None and "Heal" in why
    monkeypatch.undo()
    on, why = por.spec_reduction(config, [])
    assert on is not None and why == ""
    # membership change: its actions only exist with a [membership] budget, and
    # there the reduction is off, saying why
    off, why = por.spec_reduction(entry("join-pending").config, [])
    assert off is None and "Join" in why and "range-transfer" in why


# --------------------------------------------------------------------- the explorer


class _FirstCounter:
    """Sound on the counter pair: incrementing x is independent of incrementing y and
    invisible to an invariant that reads y only."""

    def applies(self, state: tuple[int, int]) -> bool:
        return True

    def ample(self, state: tuple[int, int],
              steps: Sequence[tuple[Any, tuple[int, int]]]) -> int | None:
        return 0 if steps and steps[0][0]["counter"] == "x" else None


def test_the_explorer_explores_only_the_persistent_step() -> None:
    bound = 6
    invariants = {"y_below": lambda s: s[1] < bound}
    full = explore([(0, 0)], counter_successors(bound), invariants, stop_when_violated=False)
    reduced = explore([(0, 0)], counter_successors(bound), invariants,
                      stop_when_violated=False, reduce=_FirstCounter())
    assert full.distinct_states == (bound + 1) ** 2
    assert reduced.distinct_states == 2 * bound + 1
    assert reduced.reduced_states == bound  # (0, 0) .. (bound - 1, 0)
    assert reduced.transitions == 2 * bound
    assert set(full.violations) == set(reduced.violations) == {"y_below"}
    path = reduced.counterexample("y_below")
    assert path is not None and path.states[-1][1] == bound


def _spin_or_go(state: tuple[int, bool]) -> Iterator[tuple[str, tuple[int, bool]]]:
    phase, done = state
    yield "spin", (1 - phase, done)
    if not done:
        yield "go", (phase, True)


class _AlwaysSpin:
    """Claims the spin step is a persistent set everywhere: without the proviso the
    go step would be ignored forever around the spin cycle."""

    def applies(self, state: tuple[int, bool]) -> bool:
        return True

    def ample(self, state: tuple[int, bool],
              steps: Sequence[tuple[str, tuple[int, bool]]]) -> int | None:
        return 0


def test_the_cycle_proviso_expands_a_state_closing_a_cycle() -> None:
    result = explore([(0, False)], _spin_or_go, witnesses={"done": lambda s: s[1]},
                     reduce=_AlwaysSpin())
    assert "done" in result.witnessed
    assert result.reduced_states == 1  # (1, False) closes the cycle: fully expanded
    assert result.distinct_states == 4


def test_spec_model_is_what_por_reduces() -> None:
    assert isinstance(spec_model(entry("strict-dvv").config), SpecModel)


def test_cli_reports_the_reduction_factor(tmp_path: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from model_check.cli import EXIT_USAGE, main

    status = main(["model_check/configs/strict-dvv.toml", "--por", "--por-savings", "--json",
                   "--trace-dir", str(tmp_path), "--property", "read_your_writes"])
    out, err = capsys.readouterr()
    record = json.loads(out.strip().splitlines()[-1])
    assert status == 0
    assert record["por"] is True and record["por_verdicts_identical"] is True
    assert record["states_without_por"] == 16_132
    assert record["por_factor"] == round(16_132 / record["distinct_states"], 4)
    assert "POR:" in err and "verdicts identical" in err
    assert main(["model_check/configs/strict-dvv.toml", "--por", "--workers", "2"]) == EXIT_USAGE
    assert main(["model_check/configs/strict-dvv.toml", "--por-savings"]) == EXIT_USAGE
