"""A leave that waits for a hint a rebuilding node withholds, while a removal waits
for the leave (session 55's review; docs/runtime.md, "Review of the rebuilding
node's holes (session 55, review)").

Session 55 (``s55-holes``) made a rebuilding node withhold the ``HintAck`` of a key
it owns on both rings during leaves and removals too
(:meth:`impl.node.Node._unrebuilt_mine`). A leaving node announces ``left`` only
once it holds no hint (:meth:`impl.handoff.HintedHandoff.on_scan`), so a leaving
fallback holding such a hint waits for the rebuild; the rebuild waits for an
exchange with every other replica of its ranges (:mod:`impl.rebuild`), a crashed
member among them until its force-removal changes the ring; and with claims
(strategy 3, the simulator's default) the claimant claims one change at a time:
the removal waits for the leave. None of the three ends.

6 nodes, N = 3, anti-entropy every 30 s; n1's and n2's disks replaced (both
rebuilding); for each of 12 keys both own, n1 -> the third owner cut one way, a
put at W = 2 through n1 (made by fallbacks holding hints for n1 and n2, withheld),
healed; the fallback holding the most of those hints asked to leave; another node
crashed, 13 s later force-removed.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import DynamoError
from impl.simulator import SimulationError
from tests.impl.test_rebuilding_acks_agree import two_wiped, unrebuilt_by_both

Watch = Callable[[SimulatedCluster, str, set[tuple[bytes, str]]], None]


def _leave_of_a_fallback_with_a_removal(seed: int, clock: str, watch: Watch | None = None
                                        ) -> tuple[str, str, bool, list[bytes]]:
    """The scenario of the module docstring: (the fallback that leaves, the node
    removed, whether the cluster got quiet within 600 s after, the keys put and read
    without their value at R = 2 then). ``watch(cluster, leaver, held)``, if given, is
    called every 0.5 s of simulated time from the leave until the leaver holds none of
    ``held`` (the (key, intended node) of its hints for n1 and n2 at the leave), for
    at most 300 s after the removal."""
    with two_wiped(seed, clock, nodes=6) as cluster:
        put: dict[bytes, bytes] = {}
        for i, key in enumerate(unrebuilt_by_both(cluster, 12)):
            third = next(n for n in cluster.node("n1").preference_list(key)[:3]
                         if n not in ("n1", "n2"))
            cluster.partition_one_way(["n1"], [third])
            try:
                cluster.client("n1").put(key, b"v%d" % i, w=2, coordinator="n1")
                put[key] = b"v%d" % i
            except DynamoError:
                pass
            finally:
                cluster.heal()
        holders = collections.Counter(
            name for name in cluster.sim.nodes for hint in cluster.node(name).hints.all()
            if hint.intended in ("n1", "n2") and hint.key in put)
        leaver = holders.most_common(1)[0][0]
        removed, by = [n for n in cluster.node_names if n not in (leaver, "n1", "n2")][:2]
        held = {(hint.key, hint.intended) for hint in cluster.node(leaver).hints.all()
                if hint.intended in ("n1", "n2") and hint.key in put}
        cluster.leave(leaver)
        cluster.crash(removed)
        for _ in range(26 if watch else 1):
            cluster.run_for(0.5 if watch else 13.0)
            if watch:
                watch(cluster, leaver, held)
        cluster.force_remove(by, removed)
        for _ in range(600 if watch else 0):
            cluster.run_for(0.5)
            assert watch is not None
            watch(cluster, leaver, held)
            if not held & {(h.key, h.intended) for h in cluster.node(leaver).hints.all()}:
                break
        quiet = _quiet(cluster)
        stale = [key for key, value in put.items()
                 if value not in cluster.client(by).get(key, r=2, coordinator=by).values]
        return leaver, removed, quiet, stale


def _quiet(cluster: SimulatedCluster) -> bool:
    try:
        cluster.run_until_quiet(max_time=600.0)
    except SimulationError:
        return False
    return True


@pytest.mark.parametrize(("seed", "clock"), [(0, "dvv")])
def test_a_fallback_leaving_while_a_replica_is_removed_ends(seed: int, clock: str) -> None:
    """On ``3651b659`` (s55-holes merged; main) n5 (the leaver) stays ``leaving``, n3
    ``removing``, n1 and n2 rebuilding (pending pairs only with n3) for good; seeds
    0-5 (dvv) and 0-3 (client-vclock, server-vclock, lww) not quiet in 900 s every
    time. On ``aab63000`` (before the merge, every hint acknowledged during a leave)
    quiet (seeds 0 and 1, dvv). No value lost either way. Since ``s55-cycle`` the
    leaver hands such a hint to a fallback that stays
    (:meth:`impl.handoff.HintedHandoff._hand_over`): quiet, seeds 0-5 (dvv) and 0-3
    (the other modes). Mutant, seen failing: the hand-over removed (``assert quiet``)."""
    leaver, removed, quiet, stale = _leave_of_a_fallback_with_a_removal(seed, clock)
    assert (leaver, removed) == ("n5", "n3")
    assert stale == []
    assert quiet


def test_a_leaver_lets_a_withheld_hint_go_only_once_a_staying_fallback_holds_it() -> None:
    """Every 0.5 s from the leave of the scenario above (seed 0, dvv): each hint for n1
    or n2 the leaver held and no longer holds is either acknowledged by its intended
    node (the key's range rebuilt: :meth:`impl.node.Node._unrebuilt_mine` false) or
    held, for the same intended node, by another node that is up (the hand-over's
    fallback; :meth:`impl.handoff.HintedHandoff._hand_over` deletes the leaver's copy
    only on that fallback's ``ReplicaPutAck``). Mutant, seen failing: ``_hand_over``
    deletes the hint as it sends the ``ReplicaPut`` (the cycle test above passes with
    it at seed 0: the intended node stored each delivery it did not acknowledge)."""
    let_go: list[tuple[bytes, str]] = []

    def watch(cluster: SimulatedCluster, leaver: str, held: set[tuple[bytes, str]]) -> None:
        still = {(h.key, h.intended) for h in cluster.node(leaver).hints.all()}
        for key, intended in held - still:
            if (key, intended) in let_go:
                continue
            let_go.append((key, intended))
            acked = not cluster.node(intended)._unrebuilt_mine(key)
            kept = any((h.key, h.intended) == (key, intended)
                       for name in cluster.sim.nodes if name != leaver  # (the live)
                       for h in cluster.node(name).hints.all())
            assert acked or kept, (key, intended)

    _, _, quiet, stale = _leave_of_a_fallback_with_a_removal(0, "dvv", watch)
    assert let_go and stale == [] and quiet
