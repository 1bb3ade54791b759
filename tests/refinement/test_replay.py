"""``vdynamo replay TRACE --on impl``: model-checker counterexamples replayed on the
implementation reach the same violation; a divergence is reported with its step."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import model_check.refinement_state as refinement_state_module
from impl.antientropy import AntiEntropy as AntiEntropyMechanism
from impl.effects import Effect
from impl.messages import KeyRecords
from impl.versions import LWW_TICK_S, decode_record, values
from model_check.refinement import Lockstep, value_of
from model_check.refinement_replay import replay_trace as replay_on_impl
from model_check.refinement_replay import step_action
from model_check.replay import config_from_trace, replay_on_spec
from model_check.reports import WitnessReport
from model_check.trace import Trace
from spec import model as spec_model
from spec.actions import Action, AntiEntropy, ClientPut, Deliver, Reap
from spec.state import Message
from tests.refinement.configs import LOCKSTEP_CONFIGS
from tests.refinement.mutations import MUTANTS
from tests.refinement.test_replay_membership_deletes import REFUSED_REPLAYS
from vdynamo.replay_cli import main

TRACES = sorted((Path(__file__).parent / "traces").glob("*.json"))
#: every cached counterexample but the lockstep's known refusals, whose refusal
#: test_replay_membership_deletes checks (step and text; it fails once one replays)
REPLAYED = [p for p in TRACES if tuple(p.stem.split(".", 1)) not in REFUSED_REPLAYS]


@pytest.mark.parametrize("path", REPLAYED, ids=[p.stem for p in REPLAYED])
def test_the_implementation_reaches_the_same_violation(path: Path) -> None:
    trace = Trace.load(path)
    report = replay_on_impl(trace)
    assert report.backend == "impl"
    assert report.replayed, report.render()
    assert report.property == trace.property
    assert report.broke_at == trace.violated_at, report.render()
    assert f"{trace.property} is violated" in report.render()


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_every_stored_trace_replays_on_the_spec(path: Path) -> None:
    """Session 60's review: ``vdynamo replay`` (the spec, its default backend) of every
    cached counterexample reaches its recorded violation (all 25: 0.3 CPU-s), so a rule
    or a default changed since a trace was recorded (the rebuild's default: no trace
    here moved) shows here. Before: client-vclock-truncated's trace, recorded before
    the client-vclock's pairs were named by coordinator and client (``"n3 c1"``), was
    refused at step 1 (``puts.v1.clock.c1`` is null but the trace says 1); its states
    re-described on the current spec, the same ten actions."""
    trace = Trace.load(path)
    report = replay_on_spec(trace)
    assert report.replayed, report.render()
    assert report.broke_at == trace.violated_at, report.render()


def test_the_command_replays_on_the_implementation(capsys: pytest.CaptureFixture[str]) -> None:
    path = next(p for p in TRACES if p.stem.startswith("sloppy-crash"))
    assert main([str(path), "--on", "impl"]) == 0
    out = capsys.readouterr().out
    assert "on the impl" in out and "read_your_writes broke here" in out


def test_a_divergence_names_the_step_and_both_states() -> None:
    """With a seeded bug (a put acknowledged before W replicas stored it) the replay
    stops at the first step where the implementation leaves the spec."""
    path = next(p for p in TRACES if p.stem.startswith("sloppy-crash"))
    with MUTANTS["ack-before-w"]():
        report = replay_on_impl(Trace.load(path))
    assert not report.replayed and report.refused_at == 1
    assert "diverges" in report.reason
    assert "implementation's abstract state" in report.reason
    assert "spec successor" in report.reason


def test_a_step_the_implementation_cannot_take_is_refused() -> None:
    path = next(p for p in TRACES if p.stem.startswith("lww"))
    trace = Trace.load(path)
    actions = list(trace.actions)
    actions.insert(1, dict(actions[-1]))  # deliver an ack before its replica was written
    states = [trace.states[0], *trace.states]
    broken = dataclasses.replace(trace, actions=tuple(actions), states=tuple(states))
    report = replay_on_impl(broken)
    assert not report.replayed and report.refused_at == 2


def _anti_entropy_trace() -> Trace:
    """sloppy-dvv: two clients put ``k`` at two replicas (nothing delivered), then the
    two replicas run anti-entropy on ``k``: a trace the spec allows."""
    config = LOCKSTEP_CONFIGS["sloppy-dvv"]
    a, b = config.top_n("k")[:2]
    actions: list[Action] = [ClientPut("c1", a, "k"), ClientPut("c2", b, "k"),
                             AntiEntropy(a, b, "k")]
    states = [spec_model.initial_state(config)]
    for action in actions:
        states.append(next(after for label, after in spec_model.successors(states[-1])
                           if label == action))
    return Trace(config=dict(config.to_json()), property="read_your_writes", kind="always",
                 actions=tuple(action.to_json() for action in actions),
                 states=tuple(spec_model.describe(state) for state in states))


def test_an_anti_entropy_trace_replays_on_the_implementation() -> None:
    report = replay_on_impl(_anti_entropy_trace())
    assert report.replayed, report.render()
    assert len(report.steps) == 3 and report.refused_at is None
    assert report.broke_at is None  # read_your_writes holds on every state


def test_an_anti_entropy_replay_catches_a_one_sided_merge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def overwrite(self: AntiEntropyMechanism, src: str, message: KeyRecords) -> list[Effect]:
        for key, raw in zip(message.keys, message.records, strict=True):
            if raw:
                self.replica.write_local(key, self.replica.decode(key, raw))
        return []

    monkeypatch.setattr(AntiEntropyMechanism, "on_key_records", overwrite)
    report = replay_on_impl(_anti_entropy_trace())
    assert not report.replayed and report.refused_at == 3, report.render()
    assert "diverges" in report.reason


def test_a_witness_trace_is_told_as_reached_on_the_implementation() -> None:
    """A trace to a sometimes-property's witness (anti_entropy_repairs: the exchange
    changes a replica) replays on the implementation as a witness reached, not as a
    counterexample, the way ``--on spec`` tells it."""
    trace = dataclasses.replace(_anti_entropy_trace(), property="anti_entropy_repairs",
                                kind="sometimes", violated_at=3)
    report = replay_on_impl(trace)
    assert isinstance(report, WitnessReport), type(report)
    assert report.replayed and report.broke_at == 3, report.render()
    text = report.render()
    assert "anti_entropy_repairs reached here" in text and "is reached (step 3)" in text
    assert "violated" not in text and "counterexample" not in text


# ---------------------------------------------------------------- issue 10's counterexamples


def _replayed_lockstep(stem: str) -> tuple[Lockstep, Trace]:
    """The trace ``stem`` (pinned in traces/) driven through a lockstep of its
    configuration, every step checked; the lockstep at its last step."""
    trace = Trace.load(Path(__file__).parent / "traces" / f"{stem}.json")
    ls = Lockstep(config_from_trace(trace))
    for recorded in trace.actions:
        step_action(ls, spec_model.action_from_json(dict(recorded)))
    return ls, trace


def _held_anywhere(ls: Lockstep, value: bytes) -> bool:
    """Whether any node's store or hints, or any message in flight, holds ``value``."""
    def holds(raw: bytes | None) -> bool:
        return bool(raw) and value in values(decode_record(raw, ls.mode))  # type: ignore[arg-type]
    for name in ls.config.nodes:
        storage = ls.cluster.storages[name]
        if any(holds(storage.read(key.encode())) for key in ls.config.keys):
            return True
        if any(holds(hint.record) for hint in storage.hints()):
            return True
    return any(holds(getattr(m.message, "record", None)) for m in ls.in_flight())


@pytest.mark.parametrize(("stem", "setting", "lost"), [
    # v2 since session 59 (three puts and a get: v3, minted under the re-issued
    # (n3, 2) with the context of a get that read v1 for (n3, 1), overwrites v2 on
    # n3, its only copy); v1 with four blind puts before
    ("dvv-amnesia-naive-actor.acked_writes_durable", {"actor_epochs": False}, 2),
    ("disk-loss-w1.acked_writes_durable", {"w": 1}, 1),
])
def test_an_acknowledged_write_is_lost_on_the_implementation(
        stem: str, setting: dict[str, object], lost: int) -> None:
    """The data-loss counterexamples replayed in the matching implementation setting
    (the naive actor + disk loss; W = 1 + disk loss): the implementation acknowledged
    put ``lost`` and then no store, hint or message in flight holds it."""
    ls, _ = _replayed_lockstep(stem)
    for field_name, value in setting.items():
        assert getattr(ls.cluster.config, field_name) == value
    assert lost in ls.clients["c1"].acked
    assert not _held_anywhere(ls, value_of(lost))
    ls.cluster.close()


def test_a_read_then_write_loses_to_skew_on_the_implementation() -> None:
    """lww-skew-wall-clock on an implementation with ``lww_timestamps="wall-clock"``
    and n1's clock 2 ticks ahead: v2, written with v1's context and acknowledged,
    is stamped below v1 and lost wherever the two met."""
    ls, _ = _replayed_lockstep("lww-skew-wall-clock.acked_writes_durable")
    assert ls.cluster.config.lww_timestamps == "wall-clock"
    assert ls.sim.node_now("n1") >= 2 * LWW_TICK_S
    assert 2 in ls.clients["c1"].acked
    for name in ("n1", "n2"):  # each held v1 when v2 reached it
        raw = ls.cluster.storages[name].read(b"k")
        assert raw is not None and values(decode_record(raw, ls.mode)) == [value_of(1)]
    ls.cluster.close()


def test_truncation_returns_a_false_sibling_on_the_implementation() -> None:
    """client-vclock-truncated on an implementation truncating each put's clock past
    one pair (``vclock_truncation="put"``): v2 was written with v1's context, yet a
    get returns both as siblings."""
    ls, _ = _replayed_lockstep("client-vclock-truncated.no_false_concurrency")
    assert ls.cluster.config.vclock_truncation == "put"
    assert ls.cluster.config.vclock_threshold == 1
    returned = [ret for client in ls.clients.values() for _, _, ret in client.gets]
    assert (1, 2) in returned
    ls.cluster.close()


def test_the_naive_trace_diverges_on_the_fixed_implementation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The matching setting matters: the amnesia trace replayed on an implementation
    that keeps actor epochs (the fix) leaves the spec's naive run at the first put
    after the disk loss (a new actor, where the spec re-uses n3)."""
    original = refinement_state_module.SimulatedCluster

    def fixed(*args: object, **options: object) -> object:
        options["actor_epochs"] = True
        return original(*args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(refinement_state_module, "SimulatedCluster", fixed)
    report = replay_on_impl(Trace.load(Path(__file__).parent / "traces"
                                       / "dvv-amnesia-naive-actor.acked_writes_durable.json"))
    assert not report.replayed, report.render()
    assert "diverges" in report.reason

# ---------------------------------------------------------------- deletes (issue 11)


def test_immediate_reaping_resurrects_on_the_implementation_too() -> None:
    """The suite's delete-immediate counterexample (pinned with the other traces and
    replayed by the test above) ends with the deleted value returned again: the
    implementation in ``delete_mode = "immediate"`` reaps n1 (one spec Reap per node)
    while a get through n2, which missed the delete, is under way, and it returns v1."""
    path = next(p for p in TRACES if p.stem == "delete-immediate.no_resurrection")
    report = replay_on_impl(Trace.load(path))
    assert report.replayed and report.broke_at == 13, report.render()
    text = report.render()
    assert "the tombstones of k are reaped on n1" in text
    assert "c1's get returns {v1}" in text and "no_resurrection is violated" in text


def _route(m: Message) -> tuple[object, ...]:
    return (m.kind, m.src, m.dst, m.request, m.key)


def _as_safe(trace: Trace, *, drop: str = "reap") -> Trace:
    """``trace``'s actions less those of kind ``drop``, in the same configuration with
    ``delete_mode = "safe"`` (the spec's states recomputed)."""
    config = dict(trace.config)
    config["name"] = "delete-safe"
    config["features"] = {**dict(config["features"]), "delete_mode": "safe"}
    spec_config = config_from_trace(dataclasses.replace(trace, config=config))
    actions = [spec_model.action_from_json(dict(a)) for a in trace.actions
               if a["action"] != drop]
    states = [spec_model.initial_state(spec_config)]
    taken: list[Action] = []
    for action in actions:
        # the same step; a message may carry another payload now (a tombstone kept)
        label, after = next((label, after) for label, after in spec_model.successors(states[-1])
                            if label == action or (
                                isinstance(label, Deliver) and isinstance(action, Deliver)
                                and _route(label.message) == _route(action.message)))
        taken.append(label)
        states.append(after)
    return Trace(config=config, property=trace.property, kind=trace.kind,
                 actions=tuple(a.to_json() for a in taken),
                 states=tuple(spec_model.describe(s) for s in states))


def test_the_same_scenario_with_safe_reaping_holds_on_the_implementation() -> None:
    """delete-immediate's scenario in ``delete_mode = "safe"``: the reap is not
    enabled (n2 still holds v1 and a replica put is in flight) on either side, and
    the last get answers "not found": no_resurrection holds on every state."""
    immediate = Trace.load(next(p for p in TRACES if p.stem == "delete-immediate.no_resurrection"))
    trace = _as_safe(immediate)
    report = replay_on_impl(trace)
    assert report.replayed and report.broke_at is None, report.render()
    assert "c1's get returns {v2}" in report.render()  # v2: the tombstone (not found)
    # and at the point where immediate reaped, the safe implementation has no reap due
    config = config_from_trace(trace)
    ls = Lockstep(config)
    reap_at = next(i for i, a in enumerate(immediate.actions) if a["action"] == "reap")
    for recorded in trace.actions[:reap_at]:
        step_action(ls, spec_model.action_from_json(dict(recorded)))
    assert ls.reap_candidates() == []
    assert not any(isinstance(label, Reap) for label, _ in spec_model.successors(ls.state))
    ls.cluster.close()


def test_a_safe_reap_witness_replays_on_the_implementation() -> None:
    """delete-safe's witness of tombstone_reaped: the delete reaches all three
    replicas, then the spec's Reap of n1 is the implementation's reap timer firing
    (after the late acknowledgement reached the coordinator; it reaps every target,
    one spec Reap each)."""
    trace = Trace.load(Path(__file__).parent / "traces" / "witnesses"
                       / "delete-safe.tombstone_reaped.json")
    report = replay_on_impl(trace)
    assert isinstance(report, WitnessReport)
    assert report.replayed and report.broke_at == len(trace.actions), report.render()
    assert "the tombstones of k are reaped on n1" in report.render()
