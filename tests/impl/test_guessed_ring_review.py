"""Review of the data probe's guessed serving ring (session 51, review;
docs/runtime.md, "Review of the data probe's fixes (session 51, review)").

A node whose disk is replaced while a leave moves ranges guesses its serving ring
(:attr:`impl.gossip.Gossiper.serving_guessed`): a get it coordinates asks every
member (:meth:`impl.get_coordinator.GetCoordinator.start`), but a *put* it
coordinated went to the guess's top N and was acknowledged there. With W = 3
strictly (N = 3) a get at R = 1 through a true owner the put never reached read
the value before it: 3 nodes, n4 and n5 joined, 40 keys at W = 3, n4 asked to
leave, n1's disk replaced 2 s into the leave, each key read through n2 and
rewritten (its context) through n1 at W = 3, then read at R = 1 through n2 and n3:
seed 3, 6 of 40 keys read the old value on ``s51-probedata`` (and on ``c17119bc``).

Fixed (:meth:`impl.forwarding.Forwarder.route`): while its ring is a guess a node
forwards a client's put to a member that routes by the view (the up ones first),
coordinating it itself only when none is believed reachable. Mutant (checked):
the forward removed (``guessed`` taken as empty in ``route``): the put test fails
(6 keys stale). A put a peer forwards to the guessed node (it is the key's first
target in the peer's ring) was coordinated by the guess too: seed 4, 2 of the 12
keys so put read stale. Fixed (:meth:`impl.forwarding.Forwarder.on_grant`: the
grant given back, ``ForwardDecline``); mutant (checked): the decline removed, the
forwarded-put test fails (``k35``, ``k37``).

A guessed get that a member up leaves silent (n5 cut off before n1 suspects it)
fails at the request timeout, as documented, but its 503 named every member's
reply "the coordinator's own read, not rebuilt" and said nothing of the guess.
Fixed (``impl.get_coordinator._named``); mutant (checked): the old label back,
the message test fails.

Session 54 (s54-fixa): n1 rebuilds, and its acks no longer count towards W, so a key
n1 owns (serving or future ring) is put at W = 2, the others at W = 3 (``_w``). Both
mutants re-checked on this setup: the forward removed, the put test fails (the same
6 keys stale); the decline removed, the forwarded-put test fails (``k35``, ``k37``).
"""

from __future__ import annotations

import pytest

from impl.cluster import Client, SimulatedCluster
from impl.errors import QuorumError
from tests.impl.test_wiped_mid_change_reads import write_then_leave

KEYS = [b"k%d" % i for i in range(40)]


def _guessed(cluster: SimulatedCluster, keys: list[bytes] = KEYS, *,
             rebuilding: bool = False, wiped: tuple[str, ...] = ("n1",)) -> Client:
    """n4 and n5 joined, each of ``keys`` at W = 3 (``v1-``), n4 asked to leave and
    n1's disk (each of ``wiped``'s) replaced 2 s later: until 0.5 s after their
    rings became a guess (or, ``rebuilding``, n1 began to rebuild). Returns the
    client that wrote them."""
    client = write_then_leave(cluster, keys, "n4", b"v1-")
    for name in wiped:
        cluster.wipe(name)
    n1 = cluster.node("n1")
    cluster.run_until(lambda: n1.rebuild.active if rebuilding else all(
        cluster.node(name).gossiper.serving_guessed for name in wiped), max_time=5)
    cluster.run_for(0.5)
    return client


def _w(cluster: SimulatedCluster, key: bytes) -> int:
    """The W of the put of ``key``: 3, or 2 if n1 owns it on n2's serving or future
    ring. Since session 54 a replaced disk's acks do not count towards W while it
    rebuilds (docs/runtime.md, "A rebuilding disk's acks and reads agree (session
    54)"): with N = 3, strict quorum, W = 3 through its ranges fails (503) by design."""
    gossiper = cluster.node("n2").gossiper
    rings = [gossiper.partitioning, *([gossiper.future] if gossiper.future else [])]
    return 2 if any("n1" in ring.preference_list(key, 3) for ring in rings) else 3


def test_a_put_through_a_guessed_ring_is_read_by_the_true_owners() -> None:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=3, sloppy_quorum=False) as cluster:
        client = _guessed(cluster)
        for key in KEYS:
            context = client.get(key, r=2, coordinator="n2").context
            client.put(key, b"v2-" + key, context, w=_w(cluster, key), coordinator="n1")
        assert cluster.node("n1").gossiper.serving_guessed  # still a guess: reached
        stale = sorted({key for reader in ("n2", "n3") for key in KEYS
                        if client.get(key, r=1, coordinator=reader).values != [b"v2-" + key]})
        assert stale == []  # s51-probedata: 6 of 40 keys read v1


def test_a_guessed_get_short_of_a_member_says_so() -> None:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        client = _guessed(cluster)
        cluster.partition(["n1", "n2", "n3", "n4"], ["n5"])
        with pytest.raises(QuorumError) as failed:
            client.get(KEYS[0], r=1, coordinator="n1")
        message = str(failed.value)
        assert "no answer from n5" in message
        assert "serving ring is a guess" in message
        assert "n2 (the coordinator's own read" not in message  # s51-probedata: so named


def test_a_put_forwarded_to_a_guessed_ring_is_declined() -> None:
    """A put a peer forwards to the guessed node (a coordinator outside the key's top
    N forwards to the first of them) is given back (``ForwardDecline``): the
    forwarder hands it to the key's next node. s51-probedata coordinated it by the
    guess: seed 4, 2 of the 12 keys so put read stale at R = 1."""
    keys = [b"k%d" % i for i in range(60)]
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4, sloppy_quorum=False) as cluster:
        client = _guessed(cluster, keys, rebuilding=True)
        forwarded = []
        for key in keys:
            for node in ("n2", "n3", "n5"):
                top = cluster.node(node).quorum.preference_list(key)[:3]
                if node not in top and top[0] == "n1":
                    context = client.get(key, r=2, coordinator="n2").context
                    client.put(key, b"v2-" + key, context, w=_w(cluster, key), coordinator=node)
                    forwarded.append(key)
                    break
        assert len(forwarded) >= 5 and cluster.node("n1").gossiper.serving_guessed
        stale = sorted({key for reader in ("n2", "n3") for key in forwarded
                        if client.get(key, r=1, coordinator=reader).values != [b"v2-" + key]})
        assert stale == []
