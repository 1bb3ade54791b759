"""Session 42's speed levers of anti-entropy (docs/simulator.md, "The anti-entropy's
hot path (session 42)").

A node makes its Merkle steps stamped with its guard's generation and unchecked
(:meth:`impl.messages.MerkleExchange.made`: the receiver checks them), answers a
whole level found in sync (the root, its children) from the tree's kept
``(indexes, hashes)`` (:meth:`impl.merkle.MerkleTree.level_items`,
:func:`impl.merkle.whole_level_in_sync`) without building and checking a Level,
and asks the failure detector once per peer per round. Each test below names the
mutant it kills.
"""

from __future__ import annotations

import os

import pytest

from impl import messages
from impl import node as node_module
from impl.effects import Send
from impl.errors import PeerDataError
from impl.merkle import MerkleTree, TreeShape
from impl.messages import MerkleExchange, _bytes_ok, _counts_ok
from impl.restore_guard import RestoreGuard
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from tests.impl.test_antientropy_followup import _node

_HASHES = tuple(os.urandom(16) for _ in range(16))


def test_a_made_step_equals_the_one_the_constructor_makes() -> None:
    """Every field where the constructor puts it (mutant: two setters of ``made``
    swapped, lo and hi: the steps differ)."""
    fields = (7, 3, 2**100, 16, 3, "level", 1, (0,), tuple(range(16)), _HASHES, (b"k",),
              (b"d" * 16,), "2.ab")
    made, built = MerkleExchange.made(*fields), MerkleExchange(*fields)
    assert made == built and hash(made) == hash(built)
    assert [getattr(made, name) for name in MerkleExchange.__slots__] == list(fields)
    buckets = MerkleExchange.made(1, 0, 9, 16, 3, "buckets", indexes=(4,), keys=(b"k",),
                                  digests=(b"d" * 16,))
    assert buckets == MerkleExchange(1, 0, 9, 16, 3, "buckets", indexes=(4,), keys=(b"k",),
                                     digests=(b"d" * 16,))


def test_a_malformed_made_step_is_refused_by_its_receiver() -> None:
    """A step ``made`` unchecked, malformed in a field only the constructor's checks
    see (a negative session), as a peer could send it: the receiver drops it,
    counted, and answers nothing (mutant: :meth:`impl.node.Node.receive` without its
    re-run of ``__post_init__``: n2 answers the root in sync with a step of session
    -1)."""
    n1, n2 = _node("n1", MemoryStorage("always")), _node("n2", MemoryStorage("always"))
    opened = [e for e in n1.fire(1.0, AntiEntropyRound("n2"))
              if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
    assert opened
    root = opened[0].message
    fields = [getattr(root, name) for name in MerkleExchange.__slots__]
    assert n2.receive(1.0, "n1", MerkleExchange.made(*fields))  # the valid one: answered
    dropped = n2.stats["dropped"]
    fields[0] = -1  # the session
    assert n2.receive(1.0, "n1", MerkleExchange.made(*fields)) == []
    assert n2.stats["dropped"] == dropped + 1


def _in_sync_tree() -> tuple[MerkleTree, TreeShape]:
    shape = TreeShape(0, 2**128)
    return MerkleTree.build(shape, ((b"key-%d" % i, b"v") for i in range(200))), shape


def test_a_whole_level_step_malformed_for_its_level_is_refused() -> None:
    """A level-1 step of the tree's own hashes naming no parents, or naming its level
    as True: :func:`impl.merkle.check` refuses both (PeerDataError), and so must the
    in-sync fast path (mutants: :func:`impl.merkle.whole_level_in_sync` without its
    parents test, or without its ``type(level) is int``: each step answered in
    sync)."""
    n1 = _node("n1", MemoryStorage("always"))
    anti_entropy = n1.anti_entropy
    lo, hi = anti_entropy.trees.ranges[0]
    tree = anti_entropy.trees.get(lo, hi)
    assert tree is not None
    for i in range(300):
        anti_entropy.trees.update(b"key-%d" % i, b"record")
    tree = anti_entropy.trees.get(lo, hi)
    assert tree is not None
    indexes, hashes = tree.level_items(1)
    assert indexes  # (some key of the 300 lies in the range)
    shape = tree.shape
    good = MerkleExchange(5, lo, hi, shape.fanout, shape.depth, "level", 1, (0,), indexes,
                          hashes)
    assert anti_entropy.on_merkle_exchange("n2", good) == []  # in sync: nothing sent
    no_parents = MerkleExchange(5, lo, hi, shape.fanout, shape.depth, "level", 1, (),
                                indexes, hashes)
    with pytest.raises(PeerDataError):
        anti_entropy.on_merkle_exchange("n2", no_parents)
    as_bool = MerkleExchange.made(5, lo, hi, shape.fanout, shape.depth, "level", True, (0,),
                                  indexes, hashes)
    with pytest.raises(PeerDataError):
        anti_entropy.on_merkle_exchange("n2", as_bool)


def test_the_kept_level_items_follow_every_change_of_the_tree() -> None:
    """:meth:`MerkleTree.level_items` after writes and removes: the tree's non-empty
    hashes of the level by index, as read again (mutant: ``_refresh`` without
    clearing the kept items: the root of before)."""
    tree, _ = _in_sync_tree()
    for step in range(4):
        for level in (0, 1):
            indexes, hashes = tree.level_items(level)
            pairs = sorted(tree.snapshot()[level].items())
            assert (indexes, hashes) == (tuple(i for i, _ in pairs), tuple(h for _, h in pairs))
        if step % 2:
            tree.remove(b"key-%d" % step)
        else:
            tree.update(b"key-%d" % step, b"changed")
    empty = MerkleTree(TreeShape(0, 2**128))
    assert empty.level_items(0) == ((), ()) and empty.level_items(1) == ((), ())


def test_anti_entropy_steps_are_made_stamped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node with the restore guard sends its roots and its in-sync answers stamped
    with its generation, and :meth:`impl.node.Node._stamp` copies none of them
    (mutant: the node not handing its guard's generation to its anti-entropy:
    every step copied by ``with_generations``)."""
    copies: list[object] = []
    stamp = node_module.with_generations

    def counted(message, **generations):  # type: ignore[no-untyped-def]
        copies.append(message)
        return stamp(message, **generations)

    monkeypatch.setattr(node_module, "with_generations", counted)
    n1, n2 = _node("n1", MemoryStorage("always")), _node("n2", MemoryStorage("always"))
    assert isinstance(n1.guard, RestoreGuard) and isinstance(n2.guard, RestoreGuard)
    roots = [e for e in n1.fire(1.0, AntiEntropyRound("n2"))
             if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
    assert roots
    answers = [e for root in roots for e in n2.receive(1.0, "n1", root.message)
               if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
    assert len(answers) == len(roots)
    assert {e.message.generation for e in roots} == {n1.guard.generation}
    assert {e.message.generation for e in answers} == {n2.guard.generation}
    assert not [m for m in copies if isinstance(m, MerkleExchange)]


def test_a_round_asks_the_failure_detector_once_per_peer() -> None:
    """Every range of a round picks among its reachable replicas, asked once per peer
    (mutant: asked per range: 2 asks per range)."""
    n1 = _node("n1", MemoryStorage("always"))
    asked: list[str] = []
    reachable = n1.quorum.reachable

    def counted(node: str, now: float) -> bool:
        asked.append(node)
        return reachable(node, now)

    n1.quorum.reachable = counted  # type: ignore[method-assign]
    opened = [e for e in n1.fire(1.0, AntiEntropyRound())
              if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
    assert len(opened) == len(n1.anti_entropy.trees.ranges) > 1
    assert sorted(asked) == ["n2", "n3"]


def test_a_rolled_back_peer_heard_again_at_its_known_generation_is_taken_again() -> None:
    """:meth:`RestoreGuard.on_generation` of the generation heard last (its fast path):
    not a rollback, and the peer no longer rolled back (mutant: the fast path
    without ``rolled_back.discard``: the peer stays refused)."""
    guard = RestoreGuard(MemoryStorage("always"), "1.aa")
    assert guard.on_generation("n2", "5.bb") is False
    assert guard.on_generation("n2", "3.cc") is True and "n2" in guard.rolled_back
    assert guard.on_generation("n2", "5.bb") is False and "n2" not in guard.rolled_back
    assert guard.heard == {"n2": "5.bb"}


def test_the_tuples_found_valid_are_kept_held_and_bounded() -> None:
    """The checks' kept tuples (:data:`impl.messages._COUNTS_FOUND`): each entry holds
    its tuple, so a tuple made after one checked and dropped, malformed, is checked
    (CPython hands a freed tuple's id to the next of its size); at most
    ``_FOUND_LIMIT`` kept; keys (items over ``_FOUND_BYTES``) never kept. Mutants
    killed: the entry kept without its tuple (a later malformed tuple taken by a
    freed one's id), no oldest entry dropped (over the limit), keys kept."""
    for round_ in range(200):
        good = tuple(range(round_, round_ + 16))
        assert _counts_ok(good) and _counts_ok(good)  # (the second: the kept entry)
        del good
        bad = tuple(range(round_ - 16, round_))  # (negative at first: refused)
        assert _counts_ok(bad) is (round_ >= 16)
        wrong = tuple([True] * 16)
        assert not _counts_ok(wrong)
    for round_ in range(2 * messages._FOUND_LIMIT):
        assert _counts_ok((round_, round_ + 1))
    assert len(messages._COUNTS_FOUND) <= messages._FOUND_LIMIT
    keys = tuple(b"k" * 40 + b"%d" % i for i in range(4))
    assert _bytes_ok(keys) and id(keys) not in messages._BYTES_FOUND
    assert _bytes_ok(_HASHES) and messages._BYTES_FOUND[id(_HASHES)] is _HASHES


def test_kept_tuples_over_the_limit_are_brought_back_to_it() -> None:
    """A drop another thread lost (servers in threads of one test process: the
    suppressed KeyError or RuntimeError of :func:`impl.held.keep`) leaves the kept
    tuples over ``_FOUND_LIMIT``; the next tuple kept brings them back to the limit,
    not one over for good (session 42's review of the levers). Mutant killed: ``keep``
    dropping one entry per tuple kept (``if`` for ``while``)."""
    kept = [tuple(range(i, i + 3)) for i in range(messages._FOUND_LIMIT + 40)]
    for items in kept:  # (as if 40 drops had been lost)
        messages._COUNTS_FOUND[id(items)] = items
    assert _counts_ok((7, 8, 9, 10))
    assert len(messages._COUNTS_FOUND) == messages._FOUND_LIMIT
