"""Review of session 22's data fixes (session 23; docs/runtime.md, "Review of session
22's data fixes (session 23)"): the stray-copy rule
(:meth:`impl.gossip.Gossiper._hand_strays`), the removed node's replacement in the
old quorum group (:meth:`impl.sloppy_quorum.SloppyQuorum._replacing_removed`) and
the resend of a hint delivery sent "later" than now
(:meth:`impl.handoff.HintedHandoff.on_scan`).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.failure_detector import FailureDetector
from impl.messages import HintAck
from impl.node import Node
from impl.sloppy_quorum import SloppyQuorum
from impl.timers import HintScan
from impl.versions import apply_put, encode_record, values
from spec.ring import Partitioning, Ring, Strategy
from spec.vclock import VClock
from tests.impl.test_mutation_gaps_handoff import _deliveries, _fallback_with_hints
from tests.impl.test_node_driver import make_config
from tests.impl.test_stray_copy_review import handed_with_n5_cut_off


def test_a_node_restarted_between_its_look_and_the_last_ack_still_lets_its_copy_go(
        ) -> None:
    """n2 holds a stray copy of k0 (top N n4, n6, n5; seed 1) with a sibling only it
    holds, looks (as at a settlement) with n5 cut off from it, so n4 and n6
    acknowledge and n5 does not; n2 crashes and restarts, and the cut heals. The
    list of what a look handed (``Gossiper.strays``) is in memory only: the
    restarted node forgot it, and n5's acknowledgement of the persisted hint then
    let nothing go. Before the fix n2 kept its copy for good (a copy beyond N, read
    by no one; nothing lost: every owner got the sibling); now a look that left a
    handed copy kept says so in the store (``STRAYS_META``), a node restarted
    with it looks again, and the copy goes once the owners acknowledged it."""
    with SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=1, clock="dvv") as cluster:
        handed_with_n5_cut_off(cluster)
        cluster.crash("n2")
        cluster.run_for(1.0)
        cluster.restart("n2")
        cluster.heal()
        cluster.run_until_quiet(max_time=300.0)
        owners = cluster.node("n1").preference_list(b"k0")[:3]
        held = [sorted(values(cluster.node(o).record(b"k0"))) for o in owners]
        assert (held, cluster.node("n2").record(b"k0") is None) == (
            [[b"stray", b"v-k0"]] * 3, True)


def test_an_owners_ack_of_another_record_of_the_key_lets_no_stray_copy_go() -> None:
    """n2 holds a stray copy of k0 (top N n4, n6, n5) with a sibling only it holds,
    and a hint for n5 of another record of k0 (a fallback's, say). It looks with n5
    cut off: n4 and n6 acknowledge the stray record, n5 nothing. Then n5
    acknowledges the other hint: that is no acknowledgement of the stray record, so
    n2 keeps its copy and still waits for n5 (the rule lets a copy go only once
    every owner acknowledged the record it holds). A mutant that counted any
    acknowledgement of the key (session 22's review, M12, left open) let the copy
    go there, while n5 held no copy of the sibling."""
    with SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=1, clock="dvv") as cluster:
        other = b""

        def add_a_hint_of_another_record(node: Node) -> None:
            nonlocal other
            held = cluster.node("n4").record(b"k0")
            assert held is not None
            other = encode_record(apply_put(held, VClock(), b"v2", coordinator="n1",
                                            client_id="c8", now=cluster.now))
            node.hints.add("n5", b"k0", other)  # a sibling the stray copy lacks: kept apart

        node = handed_with_n5_cut_off(cluster, add_a_hint_of_another_record)
        fallback_hint = next(h.hint_id for h in node.hints.all() if h.record == other)
        node.handoff.on_ack("n5", HintAck(fallback_hint))
        assert (node.record(b"k0") is not None, set(node.gossiper.strays[b"k0"][1])) == (
            True, {"n5"})


def test_a_node_that_left_keeps_its_place_in_the_old_quorum_group_beside_a_removed_one(
        ) -> None:
    """The removed node's replacement (:meth:`impl.sloppy_quorum.SloppyQuorum.
    _replacing_removed`) is for a force-removed node only, which never answers
    again; a node that left the serving ring by a leave (it handed its ranges over,
    and answers until it left) keeps its place. One token per node: a key's old top
    N is n5, n6, n1; n6 was force-removed and n5 left, so the current top N is n1,
    n2, n3: n2 takes n6's place and n5 stays (two groups). A mutant replacing every
    old owner missing from the current top N (n5 by n3: one group) survived every
    cluster test (session 23's review); this pins the rule's scope (no loss was
    shown with the mutant)."""
    config = make_config(6, n=3, r=2, w=2)
    old = Ring.evenly_spaced(("n1", "n2", "n3", "n4", "n5", "n6"))
    current = Ring.from_tokens({node: old.tokens_of(node) for node in old.nodes
                                if node not in ("n5", "n6")})
    previous, serving = (Partitioning(Strategy.RANDOM_TOKENS, ring, 1)
                         for ring in (old, current))
    key = next(k for k in (b"k%d" % i for i in range(1000))
               if previous.preference_list(k, 3) == ("n5", "n6", "n1"))
    assert serving.preference_list(key, 3) == ("n1", "n2", "n3")
    quorum = SloppyQuorum("n4", config, FailureDetector.for_node(config),
                          lambda: serving, lambda: previous, lambda: serving,
                          lambda node: node == "n6")
    assert quorum.groups(key) == (("n1", "n2", "n5"), ("n1", "n2", "n3"))


def test_a_delivery_sent_later_than_now_by_less_than_the_timeout_is_sent_again_at_once(
        ) -> None:
    """A delivery sent at 10.0 s by a clock since stepped back 0.5 s (less than the
    request timeout, 1 s) is due at once at 9.5 s; a second scan at the very instant
    of a delivery does not send it again. Mutants of the fix's test (``sent_at >
    now``): ``sent_at > now + request_timeout`` waited out the step and a timeout
    (nothing sent at 9.5 s); ``sent_at >= now`` sent it twice at 10.0 s."""
    _, node = _fallback_with_hints("n2")
    assert _deliveries(node.fire(10.0, HintScan())) == [b"a"]
    assert _deliveries(node.fire(10.0, HintScan())) == []
    assert _deliveries(node.fire(9.5, HintScan())) == [b"a"]


@pytest.mark.parametrize(("clock", "via"), [("dvv", "n1"), ("lww", "n1"), ("dvv", "n2")])
def test_a_stray_live_copy_of_a_key_deleted_under_immediate_reaps_does_not_come_back(
        clock: str, via: str) -> None:
    """n2 holds a stray live copy of k0 (top N n4, n6, n5; seed 1) when k0 is deleted
    at W = 3 through ``via`` under ``delete_mode = "immediate"``: the owners reap at
    once. Then n2 looks for stray copies. Before the fix the look handed ``v-k0``
    back to the owners, and k0 read ``[b'v-k0']`` at R = 3 once quiet (session 22's
    review: every clock mode, 60 of 60 planted keys). Now the immediate reap goes
    to every member, and one that is no replica of the key lets go a copy the
    tombstone dominates (:meth:`impl.reaping.Reaper.reap_local`), the delete's own
    coordinator too (``via`` n2: the stray node itself)."""
    with SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=1, clock=clock,
                          delete_mode="immediate") as cluster:
        cluster.run_for(3.0)
        context = cluster.client("n1").put(b"k0", b"v-k0", w=3).context
        node = cluster.node("n2")
        assert "n2" not in node.preference_list(b"k0")[:3]
        node.replica.merge_into_local(b"k0", cluster.node("n4").record(b"k0"))
        cluster.client(via).delete(b"k0", context, w=3)
        cluster.run_for(2.0)
        node.gossiper.stray_scan_due = True
        cluster.run_until_quiet(max_time=300.0)
        assert ([n for n in cluster.node_names if cluster.node(n).record(b"k0") is not None],
                cluster.client("n1").get(b"k0", r=3).values) == ([], [])


def test_phi_counts_from_a_clock_stepped_back_so_a_silent_peer_is_suspected() -> None:
    """Heartbeats from n3 every second up to 9 s, then this node's clock steps back
    3,600 s (a message from n2 is the first input after it) and n3 falls silent:
    10 s later (by the stepped clock) phi suspects it, as it would without the
    step. Before, the last arrival stayed "later" than
    now for the step's length and phi stayed 0 (the simulator, phi-accrual: a
    crashed peer still available 60 s after a -3,600 s step), the same kind as the
    hint resend's stepped clock (session 22's data probe)."""
    detector = FailureDetector()
    for second in range(10):
        detector.heard_from("n3", float(second))
    detector.heard_from("n2", -3591.0)  # the first input after the step
    assert detector.is_available("n3", -3591.0)
    assert not detector.is_available("n3", -3581.0)
