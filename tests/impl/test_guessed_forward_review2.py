"""Second review of the guessed ring's put forwarding (session 51, the review of the
reviewers' fixes; docs/runtime.md "Review of the reviewers' fixes (session 51,
review)").

s51-revdata's :meth:`impl.forwarding.Forwarder.route` has a node whose serving ring
is a guess forward a client's put to another member believed reachable, trying
*every* member in turn; each silent one costs the forward's timeout
(``request_timeout + replica_timeout``, 1.3 s here). An isolated guessed node of
five members (n4 leaving) answered its first put after 4 x 1.3 s: past the
client's 5 s, so the client had no answer (``RequestTimeoutError``), seeds 0-3 all
(a larger cluster waits (members - 1) x 1.3 s). Now at most N members are tried,
as a forward through the view tries the key's top N: answered at 3.9 s. Mutant
(checked): the cap removed, the first test fails (no reply within 5 s).
Session 54 (s54-fixa): n1 rebuilds, so its own write no longer counts (docs/runtime.md,
"A rebuilding disk's acks and reads agree (session 54)"): the isolated put is answered
with a 503 at 4.9 s (3.9 s of forwards, then its put's 1 s timeout: its fallbacks are
cut off), still within the client's 5 s; the mutant re-checked: the client times out.

Two guessed nodes (n1 and n2 both replaced during n4's leave) forward to each
other without a loop: n2 gives back n1's put (``ForwardDecline``), n1 hands it on,
a member that routes by the view coordinates it; a delete so forwarded keeps its
context (the Forward carries the request as it came). Mutant (checked): the
decline of :meth:`impl.forwarding.Forwarder.on_grant` removed, n2 coordinates by
its guess and the second test reads stale keys. Session 54 (s54-fixa): a key both n1
and n2 own is left out (``_both_own``: their acks do not count while they rebuild,
W = 2 is out of reach); the mutant re-checked on this setup. (Writing those keys at
W = 1 instead needs a pause before the R = 1 reads, R + W = 2, and the pause hid the
mutant: tried.)"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import QuorumError
from tests.impl.test_guessed_ring_review import KEYS, _guessed


def _both_own(cluster: SimulatedCluster, key: bytes) -> bool:
    """Whether both rebuilding nodes (n1, n2) own ``key`` on n3's serving or future
    ring: their acks do not count towards W (session 54), so with N = 3, strict
    quorum, a put of it at W = 2 fails (503) by design."""
    gossiper = cluster.node("n3").gossiper
    rings = [gossiper.partitioning, *([gossiper.future] if gossiper.future else [])]
    return any({"n1", "n2"} <= set(ring.preference_list(key, 3)) for ring in rings)


def test_an_isolated_guessed_node_answers_its_put_within_the_clients_wait() -> None:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=0) as cluster:
        client = _guessed(cluster, KEYS[:10])
        n1 = cluster.node("n1")
        cluster.partition(["n1"], ["n2", "n3", "n4", "n5"])
        began = cluster.sim.now
        # n1 rebuilds: its own write no longer counts (session 54), so the answer is a
        # 503 once it coordinates itself; s51-revdata: no reply in 5 s (a timeout)
        with pytest.raises(QuorumError, match="this node's own write"):
            client.put(b"k0", b"v2", w=1, coordinator="n1")
        assert n1.gossiper.serving_guessed
        # N forwards (3 x 1.3 s), then its own put's timeout (request_timeout, 1 s: its
        # own write uncounted, its fallbacks cut off), within the client's 5 s
        assert cluster.sim.now - began < 3 * 1.3 + 1.0 + 0.05 <= cluster.client_timeout


def test_two_guessed_nodes_hand_a_put_and_a_delete_on_to_a_member_of_the_view() -> None:
    keys = KEYS[:20]
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=0, sloppy_quorum=False) as cluster:
        client = _guessed(cluster, keys, wiped=("n1", "n2"))
        n1, n2 = cluster.node("n1"), cluster.node("n2")
        assert n1.gossiper.guessed_members()[:2] == ("n1", "n2")  # n2: n1's first candidate

        def reader(key: bytes) -> str:
            """A node of the view in the key's top N (a get it forwards to a guessed
            node is coordinated by the guess: docs/runtime.md, this review)."""
            return next(node for node in ("n3", "n5", "n4")
                        if node in cluster.node(node).quorum.preference_list(key)[:3])

        contexts = {key: client.get(key, r=1, coordinator=reader(key)).context for key in keys}
        # a key both rebuilding nodes own cannot reach W = 2 (session 54): left out
        written = [key for key in keys[:10] if not _both_own(cluster, key)]
        deleted = [key for key in keys[10:] if not _both_own(cluster, key)]
        assert len(written) >= 4 and len(deleted) >= 4
        for key in written:
            client.put(key, b"v2-" + key, contexts[key], w=2, coordinator="n1")
        for key in deleted:
            client.delete(key, contexts[key], w=2, coordinator="n1")
        assert n1.gossiper.serving_guessed and n2.gossiper.serving_guessed

        def owners(key: bytes) -> list[str]:  # the key's top N by the view, not guessed
            return [node for node in cluster.node("n3").quorum.preference_list(key)[:3]
                    if node not in ("n1", "n2")]

        stale = sorted({key for key in written for node in owners(key)
                        if client.get(key, r=1, coordinator=node).values != [b"v2-" + key]})
        back = sorted({key for key in deleted for node in owners(key)
                       if client.get(key, r=1, coordinator=node).values})
        assert (stale, back) == ([], [])
