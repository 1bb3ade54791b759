"""check(): the explorer on the Dynamo spec, verdicts, bounds, traces and refusals."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model_check.check import CheckError, Verdict, check
from model_check.errors import UnknownNameError
from model_check.properties import Property
from model_check.spec_model import SpecModel
from model_check.trace import Trace
from spec import actions, model
from spec.actions import Action, ClientPut
from spec.clocks import empty
from spec.config import Config, ConfigError
from spec.state import State, new_node

# Two nodes, N=2, R=W=1, last-writer-wins, two clients with one put each:
# the second put silently supersedes the first (a 4-step counterexample).
TINY_LWW = Config(name="tiny-lww", nodes=("a", "b"), n=2, r=1, w=1, clock="lww",
                  clients=2, gets_per_client=0)
# Sloppy quorum without hinted handoff or anti-entropy, one crash: a write that went to
# a fallback never reaches its home node again.
NO_REPAIR = Config(name="no-repair", nodes=("a", "b", "c"), n=2, r=1, w=1,
                   sloppy_quorum=True, hinted_handoff=False, anti_entropy=False,
                   read_repair=False, crashes=1, gets_per_client=0)
STRICT = Config(name="strict", nodes=("a", "b", "c"), n=3, r=2, w=2, clients=1)


def test_lww_loses_an_acknowledged_write() -> None:
    result = check(TINY_LWW)
    assert result.verdict("acked_writes_durable") == "violated"
    assert result.verdict("acked_writes_durable") is Verdict.VIOLATED
    trace = result.result("acked_writes_durable").trace
    assert trace is not None and len(trace) == 4
    assert trace.violated_at == 4 and trace.kind == "always"
    assert trace.config == TINY_LWW.to_json()
    assert Config.from_json(trace.config) == TINY_LWW
    # The trace's states are the spec's readable descriptions of a real run.
    state = model.initial_state(TINY_LWW)
    assert trace.states[0] == model.describe(state)
    for recorded, described in zip(trace.actions, trace.states[1:], strict=True):
        action = model.action_from_json(dict(recorded))
        state = next(after for label, after in model.successors(state) if label == action)
        assert model.describe(state) == described
    others = {r.property: r.verdict for r in result.results
              if r.property != "acked_writes_durable" and r.kind != "sometimes"}
    assert set(others.values()) == {Verdict.HOLDS}
    assert not result.ok and result.violated == ["acked_writes_durable"]


def test_dvv_keeps_both_writes_on_the_same_configuration() -> None:
    result = check(TINY_LWW.replace(clock="dvv", name="tiny-dvv"))
    assert result.ok, result.verdicts
    assert result.distinct_states > 0 and result.transitions >= result.distinct_states - 1


def test_convergence_violation_is_found_on_the_state_graph() -> None:
    result = check(NO_REPAIR, properties=["convergence"])
    convergence = result.result("convergence")
    assert convergence.verdict is Verdict.VIOLATED and convergence.kind == "eventually"
    assert convergence.trace is not None and convergence.trace.kind == "eventually"
    assert len(convergence.trace) == 2
    repaired = check(NO_REPAIR.replace(hinted_handoff=True, anti_entropy=True, name="fixed"),
                     properties=["convergence"])
    assert repaired.verdict("convergence") is Verdict.HOLDS


def test_symmetry_on_and_off_agree() -> None:
    for config in (TINY_LWW, NO_REPAIR):
        on, off = check(config, symmetry=True), check(config, symmetry=False)
        assert on.verdicts == off.verdicts
        assert [r.counterexample_length for r in on.results] == [
            r.counterexample_length for r in off.results]
        assert on.distinct_states <= off.distinct_states
    # The two clients of TINY_LWW are interchangeable: symmetry halves the state space.
    assert check(TINY_LWW).distinct_states < check(TINY_LWW, symmetry=False).distinct_states


def test_the_models_edge_filter_and_fingerprint_are_the_specs() -> None:
    """What check() reads in C on every transition (session 39): an action class's
    ``fault_free`` is ``not is_fault`` for every action of the spec, and the spec
    model's fingerprint is the state's hash; canonicalisation is skipped only where it is
    the identity (one client; test_symmetry_on_and_off_agree has two)."""
    classes = [c for c in vars(actions).values()
               if isinstance(c, type) and issubclass(c, Action) and c is not Action]
    assert len(classes) >= 27
    faults = {actions.Drop, actions.Duplicate, actions.Crash, actions.Partition,
              actions.DiskLoss, actions.BufferedCrash, actions.Restore,
              actions.FailedWrite, actions.FailedPut,  # session 51: a failing disk
              actions.Unheard}  # session 61: an acknowledgement the client did not hear
    assert {cls for cls in classes if not cls.fault_free} == faults == set(model.FAULTS)
    assert len(model.FAULTS) == len(faults)
    spec = SpecModel(NO_REPAIR)
    state = spec.initial_states()[0]
    seen = 0
    for _ in range(6):
        for action, after in spec.successors(state):
            assert spec.fault_free(action) is (not model.is_fault(action))
            assert spec.fingerprint(after) == hash(after)
            assert spec.canonicalize(after) is after
            seen += 1
        state = after
    assert seen >= 10 and spec.canonical_identity and not SpecModel(TINY_LWW).canonical_identity


@dataclasses.dataclass(frozen=True)
class _Unslotted(SpecModel):
    """The spec's model as a dataclass without slots (as tests/run_cache.py's
    _KindRecorder), with a canonical form of its own."""

    canonicalize = staticmethod(lambda state: state)


def test_a_subclass_of_the_spec_model_keeps_the_fast_path_and_its_canonical_form() -> None:
    """Session 40's review: a dataclass subclass without slots has the filter and the
    fingerprint (as dataclass fields of SpecModel they were missing there, and check()
    raised AttributeError on the suite's delete entries), and its own canonical form is
    never taken for the identity; its liveness verdicts are the spec's."""
    sub = _Unslotted(NO_REPAIR)
    state = sub.initial_states()[0]
    assert sub.fault_free(actions.Crash("a")) is False and sub.fingerprint(state) == hash(state)
    assert not sub.canonical_identity and SpecModel(NO_REPAIR).canonical_identity
    wanted = ["convergence", "acked_writes_durable"]
    mine, spec = check(NO_REPAIR, wanted, model=sub), check(NO_REPAIR, wanted)
    assert [(r.property, r.verdict) for r in mine.results] == [
        (r.property, r.verdict) for r in spec.results]
    assert mine.distinct_states == spec.distinct_states


def test_a_bounded_run_never_says_holds() -> None:
    bounded = check(STRICT, max_states=50)
    assert bounded.bounded and bounded.distinct_states == 50
    assert {r.verdict for r in bounded.results if r.kind != "sometimes"} == {Verdict.BOUNDED}
    assert not bounded.ok
    shallow = check(STRICT, max_depth=2, properties=["acked_writes_durable"])
    assert shallow.bounded and shallow.verdict("acked_writes_durable") is Verdict.BOUNDED
    assert shallow.depth == 2
    # A violation found within the bound is still a violation.
    found = check(TINY_LWW, max_depth=4, properties="acked_writes_durable")
    assert found.verdict("acked_writes_durable") is Verdict.VIOLATED
    assert check(TINY_LWW, max_depth=3).verdict("acked_writes_durable") is Verdict.BOUNDED


def test_a_deep_enough_bound_is_no_bound() -> None:
    full = check(TINY_LWW.replace(clock="dvv"))
    deep = check(TINY_LWW.replace(clock="dvv"), max_depth=full.depth + 1)
    assert not deep.bounded and deep.ok and deep.distinct_states == full.distinct_states


def test_properties_can_be_selected_and_unknown_ones_are_refused() -> None:
    result = check(TINY_LWW, properties=["read_your_writes", "acked_writes_durable"])
    assert result.property_names == ["read_your_writes", "acked_writes_durable"]
    with pytest.raises(CheckError, match=r"unknown property 'eventual_bliss'.*known are"):
        check(TINY_LWW, properties=["eventual_bliss"])
    with pytest.raises(UnknownNameError, match="was not checked"):
        result.result("convergence")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_depth": -1}, "max_depth"), ({"max_states": 0}, "max_states")],
)
def test_bad_bounds_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CheckError, match=message):
        check(TINY_LWW, **kwargs)


def test_invalid_configuration_is_refused_before_exploring(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[cluster]\nnodes = ["a", "b"]\nn = 3\n')
    with pytest.raises(ConfigError, match="n = 3 exceeds the number of nodes"):
        check(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        check(tmp_path / "missing.toml")
    with pytest.raises(CheckError, match="Config or a TOML path"):
        check(42)  # type: ignore[arg-type]


def test_a_toml_path_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_LWW.to_toml())
    assert check(path).verdicts == check(TINY_LWW).verdicts


def test_to_json_has_the_documented_shape() -> None:
    result = check(TINY_LWW, properties=["acked_writes_durable"])
    data = result.to_json({"acked_writes_durable": "traces/x.json"})
    assert data["config"] == "tiny-lww"
    assert data["results"] == [{"property": "acked_writes_durable", "kind": "always",
                                "verdict": "violated", "trace": "traces/x.json",
                                "counterexample_length": 4, "witness_length": None}]
    for key in ("distinct_states", "transitions", "depth", "seconds"):
        assert isinstance(data[key], int | float)
    assert isinstance(result.result("acked_writes_durable").trace, Trace)


# ---------------------------------------------------------------- sometimes-properties


def test_a_sometimes_property_is_found_with_the_shortest_trace_to_a_witness() -> None:
    result = check(TINY_LWW, properties=["put_acknowledged", "siblings_stored"])
    found = result.result("put_acknowledged")
    assert found.verdict is Verdict.FOUND and found.kind == "sometimes"
    assert found.trace is not None and found.trace.kind == "sometimes"
    # One node of the two is the coordinator and W=1: the put alone acknowledges it.
    assert found.witness_length == len(found.trace) == 1
    assert found.counterexample_length is None
    assert found.trace.states[-1]["clients"]["c1"]["acked_puts"] == ["v1"]
    # Last-writer-wins never keeps siblings: explored in full, not found.
    assert result.verdict("siblings_stored") is Verdict.NOT_FOUND
    assert result.result("siblings_stored").trace is None
    assert result.ok  # a sometimes-property is reported, not judged, by check()


def test_a_step_witness_ends_with_its_step() -> None:
    # Without faults every target answers; with one drop the coordinator times out.
    assert check(STRICT, properties=["coordinator_times_out"]).verdict(
        "coordinator_times_out") is Verdict.NOT_FOUND
    result = check(STRICT.replace(drops=1), properties=["coordinator_times_out"])
    trace = result.result("coordinator_times_out").trace
    assert result.verdict("coordinator_times_out") is Verdict.FOUND
    assert trace is not None and [a["action"] for a in trace.actions] == [
        "client-put", "drop", "timeout"]


def test_sometimes_properties_do_not_change_what_is_explored() -> None:
    for config in (TINY_LWW, NO_REPAIR, STRICT):
        plain = check(config, properties=["acked_writes_durable", "convergence"])
        seeking = check(config)
        assert (plain.distinct_states, plain.transitions, plain.depth) == (
            seeking.distinct_states, seeking.transitions, seeking.depth)
        for name in ("acked_writes_durable", "convergence"):
            assert plain.result(name) == seeking.result(name)


def test_a_witness_not_found_within_a_bound_is_bounded() -> None:
    result = check(STRICT, properties=["converged_after_a_write"], max_depth=1)
    assert result.verdict("converged_after_a_write") is Verdict.BOUNDED


def test_a_property_value_needs_its_predicate() -> None:
    with pytest.raises(CheckError, match="exactly one of"):
        Property[State, Action].sometimes("nothing", "no predicate")
    with pytest.raises(CheckError, match="needs holds"):
        Property[State, Action]("odd", Property.always("x", "", bool).kind, "no predicate")
    with pytest.raises(CheckError, match="names actions but has no step"):
        Property[State, Action].sometimes("classes", "no step", holds=bool, actions=(Action,))


# ---------------------------------------------------------------- the model as a value


@dataclasses.dataclass(frozen=True, slots=True)
class _LostAcks(SpecModel):
    """A mutant spec: once a client put is acknowledged, every store forgets it."""

    def successors(self, state: State) -> Iterator[tuple[Action, State]]:
        blank = empty(state.config.clock)
        for action, after in model.successors(state):
            if isinstance(action, ClientPut) and any(c.acked for c in after.clients):
                nodes = tuple(new_node(n.up, tuple(blank for _ in n.store), n.hints, n.coord)
                              for n in after.nodes)
                after = dataclasses.replace(after, nodes=nodes)
            yield action, after


def test_check_explores_the_model_it_is_given() -> None:
    config = TINY_LWW.replace(clock="dvv", name="tiny-dvv")
    assert check(config).ok
    mutant = check(config, properties=["acked_writes_durable"], model=_LostAcks(config))
    assert mutant.verdict("acked_writes_durable") is Verdict.VIOLATED
    trace = mutant.result("acked_writes_durable").trace
    # The put's replica message still holds it; once it is delivered, it is lost.
    assert trace is not None and len(trace) == 3
