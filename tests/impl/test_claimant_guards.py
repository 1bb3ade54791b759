"""The claimant's "one change at a time" guards (``Gossiper.claim``,
``Gossiper.changing``, ``Gossiper.take_reap_due``; docs/impl.md, "The claimant").

Review rev4 (issue 11, session 8) found hand mutants of these guards that every
shipped test let through: I1 (``claim`` does not ask ``changing()``), I3
(``take_reap_due`` sets the reaps again while another change is in progress) and I6
(``changing()`` ignores the view: a member joining with tokens or leaving without).
Each test below drives the claimant to the state where its guard decides and checks
what the guard prevents; each was run against its mutant (``mutate.py`` in
/work/wt/rev4-findings) and fails there. I4 (``changing()`` ignores the unsettled
previous ring) was redundant and is removed: see docs/impl.md, "The claimant".

Seeded and bounded: 5-node strategy-3 clusters (N=3), claims forced on the
claimant's own view, or one simulated run of two joins (< 10 s).
"""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.effects import Effect
from impl.gossip import Gossiper
from impl.membership import MemberStatus
from tests.impl.test_claimant import _settled

N = 3
KEYS = tuple(b"g-%d" % i for i in range(64))


def _claimant(handover: str) -> Gossiper:
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=1, partitioning="strategy3",
                               join_handover=handover)
    gossiper = cluster.node("n1").gossiper  # the lowest-named up member: the claimant
    assert gossiper.claims and not gossiper.changing()
    return gossiper


def _joins(gossiper: Gossiper, node: str) -> None:
    """``node`` announces itself joining (no tokens) and the claimant hears it."""
    gossiper._apply(gossiper.view.announce(node, status=MemberStatus.JOINING))


def _tokens(gossiper: Gossiper, node: str) -> tuple[int, ...]:
    member = gossiper.view.get(node)
    assert member is not None
    return member.tokens


@pytest.mark.parametrize("handover", ("pending", "immediate"))
def test_a_second_join_is_claimed_only_once_the_first_is_done(handover: str) -> None:
    """The claimant gives joining n6 its partitions; n7 then asks to join while n6 is
    still joining (with tokens): the claimant moves nothing for n7 (two changes
    would move partitions concurrently, a donor's partition possibly twice) until
    n6's change is done (under I1, seed 1, the second claim moves 9 partitions, one
    of them given to n6 by the first claim and not handed over yet: n5 -> n6 -> n7,
    both handovers). With ``join_handover = "immediate"`` the serving ring is
    the future ring at once (no transfer waits, nothing settles): only the view
    (n6 joining with tokens) tells that a change is in progress. Catches I1 (both
    handovers) and I6 (immediate)."""
    gossiper = _claimant(handover)
    _joins(gossiper, "n6")
    gossiper.claim()
    assert _tokens(gossiper, "n6") and gossiper.stats["claims"] == 1
    _joins(gossiper, "n7")
    before = gossiper.view.tokens()
    gossiper.claim()
    assert gossiper.stats["claims"] == 1
    assert _tokens(gossiper, "n7") == ()
    assert gossiper.view.tokens() == before  # no partition moved again
    if handover == "immediate":  # n6 announces itself up: the next claim is n7's
        gossiper._apply(gossiper.view.announce("n6", status=MemberStatus.UP))
        gossiper.claim()
        assert gossiper.stats["claims"] == 2 and _tokens(gossiper, "n7")


def test_a_leave_is_claimed_only_once_the_previous_leave_is_done() -> None:
    """Immediate handover: the claimant hands out leaving n2's partitions (n2 leaving
    with no tokens, still handing its data over); n3's leave is claimed only once n2
    has left. Only the view clause of ``changing()`` (a member leaving without
    tokens) tells the change is in progress. Catches I1 and I6."""
    gossiper = _claimant("immediate")
    gossiper._apply(gossiper.view.announce("n2", status=MemberStatus.LEAVING))
    gossiper.claim()
    assert _tokens(gossiper, "n2") == () and gossiper.stats["claims"] == 1
    gossiper._apply(gossiper.view.announce("n3", status=MemberStatus.LEAVING))
    gossiper.claim()
    assert gossiper.stats["claims"] == 1 and _tokens(gossiper, "n3")
    gossiper._apply(gossiper.view.announce("n2", status=MemberStatus.LEFT))
    gossiper.claim()
    assert gossiper.stats["claims"] == 2 and _tokens(gossiper, "n3") == ()


def test_reaps_are_set_again_only_at_the_settled_top_n() -> None:
    """n6 and n7 join at once; the claimant claims one, and the other once the first
    settled, in the same gossip round as it takes the settlement's reap hook
    (``Gossiper.on_round``: ``claim`` then ``take_reap_due``). The reaps not done
    must be set again at the keys' top N once *every* change settled: set again
    between the two changes, they would go to the top N of a ring the second change
    is moving away from. Every call of the claimant's hook sees, for 64 keys, the
    top N of the ring after both joins. Catches I3."""
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=1, partitioning="strategy3")
    gossiper = cluster.node("n1").gossiper
    hook = gossiper.after_change
    assert hook is not None
    seen: list[dict[bytes, tuple[str, ...]]] = []

    def recorded(now: float, top_n: object) -> list[Effect]:
        assert callable(top_n) and hook is not None
        seen.append({key: top_n(key) for key in KEYS})
        return hook(now, top_n)
    gossiper.after_change = recorded
    cluster.join("n6")
    cluster.join("n7")
    cluster.run_until(lambda: _settled(cluster, ("n6", "n7"), ()), max_time=600)
    assert gossiper.stats["claims"] == 2
    cluster.run_for(10.0)  # a few gossip rounds: the hook runs
    final = {key: gossiper.partitioning.preference_list(key, N) for key in KEYS}
    assert seen and all(top == final for top in seen)
