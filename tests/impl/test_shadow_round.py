"""The restore guard's startup shadow round (:meth:`impl.node.Node.start`; docs/runtime.md,
"A restored store after a reap"): a restarted store that heard of peers before gossips
with every live peer and defers every input but gossip until each one answered (or
``shadow_round_s`` passed), then replays them in order. Cassandra's startup shadow
round: a starting node learns its own state from its peers before it takes part.

Each test names the broken variant it catches (written, shown to fail the test,
reverted; session 16).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import impl.node
from impl.cluster import SimulatedCluster
from impl.effects import Reply, SetTimer
from impl.errors import ConfigError, OverloadedError, StorageError
from impl.messages import (
    GetRequest,
    Gossip,
    HintDelivery,
    KeyRecords,
    MerkleExchange,
    ReplicaGet,
)
from impl.node import Node
from impl.timers import AntiEntropyRound, ShadowRound
from impl.versions import values
from tests.impl.test_node_driver import make_config

KEY = b"k"


def _cluster(seed: int = 4, nodes: int = 3, **options: Any) -> SimulatedCluster:
    """N = 3, R = W = 2, ``v1`` written to ``KEY`` and the cluster quiet."""
    cluster = SimulatedCluster(nodes=nodes, n=3, r=2, w=2, seed=seed, **options)
    cluster.client().put(KEY, b"v1")
    cluster.run_until_quiet()
    return cluster


def _two_gets_held_at_cap_two(monkeypatch: pytest.MonkeyPatch
                              ) -> tuple[SimulatedCluster, Node, float]:
    """The deferred cap set to 2 and n3 restarted: two gets through n3 held by its
    round (the cap reached); returns the cluster, n3 and the time."""
    monkeypatch.setattr(impl.node, "SHADOW_DEFERRED_LIMIT", 2)
    cluster = _cluster()
    cluster.crash("n3")
    cluster.restart("n3")
    n3, now = cluster.node("n3"), cluster.now
    assert n3.client_request(now, GetRequest(1, KEY, r=1)) == []
    assert n3.client_request(now, GetRequest(2, KEY, r=1)) == []
    return cluster, n3, now


def _shadow_stats(cluster: SimulatedCluster, name: str) -> dict[str, int]:
    return {k: v for k, v in cluster.node(name).stats.items() if k.startswith("shadow")}


@pytest.mark.parametrize("seed", [1, 4])
def test_a_plain_restart_serves_after_its_peers_answered(seed: int) -> None:
    """A restart of a live store: a get through it at once waits for the round (every
    peer answers the first gossip of the new start, even when their views agree),
    reads ``v1`` well before the timeout and sets nothing aside. Mutants: peers that
    answer only when the views differ (the round times out: 2 s), a round that drops
    what it defers instead (the get never answered by n3: the client's 5 s)."""
    cluster = _cluster(seed)
    cluster.crash("n3")
    cluster.restart("n3")
    assert cluster.node("n3").shadow is not None
    started = cluster.now
    result = cluster.client().get(KEY, r=3, coordinator="n3")
    assert list(result.values) == [b"v1"]
    assert cluster.now - started < 0.5 * cluster.config.shadow_round_s
    stats = _shadow_stats(cluster, "n3")
    assert stats["shadow-round"] == 1 and stats["shadow-round-answered"] == 1
    assert stats["shadow-round-deferred"] >= 1 and "shadow-round-timeout" not in stats
    assert cluster.node("n3").shadow is None
    assert cluster.node("n3").stats["restore-set-aside"] == 0


def test_with_every_peer_down_the_round_ends_at_its_timeout_and_serves() -> None:
    """n1 and n2 down: nobody answers n3's round; at ``shadow_round_s`` it is over
    (counted, logged) and the deferred put is served (W = 1). Mutant: a round with no
    timeout (the put never answered)."""
    cluster = _cluster(shadow_round_s=1.5)
    cluster.crash("n1")
    cluster.crash("n2")
    cluster.crash("n3")
    cluster.restart("n3")
    started = cluster.now
    cluster.client().put(b"alone", b"a", w=1, coordinator="n3")
    assert cluster.now - started == pytest.approx(1.5, abs=0.2)
    stats = _shadow_stats(cluster, "n3")
    assert stats["shadow-round-timeout"] == 1 and "shadow-round-answered" not in stats
    assert any("no peer answered" in line for line in cluster.node("n3").log)
    record = cluster.node("n3").record(b"alone")
    assert record is not None


def test_the_round_waits_for_every_peer_asked() -> None:
    """n2 answers first without knowing a later start of n3's store (``yours`` this
    start's generation): the round goes on until n1, which heard a later start,
    answers and the store is set aside. Mutant: a round over at the first gossip
    from anyone (it would serve the restored store's ``v1`` right after n2's
    gossip). (Until session 36 n2's gossip named no start, ``yours`` empty: one sent
    before n2 heard of this start, which no longer answers the round:
    tests/impl/test_stale_gossip_shadow_round.py.)"""
    cluster = _cluster(seed=1)
    cluster.crash("n3")
    backup = copy.deepcopy(cluster.storages["n3"].inner)
    cluster.restart("n3")
    cluster.run_until_quiet()
    cluster.crash("n3")
    cluster.storages["n3"].inner = backup
    cluster.restart("n3")
    n1, n2, n3 = cluster.node("n1"), cluster.node("n2"), cluster.node("n3")
    assert n1.guard is not None and n2.guard is not None and n3.guard is not None
    assert n3.shadow is not None and n3.shadow.asked == ("n1", "n2")
    now = cluster.now
    view = n2.view.to_bytes()
    effects = n3.receive(now, "n2", Gossip(view, reply=False, generation=n2.guard.generation,
                                           yours=n3.guard.generation))
    assert n3.shadow is not None and not n3.shadow.over
    assert n3.shadow.waiting == {"n1"}
    assert not any(isinstance(e, SetTimer) and isinstance(e.timer, ShadowRound)
                   for e in effects)
    assert n3.client_request(now, GetRequest(1, KEY, r=1)) == []  # still deferred
    effects = n3.receive(now, "n1", Gossip(n1.view.to_bytes(), reply=False,
                                           generation=n1.guard.generation,
                                           yours=n1.guard.yours("n3")))
    assert n3.stats["restore-set-aside"] == 1
    after = cluster.node("n3").shadow
    assert after is not None and after.over
    assert SetTimer(ShadowRound(), now) in effects


def test_inputs_beyond_the_cap_are_dropped_and_counted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """At the cap a client request is answered with OverloadedError (503) and a peer
    message dropped, both counted; timers are always kept; the rest replay in order.
    Mutant: no cap (the third request deferred too, ``shadow-round-dropped`` 0)."""
    _, n3, now = _two_gets_held_at_cap_two(monkeypatch)
    refused = n3.client_request(now, GetRequest(3, KEY, r=1))
    assert [type(e) for e in refused] == [Reply]
    assert isinstance(refused[0], Reply) and isinstance(refused[0].error, OverloadedError)
    assert n3.fire(now, AntiEntropyRound()) == []  # a timer: kept beyond the cap
    assert n3.stats["shadow-round-dropped"] == 1 and n3.stats["shadow-round-deferred"] == 3
    assert sum("dropping more" in line for line in n3.log) == 1
    assert n3.shadow is not None
    assert [m for m, _ in n3.shadow.deferred] == ["client_request", "client_request", "fire"]


def test_a_wiped_store_asks_its_peers_first_and_a_brand_new_one_does_not() -> None:
    """A new store holds nothing older than the cluster's (session 15's fresh-store
    rule), but it may be a replaced disk, which must know it is one before it counts
    its empty copies (:mod:`impl.rebuild`): its start's announce is a shadow round
    (session 17). A brand-new cluster's first starts (``announce=False``) run none.
    Mutants: no round for a fresh store (the first-round-trip test of
    tests/impl/test_wiped_node_reads.py reads 18 of 20 not found); a round for every
    fresh store (``shadow-round`` 1 on a new cluster's node)."""
    cluster = _cluster()
    assert all(cluster.node(name).stats["shadow-round"] == 0 for name in ("n1", "n2"))
    cluster.wipe("n3")
    assert cluster.node("n3").shadow is not None
    assert cluster.node("n3").stats["shadow-round"] == 1


def test_without_the_guard_there_is_no_round() -> None:
    """``restore_guard = false`` (the refinement harness): a restart serves at once."""
    cluster = _cluster(restore_guard=False)
    cluster.crash("n3")
    cluster.restart("n3")
    assert cluster.node("n3").shadow is None
    assert "shadow-round" not in cluster.node("n3").stats


def test_shadow_round_s_is_checked() -> None:
    assert make_config(3).shadow_round_s == 2.0
    for bad in (0, -1.0, float("inf"), "2", True):
        with pytest.raises(ConfigError, match="shadow_round_s"):
            make_config(3, shadow_round_s=bad)


def test_deferred_inputs_replay_one_at_a_time_each_reading_the_last_ones_writes() -> None:
    """Two blind puts of one key through n3 during its round: replayed one per
    :class:`~impl.timers.ShadowRound` firing, the second reads the first's write,
    so n3's copy holds both siblings as soon as both are acknowledged. Mutant:
    every deferred input replayed in one firing (the second reads the engine
    without the first's write, staged only, and overwrites it: one sibling)."""
    cluster = _cluster()
    cluster.crash("n3")
    cluster.restart("n3")
    client = cluster.client()
    handles = [client.submit_put(b"twice", value, w=1, coordinator="n3")
               for value in (b"a", b"b")]
    cluster.wait(handles)
    assert cluster.node("n3").stats["shadow-round-deferred"] >= 2
    record = cluster.node("n3").record(b"twice")
    assert record is not None and sorted(values(record)) == [b"a", b"b"]


def test_a_storage_error_replaying_a_deferred_timer_does_not_stall_the_round() -> None:
    """A deferred timer whose handler raises StorageError at its replay is counted and
    logged, and the inputs behind it still replay: the get through n3 is answered.
    Mutant: the error raised out of the replay (the round left on with no timer:
    every later input deferred for good; in the simulator, the error propagates)."""
    cluster = _cluster()
    cluster.crash("n3")
    cluster.restart("n3")
    n3 = cluster.node("n3")

    def broken(now: float, timer: object) -> list[object]:
        raise StorageError("the disk went away")

    n3._timers[AntiEntropyRound] = broken  # type: ignore[assignment]
    assert n3.fire(cluster.now, AntiEntropyRound()) == []  # deferred, first in line
    result = cluster.client().get(KEY, r=2, coordinator="n3")
    assert list(result.values) == [b"v1"]
    assert n3.stats["storage-error"] >= 1 and n3.shadow is None
    assert any("storage error replaying a deferred fire" in line for line in n3.log)


def _root(session: int) -> MerkleExchange:
    """A peer's opening step of an anti-entropy exchange (its root)."""
    return MerkleExchange(session, 0, 2**128, 16, 2, "level", 0, (0,), (0,), (b"\0" * 16,))


def test_a_peers_anti_entropy_is_shed_once_the_backlog_is_reached(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 41's timing audit: a restarted node replays its deferred inputs one a
    step, and peers' anti-entropy every 0.2 s on a shared CPU outran the replay for
    good (3,529 waiting after 15 s, every client request behind them). Beyond
    ``SHADOW_SHED_BACKLOG`` waiting inputs a peer's anti-entropy step is shed as a
    lost message and counted; a client request and every other peer message are
    still deferred in order, and below the backlog an exchange step is deferred too.
    Mutants: no shedding (the third input deferred, ``shadow-round-shed`` 0); session
    41's review: a KeyRecords not shed, the log line written at every shed, a
    replaying round that defers an exchange step below the backlog."""
    monkeypatch.setattr(impl.node, "SHADOW_SHED_BACKLOG", 2)
    _, n3, now = _two_gets_held_at_cap_two(monkeypatch)
    monkeypatch.setattr(impl.node, "SHADOW_DEFERRED_LIMIT", 4096)
    assert n3.receive(now, "n1", _root(7)) == []
    assert n3.receive(now, "n2", KeyRecords((KEY,), (b"",), 8, reply=True)) == []
    assert n3.stats["shadow-round-shed"] == 2
    assert sum("shedding peers' anti-entropy steps" in line for line in n3.log) == 1
    assert n3.client_request(now, GetRequest(3, KEY, r=1)) == []  # deferred, not shed
    assert n3.receive(now, "n1", ReplicaGet(9, KEY)) == []
    assert n3.shadow is not None
    assert [m for m, _ in n3.shadow.deferred] == ["client_request"] * 3 + ["receive"]
    assert n3.stats["shadow-round-shed"] == 2
    n3.shadow.deferred.clear()
    assert n3.receive(now, "n1", _root(8)) == []  # below the backlog: kept
    assert [type(a[1]) for _, a in n3.shadow.deferred] == [MerkleExchange]
    assert n3.stats["shadow-round-shed"] == 2
    n3.shadow.over = True  # replaying: every peer's exchange step shed (review)
    assert n3.receive(now, "n1", _root(9)) == []
    assert len(n3.shadow.deferred) == 1 and n3.stats["shadow-round-shed"] == 3


def test_a_fallbacks_resend_of_a_waiting_hint_is_not_deferred_again() -> None:
    """Session 41's review: a fallback resends an unacked hint every
    ``request_timeout``, and a restarted node acks none until its round replays it:
    a round of 2 s (a peer down) with 512 hints for the node at three fallbacks
    deferred 1,041 inputs, 464 of them resends. A HintDelivery equal to one of the
    same sender and hint id still waiting is dropped and counted; one from another
    sender, or differing, is deferred; once the one kept is replayed, a resend
    waits again. Mutants (scratch): no dropping (counted 0), dropping by sender
    and hint id alone (the differing one dropped), the replay not forgetting it
    (the resend after it dropped): each fails."""
    cluster = _cluster()
    record = cluster.node("n1").replica.storage.read(KEY)
    assert record is not None
    cluster.crash("n3")
    cluster.restart("n3")
    n3, now = cluster.node("n3"), cluster.now
    hint = HintDelivery(5, KEY, record)
    for src, message in [("n1", hint), ("n1", hint), ("n2", hint), ("n2", hint),
                         ("n2", HintDelivery(5, b"k2", record))]:
        assert n3.receive(now, src, message) == []
    assert n3.stats["shadow-round-duplicate-hint"] == 2
    assert n3.shadow is not None
    assert [(a[0], a[1]) for _, a in n3.shadow.deferred] == [
        ("n1", hint), ("n2", hint), ("n2", HintDelivery(5, b"k2", record))]
    n3.fire(now, ShadowRound())  # the round over: the first one replayed (acked)
    assert n3.receive(now, "n1", hint) == []
    assert n3.shadow is not None and len(n3.shadow.deferred) == 3
    assert n3.stats["shadow-round-duplicate-hint"] == 2
