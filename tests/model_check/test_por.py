"""Partial-order reduction (model_check/por.py and the explorer's ``reduce``).

The soundness fence. Every suite verdict with ``por`` on is the suite's (the
verdicts without it, which tests/model_check/test_suite_verdicts.py checks), and
every trace found with it on replays on the spec to the same violation (or
witness): in CI every entry of the default suite up to 12,000 states (40,000
before session 12: the six entries of 16,132-33,336 states POR reduces took about
40 s of CI's test time; strict-dvv's verdict with and without POR is still compared
in CI by ``test_cli_reports_the_reduction_factor`` until session 25, under soak since,
sloppy-crash's and strict-dvv's variants by ``test_por_keeps_the_verdicts_of_variants``), under
``HYPOTHESIS_PROFILE=soak`` all of them; likewise on variants of suite entries (without
anti-entropy, with a duplicate or a crash more), against a run without POR (in CI its
pinned figures, :data:`VARIANTS`; soak searches it and checks the pins). Seeded broken
variants of the dependence
relation (:data:`model_check.por.MUTANTS`) must each be caught by a changed verdict
on some entry; a reducer without any condition (the greedy mutant) too; and the
explorer's cycle proviso must keep a step from being ignored around a cycle.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import pytest

from model_check import por
from model_check.check import CheckResult, check
from model_check.errors import CheckError
from model_check.explorer import explore
from model_check.replay import replay_on_spec
from model_check.spec_model import SpecModel, spec_model
from model_check.suite import DEFAULT_SUITE, SuiteEntry, entry
from spec.actions import Action, Deliver
from spec.config import Config
from spec.model import initial_state, successors
from spec.state import State
from tests.conftest import PROFILE
from tests.model_check.toys import counter_successors

SOAK = PROFILE == "soak"
CI_STATES = 12_000
"""Entries up to this many states are compared in CI (the largest POR reduces in CI:
dvv-buffered-crash-actor-epochs, 11,606 states); soak compares them all
(docs/model-checking.md, "What CI leaves to the soak profile")."""


def _por_off(suite_entry: SuiteEntry) -> bool:
    """POR is off, saying why, where the spec has actions or deletes whose footprints
    por.py does not state (the membership and delete entries), and with dvv pruning
    (session 33: a write reads every node's lifetime)."""
    return bool(por.unknown_actions(suite_entry.config)) or bool(
        suite_entry.config.deletes_per_client) or suite_entry.config.prune_retired >= 0


#: entries up to CI_STATES that CI leaves to soak (session 43): POR reduces each by about
#: 20 states of 4,600-7,100 (1.3-1.8 CPU-s each); their variants without anti-entropy,
#: where the reduction does most, stay in CI (:data:`VARIANTS`), and so do the same
#: shape's lww and client-vclock entries
SOAK_ENTRIES = frozenset({"dvv-two-clients-drop", "server-vclock-two-clients-drop"})
#: every entry POR turns itself off for (CI checks that it does, on 100 states), and
#: the others up to CI_STATES states but SOAK_ENTRIES
ENTRIES = [pytest.param(e, id=e.name) for e in DEFAULT_SUITE
           if SOAK or _por_off(e) or ((e.distinct_states or 0) <= CI_STATES
                                      and e.name not in SOAK_ENTRIES)]


def _replays(result: CheckResult) -> None:
    """Every counterexample and witness found replays on the spec to where it broke."""
    for r in result.results:
        if r.trace is None:
            continue
        report = replay_on_spec(r.trace)
        assert report.ok, (r.property, report.render())
        assert report.broke_at == len(r.trace), (r.property, report.render())


def _changed(suite_entry: SuiteEntry, result: CheckResult) -> dict[str, tuple[str, str]]:
    """The verdicts of ``result`` that are not the suite's (= the verdicts without POR)."""
    return {name: (expected, str(result.verdicts[name]))
            for name, expected in suite_entry.expected.items()
            if str(result.verdicts[name]) != expected}


@pytest.mark.parametrize("suite_entry", ENTRIES)
def test_por_keeps_every_verdict_and_its_traces_replay(suite_entry: SuiteEntry) -> None:
    off = _por_off(suite_entry)  # off, saying why (the membership and delete entries)
    if off and not SOAK:  # the whole search is then the plain one (test_suite_verdicts')
        bounded = check(suite_entry.config, list(suite_entry.expected), por=True,
                        max_states=100)
        assert bounded.por and bounded.por_note
        return
    reduced = check(suite_entry.config, list(suite_entry.expected), por=True)
    assert reduced.por
    assert bool(reduced.por_note) == off
    assert _changed(suite_entry, reduced) == {}
    assert reduced.distinct_states <= (suite_entry.distinct_states or 0)
    _replays(reduced)


class Plain(NamedTuple):
    """A variant's figures without POR, pinned (CI compares POR's verdicts with them;
    the soak profile searches the variant without POR too and checks the pins)."""

    states: int  # distinct states without POR
    violated: frozenset[str]  # every other safety property holds
    found: frozenset[str]  # every other sometimes-property is not found


def _plain(result: CheckResult) -> Plain:
    verdicts = {p: str(v) for p, v in result.verdicts.items()}
    assert set(verdicts.values()) <= {"holds", "violated", "found", "not found"}, verdicts
    return Plain(result.distinct_states,
                 frozenset(p for p, v in verdicts.items() if v == "violated"),
                 frozenset(p for p, v in verdicts.items() if v == "found"))


_TIMES_OUT = frozenset({"converged_after_a_write", "coordinator_times_out", "put_acknowledged"})

#: Variants of suite entries the suite does not hold, compared with POR on and off
#: (mostly without anti-entropy, where the reduction does most): the third field is
#: whether CI runs it (soak runs them all), the fourth the variant's search without
#: POR (CI compares POR's verdicts with these pins, session 20: the plain searches
#: were 6.3 of CI's CPU-s here; soak searches each variant without POR as before and
#: checks the pins too).
VARIANTS: list[tuple[str, dict[str, Any], bool, Plain]] = [
    ("dvv-two-clients-drop", {"anti_entropy": False}, True,
     Plain(2_725, frozenset({"convergence"}), _TIMES_OUT | {"siblings_stored"})),
    ("server-vclock-two-clients-drop", {"anti_entropy": False}, True,
     Plain(1_843, frozenset({"acked_writes_durable", "convergence"}),
           _TIMES_OUT | {"siblings_stored"})),
    ("dvv-context-collapses", {"drops": 1}, True,
     Plain(2_701, frozenset({"convergence"}),
           _TIMES_OUT | {"get_returns_siblings", "read_after_acknowledged_write",
                         "siblings_collapsed", "siblings_stored", "write_after_read"})),
    ("strict-dvv", {"anti_entropy": False, "read_repair": False}, True,
     Plain(8_860, frozenset({"convergence"}), _TIMES_OUT | {"read_after_acknowledged_write"})),
    ("sloppy-crash", {"anti_entropy": False}, True,
     Plain(11_918, frozenset({"convergence", "read_your_writes"}),
           _TIMES_OUT | {"fallback_holds_hint", "hint_handed_off",
                         "read_after_acknowledged_write", "read_repair_repairs"})),
    ("disk-loss-w2", {"anti_entropy": False}, True,
     Plain(1_255, frozenset({"convergence"}),
           _TIMES_OUT | {"disk_lost_holding_data", "new_actor_writes"})),
    ("lww-two-clients-drop", {"anti_entropy": False, "duplicates": 1}, False,
     Plain(15_625, frozenset({"acked_writes_durable", "convergence"}), _TIMES_OUT)),
    ("client-vclock-truncated", {"crashes": 1}, False,
     Plain(85_407, frozenset({"convergence", "no_false_concurrency", "sibling_bound"}),
           _TIMES_OUT | {"clock_truncated", "get_returns_siblings",
                         "read_after_acknowledged_write", "siblings_stored",
                         "write_after_read"})),
]


@pytest.mark.parametrize(("name", "changes", "plain"), [
    pytest.param(name, changes, plain,
                 id=f"{name}-{'-'.join(f'{k}={v}' for k, v in changes.items())}")
    for name, changes, in_ci, plain in VARIANTS if SOAK or in_ci])
def test_por_keeps_the_verdicts_of_variants(name: str, changes: dict[str, Any],
                                            plain: Plain) -> None:
    config = dataclasses.replace(entry(name).config, **changes)
    reduced = check(config, por=True)
    assert not reduced.por_note
    if SOAK:  # the pins are the search without POR's, and POR keeps its verdicts
        full = check(config)
        assert _plain(full) == plain
        assert {p: str(v) for p, v in reduced.verdicts.items()} == {
            p: str(v) for p, v in full.verdicts.items()}
    assert _plain(reduced)._replace(states=plain.states) == plain
    assert reduced.distinct_states < plain.states
    _replays(reduced)


def test_por_reduces_suite_entries() -> None:
    """Entries without anti-entropy reduce (dvv-context-collapses: 630 states without);
    the reduction counts the states it expanded through a stubborn set."""
    suite_entry = entry("dvv-context-collapses")
    reduced = check(suite_entry.config, list(suite_entry.expected), por=True)
    assert reduced.reduced_states > 0
    assert reduced.distinct_states < 0.9 * (suite_entry.distinct_states or 0)
    assert reduced.to_json()["por_reduced_states"] == reduced.reduced_states


CRASH_FENCE = Config.from_toml("""
name = "por-crash-fence"
[cluster]
nodes = ["n1", "n2", "n3"]
n = 3
r = 1
w = 3
[features]
anti_entropy = false
[faults]
crashes = 1
[workload]
keys = ["k"]
clients = 1
puts_per_client = 1
gets_per_client = 0
coordinator = "first"
""")
"""A fence configuration: one put that needs all three acks and one crash, no drop, so
a coordinator times out only on a replica that crashed while awaited: a reduction that
postpones crashes past the deliveries to the crashed node loses that witness."""

#: Each seeded broken dependence relation, and a configuration (a suite entry's name, or
#: the fence above) whose verdicts it changes.
CAUGHT: dict[str, str] = {
    "stores-independent": "strict-weak-quorum",
    "crash-independent": "por-crash-fence",
}


def _fenced(name: str) -> tuple[Config, dict[str, str]]:
    """The configuration and the verdicts without POR (the suite's, or computed)."""
    if name == CRASH_FENCE.name:
        full = check(CRASH_FENCE)
        return CRASH_FENCE, {r.property: str(r.verdict) for r in full.results}
    suite_entry = entry(name)
    return suite_entry.config, dict(suite_entry.expected)


@pytest.mark.parametrize(("mutant", "name"), sorted(CAUGHT.items()))
def test_a_broken_dependence_relation_is_caught(
        mutant: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config, expected = _fenced(name)
    sound = check(config, list(expected), por=True)
    assert {p: str(sound.verdicts[p]) for p in expected} == expected
    module = sys.modules["model_check.check"]
    real = por.spec_reduction
    monkeypatch.setattr(module, "spec_reduction",
                        lambda config, props: real(config, props, mutant=mutant))
    broken = check(config, list(expected), por=True)
    assert broken.reduced_states > 0 and not broken.por_note
    assert {p: str(broken.verdicts[p]) for p in expected} != expected, (
        f"the mutant {mutant} kept every verdict")


def test_every_mutant_is_fenced() -> None:
    assert set(CAUGHT) == set(por.MUTANTS)  # every seeded mutant is caught somewhere
    with pytest.raises(CheckError, match="unknown mutant"):
        por.spec_reduction(entry("strict-dvv").config, [], mutant="nonsense")


def test_every_enabled_step_has_an_activity_and_the_key_step_comes_first() -> None:
    """On the first states of strict-dvv and sloppy-crash: every step has an owner in
    the activities, and a stubborn set, when there is one, is a proper subset whose
    first step is a delivery."""
    for name in ("strict-dvv", "sloppy-crash", "dvv-context-collapses"):
        config = entry(name).config
        reduction, why = por.spec_reduction(config, [])
        assert reduction is not None, why
        frontier: list[State] = [initial_state(config)]
        seen: set[State] = set()
        reduced = 0
        while frontier and len(seen) < 1500:
            state = frontier.pop()
            if state in seen:
                continue
            seen.add(state)
            steps = list(successors(state))
            chosen = reduction.ample(state, steps) if reduction.applies(state) else None
            if chosen is not None:
                reduced += 1
                assert 0 < len(chosen) < len(steps) and len(set(chosen)) == len(chosen)
                assert isinstance(steps[chosen[0]][0], Deliver)
            frontier.extend(t for _, t in steps)
        assert reduced > 0, name


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
    mutant = check(suite_entry.config, list(suite_entry.expected), por=True)
    assert _changed(suite_entry, mutant), "the greedy mutant kept every verdict"


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
    # the first 2,000 states (the whole 16,132 until session 25): with read_your_writes
    # alone POR reduces 27 of them, with 'mine' none (the note is decided before the search)
    result = check(config, ["read_your_writes", mine], por=True, max_states=2_000)
    assert result.reduced_states == 0 and "'mine'" in result.por_note
    assert check(config, ["read_your_writes"], por=True, max_states=2_000).reduced_states > 0
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


#: the configurations the command line's ``--por-savings`` runs on, with their states
#: without POR: in CI dvv-context-collapses (630 states, 543 with POR, under 0.2 CPU-s);
#: strict-dvv's two searches (16,132 states without POR, about 5 CPU-s: session 25,
#: docs/model-checking.md "What CI leaves to the soak profile") under soak only
CLI_SAVINGS = [("dvv-context-collapses", 630)] + ([("strict-dvv", 16_132)] if SOAK else [])


@pytest.mark.parametrize(("name", "without"), CLI_SAVINGS)
def test_cli_reports_the_reduction_factor(name: str, without: int, tmp_path: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from model_check.cli import EXIT_USAGE, main

    toml = f"model_check/configs/{name}.toml"
    status = main([toml, "--por", "--por-savings", "--json",
                   "--trace-dir", str(tmp_path), "--property", "read_your_writes"])
    out, err = capsys.readouterr()
    record = json.loads(out.strip().splitlines()[-1])
    assert status == 0
    assert record["por"] is True and record["por_verdicts_identical"] is True
    assert record["states_without_por"] == without > record["distinct_states"]
    assert record["por_factor"] == round(without / record["distinct_states"], 4)
    assert "POR:" in err and "verdicts identical" in err
    assert main([toml, "--por", "--workers", "2"]) == EXIT_USAGE
    assert main([toml, "--por-savings"]) == EXIT_USAGE


@pytest.mark.parametrize("name", ["sloppy-no-handoff", "dvv-context-collapses"])
def test_the_reducible_rule_is_shared(name: str) -> None:
    """Session 57 (issue 13's read-through): :func:`por.reducible` is the one rule of
    :meth:`por.SpecReduction.applies` and of the packed states'
    :class:`~model_check.kernel.PackedReduction` (no restatement). On every reachable
    packed state of the entry (504 and 630 states, no partition: a message in flight is
    always deliverable), both answer alike, and a state may be reduced exactly where a
    delivery, the only kind of key step, is enabled.

    Mutants seen failing here (session 57), each in the shared rule itself:
    ``return len(messages) > 1`` (a state with one message in flight and its delivery
    enabled is never reduced) and ``return True`` (the initial state, no message in
    flight, would be asked for a stubborn set); and in PackedReduction alone,
    ``applies`` restated as ``len(self.messages[packed[1]][0]) > 1`` (the two sides
    disagree)."""
    from model_check.kernel import KernelModel, PackedReduction

    config = entry(name).config
    spec_side, why = por.spec_reduction(config, [])
    assert spec_side is not None, why
    model = KernelModel(config)
    packed_side = PackedReduction(spec_side, model)
    frontier = list(model.initial_states())
    seen = set(frontier)
    reducible_states = 0
    while frontier:
        packed = frontier.pop()
        state = model.decode(packed)
        delivery = any(isinstance(a, Deliver) for a, _ in successors(state))
        assert spec_side.applies(state) == packed_side.applies(packed) == delivery, state
        reducible_states += delivery
        for _, after in model.successors(packed):
            if after not in seen:
                seen.add(after)
                frontier.append(after)
    assert len(seen) == entry(name).distinct_states
    assert 0 < reducible_states < len(seen)


def test_por_is_off_only_where_a_rebuild_can_end() -> None:
    """Session 60: ``features.rebuild`` is on by default, and its ``Rebuilt`` step (whose
    footprint the reduction does not state) is enabled only with a disk to lose,
    anti-entropy and a fixed ring (:func:`model_check.rebuild_witnesses.rebuilds`).
    Mutant: session 55's test of the flag alone (``not config.rebuild``): the reduction
    is off for every configuration (the default's first assertion fails; before this
    test, ``test_por_reduces_suite_entries`` and 17 others of this module and
    test_kernel.py failed under it)."""
    config = entry("strict-dvv").config
    assert config.rebuild and not config.disk_losses
    on, why = por.spec_reduction(config, [])
    assert on is not None and why == ""
    off, why = por.spec_reduction(config.replace(disk_losses=1), [])
    assert off is None and "Rebuilt" in why
    again, why = por.spec_reduction(config.replace(disk_losses=1, rebuild=False), [])
    assert again is not None and why == ""
    # session 60's review: the other two conditions of ``rebuilds`` (mutants, each seen
    # passing the assertions above and failing these: ``rebuilds`` without
    # ``config.anti_entropy``, the reduction off without anti-entropy; without ``not
    # config.membership``, Rebuilt named among a membership entry's unknown actions)
    quiet, why = por.spec_reduction(config.replace(disk_losses=1, anti_entropy=False), [])
    assert quiet is not None and why == ""
    ring = entry("join-anti-entropy").config.replace(disk_losses=1)
    none, why = por.spec_reduction(ring, [])
    assert none is None and "Join" in why and "Rebuilt" not in why
