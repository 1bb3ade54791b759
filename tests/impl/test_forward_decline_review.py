"""Review of session 53's forward decline (docs/runtime.md, "Review of the forward
decline (session 53, review)").

s53-probejoin's :meth:`impl.forwarding.Forwarder._owns` has a node granted a
forwarded put give it back (``ForwardDecline``) when it is not of the key's top N by
its own view. A node whose serving ring is a guess (a replaced disk mid-change,
:attr:`impl.gossip.Gossiper.serving_guessed`) forwards a client's put to the first N
other members believed reachable (:meth:`impl.forwarding.Forwarder.route`, session
51's review), whatever the key: with 7 members and N = 3, a key none of them owns
was declined by all three, and the guessed node coordinated it by its guess, the
fault session 51's review had fixed (a put at W = 3 acknowledged, a get at R = 1
through a true owner read the value before: seed 6, 5 of the 5 keys whose owners
are none of the first three; seeds 0-7, 11 of 18 such keys in 4 seeds). Before
s53-probejoin the first of them coordinated it by its view (strict quorum: no
stand-in). Fixed: after each decline (an answer, not a silence) the next reachable
member is tried (``Forwarding.spare``); at most N silent ones are still waited for.

Mutant (checked): ``on_decline`` not taking a spare member: the test fails
(the 5 keys read stale; since session 54, 4: k21, which n1 replicates on the future
ring, is left out, since n1 rebuilds and its ack no longer counts towards W = 3;
re-checked by s54-fixa).
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from tests.impl.test_wiped_mid_change_reads import write_then_leave

KEYS = [b"k%d" % i for i in range(60)]


def test_a_guessed_put_no_first_member_owns_is_coordinated_by_an_owner() -> None:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=6, sloppy_quorum=False) as cluster:
        cluster.join("n6")
        cluster.run_until_quiet()
        cluster.join("n7")  # then n4 and n5 join, the keys written at W = 3, n4 leaves
        client = write_then_leave(cluster, KEYS, "n4", b"v1-")
        cluster.wipe("n1")  # its disk replaced while n4 leaves: its ring a guess
        n1 = cluster.node("n1")
        cluster.run_until(lambda: n1.gossiper.serving_guessed, max_time=5)
        cluster.run_for(0.5)
        first = [node for node in n1.gossiper.guessed_members() if node != "n1"][:3]
        view = cluster.node("n3").quorum.preference_list  # n3's view is not a guess
        future = cluster.node("n3").gossiper.future
        assert future is not None  # (n4 is leaving)
        # n1 rebuilds: a key it owns on the future ring cannot reach W = 3 (session 54)
        keys = [key for key in KEYS if not set(view(key)[:3]) & {"n1", *first}
                and "n1" not in future.preference_list(key, 3)]
        assert keys  # keys whose owners are none of the members n1 forwards to first
        for key in keys:
            context = client.get(key, r=2, coordinator=view(key)[0]).context
            client.put(key, b"v2-" + key, context, w=3, coordinator="n1")
        assert n1.gossiper.serving_guessed  # still a guess: reached
        stale = sorted({key for key in keys for node in view(key)[:3]
                        if client.get(key, r=1, coordinator=node).values != [b"v2-" + key]})
        # s53-probejoin: [b'k12', b'k14', b'k21', b'k42', b'k43'] (n1 coordinated them by its guess;
        # k21, of n1 on the future ring, is left out since session 54)
        assert stale == []
