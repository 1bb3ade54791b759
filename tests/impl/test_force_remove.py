"""Force-remove of a node down for good (riak_core's ``riak-admin cluster
force-remove``, Cassandra's ``nodetool removenode``; docs/runtime.md, "Force-remove
of a node down for good").

An operator on a live member removes a member that will never come back
(:meth:`impl.node.Node.force_remove`): its entry goes ``removing`` by gossip, the
surviving replicas hand its ranges to the new owners (the removed node's copies
are gone), hints addressed to it are re-addressed to them, and once every
survivor told the claimant it handed over, the claimant announces it ``removed``
(the new owners serve from then on) and its settlement. Before, there was no way
to remove such a node: its ranges' writes went to fallbacks with hints for it for
ever, and a replaced disk among its replicas never ended its rebuild.

Each scenario: 5 nodes (4 for the rebuild), N = 3, R = W = 2, n5 crashed for good.
"""

from __future__ import annotations

from typing import Any

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import DynamoError, InvalidValueError, NodeDownError
from impl.membership import ON_RING, MemberStatus
from impl.messages import HintDelivery
from impl.versions import live_values
from tests.conftest import PROFILE

KEYS = [b"k%d" % i for i in range(40)]
CLOCKS = ["dvv", "client-vclock", "server-vclock", "lww"]
#: the clocks the acked-writes test runs under in CI (the soak profile: all four;
#: session 43: the survivors not handing keys on fails each clock alike)
CLOCKS_IN_CI = CLOCKS if PROFILE == "soak" else ["dvv", "lww"]


def _status(cluster: SimulatedCluster, of: str, at: str = "n1") -> tuple[MemberStatus, bool]:
    member = cluster.node(at).view.get(of)
    assert member is not None
    return member.status, member.settled


def _dead_n5(seed: int = 1, **options: Any) -> SimulatedCluster:
    """5 running nodes; 20 keys written, n5 crashed for good (its failure suspected),
    20 more keys written (n5's share to fallbacks, with hints for it)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, **options)
    cluster.run_for(3.0)
    writer = cluster.client("n1")
    for key in KEYS[:20]:
        writer.put(key, b"a-" + key)
    cluster.crash("n5")
    cluster.run_for(13.0)  # nothing heard from n5 for longer than 12 s
    for key in KEYS[20:]:
        writer.put(key, b"b-" + key)
    return cluster


def _acked(key: bytes) -> bytes:
    return (b"a-" if KEYS.index(key) < 20 else b"b-") + key


@pytest.mark.parametrize("clock", CLOCKS_IN_CI)
def test_acked_writes_are_on_the_new_owners_at_the_handover_and_read_at_r2_and_rn(
        clock: str) -> None:
    """At the moment the claimant announces n5 ``removed`` (the new owners serve),
    every key's top N on the new ring holds its acknowledged value (handed over by
    the survivors, n5's copies being gone), no node keeps a hint for n5, and once
    settled every acknowledged write reads back at R = 2 and at R = N = 3."""
    with _dead_n5(clock=clock) as cluster:
        cluster.force_remove("n1", "n5")
        assert _status(cluster, "n5") == (MemberStatus.REMOVING, False)
        n1 = cluster.node("n1")
        cluster.run_until(lambda: _status(cluster, "n5")[0] is MemberStatus.REMOVED,
                          max_time=60.0)
        survivors = ["n1", "n2", "n3", "n4"]
        missing = [(key, owner) for key in KEYS
                   for owner in n1.partitioning.preference_list(key, 3)
                   if (record := cluster.node(owner).record(key)) is None
                   or live_values(record) != [_acked(key)]]
        assert missing == []  # without the survivors' transfer: 12 of 120 (each clock)
        assert all("n5" not in cluster.node(n).partitioning.nodes for n in ["n1"])
        cluster.run_until(lambda: all(_status(cluster, "n5", at)
                                      == (MemberStatus.REMOVED, True) for at in survivors),
                          max_time=60.0)
        cluster.run_until_quiet()
        assert [h for n in survivors for h in cluster.node(n).hints.all()
                if h.intended == "n5"] == []
        reader = cluster.client("n3")
        for r in (2, 3):
            assert [key for key in KEYS if reader.get(key, r=r).values != [_acked(key)]] == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_new_owner_does_not_count_towards_r_before_it_holds_the_range(seed: int) -> None:
    """Strict quorums (no fallback answers for n5): 40 keys written while n2 was down
    (acknowledged by their other replicas, n5 among them), then n2 back and n5 dead
    for good. Right after the force-remove each key is read once at R = 2: its
    replicas are still n5's (the new owner does not count until the survivors
    handed it the range, a joining node's rule), so n5's silence makes the read
    wait for the survivors, one of which holds the value. With the new owners
    serving at once (the mutant ``SERVING_RING = SERVING``) a new owner's empty
    answer and n2's made R: some keys read not found (figures in docs/runtime.md)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, sloppy_quorum=False,
                          anti_entropy=False, read_repair=False) as cluster:
        cluster.run_for(3.0)
        cluster.crash("n2")
        cluster.run_for(5.0)
        writer = cluster.client("n1")
        for key in KEYS:
            writer.put(key, b"v-" + key)
        cluster.restart("n2")
        cluster.crash("n5")
        cluster.run_for(15.0)  # nothing heard from n5 for longer than 12 s
        cluster.force_remove("n1", "n5")
        cluster.run_for(0.05)  # the removal heard by gossip at a few nodes
        reader = cluster.client("n3")
        stale = [key for key in KEYS if reader.get(key).values != [b"v-" + key]]
        assert stale == []
        cluster.run_until(lambda: _status(cluster, "n5") == (MemberStatus.REMOVED, True),
                          max_time=120.0)
        assert [key for key in KEYS if reader.get(key).values != [b"v-" + key]] == []


def test_a_sequential_clients_read_modify_write_sees_its_last_value_throughout() -> None:
    """A sequential client does read-modify-write on the 40 keys every 20 ms from the
    force-remove through its settlement (about 8 s): each read sees the value it
    wrote last (or the acknowledged one before the removal); the removal finishes
    under that load (before: a survivor waited for no hint for n5 at all, and a
    steady load always left one)."""
    with _dead_n5() as cluster:
        cluster.force_remove("n1", "n5")
        client = cluster.client("n2")
        last = {key: _acked(key) for key in KEYS}
        stale = []
        step = 0
        while _status(cluster, "n5") != (MemberStatus.REMOVED, True):
            assert step < 2000, "the removal did not finish under the load"
            key = KEYS[step % len(KEYS)]
            got = client.get(key)
            if got.values != [last[key]]:
                stale.append((key, got.values))
            value = b"x%d" % step
            client.put(key, value, got.context)
            last[key] = value
            step += 1
            cluster.run_for(0.02)
        assert stale == []
        assert step > 50


def test_a_rebuild_waiting_for_the_removed_node_ends() -> None:
    """4 nodes: n1's disk is replaced while n4, a replica of every range of n1, is
    down for good. n1 rebuilds by exchanging with every other replica of its
    ranges, so it waited for n4 for ever (its empty copies not counting towards
    R). Once n4 is force-removed its ranges' replicas are the survivors: the rebuild
    ends, and every acknowledged write reads back through n1."""
    with SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1) as cluster:
        cluster.run_for(3.0)
        writer = cluster.client("n2")
        for key in KEYS:
            writer.put(key, b"v-" + key)
        cluster.crash("n4")
        cluster.run_for(13.0)
        cluster.wipe("n1")
        n1 = cluster.node("n1")
        cluster.run_for(30.0)
        assert n1.rebuilding  # waits for an exchange with n4, which never comes
        assert any(peer == "n4" for _, peer in n1.rebuild.pending)
        cluster.force_remove("n2", "n4")
        cluster.run_until(lambda: not n1.rebuilding, max_time=120.0)
        assert n1.stats["rebuilt"] == 1
        reader = cluster.client("n1")
        assert [key for key in KEYS if reader.get(key).values != [b"v-" + key]] == []


def test_the_removed_node_coming_back_is_refused_and_changes_nothing() -> None:
    """n5 restarted on its old store after it was removed: its peers refuse every
    message of it but gossip, which they answer with their view; it learns it was
    removed and serves nothing (a client request gets an error naming why), its
    stale copies and view reach nobody, and n5 stays ``removed`` everywhere."""
    with _dead_n5() as cluster:
        cluster.force_remove("n1", "n5")
        survivors = ["n1", "n2", "n3", "n4"]
        cluster.run_until(lambda: all(_status(cluster, "n5", at)
                                      == (MemberStatus.REMOVED, True) for at in survivors),
                          max_time=60.0)
        cluster.run_until_quiet()
        writer = cluster.client("n1")
        for key in KEYS:
            writer.put(key, b"after-" + key, writer.get(key).context)
        # (the survivors' own repair of the puts done first: since session 35's
        # schedule n2 got k39's new version by anti-entropy during the 10 s below)
        cluster.run_until_quiet()
        before = {n: (cluster.node(n).view, {k: cluster.node(n).record(k) for k in KEYS})
                  for n in survivors}
        cluster.restart("n5")
        n5 = cluster.node("n5")
        stale = n5.record(KEYS[0])  # it holds stale copies
        assert stale is not None and live_values(stale) == [_acked(KEYS[0])]
        cluster.run_for(10.0)
        assert n5.gossiper.removed
        assert sum(cluster.node(n).stats["removed-peer-refused"] for n in survivors) >= 1
        after = {n: (cluster.node(n).view, {k: cluster.node(n).record(k) for k in KEYS})
                 for n in survivors}
        assert after == before
        with pytest.raises(NodeDownError, match="force-removed"):
            cluster.client("n5").get(KEYS[0], coordinator="n5")
        with pytest.raises(InvalidValueError, match="node n5 was force-removed"):
            cluster.force_remove("n5", "n4")
        # a stale copy n5 sends (a hint delivery of a key n1 holds no copy of, as a
        # node that never heard of the removal would) is refused: n1 stores nothing
        ghost = next(key for key in KEYS if cluster.node("n1").record(key) is None
                     and n5.record(key) is not None)
        raw = n5.storage.read(ghost)
        assert raw
        n1 = cluster.node("n1")
        assert n1.receive(cluster.now, "n5", HintDelivery(1, ghost, raw)) == []
        assert n1.record(ghost) is None
        cluster.crash("n5")
        cluster.restart("n5")  # its store says it was removed: nothing at all
        cluster.run_for(5.0)
        assert cluster.node("n5").gossiper.removed
        assert after == {n: (cluster.node(n).view,
                             {k: cluster.node(n).record(k) for k in KEYS})
                         for n in survivors}


@pytest.mark.parametrize(("node", "why"), [
    ("n9", "unknown node 'n9'"),
    # (this node's own hearing named: session 29's mutant of it, ``heard = None``, said
    # only that another member heard from it)
    ("n2", r"'n2' is up \(this node heard from it \d+\.\d s ago, under 12 s"),
    ("n1", "is this node"),
])
def test_bad_force_removes_are_refused_naming_why_and_change_nothing(
        node: str, why: str) -> None:
    with _dead_n5() as cluster:
        view = cluster.node("n1").view
        with pytest.raises(InvalidValueError, match=why):
            cluster.force_remove("n1", node)
        assert cluster.node("n1").view == view


def test_a_node_stopped_just_now_is_refused_saying_when_to_try_again() -> None:
    """Session 22's walk through README: `vdynamo remove n5` right after n5 was killed
    is refused ("heard from it 2.6 s ago, under 12 s"), and nothing said when a retry
    would be taken; now the refusal says how long at most, and a retry after that
    is taken."""
    with SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1) as cluster:
        cluster.run_for(3.0)
        cluster.crash("n4")
        cluster.run_for(2.0)
        with pytest.raises(InvalidValueError, match=r"removed in \d+\.\d s at most") as raised:
            cluster.force_remove("n1", "n4")
        wait = float(str(raised.value).split(" removed in ")[1].split(" s")[0])
        assert 0.0 < wait <= 12.0, raised.value
        cluster.run_for(wait + 0.1)
        cluster.force_remove("n1", "n4")


def test_a_removal_refused_for_good_does_not_say_to_wait() -> None:
    """Session 23's walk through README (3 nodes, N = 3): `vdynamo remove n3` right
    after n3 was killed said it "can be removed in 7.6 s at most", and the retry
    after that wait was refused: "would leave 2 members, fewer than N = 3". The
    lasting reason is given first now."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        cluster.run_for(3.0)
        cluster.crash("n3")  # and at once: n1 heard from n3 just now
        with pytest.raises(InvalidValueError, match="would leave 2 members, fewer than N = 3"):
            cluster.force_remove("n1", "n3")


def test_a_second_removal_that_leaves_fewer_than_n_nodes_is_refused() -> None:
    """4 nodes, N = 3: removing n4 leaves 3; removing n3 then would leave 2."""
    with SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1) as cluster:
        cluster.run_for(3.0)
        cluster.crash("n4")
        cluster.run_for(13.0)
        with pytest.raises(InvalidValueError, match="'n2' is up"):
            cluster.force_remove("n1", "n2")
        cluster.force_remove("n1", "n4")
        with pytest.raises(InvalidValueError, match="already removed"):
            cluster.force_remove("n1", "n4")
        cluster.run_until(lambda: _status(cluster, "n4") == (MemberStatus.REMOVED, True),
                          max_time=60.0)
        cluster.crash("n3")
        cluster.run_for(13.0)
        with pytest.raises(InvalidValueError, match="would leave 2 members, fewer than N = 3"):
            cluster.force_remove("n1", "n3")



@pytest.mark.parametrize("seed", [2, 3])
def test_a_w1_write_held_only_by_a_fallback_is_on_the_new_owners_at_the_handover(
        seed: int) -> None:
    """W = 1 writes whose only copies are a fallback's: each coordinator (not a replica
    of its keys, nor a new owner) was cut off from every peer, so it kept its own copy
    and a hint for n5 (the key's last replica), and nothing else. n5 is then
    force-removed (strategy 1: the future ring is the ring without n5's tokens, known
    beforehand). At the handover (n5 ``removed`` at the claimant) every key's top N
    on the new ring holds the value: a survivor tells the claimant only once the hints
    it kept for n5, re-addressed to the new top N, were delivered (the two hint-id
    marks, ``Gossiper._removal_hints_out``). Review of session 18 (rev1): the
    mutant that skips that wait (``_removal_hints_out`` returning True) broke no
    earlier test for its purpose; here it leaves 5 and 10 of 18 copies missing
    (seeds 2 and 3; w4 on none of its three new replicas: a read at R = 3 right
    after the handover finds nothing)."""
    with SimulatedCluster(nodes=5, n=3, r=1, w=1, seed=seed, partitioning="strategy1",
                          read_repair=False, anti_entropy=False) as cluster:
        cluster.run_for(3.0)
        cluster.crash("n5")
        cluster.run_for(13.0)
        serving = cluster.node("n1").partitioning
        future = serving.ring.without_node("n5")
        written: list[bytes] = []
        for coordinator in ["n2", "n3", "n4"]:
            keys = [key for key in (b"w%d" % i for i in range(2000))
                    if serving.preference_list(key, 3)[-1] == "n5"
                    and coordinator not in future.preference_list(key, 3)][:3]
            cluster.partition([coordinator],
                              [n for n in ["n1", "n2", "n3", "n4"] if n != coordinator])
            cluster.run_for(6.0)
            for key in keys:
                cluster.client(coordinator).put(key, b"fb-" + key, w=1,
                                                coordinator=coordinator)
                assert [h.intended for h in cluster.node(coordinator).hints.all()
                        if h.key == key] == ["n5"]
            cluster.heal()
            cluster.run_for(6.0)
            written += keys
        cluster.force_remove("n1", "n5")
        cluster.run_until(lambda: _status(cluster, "n5")[0] is MemberStatus.REMOVED,
                          max_time=60.0)
        ring = cluster.node("n1").partitioning
        missing = [(key, owner) for key in written for owner in ring.preference_list(key, 3)
                   if (record := cluster.node(owner).record(key)) is None
                   or live_values(record) != [b"fb-" + key]]
        assert missing == []

def test_a_hint_for_the_removed_node_goes_to_its_new_owners_not_back_to_it() -> None:
    """Once every survivor has seen the claim (n5's partitions handed out: the future
    ring is without n5), the hint scans re-address each hint kept for n5: before the
    handover no survivor keeps a hint for n5, and every key hinted for n5 is held by
    (or hinted to) each of its top N on the future ring. Pins the behaviour; it does
    not kill the mutant that re-addresses by the serving ring (``_retarget``'s
    ``ring = self.gossiper.partitioning``): ``HintStore.add`` drops the copy for n5
    as a duplicate of the hint being re-addressed, the others go to the key's
    surviving old replicas, whose ``hand_on`` at delivery passes the key on to its
    new owner (docs/runtime.md, "Force-remove of a node down for good", the
    review's table)."""
    with _dead_n5() as cluster:
        survivors = ["n1", "n2", "n3", "n4"]
        hinted = {h.key for n in survivors for h in cluster.node(n).hints.all()
                  if h.intended == "n5"}
        assert hinted  # the writes while n5 was down left hints for it
        cluster.force_remove("n1", "n5")
        cluster.run_until(lambda: all(
            (m := cluster.node(n).view.get("n5")) is not None and not m.tokens
            for n in survivors), max_time=30.0)
        cluster.run_for(2.5 * cluster.config.hint_scan_interval)
        assert _status(cluster, "n5")[0] is MemberStatus.REMOVING  # before the handover
        kept = sorted((n, h.key) for n in survivors for h in cluster.node(n).hints.all()
                      if h.intended == "n5")
        assert kept == []
        future = cluster.node("n1").gossiper.future
        for key in sorted(hinted):
            for owner in future.preference_list(key, 3):
                assert cluster.node(owner).record(key) is not None or any(
                    h.intended == owner and h.key == key
                    for n in survivors for h in cluster.node(n).hints.all()), (key, owner)


def _written(nodes: int, partitioning: str) -> SimulatedCluster:
    """``nodes`` running nodes (N = 3, R = W = 2, seed 1), 30 keys written at n1."""
    cluster = SimulatedCluster(nodes=nodes, n=3, r=2, w=2, seed=1, partitioning=partitioning)
    cluster.run_for(3.0)
    writer = cluster.client("n1")
    for key in KEYS[:30]:
        writer.put(key, b"v-" + key)
    return cluster


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_a_node_dead_for_good_mid_join_is_removed_and_a_later_leave_goes_through(
        partitioning: str) -> None:
    """n6 joins, takes its tokens, and dies for good before it is ``up``: its join
    never ends. Review of session 18 (rev1): the force-remove of n6 was refused
    ("a membership change is in progress; try again once it settled": the change
    was n6's own join, which never settles), so n6 could never be removed, and under
    strategy 3 a leave of n2 asked afterwards stayed ``up`` for good (the claimant
    claims nothing during a change). Now a removal whose only change in progress is
    the removed node's own join goes through (riak_core force-removes a joining
    member too), the claimant hands its partitions out at once, n6 ends ``removed``,
    n2's leave completes, and every key reads back at R = 3."""
    with _written(5, partitioning) as cluster:
        cluster.join("n6")
        cluster.run_until(lambda: (m := cluster.node("n1").view.get("n6")) is not None
                          and bool(m.tokens), max_time=30.0)
        cluster.run_for(0.3)
        cluster.crash("n6")
        cluster.run_for(15.0)
        assert _status(cluster, "n6")[0] is MemberStatus.JOINING
        cluster.force_remove("n1", "n6")  # before: InvalidValueError, change in progress
        cluster.run_until(lambda: _status(cluster, "n6")[0] is MemberStatus.REMOVED,
                          max_time=60.0)
        cluster.leave("n2")
        cluster.run_until(lambda: _status(cluster, "n2")[0] is MemberStatus.LEFT,
                          max_time=60.0)
        reader = cluster.client("n3")
        assert [key for key in KEYS[:30]
                if reader.get(key, r=3).values != [b"v-" + key]] == []


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_a_node_dead_for_good_mid_leave_is_removed(partitioning: str) -> None:
    """6 nodes: n6 asked to leave dies for good 0.1 s later, its leave unfinished.
    Before the review its force-remove was refused (its own leave was the change in
    progress, which never ends); now n6 ends ``removed`` and settled and every key
    reads back at R = 3."""
    with _written(6, partitioning) as cluster:
        cluster.leave("n6")
        cluster.run_for(0.1)
        cluster.crash("n6")
        cluster.run_for(15.0)
        assert _status(cluster, "n6")[0] is MemberStatus.LEAVING
        cluster.force_remove("n1", "n6")  # before: InvalidValueError, change in progress
        cluster.run_until(lambda: _status(cluster, "n6") == (MemberStatus.REMOVED, True),
                          max_time=60.0)
        cluster.run_until_quiet()  # (strategy 1: right at the settlement an R = 3 read
        reader = cluster.client("n3")  # timed out once, QuorumError; docs/runtime.md)
        assert [key for key in KEYS[:30]
                if reader.get(key, r=3).values != [b"v-" + key]] == []


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_a_member_dead_for_good_during_another_leave_is_removed_and_the_leave_completes(
        partitioning: str) -> None:
    """5 nodes: n3 asked to leave, n5 dies for good 0.1 s later; 10 more keys written.
    n3's transfer waits for n5's acknowledgement (pending ownership), for ever. Before
    session 26 n5's force-remove was refused ("a membership change is in progress",
    n3's leave) and the only way on was to start n5 again; now n5 ends ``removed``,
    n3 ``left``, both settled, and every acknowledged key reads back at R = N = 3."""
    with _written(5, partitioning) as cluster:
        cluster.leave("n3")
        cluster.run_for(0.1)
        cluster.crash("n5")
        writer = cluster.client("n1")
        for key in KEYS[30:40]:
            writer.put(key, b"v-" + key)
        cluster.run_for(15.0)
        assert _status(cluster, "n3")[0] is MemberStatus.LEAVING
        cluster.force_remove("n1", "n5")  # before: InvalidValueError, change in progress
        cluster.run_until(lambda: _status(cluster, "n5") == (MemberStatus.REMOVED, True)
                          and _status(cluster, "n3") == (MemberStatus.LEFT, True),
                          max_time=120.0)
        cluster.run_until_quiet()
        reader = cluster.client("n2")
        assert [key for key in KEYS[:40]
                if reader.get(key, r=3).values != [b"v-" + key]] == []


def _six_with_dead(partitioning: str, keys: int, dead: tuple[str, ...]) -> SimulatedCluster:
    """6 running nodes (N = 3, R = W = 2, seed 1), ``keys`` keys written at n1 (value
    ``v-`` + key), then the ``dead`` nodes crashed for good and 13 s run (nothing
    heard from them for longer than the 12 s window)."""
    cluster = SimulatedCluster(nodes=6, n=3, r=2, w=2, seed=1, partitioning=partitioning)
    cluster.run_for(3.0)
    writer = cluster.client("n1")
    for key in KEYS[:keys]:
        writer.put(key, b"v-" + key)
    for name in dead:
        cluster.crash(name)
    cluster.run_for(13.0)
    return cluster


def test_a_removal_asked_as_a_leave_is_claimed_keeps_every_partition() -> None:
    """6 nodes, strategy 3, n6 dead for 13 s; ``leave n3``, ``join n7`` and, at once,
    n6 force-removed at n2 (accepted during the leave since session 26), before n2
    hears the claimant's claim of n3's partitions, some of which go to n6. Session
    26's review: the removal's status-only announcements wrote n6's old tokens at the
    claim's version and won the tie, so those partitions were held by no member: the
    ring ended with 53 of 64 partitions for good (seeds 1 and 2, the join and the
    removal 0 or 0.5 s after the leave), though no key read wrong. Now all 64, and
    every acknowledged key reads back at R = N = 3."""
    with _six_with_dead("strategy3", 20, ("n6",)) as cluster:
        cluster.leave("n3")
        cluster.join("n7")
        cluster.force_remove("n2", "n6")
        cluster.run_until(lambda: _status(cluster, "n6") == (MemberStatus.REMOVED, True)
                          and _status(cluster, "n3") == (MemberStatus.LEFT, True)
                          and (cluster.node("n1").view.get("n7") is not None
                               and _status(cluster, "n7") == (MemberStatus.UP, True)),
                          max_time=120.0)
        ring = cluster.node("n1").view.ring()
        assert ring is not None and len(ring.tokens) == cluster.config.partitions == 64
        reader = cluster.client("n2")
        assert [key for key in KEYS[:20] if reader.get(key, r=3).values != [b"v-" + key]] == []


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_gets_at_r_equal_n_are_served_from_the_handover_to_the_settlement(
        partitioning: str) -> None:
    """Gets at R = N = 3 every 0.1 s through n2, from the command until well after
    the settlement, are each served with the acknowledged value. Before (session
    18's clean-clone run): after the handover, until the settlement, the old top N
    (n5 in it) was a quorum group that had to give R replies itself, which a node
    removed for good never can: 5 and 4 of 10 keys failed ("get reached 4 of R=3
    replicas") right at the handover (seed 1, strategies 3 and 1; 4-5 at seeds 2-3),
    and `vdynamo remove`'s real-process test failed its R = 3 reads. Now the
    removed node is replaced in the old group by the node that took its place
    (:meth:`impl.sloppy_quorum.SloppyQuorum.groups`)."""
    with _dead_n5(partitioning=partitioning) as cluster:
        cluster.force_remove("n1", "n5")
        failed: list[tuple[int, bytes, str]] = []
        settled_at = None
        for step in range(400):
            for key in KEYS[:10]:
                try:
                    got = cluster.client("n2").get(key, r=3)
                    if got.values != [_acked(key)]:
                        failed.append((step, key, repr(got.values)))
                except DynamoError as error:
                    failed.append((step, key, str(error)))
            if settled_at is None and _status(cluster, "n5") == (MemberStatus.REMOVED, True):
                settled_at = step
            if settled_at is not None and step > settled_at + 20:
                break
            cluster.run_for(0.1)
        assert settled_at is not None
        assert failed == []  # before: 5 (strategy 3) and 4 (strategy 1) at the handover


def _four_with_n4_dead(partitioning: str, dead: tuple[str, ...] = ("n4",)
                        ) -> SimulatedCluster:
    """4 nodes, N = 3, R = W = 2, seed 1: 20 keys written at W = 3, then ``dead``
    crashed for good (nothing heard from them for longer than 12 s)."""
    cluster = SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1, partitioning=partitioning)
    cluster.run_for(3.0)
    writer = cluster.client("n1")
    for key in KEYS[:20]:
        writer.put(key, b"v-" + key, w=3)
    for name in dead:
        cluster.crash(name)
    cluster.run_for(13.0)
    return cluster


def _members(cluster: SimulatedCluster, at: str = "n1") -> dict[str, str]:
    """Every entry of ``at``'s view that is on the ring: name -> status."""
    return {m.node: m.status.value for m in cluster.node(at).view
            if m.status in ON_RING}


def _completes_once_n5_joined(cluster: SimulatedCluster, node: str, status: MemberStatus,
                              ring: dict[str, str]) -> None:
    """n5 joins; then ``node`` reaches ``status``, n5 is up, the ring is ``ring`` (name
    -> status at n1) and every key reads back at R = 3."""
    cluster.join("n5")
    cluster.run_until(lambda: _status(cluster, node)[0] is status
                      and _status(cluster, "n5")[0] is MemberStatus.UP, max_time=180.0)
    cluster.run_until_quiet(max_time=120.0)
    assert _members(cluster) == ring
    reader = cluster.client("n1")
    assert [key for key in KEYS[:20] if reader.get(key, r=3).values != [b"v-" + key]] == []


def _n2_waits_then_leaves_once_n5_joined(cluster: SimulatedCluster) -> None:
    """The end both orders reach: n4 removed, n2 still leaving (serving: 3 members
    on the ring, every key read at R = 3); once n5 joined, n2's leave completes,
    the ring n1, n3, n5, every key read at R = 3."""
    cluster.run_until(lambda: _status(cluster, "n4") == (MemberStatus.REMOVED, True),
                      max_time=60.0)
    cluster.run_for(30.0)
    assert _members(cluster) == {"n1": "up", "n2": "leaving", "n3": "up"}
    decider = "n1" if cluster.config.partitioning == "strategy3" else "n2"  # claimant / n2
    assert any("departure of n2 waits" in line and "fewer than N = 3" in line
               for line in cluster.node(decider).log)
    reader = cluster.client("n3")
    assert [key for key in KEYS[:20] if reader.get(key, r=3).values != [b"v-" + key]] == []
    _completes_once_n5_joined(cluster, "n2", MemberStatus.LEFT,
                              {"n1": "up", "n3": "up", "n5": "up"})


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_a_removal_asked_of_a_member_that_has_not_heard_a_leave_keeps_n_members(
        partitioning: str) -> None:
    """4 nodes, N = 3, n4 dead for good; n2 leaves, and at once, before n1 heard of
    the leave, n1 is asked to force-remove n4. Each change alone leaves 3 members;
    both leave 2, fewer than N. Found by session 23's review (a strict xfail until
    session 24): n1 accepted, both changes completed, and n1 and n3 alone held every
    key. Now crossing departures go in one order (a removal before a leave,
    :func:`impl.membership.departure_shortfall`): n4's removal completes, n2's leave
    waits at its last step (the claim under strategy 3, its ``left`` under strategy
    1), still serving, and completes once n5 joined."""
    with _four_with_n4_dead(partitioning) as cluster:
        cluster.leave("n2")
        assert _status(cluster, "n2")[0] is MemberStatus.UP  # n1 has not heard yet
        cluster.force_remove("n1", "n4")  # accepted: n1's view has 3 members stay
        _n2_waits_then_leaves_once_n5_joined(cluster)


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_a_leave_asked_of_a_member_that_has_not_heard_a_removal_keeps_n_members(
        partitioning: str) -> None:
    """The other order: n1 force-removes n4, and n2, which has not heard of it, is
    asked to leave at once (under strategy 1 a leave waits for a removal the node
    knows of, ``Gossiper.removal_under_way``; n2 does not know). Before session 24:
    both completed, n1 and n3 alone. Now the same end as the first order."""
    with _four_with_n4_dead(partitioning) as cluster:
        cluster.force_remove("n1", "n4")
        assert _status(cluster, "n4", at="n2")[0] is MemberStatus.UP  # n2 has not heard
        cluster.leave("n2")
        _n2_waits_then_leaves_once_n5_joined(cluster)


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_two_removals_asked_at_two_members_at_once_keep_n_members(partitioning: str) -> None:
    """The concurrent case: n3 and n4 dead for good, n1 asked to remove n3 and n2
    asked to remove n4 at the same instant; each asker's view keeps 3 members, both
    removals 2. The claimant (n1) decides: removals go by name, n3's completes and
    n4's waits (its ``removing`` holds no join: session 24's
    ``Gossiper.removal_under_way``); once n5 joined, n4's completes. Before session
    24 both completed: n1 and n2 alone."""
    with _four_with_n4_dead(partitioning, dead=("n3", "n4")) as cluster:
        cluster.force_remove("n1", "n3")
        cluster.force_remove("n2", "n4")
        cluster.run_until(lambda: _status(cluster, "n3") == (MemberStatus.REMOVED, True),
                          max_time=60.0)
        cluster.run_for(30.0)
        assert _members(cluster) == {"n1": "up", "n2": "up", "n4": "removing"}
        _completes_once_n5_joined(cluster, "n4", MemberStatus.REMOVED,
                                  {"n1": "up", "n2": "up", "n5": "up"})


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_two_leaves_asked_at_once_keep_n_members(partitioning: str) -> None:
    """4 nodes, N = 3, all up; n2 and n3 asked to leave at the same instant (session
    23's review: both completed, n1 and n4 alone). Strategy 3: the claimant hands
    out n2's partitions (leaves by name) and n3's leave waits; strategies 1-2: each
    leaving node decides its own ``left`` and counts every other departure it knows
    of as gone, so both wait (neither can know the other's has not completed).
    Once n5 joined, both complete: n1, n4, n5."""
    with _four_with_n4_dead(partitioning, dead=()) as cluster:
        cluster.leave("n2")
        cluster.leave("n3")
        cluster.run_for(60.0)
        assert _members(cluster) == ({"n1": "up", "n3": "leaving", "n4": "up"}
                                     if partitioning == "strategy3" else
                                     {"n1": "up", "n2": "leaving", "n3": "leaving",
                                      "n4": "up"})
        _completes_once_n5_joined(cluster, "n3", MemberStatus.LEFT,
                                  {"n1": "up", "n4": "up", "n5": "up"})
        assert _status(cluster, "n2")[0] is MemberStatus.LEFT


@pytest.mark.parametrize("leave", [False, True], ids=["no-leave", "n3-leaving"])
def test_two_members_dead_for_good_at_once_are_both_removed(leave: bool) -> None:
    """6 nodes, strategy 1, n5 and n6 die for good together (and n3 is asked to
    leave, or not); n5 is force-removed at n1, then n6 at n1. Session 26's review:
    the second removal was refused ("a membership change is in progress", n5's
    removal), and n5's removal never completed (its handover waits for every
    survivor's transfer, n6's too, which never comes): both stayed as they were
    for good (120 s: n5 ``removing``, n6 ``up``, n3 ``leaving``), the only way on
    being to start n6 again. Now a removal is accepted while the other changes in
    progress are leaves or removals (as two removals crossing, asked at two members,
    already were: session 24), and both end ``removed``, every key at R = 3."""
    with _six_with_dead("strategy1", 30, ("n5", "n6")) as cluster:
        if leave:
            cluster.leave("n3")
            cluster.run_for(2.0)
        cluster.force_remove("n1", "n5")
        cluster.force_remove("n1", "n6")  # before: InvalidValueError, change in progress
        cluster.run_until(lambda: _status(cluster, "n5") == (MemberStatus.REMOVED, True)
                          and _status(cluster, "n6") == (MemberStatus.REMOVED, True)
                          and (not leave
                               or _status(cluster, "n3") == (MemberStatus.LEFT, True)),
                          max_time=120.0)
        reader = cluster.client("n2")
        assert [key for key in KEYS[:30] if reader.get(key, r=3).values != [b"v-" + key]] == []
