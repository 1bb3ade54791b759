"""Session 42's review of the anti-entropy speed levers (docs/simulator.md, "The
anti-entropy's hot path (session 42)"; docs/simulator.md, "Review of session 42's
speed levers (session 42)").

The in-sync fast path of :meth:`impl.antientropy.AntiEntropy.on_merkle_exchange`
(:func:`impl.merkle.whole_level_in_sync`) must answer only a step that
:func:`impl.merkle.check` and :func:`impl.merkle.answer` would find in sync: a step of
another fanout or depth, or a ``buckets`` step whose fields happen to equal a whole
level's items, goes the slow way (the one refused, the other compared bucket by
bucket). A peer with the cluster's secret can send either through the wire
(:func:`impl.wire.decode` builds it through the constructor, which checks each field
alone, not against the receiver's tree). And :meth:`AntiEntropy.on_round` asks the
failure detector afresh at every round. Each test names the mutant it kills (scratch
edits, reverted; none of session 42's own tests failed under them).
"""

from __future__ import annotations

import pytest

from impl.antientropy import AntiEntropy
from impl.effects import Send
from impl.errors import PeerDataError
from impl.merkle import MerkleTree
from impl.messages import MerkleExchange
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from tests.impl.test_antientropy_followup import _node


def _filled() -> tuple[AntiEntropy, MerkleTree]:
    """n1's anti-entropy over 300 keys, and its tree of its first range."""
    anti_entropy = _node("n1", MemoryStorage("always")).anti_entropy
    for i in range(300):
        anti_entropy.trees.update(b"key-%d" % i, b"record")
    lo, hi = anti_entropy.trees.ranges[0]
    tree = anti_entropy.trees.get(lo, hi)
    assert tree is not None and tree.level_items(1)[0]  # (some key lies in the range)
    return anti_entropy, tree


@pytest.mark.parametrize("other", ["fanout", "depth"])
def test_a_whole_level_step_of_another_shape_is_refused(other: str) -> None:
    """The root and the root's children as the tree holds them, in a step naming
    another fanout or depth: the shape is not the receiver's, so the step is the
    peer's fault (PeerDataError), as the checks find it (mutants: the fast path
    without its fanout test, each step answered in sync; without its depth test,
    as test_mutation_gaps_antientropy_s34 also finds)."""
    anti_entropy, tree = _filled()
    shape = tree.shape
    fanout = shape.fanout * 2 if other == "fanout" else shape.fanout
    depth = shape.depth + 1 if other == "depth" else shape.depth
    for level, parents in ((0, ()), (1, (0,))):
        indexes, hashes = tree.level_items(level)
        good = MerkleExchange(5, shape.lo, shape.hi, shape.fanout, shape.depth, "level",
                              level, parents, indexes, hashes)
        assert (anti_entropy.on_merkle_exchange("n2", good) == []) is (level == 1)
        step = MerkleExchange(5, shape.lo, shape.hi, fanout, depth, "level", level,
                              parents, indexes, hashes)
        with pytest.raises(PeerDataError):
            anti_entropy.on_merkle_exchange("n2", step)


def test_a_buckets_step_with_a_whole_levels_items_is_compared_as_buckets() -> None:
    """A ``buckets`` step carrying the root's index and hash (its ``hashes`` field
    unused by a buckets step) names bucket 0 holding no keys: compared bucket by
    bucket, as before session 42, it is never answered with the root's children
    (mutant: the fast path without its ``step == "level"`` test: a level-1 step
    sent back)."""
    anti_entropy, tree = _filled()
    shape = tree.shape
    indexes, hashes = tree.level_items(0)
    step = MerkleExchange(5, shape.lo, shape.hi, shape.fanout, shape.depth, "buckets",
                          0, (), indexes, hashes)
    answers = anti_entropy.on_merkle_exchange("n2", step)
    assert not [e for e in answers if isinstance(e, Send)
                and isinstance(e.message, MerkleExchange) and e.message.step == "level"]


def _opened_with(node: Node, now: float) -> set[str]:
    """The peers a plain round of ``node`` at ``now`` opens exchanges with."""
    return {e.dest for e in node.fire(now, AntiEntropyRound())
            if isinstance(e, Send) and isinstance(e.message, MerkleExchange)}


def test_each_round_asks_the_failure_detector_again() -> None:
    """A peer suspected at one round is left out of it and picked again once heard
    from; a peer suspected after a round is left out of the next (mutant: the
    round's reachability kept across rounds: n2 never picked again, n3 still
    picked while suspected)."""
    n1 = _node("n1", MemoryStorage("always"))
    assert len(n1.anti_entropy.trees.ranges) > 1
    n1.quorum.suspect("n2", 1.0)
    assert _opened_with(n1, 1.0) == {"n3"}
    n1.detector.heard_from("n2", 1.5)  # (any message clears a suspicion)
    picked: set[str] = set()
    for step in range(10):
        picked |= _opened_with(n1, 2.0 + step * 0.01)
    assert picked == {"n2", "n3"}
    n1.quorum.suspect("n3", 3.0)
    for step in range(10):
        assert _opened_with(n1, 3.0 + step * 0.01) == {"n2"}
