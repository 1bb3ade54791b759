"""The sloppy quorum: behaviours mutmut found no test pinned (issue 12, section 5;
docs/refinement.md, "Mutation score").

- a fallback the failure detector suspects is skipped too: a suspected target's share
  goes to the first fallback *believed reachable*, down the preference list.
"""

from __future__ import annotations

import random

from impl.effects import Send
from impl.failure_detector import FailureDetector
from impl.messages import PutRequest, ReplicaPut
from impl.node import Node
from impl.sloppy_quorum import SloppyQuorum, shortfall
from impl.storage.memory import MemoryStorage
from spec.ring import Partitioning, Ring, Strategy, strategy1, strategy2, strategy3
from tests.impl.test_node_driver import make_config

KEY = b"k"


def test_a_suspected_fallback_is_skipped_for_the_next_one() -> None:
    config = make_config(6, n=3, r=2, w=2)
    preference = Node("n1", config, MemoryStorage(), seed=1).preference_list(KEY)
    node = Node(preference[0], config, MemoryStorage(), seed=1, now=0.0)
    target, first_fallback, second_fallback = preference[1], preference[3], preference[4]
    node.detector.timed_out(target, 0.0)
    node.detector.timed_out(first_fallback, 0.0)
    effects = node.client_request(0.5, PutRequest(1, KEY, b"v", b"", None, "c1"))
    sent = {e.dest: e.message.hint for e in effects
            if isinstance(e, Send) and isinstance(e.message, ReplicaPut)}
    assert sent == {preference[2]: "", second_fallback: target}


def test_only_a_write_goes_to_the_future_top_n_by_default() -> None:
    """Before a handover (pending ownership: the ranges move to the ``future`` ring) a
    write's targets are the current and the future top N; a read's (``split``'s
    default, the get coordinator's call) the current top N alone."""
    config = make_config(5, n=3, r=2, w=2)
    current = Partitioning(Strategy.RANDOM_TOKENS, Ring.evenly_spaced(config.nodes), 1)
    future = Partitioning(Strategy.RANDOM_TOKENS,
                          Ring.evenly_spaced((*config.nodes, "n6")), 1)
    quorum = SloppyQuorum("n1", config, FailureDetector.for_node(config),
                          lambda: current, future=lambda: future)
    key = next(k for k in (b"k%d" % i for i in range(100))
               if set(future.preference_list(k, 3)) - set(current.preference_list(k, 3)))
    top = current.preference_list(key, 3)
    assert quorum.split(key)[0] == top
    written = quorum.split(key, writing=True)[0]
    assert written[:3] == top
    assert set(written) == set(top) | set(future.preference_list(key, 3))


def test_the_quorums_own_node_is_always_reachable_and_never_suspected() -> None:
    """``SloppyQuorum`` knows whose quorum it is: its own node is reachable whatever the
    failure detector holds (a coordinator never hands its own share to a fallback),
    and giving up on a share it stood in for itself tells the detector nothing (a node
    never suspects itself). (Session 9: ``SloppyQuorum.__init__`` with ``name`` None.)"""
    config = make_config(3, n=3, r=2, w=2)
    detector = FailureDetector.for_node(config)
    ring = Partitioning(Strategy.RANDOM_TOKENS, Ring.evenly_spaced(config.nodes), 1)
    quorum = SloppyQuorum("n1", config, detector, lambda: ring)
    quorum.give_up({"n3": "n1"}, "n3", 0.5)
    quorum.suspect("n1", 0.5)
    assert detector.suspicions(0.5) == {}
    detector.timed_out("n1", 0.5)
    assert not detector.is_available("n1", 0.5)
    assert quorum.reachable("n1", 0.5)
    assert not quorum.reachable("n2", 0.5) or detector.is_available("n2", 0.5)


def test_the_previous_and_future_top_n_follow_each_ring_change() -> None:
    """``groups`` reads the previous and the future ring's top N from preference
    lists it keeps (session 43, ``SloppyQuorum._previous_lists``/``_future_lists``):
    each must follow the ring it is handed, change after change, as the rings'
    own walk (``Partitioning.preference_list(key, n)``, the code before session 43)
    does. Session 43's review: lists kept for the first ring each was asked of (a
    scratch ``PreferenceLists`` that never starts over) give the first change's
    groups for every later change and fail here; session 43's code passes."""
    config = make_config(5, n=3, r=2, w=2)
    rng = random.Random(43)
    current = Partitioning(Strategy.RANDOM_TOKENS, Ring.evenly_spaced(config.nodes), 1)
    rings = [strategy1((*config.nodes, "n6"), 2, rng),
             strategy2((*config.nodes, "n7"), 2, 8, rng),
             strategy3(config.nodes[1:], 8, rng),
             strategy1(config.nodes[:4], 3, rng)]
    held: dict[str, Partitioning | None] = {"previous": None, "future": None}
    quorum = SloppyQuorum("n1", config, FailureDetector.for_node(config),
                          lambda: current, previous=lambda: held["previous"],
                          future=lambda: held["future"])
    keys = [b"k%d" % i for i in range(40)]
    changes = 0
    for previous, future in zip(rings, rings[1:] + rings[:1], strict=True):
        held["previous"], held["future"] = previous, future
        for key in keys:
            top = current.preference_list(key, 3)
            coming = future.preference_list(key, 3)
            old = quorum._replacing_removed(previous.preference_list(key, 3), top, coming)
            for writing in (False, True):
                expected: list[tuple[str, ...]] = []
                for group in (old, top, *([coming] if writing else [])):
                    if tuple(sorted(group)) not in expected:
                        expected.append(tuple(sorted(group)))
                got = quorum.groups(key, writing=writing)
                assert got == (tuple(expected) if len(expected) > 1 else ()), (
                    previous, future, key, writing)
                changes += got != ()
    assert changes > 100  # the rings differ from the current one on most keys


def test_a_primary_quorum_short_of_every_primary_says_none() -> None:
    """``shortfall__mutmut_9``, ``_10`` (session 46; the word for no primary changed):
    a request that reached its quorum but no primary names ``(none)``, alone or after
    the count it fell short of."""
    assert shortfall("R", 2, 2, set(), 1, "replicas") == ("0 of PR=1 primaries (none)", 1, 0)
    assert shortfall("W", 1, 2, (), 2, "acks") == (
        "1 of W=2 acks and 0 of PW=2 primaries (none)", 2, 1)
