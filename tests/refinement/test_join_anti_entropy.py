"""Anti-entropy during a join, in lockstep (session 25): an old owner that leaves the
key's top N still exchanges while it and its peer serve the key by the ring before
the change (``spec.membership.exchange_candidates``). Before, the spec paired only
the whole log's top N, so the implementation's n1 and n3, which had not heard of
n4's join, exchanged where the spec could not: the probe
:meth:`Lockstep.anti_entropy_refused` diverged ("anti-entropy n1 <-> n3 on k (not
enabled)"; docs/refinement.md, "Anti-entropy during a join or a leave (session 25)")."""

from __future__ import annotations

from model_check.refinement import Lockstep
from model_check.suite import entry
from spec.actions import AntiEntropy, ClientPut, Gossip, Handover, Join, Transfer
from spec.clocks import values
from spec.membership import current_top, exchange_candidates
from spec.model import initial_state, successors
from spec.state import Kind, State
from tests.spec.test_model import deliver, do

CONFIG = entry("join-anti-entropy").config


def _exchanges(state: State) -> set[tuple[str, str]]:
    return {(a.a, a.b) for a, _ in successors(state)
            if isinstance(a, AntiEntropy)}


def test_an_old_owner_exchanges_until_it_or_its_peer_hears_the_handover() -> None:
    """k's top N is n1, n2, n3 before n4's join and n4, n1, n2 after it. Right after
    n4 announced the join (no one else knows it) n3 still exchanges with n1: both
    serve k by the ring before the join; once n1 knows the handover it serves by the
    new ring, whose cut around k differs (n4's token bounds k's range), and the pair
    is gone; n4 and n1, both knowing it, exchange."""
    state = do(initial_state(CONFIG), ClientPut("c1", "n3", "k"))
    joined = do(state, Join("n4"))
    assert current_top(joined, "k") == ("n4", "n1", "n2")
    assert exchange_candidates(joined, "k") == ("n4", "n1", "n2", "n3")
    assert _exchanges(joined) == {("n1", "n3"), ("n2", "n3")}
    for action in (Gossip("n4", "n1"), Gossip("n1", "n2"), Gossip("n1", "n3"),
                   Transfer("n3", "n4", "k")):
        joined = do(joined, action)
    handed = do(deliver(joined, Kind.RANGE_TRANSFER, "n3", "n4"), Handover("n4"))
    assert ("n1", "n3") in _exchanges(handed)  # neither n1 nor n3 knows the handover
    knowing = do(handed, Gossip("n4", "n1"))
    assert _exchanges(knowing) == {("n2", "n3"), ("n4", "n1")}


def test_the_old_owners_exchange_maps_onto_the_implementation() -> None:
    """The lockstep: c1's put stored at n3 only, n4 announces its join; the pair n1-n3
    is the spec's, the implementation's exchange brings n1 the put (it was a
    divergence of the probe before), and after it no pair the spec does not enable
    moves anything."""
    ls = Lockstep(CONFIG)
    ls.put("c1", "n3", "k")
    ls.join("n4")
    assert ("n1", "n3") in ls.anti_entropy_pairs("k")
    ls.anti_entropy_pair("n1", "n3", "k")
    assert values(ls.state.node("n1").store[0]) == values(ls.state.node("n3").store[0])
    assert values(ls.state.node("n1").store[0])
    enabled = ls.anti_entropy_pairs("k")
    top = ls.exchange_candidates("k")
    for i, a in enumerate(top):
        for b in top[i + 1:]:
            if ls.reachable(a, b) and (a, b) not in enabled and (b, a) not in enabled:
                ls.anti_entropy_refused(a, b, "k")
    ls.cluster.close()
