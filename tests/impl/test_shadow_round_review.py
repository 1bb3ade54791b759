"""Session 16's review of the startup shadow round (:meth:`impl.node.Node.start`;
docs/runtime.md, "A restored store after a reap", item 6): scenarios an operator
runs (a whole-cluster restart, a rolling restart under load, a restart with a
peer down, a held request whose client gave up, two restored stores at once) and
tests for the mutants of the round's branches that every earlier test let
through. Each test names the broken variant it catches (applied to a copy of the
tree, shown to fail the test, none committed).
"""

from __future__ import annotations

import copy

import pytest

import impl.node
import impl.restore_guard
from impl.cluster import SimulatedCluster
from impl.effects import Reply, Send, SetTimer
from impl.errors import DynamoError, OverloadedError
from impl.membership import MemberStatus
from impl.messages import GetRequest, Gossip, HintDelivery
from impl.restore_guard import ShadowState
from impl.timers import GossipRound, ShadowRound
from tests.impl.test_shadow_round import KEY, _cluster, _two_gets_held_at_cap_two


def _stats(cluster: SimulatedCluster, name: str) -> dict[str, int]:
    return {k: v for k, v in cluster.node(name).stats.items()
            if k.startswith(("shadow", "restore-set-aside"))}


def test_the_last_member_restarts_without_a_round() -> None:
    """n2 and n3 left the cluster: n1 heard them (its ``peer-generations``) but has
    no live peer to ask, so its restart serves at once. Mutant: the ``not peers``
    check removed (a round asking nobody, over only at its timeout: the put waited
    ``shadow_round_s``; a one-node cluster, which heard nobody, does not tell).
    N = 1: with N = 3 the two leaves wait since session 24 (each would leave fewer
    than N members, :func:`impl.membership.departure_shortfall`)."""
    cluster = SimulatedCluster(nodes=3, n=1, r=1, w=1, seed=4)
    cluster.client().put(KEY, b"v1")
    cluster.run_until_quiet()
    for name in ("n2", "n3"):
        cluster.leave(name)
        cluster.run_until_quiet()
    assert cluster.node("n1").view.live_nodes == ("n1",)
    cluster.crash("n1")
    cluster.restart("n1")
    assert cluster.node("n1").shadow is None
    started = cluster.now
    cluster.client().put(b"p", b"x", w=1, coordinator="n1")
    assert cluster.now - started < 0.1
    assert "shadow-round" not in cluster.node("n1").stats


def test_a_whole_cluster_restart_does_not_wait_for_the_timeout() -> None:
    """Every node restarted at once: each is in its round, and each answers the
    others' gossip (gossip is never deferred), so no round times out and a get with
    R = 3 is answered in one round trip (11 ms, seed 4), not ``shadow_round_s``:
    no deadlock."""
    cluster = _cluster()
    names = ("n1", "n2", "n3")
    for name in names:
        cluster.crash(name)
    for name in names:
        cluster.restart(name)
    assert all(cluster.node(name).shadow is not None for name in names)
    started = cluster.now
    result = cluster.client().get(KEY, r=3, coordinator="n1")
    assert list(result.values) == [b"v1"]
    assert cluster.now - started < 0.1 * cluster.config.shadow_round_s
    for name in names:
        stats = _stats(cluster, name)
        assert stats["shadow-round-answered"] == 1 and "shadow-round-timeout" not in stats


@pytest.mark.parametrize("clock", ["dvv", "lww", "client-vclock"])
def test_a_rolling_restart_under_load_loses_no_acknowledged_write(clock: str) -> None:
    """4 nodes restarted one after the other while a client puts a new key every
    0.1 s through any node (20 per restart): every put acknowledged, every
    acknowledged key read back with R = 3 once quiet; no round times out (all
    peers up)."""
    cluster = _cluster(nodes=4, clock=clock)
    client = cluster.client()
    acked, failed, count = [], 0, 0
    for name in cluster.node_names:
        cluster.crash(name)
        cluster.restart(name)
        handles = []
        for _ in range(20):
            key = b"r%d" % count
            count += 1
            handles.append((key, client.submit_put(key, key)))
            cluster.run_for(0.1)
        cluster.wait([handle for _, handle in handles])
        for key, handle in handles:
            try:
                handle.result()
                acked.append(key)
            except DynamoError:
                failed += 1
    cluster.run_until_quiet()
    assert failed == 0 and len(acked) == count
    lost = [key for key in acked if list(cluster.client().get(key, r=3).values) != [key]]
    assert lost == []
    for name in cluster.node_names:
        assert "shadow-round-timeout" not in _stats(cluster, name)


def test_a_held_put_whose_client_gave_up_is_still_written() -> None:
    """n1 down, n3 restarted: its round waits ``shadow_round_s`` (2 s) for n1. A
    client whose timeout is shorter (1.5 s) sees its put fail (a timeout), yet the
    deferred put is replayed at the round's end and written on n3 and n2: a
    timeout is indeterminate in Dynamo (a coordinator that timed out may have
    written too), documented (docs/runtime.md, item 6); the runtime's own expiry
    is ``4 x request_timeout`` (4 s by default, above the round's 2 s)."""
    cluster = _cluster(client_timeout=1.5)
    cluster.crash("n1")
    cluster.crash("n3")
    cluster.restart("n3")
    started = cluster.now
    handle = cluster.client().submit_put(b"p", b"x", w=1, coordinator="n3")
    cluster.wait([handle])
    assert cluster.now - started == pytest.approx(1.5, abs=0.01)
    with pytest.raises(DynamoError):
        handle.result()
    cluster.run_until_quiet()
    assert cluster.node("n3").record(b"p") is not None
    assert cluster.node("n2").record(b"p") is not None
    assert _stats(cluster, "n3")["shadow-round-timeout"] == 1


def test_two_restored_stores_with_the_only_peer_that_knew_down() -> None:
    """n2 and n3 restored at once from backups taken before k's delete was reaped,
    n1 (the only store that heard their later starts... and each other's) down: the
    restored stores answer each other with generations as old as theirs, so
    neither is told; the round times out and a get through n3 reads the reaped
    ``v1`` (the documented window). Once n1 is back both are set aside and k reads
    404 everywhere."""
    cluster = _cluster(seed=1, delete_mode="safe")
    for name in ("n2", "n3"):
        cluster.crash(name)
    backups = {name: copy.deepcopy(cluster.storages[name].inner) for name in ("n2", "n3")}
    for name in ("n2", "n3"):
        cluster.restart(name)
    cluster.run_until_quiet()
    client = cluster.client()
    client.delete(KEY, context=client.get(KEY, r=3).context, w=3)
    cluster.run_until_quiet()
    for name in ("n1", "n2", "n3"):
        cluster.crash(name)
    for name in ("n2", "n3"):
        cluster.storages[name].inner = backups[name]
        cluster.restart(name)
    assert list(cluster.client().get(KEY, r=2, coordinator="n3").values) == [b"v1"]
    cluster.restart("n1")
    cluster.run_until_quiet()
    assert list(cluster.client().get(KEY, r=3).values) == []
    for name in ("n2", "n3"):
        stats = _stats(cluster, name)
        assert stats["shadow-round-timeout"] == 1 and stats["restore-set-aside"] == 1


def test_the_gossip_round_runs_during_the_round() -> None:
    """A node in its round still gossips on its own timer (a peer whose first answer
    was lost is asked again). Mutant: ``GossipRound`` deferred like other timers
    (no gossip sent, ``shadow-round-deferred`` counted)."""
    cluster = _cluster()
    cluster.crash("n3")
    cluster.restart("n3")
    n3 = cluster.node("n3")
    effects = n3.fire(cluster.now, GossipRound())
    assert any(isinstance(e, Send) and isinstance(e.message, Gossip) for e in effects)
    assert "shadow-round-deferred" not in n3.stats


def test_a_late_gossip_after_the_timeout_is_not_counted_as_an_answer() -> None:
    """n1 and n2 down: n3's round times out. Their gossip once back is no answer to
    it: ``shadow-round-answered`` stays unset (and no second replay chain starts).
    Mutant: ``_shadow_heard`` without its ``shadow.over`` check (the timed-out
    round counted answered too)."""
    cluster = _cluster()
    for name in ("n1", "n2", "n3"):
        cluster.crash(name)
    cluster.restart("n3")
    cluster.client().put(b"p", b"x", w=1, coordinator="n3")  # held, then the timeout
    n3 = cluster.node("n3")
    assert n3.shadow is None or n3.shadow.over
    now = cluster.now
    shadow = ShadowState(["n1", "n2"], now - 3.0)
    shadow.over = True
    shadow.deferred.append(("client_request", (GetRequest(99, KEY, r=1),)))
    n3.shadow = shadow
    for name in ("n1", "n2"):
        effects = n3.receive(now, name, Gossip(n3.view.to_bytes(), reply=False))
        assert not any(isinstance(e, SetTimer) and isinstance(e.timer, ShadowRound)
                       for e in effects)
    assert "shadow-round-answered" not in n3.stats


def test_the_cap_counts_only_what_is_still_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cap 2: two gets held; the round times out and the first is replayed: one is
    held, so a third get is held too, not refused. Mutant: ``kept`` not lowered at a
    replay (the third get answered 503 with room in the queue)."""
    cluster, n3, now = _two_gets_held_at_cap_two(monkeypatch)
    later = now + cluster.config.shadow_round_s
    n3.fire(later, ShadowRound())  # the timeout: the first get replayed
    assert n3.shadow is not None and len(n3.shadow.deferred) == 1
    held = n3.client_request(later, GetRequest(3, KEY, r=1))
    assert not any(isinstance(e, Reply) and isinstance(e.error, OverloadedError)
                   for e in held)
    assert "shadow-round-dropped" not in n3.stats


def test_an_answer_to_a_new_start_is_not_answered_again() -> None:
    """n1 hears n3's new start in a gossip that is itself an answer (``reply``
    False) and whose view agrees with its own: it records the generation and sends
    nothing back (only a gossip asking for a reply, the round's, is answered). The
    round's own gossip (``reply`` True) is answered exactly once. Mutant: the answer
    sent whatever ``reply`` says (an answer answered: a message more per start)."""
    cluster = _cluster()
    cluster.crash("n3")
    cluster.restart("n3")
    n1, n3 = cluster.node("n1"), cluster.node("n3")
    assert n1.guard is not None and n3.guard is not None
    now = cluster.now
    generation = n3.guard.generation
    effects = n1.receive(now, "n3", Gossip(n1.view.to_bytes(), reply=False,
                                           generation=generation))
    assert not any(isinstance(e, Send) and e.dest == "n3" for e in effects)
    assert n1.guard.yours("n3") == generation


def test_a_leave_during_the_round_waits_for_it() -> None:
    """A leave asked while the round is on is held with the rest (a restored store
    must not announce and hand its ranges over before a peer could tell it):
    n3 stays up until the round is over, then leaves. Mutant: ``leave`` not
    deferred (n3 leaving at once)."""
    cluster = _cluster()
    cluster.crash("n3")
    cluster.restart("n3")
    n3 = cluster.node("n3")
    assert n3.leave(cluster.now) == []
    assert n3.status is MemberStatus.UP
    assert n3.shadow is not None and [m for m, _ in n3.shadow.deferred][-1] == "leave"
    cluster.run_for(1.0)
    after = cluster.node("n3")
    assert after.shadow is None and after.status in (MemberStatus.LEAVING, MemberStatus.LEFT)


def test_past_the_tracking_limit_a_write_goes_with_the_set_aside(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented limit of what a set-aside keeps (``TRACKED_KEYS_LIMIT``,
    100,000; 1 here): n1 restored from a backup while cut off from n2 and n3 (its
    round times out), two new keys put through it with W = 1; once the partition
    heals n1 is set aside and keeps the first key only: the second, untracked,
    goes (counted ``restore-untracked-write``). Mutant: no limit (both kept)."""
    monkeypatch.setattr(impl.restore_guard, "TRACKED_KEYS_LIMIT", 1)
    cluster = _cluster(seed=1)
    cluster.crash("n1")
    backup = copy.deepcopy(cluster.storages["n1"].inner)
    cluster.restart("n1")
    cluster.run_until_quiet()
    cluster.partition(["n1"], ["n2", "n3"])
    cluster.crash("n1")
    cluster.storages["n1"].inner = backup
    cluster.restart("n1")
    for key in (b"w1", b"w2"):
        cluster.client("n1").put(key, b"acked", w=1, coordinator="n1")
    cluster.run_for(5)
    cluster.heal()
    cluster.run_until_quiet()
    n1 = cluster.node("n1")
    assert n1.stats["restore-set-aside"] == 1 and n1.stats["restore-untracked-write"] >= 1
    # set aside, n1 rebuilds (impl.rebuild) and answers no get at R = 3 until then
    cluster.run_until(lambda: not n1.rebuilding, max_time=120.0)
    assert list(cluster.client("n2").get(b"w1", r=3).values) == [b"acked"]
    assert list(cluster.client("n2").get(b"w2", r=3).values) == []


def test_a_hint_delivered_during_the_round_is_held() -> None:
    """A fallback's hint delivery reaching a node in its round is held like every
    peer message but gossip: nothing written, no ``HintAck`` (an ack would let the
    fallback drop its copy, and a set-aside at the round's end would then remove
    the delivered one). Mutant: ``HintDelivery`` let through the round."""
    cluster = _cluster()
    cluster.crash("n3")
    cluster.restart("n3")
    n1, n3 = cluster.node("n1"), cluster.node("n3")
    assert n1.guard is not None and n3.shadow is not None
    record = cluster.storages["n1"].inner.read(KEY)
    assert record is not None
    delivery = HintDelivery(1, KEY, record, generation=n1.guard.generation)
    assert n3.receive(cluster.now, "n1", delivery) == []
    assert [m for m, _ in n3.shadow.deferred][-1] == "receive"
