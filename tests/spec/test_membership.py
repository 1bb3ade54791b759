"""Membership change in the spec (spec/membership.py; issue 11, part 2): the
``[membership]`` keys, the views and their rules, the join and leave steps, and the
stale read of ``../shared/cases/07-join-stale-read.py`` under the naive handover."""

from __future__ import annotations

import json
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.actions import (
    Action,
    ClientGet,
    Deliver,
    Gossip,
    Handover,
    Join,
    Leave,
    Settle,
    Transfer,
    action_from_json,
)
from spec.clocks import values
from spec.config import Config, ConfigError
from spec.membership import current_top, view_of
from spec.model import converged, describe, initial_state, narrate, successors
from spec.state import Kind, MembershipState, State
from spec.step import plan_of
from spec.symmetry import rename_clients
from tests.conftest import examples
from tests.spec.test_model import deliver, do, get, put, walk

JOIN = Config(name="join", nodes=("n1", "n2", "n3"), joining=("n4",), joins=1,
              anti_entropy=False)
NAIVE = JOIN.replace(join_handover="immediate")
LEAVE = Config(name="leave", nodes=("n1", "n2", "n3", "n4"), leaves=1, anti_entropy=False)


# -- configuration ---------------------------------------------------------------------------


def test_without_a_budget_nothing_changes() -> None:
    config = Config()
    assert not config.membership and config.all_nodes == config.nodes
    assert initial_state(config).membership is None
    assert "membership" not in config.to_json() and "[membership]" not in config.to_toml()
    assert config.join_handover == "pending"
    # a joining node without a budget is only a node outside the ring
    idle = Config(joining=("n4",))
    assert not idle.membership and initial_state(idle).membership is None
    assert not any(isinstance(a, Join) for a in _enabled(initial_state(idle)))


def test_membership_keys_round_trip_through_toml_and_json() -> None:
    text = JOIN.to_toml()
    assert "[membership]" in text and 'joining = ["n4"]' in text
    assert Config.from_toml(text) == JOIN == Config.from_json(json.loads(json.dumps(
        JOIN.to_json())))
    assert JOIN.all_nodes == ("n1", "n2", "n3", "n4")


@pytest.mark.parametrize(("changes", "message"), [
    ({"joining": ("n1",)}, "[membership] joining names 'n1', which is already in [cluster]"),
    ({"joining": ("n4", "n4")}, "[membership] joining names 'n4' twice"),
    ({"joining": "n4"}, "[membership] joining must be a list of names"),
    ({"joins": 2}, "[membership] joins = 2 exceeds the number of joining nodes (1)"),
    ({"joins": -1}, "[membership] joins must be >= 0"),
    ({"joins": 0, "leaves": 1}, "[membership] leaves = 1 would leave fewer than n = 3 nodes"),
    ({"join_handover": "eager"}, "[features] join_handover must be one of pending, immediate"),
    ({"sloppy_quorum": True}, "strict quorum only"),
    ({"coordinator": "any"}, "coordinator \"top-n\" or \"first\""),
])
def test_bad_membership_keys_are_refused_with_the_section_and_key(
        changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        JOIN.replace(**changes)
    assert message in str(error.value)


def test_deletes_with_membership_change_are_a_legal_configuration() -> None:
    # refused before issue 11's reap guards 3 and 4 (spec/deletes.py) asked the
    # reaping node's view members and waited for them to share its view
    config = JOIN.replace(deletes_per_client=1, read_modify_write=True, gets_per_client=2)
    assert config.deletes_per_client == 1 and config.membership
    for mode in ("keep", "safe", "immediate"):
        assert config.replace(delete_mode=mode).delete_mode == mode


def test_an_unknown_membership_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'nodes' in \[membership\]"):
        Config.from_toml('[membership]\nnodes = ["n4"]\n')


# -- views -----------------------------------------------------------------------------------


def test_the_views_of_a_pending_join_step_by_step() -> None:
    # k's preference list on n1..n4 is n4, n1, n2, n3: n4 takes n3's place in the top N
    assert tuple(JOIN.ring.preference_list("k")) == ("n4", "n1", "n2", "n3")
    stable = view_of(JOIN, ())
    assert stable.serving["k"] == ("n1", "n2", "n3") and stable.writes["k"][1] == ()
    moving = view_of(JOIN, (("join", "n4"),))
    assert moving.phase == "moving" and moving.serving["k"] == ("n1", "n2", "n3")
    assert moving.reads["k"] == (("n1", "n2", "n3"), ())
    assert moving.writes["k"] == (("n4", "n1", "n2", "n3"),
                                  (("n1", "n2", "n3"), ("n1", "n2", "n4")))
    handing = view_of(JOIN, (("join", "n4"), ("handed", "n4")))
    assert handing.serving["k"] == ("n4", "n1", "n2")
    assert handing.reads["k"] == handing.writes["k"] == moving.writes["k"]
    settled = view_of(JOIN, (("join", "n4"), ("handed", "n4"), ("settled", "n4")))
    assert settled.phase == "stable" and settled.reads["k"] == (("n4", "n1", "n2"), ())


def test_the_naive_rule_routes_by_the_new_ring_at_once() -> None:
    moving = view_of(NAIVE, (("join", "n4"),))
    assert moving.serving["k"] == ("n4", "n1", "n2")
    assert moving.reads["k"] == moving.writes["k"] == (("n4", "n1", "n2"), ())


# -- steps -----------------------------------------------------------------------------------


def acked_put(config: Config, acked_by: str = "n3") -> State:
    """c1's put of v1 through n1, acknowledged by n1 and ``acked_by``; the other copy
    in flight."""
    state = put(initial_state(config), "c1", "n1")
    state = deliver(state, Kind.REPLICA_PUT, dst=acked_by)
    state = deliver(state, Kind.REPLICA_PUT_ACK)
    assert state.client("c1").acked == (1,)
    return state


def _enabled(state: State) -> list[Action]:
    return [action for action, _ in successors(state)]


def test_the_naive_join_serves_a_stale_read_from_the_joining_node() -> None:
    """The case script's stale read, as the suite's shortest counterexample has it."""
    state = do(acked_put(NAIVE), Join("n4"))
    state = get(state, "c1", "n4")  # n4, by its own view a top-N node, coordinates
    state = do(state, Gossip("n4", "n2"))  # n2 hears of n4 (else it ignores n4)
    state = deliver(state, Kind.REPLICA_GET, dst="n2")
    state = deliver(state, Kind.REPLICA_GET_REPLY, src="n2")
    record = state.client("c1").gets[-1]
    assert record.acked_before == (1,) and record.returned == ()


def test_a_node_ignores_a_message_from_a_node_it_never_heard_of() -> None:
    state = do(acked_put(NAIVE), Join("n4"))
    state = get(state, "c1", "n4")
    ignored = deliver(state, Kind.REPLICA_GET, dst="n1")
    assert not any(m.kind is Kind.REPLICA_GET_REPLY for m in ignored.messages)
    heard = deliver(do(state, Gossip("n4", "n1")), Kind.REPLICA_GET, dst="n1")
    assert any(m.kind is Kind.REPLICA_GET_REPLY for m in heard.messages)


def test_with_pending_ownership_the_joining_node_serves_only_after_the_handover() -> None:
    state = do(acked_put(JOIN), Join("n4"))
    assert ClientGet("c1", "n4", "k") not in _enabled(state)
    assert not any(isinstance(a, Transfer) for a in _enabled(state))  # n1..n3 do not know
    for src, dst in (("n4", "n1"), ("n1", "n2"), ("n1", "n3")):
        state = do(state, Gossip(src, dst))
    state = deliver(state, Kind.REPLICA_PUT, dst="n2")  # the transfer waits for writes to n3 only
    state = do(state, Transfer("n3", "n4", "k"))
    assert not any(isinstance(a, Handover) for a in _enabled(state))
    state = deliver(state, Kind.RANGE_TRANSFER)
    assert state.node("n4").store == state.node("n3").store
    state = do(state, Handover("n4"))
    assert ClientGet("c1", "n4", "k") in _enabled(state)
    assert not any(isinstance(a, Settle) for a in _enabled(state))  # n1..n3 do not know yet
    for src, dst in (("n4", "n1"), ("n1", "n2"), ("n1", "n3")):
        state = do(state, Gossip(src, dst))
    state = do(state, Settle("n4"))
    assert state.membership is not None
    assert [e for e, _ in state.membership.log] == ["join", "handed", "settled"]
    assert current_top(state, "k") == ("n4", "n1", "n2")
    assert not values(state.node("n3").store[0])  # the copy the transfer came from is gone
    state = get(state, "c1", "n4")
    state = deliver(state, Kind.REPLICA_GET, dst="n1")
    state = deliver(state, Kind.REPLICA_GET_REPLY, src="n1")
    assert state.client("c1").gets[-1].returned == (1,)
    assert converged(state)


def test_a_pending_put_needs_w_acks_in_the_old_and_in_the_new_top_n() -> None:
    state = do(initial_state(JOIN), Join("n4"))
    state = do(state, Gossip("n4", "n1"))
    state = put(state, "c1", "n1")
    coord = state.node("n1").coord[0]
    assert coord.groups == (("n1", "n2", "n3"), ("n1", "n2", "n4"))
    assert {t for t, _ in coord.awaiting} == {"n2", "n3", "n4"}
    state = deliver(state, Kind.REPLICA_PUT, dst="n3")
    state = deliver(state, Kind.REPLICA_PUT_ACK, src="n3")
    assert state.client("c1").outstanding == 1  # W in the old top N, not yet in the new
    state = deliver(state, Kind.REPLICA_PUT, dst="n4")
    state = deliver(state, Kind.REPLICA_PUT_ACK, src="n4")
    assert state.client("c1").acked == (1,)


def test_a_leave_transfers_to_the_node_that_takes_the_leavers_place() -> None:
    state = do(initial_state(LEAVE), Leave("n1"))
    for dst in ("n2", "n3", "n4"):
        state = do(state, Gossip("n1", dst))
    # k: n4, n1, n2, n3 -> without n1: n4, n2, n3
    state = do(state, Transfer("n1", "n3", "k"))
    state = deliver(state, Kind.RANGE_TRANSFER)
    state = do(state, Handover("n1"))
    assert state.membership is not None and state.membership.handed == frozenset()
    assert not any(isinstance(a, Leave) for a in _enabled(state))  # one change at a time


def test_a_range_transfer_of_an_older_change_does_not_count() -> None:
    state = do(initial_state(NAIVE), Join("n4"))
    assert not any(isinstance(a, Transfer) for a in _enabled(state))  # n3 does not know
    state = do(do(state, Gossip("n4", "n3")), Transfer("n3", "n4", "k"))
    duplicate = state.messages[0]
    assert duplicate.kind is Kind.RANGE_TRANSFER
    late = State(state.nodes, state.messages, state.clients, state.puts, state.side,
                 state.used, state.hints_acked, state.hints_deleted, state.epochs,
                 state.config, membership=MembershipState(
                     (("join", "n4"), ("handed", "n4")), (2, 0, 1, 2)))
    after = do(late, Deliver(duplicate))
    assert after.membership is not None and after.membership.handed == frozenset()


def test_every_membership_action_and_the_range_transfer_are_reachable() -> None:
    wanted = {Join, Leave, Gossip, Transfer, Handover, Settle}
    seen: set[type] = set()
    delivered = False
    config = JOIN.replace(nodes=("n1", "n2", "n3"), leaves=1, gets_per_client=0,
                          puts_per_client=0)
    queue = deque([initial_state(config)])
    visited = {queue[0]}
    while queue:
        state = queue.popleft()
        for action, after in successors(state):
            seen.add(type(action))
            delivered |= isinstance(action, Deliver) and (
                action.message.kind is Kind.RANGE_TRANSFER)
            if after not in visited:
                visited.add(after)
                queue.append(after)
    assert wanted <= seen and delivered


@given(st.data())
@settings(max_examples=examples(30))
def test_membership_walks_round_trip_and_read(data: st.DataObject) -> None:
    config = data.draw(st.sampled_from([JOIN, NAIVE, LEAVE, JOIN.replace(leaves=1),
                                        JOIN.replace(clients=2)]))
    for before, action, after in walk(data.draw, config, 40):
        assert action_from_json(json.loads(json.dumps(action.to_json()))) == action
        json.dumps(describe(after))
        assert narrate(before, action, after)
        rebuilt = rename_clients(after, range(config.clients))  # through the classes
        assert rebuilt == after and hash(rebuilt) == hash(after)
        assert after.membership is not None
        assert all(v <= len(after.membership.log) for v in after.membership.views)
        assert plan_of(config).membership
