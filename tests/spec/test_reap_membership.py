"""Reaping during a membership change, and copies outside the key's replicas
(spec/deletes.py guards 3 and 4, spec.membership.reap_members / same_view /
replicates, the outside-copy drop; session 8).

Each scenario is a prefix of a suite entry's trace (delete-join-pending,
delete-fallback-copy), stepped by hand so the guards can be asked in between.
"""

from __future__ import annotations

from spec.actions import Action, ClientDelete, Crash, Gossip, Join, Reap, Recover, Transfer
from spec.clocks import values
from spec.config import Config
from spec.membership import reap_members, replicates, same_view
from spec.model import initial_state, successors
from spec.state import Kind, MembershipState, State
from spec.step import plan_of
from tests.spec.test_model import deliver, do, get, put

#: delete-join-pending: n3 joins n1, n2 (N=2, R=1, W=2), pending ownership, safe reaping
JOIN = Config(name="delete-join", nodes=("n1", "n2"), n=2, r=1, w=2, joining=("n3",),
              joins=1, anti_entropy=False, puts_per_client=1, deletes_per_client=1,
              gets_per_client=2, read_modify_write=True)
NAIVE = JOIN.replace(join_handover="immediate")
#: delete-fallback-copy: k's top N is n1, n3; n2 a fallback (sloppy, one crash)
SLOPPY = Config(name="fallback-copy", nodes=("n1", "n2", "n3"), n=2, r=2, w=2,
                sloppy_quorum=True, anti_entropy=False, crashes=1, puts_per_client=1,
                deletes_per_client=1, gets_per_client=2, read_modify_write=True)


def _enabled(state: State) -> list[Action]:
    return [action for action, _ in successors(state)]


def _reaps(state: State) -> set[str]:
    return {n for a in _enabled(state) if isinstance(a, Reap) for n in a.nodes}


def _ms(config: Config, log: tuple[tuple[str, str], ...], views: tuple[int, ...]
        ) -> MembershipState:
    assert len(views) == len(config.all_nodes)
    return MembershipState(log, views)


def test_the_members_a_reap_asks_are_the_rings_before_and_after_the_change_it_knows() -> None:
    plan = plan_of(JOIN)
    assert reap_members(plan, None, "n1") == ("n1", "n2", "n3")  # no change: every node
    joined = (("join", "n3"),)
    ms = _ms(JOIN, joined, (0, 1, 1))
    assert reap_members(plan, ms, "n1") == ("n1", "n2")  # n1 has not heard of the join
    assert reap_members(plan, ms, "n2") == ("n1", "n2", "n3")  # the joining node included
    assert not same_view(plan, ms, "n2", ("n1", "n2", "n3"))
    assert same_view(plan, ms, "n2", ("n2", "n3")) and same_view(plan, None, "n1", ("n2",))
    leave = Config(name="leave", nodes=("n1", "n2", "n3"), n=2, r=1, w=2, leaves=1)
    ms = _ms(leave, (("leave", "n3"),), (1, 1, 1))
    assert reap_members(plan_of(leave), ms, "n1") == ("n1", "n2", "n3")  # the leaving node
    settled = (("leave", "n3"), ("handed", "n3"), ("settled", "n3"))
    assert reap_members(plan_of(leave), _ms(leave, settled, (3, 3, 3)), "n1") == ("n1", "n2")


def test_an_old_owner_replicates_the_key_until_its_change_completes() -> None:
    # k on n1..n3: preference n3, n1, n2; N=2: the join moves k from n2 to n3
    assert tuple(JOIN.ring.preference_list("k"))[:2] == ("n3", "n1")
    for config in (JOIN, NAIVE):
        plan = plan_of(config)
        assert replicates(plan, None, "n2", "k") and not replicates(plan, None, "n3", "k")
        moving = _ms(config, (("join", "n3"),), (1, 1, 1))
        assert replicates(plan, moving, "n2", "k")  # the old ring, until the handover
        assert replicates(plan, moving, "n3", "k")
        handed = (("join", "n3"), ("handed", "n3"))
        # pending ownership writes both rings until the settlement; the naive
        # handover's change is complete at the handover
        assert replicates(plan, _ms(config, handed, (2, 2, 2)), "n2", "k") is (config is JOIN)
    settled = (("join", "n3"), ("handed", "n3"), ("settled", "n3"))
    assert not replicates(plan_of(JOIN), _ms(JOIN, settled, (3, 3, 3)), "n2", "k")


def _deleted_by_a_node_that_has_not_heard_of_the_join() -> State:
    """delete-join-pending's prefix: n3 joins, n1 hears of it; c1's put through n1
    writes the joint groups (n3 holds v1); n2, not knowing the join, coordinates
    c1's delete on n1 and n2, which is acknowledged."""
    state = do(initial_state(JOIN), Join("n3"))
    state = do(state, Gossip("n3", "n1"))
    state = put(state, "c1", "n1")
    for dst in ("n2", "n3"):
        state = deliver(state, Kind.REPLICA_PUT, dst=dst)
    for src in ("n2", "n3"):
        state = deliver(state, Kind.REPLICA_PUT_ACK, src=src)
    state = get(state, "c1", "n1")
    state = do(state, ClientDelete("c1", "n2", "k"))
    state = deliver(state, Kind.REPLICA_PUT, dst="n1")
    state = deliver(state, Kind.REPLICA_PUT_ACK, src="n1")
    assert state.client("c1").acked == (1, 2)
    assert values(state.node("n3").store[0]) == (1,)  # the covered version, at n3
    return state


def test_guard_4_waits_while_a_member_knows_another_view() -> None:
    """Without guard 4 n2 reaps here (its members n1, n2 hold only tombstones), the
    empty transfer n2 -> n3 follows and a get through n3 returns v1 (the mutant
    reap-ignores-views: no_resurrection violated in 19 steps)."""
    state = _deleted_by_a_node_that_has_not_heard_of_the_join()
    assert "n2" not in _reaps(state)  # n1 knows the join, n2 does not: guard 4
    state = do(state, Gossip("n1", "n2"))
    assert "n2" not in _reaps(state)  # now n3 is a member, and holds v1: guard 3
    assert Transfer("n2", "n3", "k") in _enabled(state)


def _read_repaired_fallback() -> State:
    """delete-fallback-copy's prefix: c1's put through n1 is acknowledged by n3; n1
    crashes; c1's get through n3 reads the fallback n2 (empty) and read-repairs
    v1 into n2's store; n1 recovers; c1's delete through n1 is acknowledged."""
    state = put(initial_state(SLOPPY), "c1", "n1")
    state = deliver(state, Kind.REPLICA_PUT, dst="n3")
    state = deliver(state, Kind.REPLICA_PUT_ACK, src="n3")
    state = do(state, Crash("n1"))
    state = get(state, "c1", "n3")
    state = deliver(state, Kind.REPLICA_GET, dst="n2")
    state = deliver(state, Kind.REPLICA_GET_REPLY, src="n2")
    state = deliver(state, Kind.READ_REPAIR, dst="n2")
    assert values(state.node("n2").store[0]) == (1,)  # a copy outside k's top N
    state = do(state, Recover("n1"))
    state = do(state, ClientDelete("c1", "n1", "k"))
    assert _reaps(state) == set()  # the delete in flight: guard 2
    state = deliver(state, Kind.REPLICA_PUT, dst="n3")
    state = deliver(state, Kind.REPLICA_PUT_ACK, src="n3")
    assert state.client("c1").acked == (1, 2)
    return state


def test_a_copy_outside_the_replicas_that_the_tombstones_dominate_is_dropped() -> None:
    state = _read_repaired_fallback()
    # n1 and n3 hold the tombstone; n2's v1 is covered: guard 3 refuses their reaps,
    # and n2's copy is dropped as its own step
    assert _reaps(state) == {"n2"}
    after = do(state, Reap("k", ("n2",)))
    assert values(after.node("n2").store[0]) == ()
    assert _reaps(after) == {"n1", "n3"}  # guard 3 holds now
    # a reap at n1 or n3 alone: the copies are the reaping node's only
    assert values(do(after, Reap("k", ("n1",))).node("n3").store[0]) == (2,)
