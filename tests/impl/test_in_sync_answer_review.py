"""The in-sync answer of session 35 answers once, never an answer (session 35's review).

A replica that finds an opener's root in sync answers the root's children
(:func:`impl.merkle.root_children`); the opener that finds them in sync records the
pair and answers nothing. Answering every step found in sync (the mutant) makes the
two replicas answer each other for ever: test_node_antientropy.py's
``test_in_sync_replicas_exchange_roots_only`` then hangs rather than fails.
"""

from __future__ import annotations

from impl.antientropy import from_exchange, to_exchange
from impl.cluster import SimulatedCluster
from impl.effects import Send
from impl.merkle import root_children, start
from impl.messages import MerkleExchange


def test_an_in_sync_root_is_answered_once_and_the_answer_not_at_all() -> None:
    """Two in-sync replicas of a range: n2 answers n1's root with one level-1 step
    under the root (and records nothing since session 36: only the opener does);
    n1 finds it in sync, records the pair and sends nothing; n1's root's children
    answered by n2 as a step (not an opener's root) are not answered either."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        client = cluster.client("n1")
        for i in range(10):
            client.put(b"k%d" % i, b"v")
        cluster.run_until_quiet()
        n1, n2 = cluster.node("n1").anti_entropy, cluster.node("n2").anti_entropy
        lo, hi = n1.trees.ranges[0]
        tree1, tree2 = n1.trees.get(lo, hi), n2.trees.get(lo, hi)
        assert tree1 is not None and tree2 is not None and tree1.root() == tree2.root()
        pairs: list[tuple[str, tuple[tuple[int, int], str]]] = []
        n1.synced.append(lambda r, peer: pairs.append(("n1", (r, peer))))
        n2.synced.append(lambda r, peer: pairs.append(("n2", (r, peer))))
        root = n1._open("n2", tree1).message
        assert isinstance(root, MerkleExchange) and from_exchange(root) == start(tree1)
        effects = n2.on_merkle_exchange("n1", root)
        assert pairs == []  # (session 36: a peer's root counts nothing)
        assert len(effects) == 1 and isinstance(effects[0], Send)
        answer = effects[0].message
        assert isinstance(answer, MerkleExchange) and answer.session == root.session
        assert from_exchange(answer) == root_children(tree2)
        assert n1.on_merkle_exchange("n2", answer) == []
        assert pairs == [("n1", ((lo, hi), "n2"))]
        assert n2.on_merkle_exchange("n1", to_exchange(8, root_children(tree1))) == []
