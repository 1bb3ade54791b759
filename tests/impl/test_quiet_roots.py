"""Quiet roots: an anti-entropy exchange of trees in sync costs one message (session 45;
docs/simulator.md "Quiet roots (session 45)").

Since session 35 a replica answered every root it found in sync with the root's
children (:func:`impl.merkle.root_children`), so that the exchange completes at its
opener too (:attr:`impl.antientropy.AntiEntropy.synced`): what a replaced disk's
rebuild waits for. Only a rebuild waits, and only for its pairs (range, replica)
still to do (:attr:`impl.antientropy.AntiEntropy.pending`), so a node opens every
other pair with its root ``quiet`` (:class:`impl.messages.MerkleExchange`), which a
replica that finds it in sync ends without a message. A root found differing is
answered as before, quiet or not. Each test names the mutant it kills.
"""

from __future__ import annotations

import dataclasses

import pytest

from impl import antientropy, wire
from impl.effects import Send
from impl.errors import BadMessageError
from impl.messages import MerkleExchange
from impl.node import Node
from impl.records import ClockMode, Record
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from impl.versions import encode_record
from spec import dvv
from tests.impl.test_antientropy_followup import _node

KEY = b"k"


def _pair(same: bool) -> tuple[Node, Node]:
    """n1 and n2 (N = 3 of 3) holding one record of ``KEY``, the same one if ``same``."""
    nodes = []
    for name, value in (("n1", b"v"), ("n2", b"v" if same else b"w")):
        storage = MemoryStorage("always")
        actor = "n8~000000000002" if same else f"{name}~000000000002"
        storage.write(KEY, encode_record(Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(
            [(actor, 1, [value])]))))
        nodes.append(_node(name, storage))
    return nodes[0], nodes[1]


def _roots(n1: Node) -> list[MerkleExchange]:
    """The roots of n1's round with n2 (every range both replicate)."""
    return [e.message for e in n1.fire(1.0, AntiEntropyRound("n2"))
            if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]


def _answers(n2: Node, root: MerkleExchange) -> list[object]:
    return [e.message for e in n2.receive(1.0, "n1", root) if isinstance(e, Send)]


@pytest.mark.parametrize("path", ["fast", "slow"])
def test_a_quiet_root_found_in_sync_is_not_answered(path: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """n1 rebuilds nothing: its roots go quiet, and n2, in sync, answers none of them;
    the same root not quiet is answered with the root's children, as before (mutant:
    the replica's quiet test left out, on the fast path of session 42's kept level
    items or on the slow path of ``check`` and ``compare``: answered)."""
    if path == "slow":
        monkeypatch.setattr(antientropy, "whole_level_in_sync", lambda *_: False)
    n1, n2 = _pair(same=True)
    roots = _roots(n1)
    assert roots and all(root.quiet and root.level == 0 for root in roots)
    for root in roots:
        assert _answers(n2, root) == []
        loud = _answers(n2, dataclasses.replace(root, quiet=False))
        assert len(loud) == 1 and isinstance(loud[0], MerkleExchange)
        assert (loud[0].level, loud[0].parents, loud[0].quiet) == (1, (0,), False)


def test_a_quiet_root_found_differing_is_answered_as_before() -> None:
    """Copies apart: the quiet root of the range holding the key is answered with the
    next level down, the same answer as to the root not quiet; the other ranges'
    (empty, in sync) with nothing (mutant: a quiet root never answered)."""
    n1, n2 = _pair(same=False)
    differing = 0
    for root in _roots(n1):
        tree = n2.anti_entropy.trees.get(root.lo, root.hi)
        assert tree is not None
        quiet = _answers(n2, root)
        if tree.level_items(0) == (root.indexes, root.hashes):
            assert quiet == []
            continue
        differing += 1
        assert quiet and quiet == _answers(n2, dataclasses.replace(root, quiet=False))
    assert differing == 1  # (the range holding the key)


def test_only_a_rebuilds_pairs_still_to_do_open_with_a_root_answered_in_sync() -> None:
    """n1 rebuilding one range with n2 still to do: that range's root is not quiet
    (answered in sync, the exchange completes at n1), every other range's is, in a
    round with n2 and in a plain round alike (mutants: every root quiet; none quiet;
    quiet where the pair is still to do, in either kind of round)."""
    n1, n2 = _pair(same=True)
    ranges = n1.anti_entropy.trees.ranges
    assert len(ranges) > 1
    todo = ranges[1]
    n1.anti_entropy.pending = lambda: {(todo, "n2"), (ranges[0], "n3")}
    told: list[tuple[object, str]] = []
    n1.anti_entropy.synced.append(lambda done, peer: told.append((done, peer)))
    roots = _roots(n1)
    assert {(root.lo, root.hi): root.quiet for root in roots} == {
        key_range: key_range != todo for key_range in ranges}
    for root in roots:
        for answer in _answers(n2, root):
            assert isinstance(answer, MerkleExchange)
            n1.receive(1.0, "n2", answer)
    assert told == [(todo, "n2")]
    # a plain round (a random reachable replica per range, and every pair still to
    # do): quiet exactly where the pair is not one still to do
    sends = [e for e in n1.fire(2.0, AntiEntropyRound())
             if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
    waited = n1.anti_entropy.pending()
    assert {((e.message.lo, e.message.hi), e.dest) for e in sends} >= waited
    assert all(e.message.quiet == (((e.message.lo, e.message.hi), e.dest) not in waited)
               for e in sends)
    assert any(e.message.quiet for e in sends)


def test_quiet_crosses_the_wire_as_a_tail() -> None:
    """``quiet`` is the frame's last field, written only when set: a root not quiet
    is the frame of before session 45 (a node of an earlier version reads it), a
    quiet one one byte longer and decoded quiet; a quiet byte other than 0 or 1 is
    refused, as is a quiet that is not a bool (mutants: the field left out of the
    schema; written always)."""
    root = MerkleExchange(5, 0, 2**100, 16, 3, "level", 0, (), (0,), (b"h" * 16,),
                          generation="1.ab")
    quiet = dataclasses.replace(root, quiet=True)
    plain, tailed = wire.encode(root), wire.encode(quiet)
    assert len(tailed) == len(plain) + 1 and tailed.endswith(b"\x01")
    assert wire.decode(plain) == root and wire.decode(tailed) == quiet
    bad = bytearray(tailed)
    bad[-1] = 2
    with pytest.raises(BadMessageError, match="quiet"):
        wire.decode(bytes(bad))
    with pytest.raises(BadMessageError, match=r"MerkleExchange\.quiet"):
        dataclasses.replace(root, quiet=1)
