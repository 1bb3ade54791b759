"""A node that left the ring can join it again (session 13's probe B).

Scenario (riak_core: ``riak-admin cluster leave`` then ``cluster join`` of the same
node; Cassandra: a decommissioned node bootstrapped again): ``vdynamo leave n4``,
then ``vdynamo join n4`` on the same directory. The node started again on its own
data file, whose membership view says it ``left`` (settled); before the fix it never
announced a new join (``Gossiper.join_pending`` was only set for a node absent from
its view) and ``vdynamo serve`` stopped it 4 s after the start ("every node here left
the ring"): ``vdynamo join`` exited 1. Now ``vdynamo join`` of a node that left starts
it with ``serve --rejoin`` (``Node(rejoin=True)``; the simulator's ``join`` of a node
that left likewise): the store of a node that left for good is cleared of what it
held (:func:`impl.gossip.retire_if_left`) and it joins again as a new node; the
current values are handed to it, and it is ``up``. A mere restart of a node that
left still stays left (the spec's Recover; tests/refinement/test_trace_membership.py).
"""

from __future__ import annotations

import impl
from impl import serve as serve_module
from impl.cluster import WatchedStorage
from impl.gossip import ANNOUNCED_META, retire_if_left
from impl.membership import MemberStatus, initial_membership
from impl.messages import Gossip
from impl.storage.memory import MemoryStorage
from spec.ring import Ring


def _status(cluster: impl.SimulatedCluster, at: str, of: str) -> MemberStatus | None:
    member = cluster.node(at).view.get(of)
    return None if member is None else member.status


def test_a_node_that_left_joins_again_on_its_own_data_file() -> None:
    """n4 leaves, the keys are overwritten (read-modify-write), n4 is started again on
    its SQLite file: it becomes ``up`` in every member's view and reads at it with
    ``r=1`` give the new values (before the fix: it stayed ``left``)."""
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3, storage="sqlite")
    try:
        client = cluster.client("n1")
        keys = [b"k%d" % i for i in range(20)]
        for key in keys:
            client.put(key, b"old")
        cluster.leave("n4")
        cluster.run_until_quiet(max_time=900)
        assert _status(cluster, "n1", "n4") is MemberStatus.LEFT
        for key in keys:
            client.put(key, b"new", context=client.get(key).context)
        cluster.join("n4")  # the same file: its view says it left
        cluster.run_until_quiet(max_time=900)
        assert cluster.node("n4").status is MemberStatus.UP
        assert [_status(cluster, name, "n4") for name in ("n1", "n2", "n3")] \
            == [MemberStatus.UP] * 3
        assert len(cluster.node("n4").storage) > 0  # ranges handed to it again
        at_n4 = cluster.client("n4")
        assert [at_n4.get(key, r=1).values for key in keys] == [[b"new"]] * len(keys)
    finally:
        cluster.close()


def test_vdynamo_serve_keeps_a_rejoining_node_running() -> None:
    """``until_stopped`` must not stop a node that left in an earlier start and now
    joins again (before the fix, its 'left' status stopped it after 4 s)."""

    class _Node:
        has_left = True
        settling = False
        rejoining = True

    class _Server:
        node = _Node()

    servers: list[object] = [_Server()]
    assert serve_module.leave_state(servers) == "serving"  # type: ignore[arg-type]
    _Node.rejoining = False
    assert serve_module.leave_state(servers) == "left"  # type: ignore[arg-type]


def _store(status: MemberStatus, settled: bool) -> MemoryStorage:
    storage = MemoryStorage()
    view = initial_membership(Ring.evenly_spaced(["n1", "n2", "n3", "n4"]))
    storage.set_meta("membership", view.announce("n4", status=status, tokens=(),
                                                 settled=settled).to_bytes())
    storage.write(b"old", b"stale record bytes")
    storage.add_hint("n1", b"k", b"hint record bytes")
    storage.set_meta(ANNOUNCED_META, b'{"settled": true, "leave": true}')
    return storage


def test_a_store_that_left_for_good_is_cleared_and_keeps_its_history() -> None:
    """:func:`retire_if_left` clears the records (a value deleted and reaped meanwhile
    would come back through them), the hints and the leave's announcement (kept, the
    node would leave again at once), and keeps the membership history (its next
    announcement must outrank its ``left``)."""
    storage = _store(MemberStatus.LEFT, settled=True)
    assert retire_if_left(storage, "n4")
    assert list(storage.scan()) == [] and storage.hints() == []
    assert not storage.get_meta(ANNOUNCED_META)
    assert storage.get_meta("membership")


def test_a_store_that_has_not_left_for_good_is_kept() -> None:
    """Not left, or left but its change not settled (it still announces the settlement):
    nothing is cleared, and the node is not rejoining."""
    for status, settled in ((MemberStatus.LEFT, False), (MemberStatus.LEAVING, False),
                            (MemberStatus.UP, True)):
        storage = _store(status, settled)
        assert not retire_if_left(storage, "n4")
        assert [key for key, _ in storage.scan()] == [b"old"] and len(storage.hints()) == 1


def test_a_node_that_joined_later_left_and_joins_again_becomes_up() -> None:
    """n4 is not in the configuration (no seed: ``vdynamo join n4`` on a running
    cluster), joins, leaves, and is joined again. No member gossips to a node that
    left, and the seeds' views equal n4's: before the fix no seed answered its gossip,
    it never announced its join and stayed ``left`` (found on real processes:
    ``vdynamo join n4`` after ``vdynamo leave n4`` timed out, "n4 not ready within
    30 s"; session 13's review). After a round unanswered it announces its join."""
    cluster = impl.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=3, storage="sqlite")
    try:
        client = cluster.client("n1")
        keys = [b"k%d" % i for i in range(20)]
        for key in keys:
            client.put(key, b"old")
        cluster.join("n4")
        cluster.run_until_quiet(max_time=900)
        cluster.leave("n4")
        cluster.run_until_quiet(max_time=900)
        assert _status(cluster, "n1", "n4") is MemberStatus.LEFT
        for key in keys:
            client.put(key, b"new", context=client.get(key).context)
        cluster.join("n4")
        cluster.run_until_quiet(max_time=900)
        assert [_status(cluster, name, "n4") for name in ("n1", "n2", "n3", "n4")] \
            == [MemberStatus.UP] * 4
        at_n4 = cluster.client("n4")
        assert [at_n4.get(key, r=1).values for key in keys] == [[b"new"]] * len(keys)
    finally:
        cluster.close()


def _left_and_wiped(rejoin: bool) -> impl.SimulatedCluster:
    """n4 (an initial node) leaves; its data file is deleted (the in-memory engine
    starts empty); it is started again, with ``--rejoin`` (the simulator's ``join``
    of a node that left) or without (a plain ``vdynamo serve``)."""
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3)
    client = cluster.client("n1")
    for key in KEYS:
        client.put(key, b"v")
    cluster.leave("n4")
    cluster.run_until_quiet(max_time=900)
    assert _status(cluster, "n1", "n4") is MemberStatus.LEFT
    if rejoin:
        cluster.join("n4")  # a new store: nothing says it left but the others' views
    else:
        cluster.left.discard("n4")
        cluster.storages["n4"] = WatchedStorage(MemoryStorage())
        cluster.sim.add_node("n4")
    cluster.run_for(60.0)
    return cluster


KEYS = [b"k%d" % i for i in range(20)]


def test_an_initial_node_whose_data_file_was_deleted_after_it_left_joins_again() -> None:
    """``vdynamo join n4`` (``serve --rejoin``) of an initial node whose data file
    was deleted after it left: its new store holds no view, so nothing told it that
    it left (:func:`impl.gossip.retire_if_left` found no membership) and it never
    announced a join: ``left`` in every view for good (session 13's open finding;
    ``vdynamo join`` waited for ``up`` in vain). Now the first view that says it left
    (settled) makes it join anew (``Gossiper.rejoin_if_left``): ``up`` everywhere,
    its ranges handed to it, reads at it with ``r=1`` answer the values."""
    cluster = _left_and_wiped(rejoin=True)
    assert [_status(cluster, name, "n4") for name in ("n1", "n2", "n3", "n4")] \
        == [MemberStatus.UP] * 4
    assert len(cluster.node("n4").storage) > 0
    at_n4 = cluster.client("n4")
    assert [at_n4.get(key, r=1).values for key in KEYS] == [[b"v"]] * len(KEYS)


def test_an_initial_node_whose_data_file_was_deleted_after_it_left_stays_left() -> None:
    """Started without ``--rejoin`` it stays left (the spec's Recover: a restart is no
    join; ``vdynamo serve`` then stops it, its log naming ``vdynamo join NODE``)."""
    cluster = _left_and_wiped(rejoin=False)
    assert [_status(cluster, name, "n4") for name in ("n1", "n2", "n3", "n4")] \
        == [MemberStatus.LEFT] * 4
    assert cluster.node("n4").has_left and not cluster.node("n4").rejoining


def test_a_wiped_member_started_with_rejoin_does_not_join_again() -> None:
    """``--rejoin`` on a new store of a node that never left (its disk replaced): it is
    a member, so it announces no join (its entry in the others' views is unchanged),
    and once it left, a view saying so does not make it join again."""
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3)
    client = cluster.client("n1")
    for key in KEYS:
        client.put(key, b"v")
    entry = cluster.node("n1").view.get("n4")
    cluster.lose_disk("n4")
    cluster._rejoining.add("n4")  # the next start of n4 is a ``serve --rejoin``
    cluster.restart("n4")
    cluster.run_for(30.0)
    node = cluster.node("n4")
    assert node.gossiper.rejoin_if_left
    assert cluster.node("n1").view.get("n4") == entry
    cluster.leave("n4")
    cluster.run_until(lambda: node.has_left and not node.settling, max_time=900)
    view = cluster.node("n1").view
    node.receive(cluster.sim.node_now("n4"), "n1", Gossip(view.to_bytes(), reply=True))
    assert node.has_left and not node.gossiper.join_pending


def test_a_wiped_node_started_with_rejoin_waits_for_its_leave_to_settle() -> None:
    """``rejoin_if_left`` acts on a view saying the node left, settled: a ``left``
    not yet settled (the leave's handover still under way) is no cue to join; the
    same entry settled is (review 2 of session 14)."""
    from impl.membership import Member
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3)
    client = cluster.client("n1")
    for key in KEYS:
        client.put(key, b"v")
    cluster.lose_disk("n4")
    cluster._rejoining.add("n4")
    cluster.restart("n4")
    cluster.run_for(30.0)
    node = cluster.node("n4")
    assert node.gossiper.rejoin_if_left and not node.gossiper.join_pending
    view = cluster.node("n1").view
    held = view.get("n4")
    assert held is not None
    now = cluster.sim.node_now("n4")
    unsettled = view.with_member(Member("n4", held.version + 1, MemberStatus.LEFT))
    node.receive(now, "n1", Gossip(unsettled.to_bytes(), reply=True))
    assert node.gossiper.rejoin_if_left and not node.gossiper.join_pending
    settled = view.with_member(Member("n4", held.version + 2, MemberStatus.LEFT, settled=True))
    node.receive(now, "n1", Gossip(settled.to_bytes(), reply=True))
    assert not node.gossiper.rejoin_if_left


def test_a_node_restarted_with_rejoin_mid_leave_on_its_own_file_stays_left() -> None:
    """``serve --rejoin`` (say, in a service unit that always passes it) of a node
    whose leave was under way when it stopped, on its own data file: the leave goes
    on and the node stays ``left``: only a new store (no membership) may take the
    others' ``left`` as a cue to join (review 2 of session 14: with every
    ``--rejoin`` start taken as a new store the node joined again once its own leave
    settled, undoing ``vdynamo leave``)."""
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3)
    client = cluster.client("n1")
    for key in KEYS:
        client.put(key, b"v")
    cluster.leave("n4")
    cluster.run_until(lambda: _status(cluster, "n1", "n4") is MemberStatus.LEAVING,
                      max_time=120)
    cluster.crash("n4")
    cluster._rejoining.add("n4")
    cluster.restart("n4")
    assert not cluster.node("n4").gossiper.rejoin_if_left
    cluster.run_until_quiet(max_time=900)
    assert [_status(cluster, name, "n4") for name in ("n1", "n2", "n3")] \
        == [MemberStatus.LEFT] * 3
