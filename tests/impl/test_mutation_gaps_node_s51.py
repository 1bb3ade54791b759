"""Tests for behaviours of :mod:`impl.node` that session 51's mutmut run of the file
(docs/refinement.md, "Mutation score of impl/node.py, continued (session 51)") found
no test for: each one kills the mutants its docstring names (checked by hand in
mutmut's copy: ``MUTANT_UNDER_TEST=NAME pytest`` exits 1, and 0 with no mutant named).
Deterministic: seeded simulated clusters and nodes, injected time.
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.effects import Effect, Send
from impl.messages import Gossip, HintDelivery, SeenDigest
from impl.restore_guard import generations_to_bytes, parse_generation
from impl.timers import GossipRound
from tests.impl.test_mutation_gaps_node import _node
from tests.impl.test_mutation_gaps_node_s50 import _restarted_n3
from tests.impl.test_quick_restart_rollback import _stale_root
from tests.impl.test_wiped_node_reads import _running


def test_each_message_of_a_superseded_start_is_counted() -> None:
    """A ``MerkleExchange`` of n2's start before its restart, delivered to n1 twice
    after n1 heard the restart's generation: each delivery is dropped as stale
    (:meth:`Node.receive`, :meth:`impl.restore_guard.RestoreGuard.superseded`) and
    counted, ``superseded-start-dropped`` 2 (``receive__mutmut_71``: ``= 1``, the
    count stays 1; tests/impl/test_quick_restart_rollback.py delivers it once)."""
    with _running(SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)) as cluster:
        cluster.client("n1").put(b"k", b"v1")
        stale = _stale_root(cluster)
        cluster.crash("n2")
        cluster.restart("n2")
        n1 = cluster.node("n1")

        def heard_restart() -> bool:  # n1 told n2's new start by gossip
            guards = n1.guard, cluster.node("n2").guard
            return None not in guards and guards[0].yours("n2") == guards[1].generation

        cluster.run_until(heard_restart, max_time=30)
        assert n1.guard is not None
        for _ in range(2):
            now = cluster.sim.node_now("n1")
            assert n1.receive(now, "n2", stale) == []
        assert n1.guard.rolled_back == set()
        assert n1.stats["superseded-start-dropped"] == 2


def test_a_gossip_relaying_its_senders_own_generation_is_not_taken() -> None:
    """n2's gossip to n1 relays (``Gossip.generations``) a later start of n2 itself
    than its own ``generation`` says: n1 takes a sender's generation from its
    ``generation`` only (:meth:`Node._take_relayed`: "Its own is its gossip's
    ``generation``", not read again from the relay), so n1 still holds the one n2
    said, counts no ``generation-relayed`` and does not mark n2 relayed-only
    (``receive__mutmut_153``: ``_take_relayed(None, relayed)``, the sender not left
    out: taken as a relay of a third node)."""
    with _running(SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)) as cluster:
        n1, n2 = cluster.node("n1"), cluster.node("n2")
        assert n1.guard is not None and n2.guard is not None
        own = n2.guard.generation
        assert n1.guard.heard["n2"] == own
        parsed = parse_generation(own)
        assert parsed is not None
        later = f"{parsed[0] + 1}.{'0' * len(parsed[1])}"
        before = n1.stats["generation-relayed"]
        gossip = Gossip(n2.view.to_bytes(), reply=False, generation=own,
                        yours=n1.guard.generation,
                        generations=generations_to_bytes({"n2": later}))
        n1.receive(cluster.sim.node_now("n1"), "n2", gossip)
        assert n1.guard.heard["n2"] == own
        assert "n2" not in n1.guard.relayed_only
        assert n1.stats["generation-relayed"] == before


def test_a_gossip_of_a_start_heard_that_asks_no_reply_is_not_answered() -> None:
    """In a running cluster (every start heard), a gossip n2 sends n1 with ``reply``
    false, the views alike, of n2's start n1 heard: n1 answers nothing
    (:meth:`Node.receive` answers a gossip asking no reply only for a start of its
    sender not heard before: the shadow round waits for it)
    (``receive__mutmut_157``: ``new and message.reply or not any(...)``, every such
    gossip answered by one: two nodes answer each other for ever, and mutmut cut its
    run as a timeout)."""
    with _running(SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)) as cluster:
        n1, n2 = cluster.node("n1"), cluster.node("n2")
        assert n1.guard is not None and n2.guard is not None
        assert n1.view == n2.view
        gossip = Gossip(n2.view.to_bytes(), reply=False, generation=n2.guard.generation,
                        yours=n1.guard.generation)
        effects = n1.receive(cluster.sim.node_now("n1"), "n2", gossip)
        assert [e for e in effects if isinstance(e, Send) and e.dest == "n2"] == []


def test_a_round_asking_a_peer_again_drops_only_its_gossips_to_that_peer() -> None:
    """n3 restarted (its startup round waiting for n1 and n2); n1 gossips to it
    without naming this start, so the round asks n1 again (a Gossip wanting a reply:
    :meth:`Node._shadow_heard`), and that ask is n1's answer: of the gossip handler's
    effects (stubbed here: a gossip and a seen digest to n1, a gossip to n2) only the
    gossip to n1 is dropped (:meth:`Node.receive`, session 37); the seen digest to
    n1 and the gossip to n2 are sent (``receive__mutmut_202``: ``type(e) is Send or
    ...``, every Send dropped; ``_201``: ``... or isinstance(e.message, Gossip)``,
    every gossip and every Send to n1 dropped; both cut as timeouts by mutmut, each
    a survivor of the shadow round's five test files)."""
    cluster = _restarted_n3()
    n3, now = cluster.node("n3"), cluster.now
    view = n3.view.to_bytes()
    digest = SeenDigest(b"seen", reply=False)

    def handler(now: float, src: str, message: object) -> list[Effect]:
        return [Send("n1", Gossip(view, reply=False)), Send("n1", digest),
                Send("n2", Gossip(view, reply=False))]

    n3._messages[Gossip] = handler
    effects = n3.receive(now, "n1", Gossip(cluster.node("n1").view.to_bytes(), reply=False))
    sent = [(e.dest, type(e.message).__name__, getattr(e.message, "reply", None))
            for e in effects if isinstance(e, Send)]
    assert sorted(sent) == [("n1", "Gossip", True), ("n1", "SeenDigest", False),
                            ("n2", "Gossip", False)]


def test_a_hint_delivery_carries_its_senders_generation() -> None:
    """4 nodes, N = 3, R = W = 2, the restore guard on: a put while a top-N node of
    the key is down leaves a hint at a fallback; once the node is back, the
    fallback's hint scan delivers it (a ``HintDelivery`` sent with no gossip beside
    it), stamped with the fallback's store generation (:meth:`Node._finish`: a
    message of ``_GENERATION_STAMPED`` whose generation is not the guard's is
    stamped), so that the receiver's guard can refuse a rolled-back fallback's hints
    (``_finish__mutmut_1``: ``guard = None``; ``_2``: ``generation = None``: a hint
    delivered with no generation, which the receiver checks against nothing)."""
    with _running(SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3)) as cluster:
        down = cluster.node("n1").preference_list(b"h")[0]
        coordinator = next(n for n in cluster.node_names if n != down)
        cluster.crash(down)
        cluster.client(coordinator).put(b"h", b"v1")
        cluster.restart(down)
        found: list[tuple[str, HintDelivery]] = []

        def delivered() -> bool:
            for sent in cluster.sim.in_flight():
                if isinstance(sent.message, HintDelivery) and sent.dest == down:
                    found.append((sent.src, sent.message))
            return bool(found)

        cluster.run_until(delivered, max_time=60)
        for src, message in found:
            guard = cluster.node(src).guard
            assert guard is not None and message.generation == guard.generation


def test_an_input_finished_leaves_no_generation_to_put_back_at_the_next_one() -> None:
    """After an input's effects are finished (:meth:`Node._finish`: its writes staged,
    a failure of them is :meth:`Node.persist_failed`'s), the generation it advanced
    from is forgotten: a later input that advances the generation and is discarded
    puts back the one it advanced from, not an empty one
    (``_finish__mutmut_18``: ``_unadvanced = ""``, so the next advance records
    nothing and its discard sets the store's generation to ""; the same rule after a
    discard: tests/impl/test_mutation_gaps_node.py,
    ``test_a_discarded_input_leaves_no_generation_to_put_back_at_the_next_one``)."""
    node = _node()
    assert node.guard is not None and node.guard.confirmed
    node.fire(1.0, GossipRound())  # an input, finished
    before = node.guard.generation
    node._advance_generation(2.0)
    assert node.guard.generation != before
    node._discard_writes()
    assert node.guard.generation == before
