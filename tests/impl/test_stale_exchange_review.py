"""Review of session 36's live exchanges (docs/runtime.md "Stale exchanges across a
wipe (session 36)", "Review (session 36)").

Two holes the helper's tests did not reach: a rebuild begun again within a start
(a store set aside a second time while it rebuilt) must forget the exchanges of
the first rebuild too; and the duplicated stale root the helper left open: a
peer's root delivered to the node before its disk was replaced and again after
makes the peer's session live at the rebuilt node, and a later step of that
session, chosen by the comparison with the tree of before (it names only the
subtrees that differed then), completes the pair with the rebuilt node lacking a
write that the tree of before and the peer agreed on.
"""

from __future__ import annotations

from impl.effects import Send
from impl.messages import MerkleExchange
from impl.node import Node
from impl.positions import position_of
from impl.records import ClockMode, Record
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from impl.versions import encode_record
from spec import dvv
from tests.impl.test_antientropy_followup import _node
from tests.impl.test_stale_exchange_after_wipe import _answers, _in_sync_pair


def test_a_rebuild_begun_again_forgets_the_exchanges_of_the_first() -> None:
    """n1 begins a rebuild, opens an exchange of each range with n2, and begins its
    rebuild again (a second set-aside within the start) before n2's answers arrive:
    they compared the store before the second set-aside and complete nothing. (The
    mutant that forgets only when no rebuild is under way counts them.)"""
    n1, n2 = _in_sync_pair()
    told: list[tuple[tuple[int, int], str]] = []
    n1.anti_entropy.synced.append(lambda done, peer: told.append((done, peer)))
    n1._begin_rebuild(1.0)
    before = _answers(n1, n2, 1.5)
    n1._begin_rebuild(2.0)
    assert n1.rebuilding
    for answer in before:
        n1.receive(2.5, "n2", answer)
    assert told == []
    assert {pair for pair in n1.rebuild.pending if pair[1] == "n2"} == {
        (r, "n2") for r in n1.anti_entropy.trees.ranges}


def _record(value: bytes) -> bytes:
    return encode_record(Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(
        [("n8~000000000002", 1, [value])])))


def _two_keys(node: Node) -> tuple[bytes, bytes]:
    """Two keys of one range of ``node``'s trees under different children of the
    root (the tree's level 1)."""
    trees = node.anti_entropy.trees
    seen: dict[tuple[tuple[int, int], int], bytes] = {}
    for i in range(10_000):
        key = b"key-%d" % i
        where = trees.range_of(position_of(key))
        assert where is not None
        tree = trees.get(*where)
        assert tree is not None
        child = tree.shape.bucket_of(position_of(key)) * tree.shape.fanout // tree.shape.buckets
        for (other_range, other_child), other in seen.items():
            if other_range == where and other_child != child:
                return other, key
        seen[(where, child)] = key
    raise AssertionError("no two keys")


def test_a_root_duplicated_across_a_wipe_does_not_let_a_step_of_before_count() -> None:
    """n2 holds ``k`` and ``x`` (one range, two children of its root), n1 before its
    wipe ``k`` only. n2's root goes to n1 twice: the first copy reaches n1 before
    the wipe, which answers with its children; n2 answers that with a level-2 step
    naming ``x``'s child alone (the one child that differed), held in flight. n1's
    disk is replaced and it rebuilds; it holds ``x`` (say from n3) and not ``k``.
    The second copy of the root arrives: found differing, the session is live;
    then the held step: ``x``'s subtree in sync, and the pair (range, n2) is done
    with n1 lacking ``k``, which n1 (before) and n2 acknowledged. With the pairs
    with n3 done (n3 missed ``k`` too), the rebuild ends and a get at R = 2 through
    n3 reads ``k`` not found (the scenario of
    ``tests/impl/test_stale_exchange_after_wipe.py``). Fixed: a peer's exchange
    never completes a pair at the node; the mutant that makes a peer's root found
    differing live again (the helper's rule) fails here."""
    probe = _node("n1", MemoryStorage("always"))
    k, x = _two_keys(probe)
    old_store, n2_store = MemoryStorage("always"), MemoryStorage("always")
    old_store.write(k, _record(b"k"))
    n2_store.write(k, _record(b"k"))
    n2_store.write(x, _record(b"x"))
    old_n1, n2 = _node("n1", old_store), _node("n2", n2_store)
    where = n2.anti_entropy.trees.range_of(position_of(k))
    root = next(e.message for e in n2.fire(1.0, AntiEntropyRound("n1"))
                if isinstance(e, Send) and isinstance(e.message, MerkleExchange)
                and (e.message.lo, e.message.hi) == where)
    level1 = [e.message for e in old_n1.receive(1.0, "n2", root)
              if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
    assert [step.level for step in level1] == [1]
    held = [e.message for e in n2.receive(1.0, "n1", level1[0])
            if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
    assert [(step.step, step.level) for step in held] == [("level", 2)]
    new_store = MemoryStorage("always")
    new_store.write(x, _record(b"x"))  # (from n3's copy, say)
    n1 = _node("n1", new_store)
    n1._begin_rebuild(2.0)
    assert n1.rebuilding and (where, "n2") in n1.rebuild.pending
    n1.receive(2.0, "n2", root)  # the duplicate: differing (no k), live
    n1.receive(2.0, "n2", held[0])  # chosen by the tree of before
    assert n1.replica.local_record(k).is_empty
    assert (where, "n2") in n1.rebuild.pending, (
        "a step of before counted: the pair with n2 done, n1 lacking k")


def test_a_pair_done_is_opened_only_when_picked() -> None:
    """While rebuilding, the extra opens go to the pairs still to do alone: a pair
    done is opened in a round only as the replica the round picks, so not in every
    one of 8 rounds (the mutant that opens every replica of the range each round
    opens it in all 8; the helper's test accepted one round either way)."""
    n1 = _node("n1", MemoryStorage("always"))
    n1._begin_rebuild(1.0)
    done = (n1.anti_entropy.trees.ranges[0], "n3")
    n1._rebuild_synced(*done)
    rounds = [{((e.message.lo, e.message.hi), e.dest) for e in n1.fire(2.0 + i, AntiEntropyRound())
               if isinstance(e, Send) and isinstance(e.message, MerkleExchange)}
              for i in range(8)]
    assert all(set(n1.rebuild.pending) <= opened for opened in rounds)
    assert not all(done in opened for opened in rounds)
