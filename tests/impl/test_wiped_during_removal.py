"""A node wiped during a removal acknowledges exactly the hints that move their key
to it (session 58; docs/runtime.md, "Wiped during a removal (session 58)").

A replaced disk's serving ring is a guess during a change
(:attr:`impl.gossip.Gossiper.serving_guessed`): under strategy 3 its guess is the
future ring, on which every key it replicates is its own on "both rings". Rebuilding,
it withholds the ``HintAck`` of a key it owns on both rings (a put's fallback's hint,
which must stay in the reads' reach until its range is rebuilt) and acknowledges one
whose key moves to it (a handoff the ring change waits for:
:meth:`impl.node.Node._unrebuilt_mine`). On its own rings it could not tell them
apart, and withheld both: the removal waited for the handoff, and the rebuild for
the removal (``test_wiped_leavers_review57.py``). The sender, whose rings are exact,
says which it is (``HintDelivery.moves``: :meth:`impl.gossip.Gossiper.moves_to`).
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.effects import Send
from impl.messages import HintAck, HintDelivery
from tests.impl.test_wiped_leaver_reads import KEYS
from tests.impl.test_wiped_mid_change_reads import wiped_leaver_then_n2


def test_a_guessed_rebuilding_node_acks_the_hints_that_move_their_key_and_no_other() -> None:
    """Seed 2, strategy 3: n4 asked to leave and wiped 1 s later (it removes itself),
    n2 wiped 0.5 s after, then 1 s run: n2 rebuilds, its guessed serving ring the
    future one, n4 ``removing``. Each key of :data:`KEYS` whose top N on n1's future
    ring holds n2 is delivered to n2 as n1 would (``moves`` from n1's rings): the
    flag is set exactly for the keys n1's serving ring does not give n2 (4: ``k20``,
    ``k24``, ``k29``, ``k33``), and n2 acknowledges a delivery exactly when its key
    moves or n2 has rebuilt its range; so none of the 10 keys n2 replicates on both
    of n1's rings and has not rebuilt is acknowledged (a put's fallback's hint,
    which session 54 keeps out of the fallback's deletion:
    ``tests/impl/test_rebuilding_ring_change_review.py``).

    Mutants, each run and seen failing: a guessed node acknowledging every hint
    (session 57's tried fix (i): the 10 keys of both rings acknowledged);
    ``_unrebuilt_mine`` not reading ``moves`` (the 4 moving keys withheld);
    ``moves_to`` not asking the serving ring (the 10 flagged too)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, partitioning="strategy3"
                          ) as cluster:
        wiped_leaver_then_n2(cluster, KEYS)
        cluster.run_for(1.0)
        n1, n2 = cluster.node("n1"), cluster.node("n2")
        assert n2.gossiper.serving_guessed and n2.rebuild.active
        assert n2.gossiper.partitioning.ring == n2.gossiper.future.ring
        serving, future = n1.gossiper.partitioning, n1.gossiper.future
        moving, both, flags, wrong = [], [], [], []
        for number, key in enumerate(KEYS):
            record = n1.storage.read(key)
            if not record or "n2" not in future.preference_list(key, 3):
                continue
            moves = n1.gossiper.moves_to("n2", key)
            unrebuilt = n2._unrebuilt_range(key)
            if "n2" not in serving.preference_list(key, 3):
                moving.append(key)
            elif unrebuilt:
                both.append(key)
            if moves != (key in moving):
                flags.append(key)
            effects = n2.receive(cluster.now, "n1", HintDelivery(10**6 + number, key, record,
                                                                 moves=moves))
            acked = any(isinstance(e, Send) and isinstance(e.message, HintAck)
                        for e in effects)
            if acked != (moves or not unrebuilt):
                wrong.append(key)
        assert (len(moving), len(both)) == (4, 10)  # (the scenario holds both kinds)
        assert flags == []
        assert wrong == []
