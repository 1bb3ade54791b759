"""Reaping during a membership change, and copies outside the key's replicas
(spec/deletes.py guards 3 and 4, spec.membership.reap_members / same_view /
replicates, the outside-copy drop; session 8).

Each scenario is a prefix of a suite entry's trace (delete-join-pending,
delete-fallback-copy), stepped by hand so the guards can be asked in between; the
outside-copy drop's guards (domination, reachability, a replica asks) are asked on
states edited by hand, one guard each (each test fails under its hand mutant, rev4
S4, S5, S7, which change no suite verdict).
"""

from __future__ import annotations

from spec.actions import Action, ClientDelete, Crash, Gossip, Join, Leave, Reap, Recover, Transfer
from spec.clocks import Payload, values
from spec.config import Config
from spec.deletes import _reaped
from spec.membership import reap_members, replicates, same_view
from spec.model import initial_state, successors
from spec.state import Kind, MembershipState, State, new_node
from spec.step import Edit, plan_of
from tests.spec.test_model import deliver, deliver_all, do, get, put

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


# -- the outside-copy drop's guards (rev4 F6: mutants S4, S5, S7) ---------------------------

#: k's top N is n4, n1; n2 and n3 are outside it. Two clients: c2 may put after c1's delete.
OUTSIDE = Config(name="outside-copy", nodes=("n1", "n2", "n3", "n4"), n=2, r=2, w=2,
                 clients=2, anti_entropy=False, puts_per_client=1, deletes_per_client=1,
                 gets_per_client=2, read_modify_write=True)


def _deleted_on_the_replicas() -> tuple[State, Payload]:
    """c1's put v1 and its delete (context v1) through n4, both acknowledged by the
    replicas n4, n1, which hold only the tombstone; returns the state and the payload
    of v1 (as the replicas held it before the delete)."""
    state = deliver_all(put(initial_state(OUTSIDE), "c1", "n4"))
    v1 = state.node("n4").store[0]
    state = deliver_all(get(state, "c1", "n4"))
    state = deliver_all(do(state, ClientDelete("c1", "n4", "k")))
    assert state.client("c1").acked == (1, 2)
    assert all(values(state.node(n).store[0]) == (2,) for n in ("n4", "n1"))
    return state, v1


def _edited(state: State, **nodes: tuple[bool, Payload | None]) -> State:
    """``state`` with the named nodes' up flag and copy of k set by hand (None: keep
    the copy). The states below are built, not reached: each isolates one guard."""
    edit = Edit(state, plan_of(state.config))
    for name, (up, payload) in nodes.items():
        node = edit.node(name)
        store = node.store if payload is None else (payload, *node.store[1:])
        edit.set_node(name, new_node(up, store, node.hints, node.coord))
    return edit.build()


def test_the_drop_keeps_an_outside_copy_the_tombstones_do_not_dominate() -> None:
    """n2 (outside k's top N) holds v3, c2's put after the delete (its context saw the
    tombstone): a live, newer version. The replicas may reap their tombstones (no store
    holds v1), but n2's copy is no drop: reconciling it with the tombstone leaves v3.
    Without the domination check (mutant S4) n2's v3 is dropped with the tombstones."""
    deleted, _ = _deleted_on_the_replicas()
    tombstone = deleted.node("n4").store[0]
    state = deliver_all(get(deleted, "c2", "n4"))
    state = deliver_all(put(state, "c2", "n4"))
    assert state.client("c2").acked == (3,)
    v3 = state.node("n4").store[0]
    assert values(v3) == (3,)
    state = _edited(state, n4=(True, tombstone), n1=(True, tombstone), n2=(True, v3))
    assert _reaps(state) == {"n4", "n1"}
    assert values(do(state, Reap("k", ("n4",))).node("n2").store[0]) == (3,)


def test_the_drop_waits_until_the_outside_node_is_reachable() -> None:
    """n2 (outside k's top N) holds the covered v1 and is down: guard 3 refuses the
    replicas' reaps (a down node's disk persists), and the drop of n2's copy waits
    until n2 is up (the implementation's reaper can ask only a node it reaches).
    Without the reachability check (mutant S5) the down node's copy is dropped."""
    deleted, v1 = _deleted_on_the_replicas()
    down = _edited(deleted, n2=(False, v1))
    assert _reaps(down) == set()
    assert _reaps(_edited(down, n2=(True, None))) == {"n2"}  # up again: the drop


def test_only_a_replica_of_the_key_drops_outside_copies() -> None:
    """n2 holds the covered v1, n3 (both outside k's top N) holds the tombstone, the
    replicas n4, n1 are down: n3 passes guards 1, 2 and 4 but is no replica of k, so
    it drops nothing (nor reaps: guard 3, n2 holds v1); once the replica n4 is up, it
    drops n2's copy (and n3's, a dominated outside copy too). Without the replica
    check (mutant S7) n3 drops n2's copy."""
    deleted, v1 = _deleted_on_the_replicas()
    tombstone = deleted.node("n4").store[0]
    state = _edited(deleted, n2=(True, v1), n3=(True, tombstone), n4=(False, None),
                    n1=(False, None))
    assert not replicates(plan_of(OUTSIDE), None, "n3", "k")
    assert _reaps(state) == set()
    assert _reaps(_edited(state, n4=(True, None))) == {"n2", "n3"}


# -- a delete during a leave: the old ring's members (rev4 F2: mutant S1) ------------------

#: delete-leave-pending: n1..n3 (N=2, R=1, W=2), one of them leaves; k's top N is
#: n3, n1 before n3 leaves and n1, n2 after
LEAVE = Config(name="delete-leave", nodes=("n1", "n2", "n3"), n=2, r=1, w=2, leaves=1,
               anti_entropy=False, puts_per_client=1, deletes_per_client=1,
               gets_per_client=2, read_modify_write=True)


def test_a_leaving_node_holding_a_covered_version_blocks_the_reap() -> None:
    """c1's put v1 through n1 (on n3, n1); n3 announces its leave and every node hears
    of it; c1 reads and deletes through n1, which writes both rings (n1, n2, n3 hold
    the tombstone). Edited by hand: the leaving n3 holds v1 again (as if it had missed
    the delete). n3 is on the ring before the change, so guard 3 asks it and refuses
    every reap: n3's transfer to n2 is still to come. Asking only the ring after the
    change (mutant S1) lets n1 and n2 reap; the transfer then brings v1 to n2 and no
    store holds the tombstone: the acknowledged delete is undone, and a get that reads
    n2 returns v1 (no_resurrection). The reaps are taken here by hand to show it."""
    state = deliver_all(put(initial_state(LEAVE), "c1", "n1"))
    v1 = state.node("n3").store[0]
    assert values(v1) == (1,) and values(state.node("n2").store[0]) == ()
    state = do(state, Leave("n3"))
    state = do(do(state, Gossip("n3", "n1")), Gossip("n3", "n2"))
    state = deliver_all(get(state, "c1", "n1"))
    state = deliver_all(do(state, ClientDelete("c1", "n1", "k")))
    assert state.client("c1").acked == (1, 2)
    assert _reaps(state) == {"n1", "n2", "n3"}  # every copy the tombstone: guard 3 holds
    plan = plan_of(LEAVE)
    state = _edited(state, n3=(True, v1))
    assert _reaps(state) == set()
    assert Transfer("n3", "n2", "k") in _enabled(state)
    unsafe = _reaped(_reaped(state, plan, "k", "n1"), plan, "k", "n2")
    unsafe = deliver_all(do(unsafe, Transfer("n3", "n2", "k")))
    # the delete undone: no store holds the tombstone, the new ring's n2 holds v1
    assert [values(node.store[0]) for node in unsafe.nodes] == [(), (1,), (1,)]
