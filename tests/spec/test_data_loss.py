"""Issue 10's faults and features in the spec: disk loss and buffered crashes with
and without actor epochs, lww wall clocks with skew (hybrid vs wall-clock stamps),
clock truncation, read-modify-write clients, and their configuration."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.actions import (
    BufferedCrash,
    ClientGet,
    ClientPut,
    Crash,
    DiskLoss,
    Recover,
    action_from_json,
)
from spec.clocks import truncate, values
from spec.config import Config, ConfigError
from spec.model import describe, initial_state, is_fault, narrate, successors
from spec.state import Kind, State
from spec.vclock import VClock
from tests.conftest import examples
from tests.spec.test_model import deliver, deliver_all, do, walk

DVV = Config(name="dvv-loss", w=2, disk_losses=1, clients=1, puts_per_client=3,
             gets_per_client=0, coordinator="first")
NAIVE = DVV.replace(actor_epochs=False)


def _acked_put(state: State, client: str = "c1", node: str = "n3") -> State:
    state = do(state, ClientPut(client, node, "k"))
    return deliver_all(state)


# -- configuration ---------------------------------------------------------------------


def test_new_keys_default_to_the_fixed_behaviour_and_no_new_fault() -> None:
    config = Config()
    assert (config.disk_losses, config.actor_epochs, config.storage, config.lww_timestamps,
            config.vclock_threshold, config.skew, config.read_modify_write) == (
        0, True, "durable", "hybrid", 0, (), False)


def test_skew_is_an_inline_table_and_round_trips_through_toml_and_json() -> None:
    text = """name = "skewed"
[cluster]
clock = "lww"
skew = {n1 = 2, n2 = -1, n3 = 0}
[features]
lww_timestamps = "wall-clock"
actor_epochs = false
storage = "buffered"
vclock_threshold = 2
[faults]
disk_losses = 1
[workload]
read_modify_write = true
"""
    config = Config.from_toml(text)
    assert config.skew == (("n1", 2), ("n2", -1))
    assert config.wall_offset("n1") == 2 and config.wall_offset("n3") == 0
    assert Config.from_toml(config.to_toml()) == config
    assert Config.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert config == Config(name="skewed", clock="lww", skew={"n1": 2, "n2": -1},  # type: ignore[arg-type]
                            lww_timestamps="wall-clock", actor_epochs=False,
                            storage="buffered", vclock_threshold=2, disk_losses=1,
                            read_modify_write=True)


@pytest.mark.parametrize(("changes", "message"), [
    ({"skew": {"n9": 1}}, "[cluster] skew names 'n9', which is not a node"),
    ({"skew": {"n1": 1.5}}, "[cluster] skew of 'n1' must be an integer"),
    ({"skew": 3}, "[cluster] skew must be a table"),
    ({"storage": "ssd"}, "[features] storage must be one of durable, buffered"),
    ({"lww_timestamps": "hlc"}, "[features] lww_timestamps must be one of hybrid, wall-clock"),
    ({"vclock_threshold": -1}, "[features] vclock_threshold must be >= 0"),
    ({"disk_losses": -1}, "[faults] disk_losses must be >= 0"),
    ({"actor_epochs": 1}, "[features] actor_epochs must be true or false"),
])
def test_bad_values_are_refused_naming_section_and_key(changes: dict[str, object],
                                                      message: str) -> None:
    with pytest.raises(ConfigError) as error:
        Config(**changes)  # type: ignore[arg-type]
    assert message in str(error.value)


# -- disk loss and actors -------------------------------------------------------------


def test_disk_loss_empties_store_hints_and_coordination_and_spends_its_budget() -> None:
    state = _acked_put(initial_state(DVV))
    assert state.node("n3").store[0].entries
    lost = do(state, DiskLoss("n3"))
    node = lost.node("n3")
    assert not node.up and node.store == initial_state(DVV).node("n3").store
    assert node.hints == () and node.coord == ()
    assert lost.used == (0, 0, 0, 0, 1)
    assert lost.epochs == (0, 0, 1) and lost.actor("n3") == "n3~1"
    assert is_fault(DiskLoss("n3"))
    assert not any(isinstance(a, DiskLoss) for a, _ in successors(do(lost, Recover("n3"))))
    assert "loses its disk" in narrate(state, DiskLoss("n3"), lost)
    assert describe(lost)["actors"]["n3"] == "n3~1"
    assert describe(lost)["faults_used"]["disk_losses"] == 1


def test_the_new_lifetime_mints_dots_under_a_new_actor_unless_epochs_are_off() -> None:
    for config, actor in ((DVV, "n3~1"), (NAIVE, "n3")):
        state = _acked_put(initial_state(config))
        state = do(do(state, DiskLoss("n3")), Recover("n3"))
        state = do(state, ClientPut("c1", "n3", "k"))
        record = state.put_record(2)
        assert record is not None and record.dot == (actor, 1), config.actor_epochs


def test_naive_actor_reissues_a_dot_the_replicas_consider_seen() -> None:
    """The kv679 mechanism: (n3, 1) again, under replicas that hold (n3, 2). With the
    rebuild (``features.rebuild``, the default since session 60) n3's own write is not
    counted while it rebuilds, so W = 2 takes both other replicas' acknowledgements:
    both drop v3 as seen, and both acknowledge it (the rebuild does not close kv679;
    actor epochs do)."""
    state = _acked_put(_acked_put(initial_state(NAIVE)))  # v1, v2: dots (n3, 1), (n3, 2)
    state = do(do(state, DiskLoss("n3")), Recover("n3"))
    state = do(state, ClientPut("c1", "n3", "k"))  # v3 gets (n3, 1) again
    record = state.put_record(3)
    assert record is not None and record.dot == ("n3", 1)
    for replica in ("n1", "n2"):
        state = deliver(state, Kind.REPLICA_PUT, "n3", replica)
        assert 3 not in values(state.node(replica).store[0])  # dropped as seen ...
        state = deliver(state, Kind.REPLICA_PUT_ACK, replica, "n3")
    assert 3 in state.client("c1").acked  # ... yet acknowledged


def test_buffered_storage_offers_a_crash_that_loses_unflushed_writes() -> None:
    config = DVV.replace(disk_losses=0, crashes=1, storage="buffered")
    state = _acked_put(initial_state(config))
    actions = [a for a, _ in successors(state)]
    assert BufferedCrash("n3") in actions and Crash("n3") in actions
    lost = do(state, BufferedCrash("n3"))
    assert lost.node("n3").store == initial_state(config).node("n3").store
    assert lost.used == (0, 0, 1, 0, 0) and lost.actor("n3") == "n3~1"
    # with epochs, even a crash that lost nothing begins a new lifetime (as the
    # implementation's buffered engine takes a new actor on every start)
    crashed = do(state, Crash("n3"))
    assert crashed.node("n3").store == state.node("n3").store
    assert crashed.actor("n3") == "n3~1"
    naive = _acked_put(initial_state(config.replace(actor_epochs=False)))
    assert do(naive, BufferedCrash("n3")).epochs == (0, 0, 0)
    durable = _acked_put(initial_state(config.replace(storage="durable")))
    assert BufferedCrash("n3") not in [a for a, _ in successors(durable)]
    assert do(durable, Crash("n3")).epochs == (0, 0, 0)


def test_new_fault_actions_round_trip_through_json() -> None:
    for action in (DiskLoss("n1"), BufferedCrash("n2")):
        assert action_from_json(json.loads(json.dumps(action.to_json()))) == action


@given(st.data())
@settings(max_examples=examples(20))
def test_random_walks_with_the_new_faults_describe_and_narrate(data: st.DataObject) -> None:
    config = Config(name="all-new", nodes=("n1", "n2", "n3", "n4"), sloppy_quorum=True,
                    disk_losses=1, crashes=1, drops=1, storage="buffered", clients=2,
                    clock=data.draw(st.sampled_from(["dvv", "server-vclock", "client-vclock",
                                                     "lww"])),
                    vclock_threshold=1, skew={"n1": 2})  # type: ignore[arg-type]
    for before, action, after in walk(data.draw, config, 30):
        assert action_from_json(json.loads(json.dumps(action.to_json()))) == action
        json.dumps(describe(after))
        assert narrate(before, action, after)


# -- lww with skew ----------------------------------------------------------------------


def _read_then_write(rule: str) -> tuple[tuple[int, str], tuple[int, str]]:
    config = Config(name="skew", clock="lww", skew={"n1": 2},  # type: ignore[arg-type]
                    lww_timestamps=rule, puts_per_client=2, gets_per_client=1,
                    read_modify_write=True)
    state = _acked_put(initial_state(config), node="n1")
    state = deliver_all(do(state, ClientGet("c1", "n2", "k")))
    state = do(state, ClientPut("c1", "n2", "k"))
    first, second = state.put_record(1), state.put_record(2)
    assert first is not None and second is not None
    return first.stamp, second.stamp


def test_wall_clock_stamps_follow_the_skewed_clock_and_hybrid_ones_the_context() -> None:
    # n1 is 2 ticks ahead of true time; true time is the number of puts performed
    assert _read_then_write("wall-clock") == ((2, "n1"), (1, "n2"))  # v2 loses to v1
    assert _read_then_write("hybrid") == ((2, "n1"), (3, "n2"))  # above its context


def test_without_skew_the_hybrid_rule_is_the_old_logical_counter() -> None:
    config = Config(name="noskew", clock="lww", clients=2, gets_per_client=0)
    state = do(initial_state(config), ClientPut("c1", "n1", "k"))
    state = do(state, ClientPut("c2", "n2", "k"))
    stamps = [r.stamp for r in state.puts if r is not None]
    assert stamps == [(1, "n1"), (1, "n2")]


# -- truncation --------------------------------------------------------------------------


def test_truncate_keeps_the_pair_just_incremented_and_drops_by_node_id() -> None:
    clock = VClock.of({"c1": 1, "c2": 1, "c3": 4})
    assert truncate(clock, 1, "c1") == VClock.of({"c1": 1})
    assert truncate(clock, 2, "c1") == VClock.of({"c1": 1, "c3": 4})
    assert truncate(clock, 3, "c1") == clock
    assert truncate(clock, 2, "c1").times == ()


def test_a_truncated_put_no_longer_dominates_what_it_read() -> None:
    config = Config(name="trunc", clock="client-vclock", vclock_threshold=1, clients=2,
                    coordinator="first")
    state = _acked_put(initial_state(config), "c1")
    state = deliver_all(do(state, ClientGet("c2", "n3", "k")))
    state = do(state, ClientPut("c2", "n3", "k"))
    record = state.put_record(2)
    # the entry of (coordinator n3, client c2): session 23's rule (spec.vclock.client_entry)
    assert record is not None and record.clock == VClock.of({"n3 c2": 1})
    assert record.history == frozenset({1, 2})  # it truly descends v1


# -- read-modify-write clients ----------------------------------------------------------------


def test_a_read_modify_write_client_puts_again_only_after_a_fresh_get() -> None:
    config = Config(name="rmw", puts_per_client=2, gets_per_client=2, read_modify_write=True)
    state = do(initial_state(config), ClientGet("c1", "n1", "k"))
    state = _acked_put(deliver_all(state), node="n1")
    puts = [a for a, _ in successors(state) if isinstance(a, ClientPut)]
    assert puts == []  # its last get began before this put was acknowledged
    state = deliver_all(do(state, ClientGet("c1", "n2", "k")))
    assert any(isinstance(a, ClientPut) for a, _ in successors(state))
