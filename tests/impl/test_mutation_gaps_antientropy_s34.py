"""Mutation gaps of impl/antientropy.py (session 34): the mutants of
:meth:`impl.antientropy.AntiEntropy.on_key_records` (the union sent back, the
follow-up of an answer) that the tests of anti-entropy let live (docs/refinement.md,
"Session 34: the changed functions of antientropy, read_repair, retired,
versions"). One node, messages handed to it, deterministic; dvv with actor epochs,
``retired_keep`` 0 (the spec's count: one retired lifetime's entry is pruned, not
kept by the byte budget).
"""

from __future__ import annotations

import dataclasses

import pytest

from impl.antientropy import SYNC_SESSIONS_LIMIT, RangeTrees
from impl.effects import Send
from impl.errors import PeerDataError
from impl.messages import KeyRecords, MerkleExchange
from impl.node import Node
from impl.positions import position_of
from impl.records import ClockMode, Record
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from impl.versions import decode_retired, encode_record, encode_retired
from spec import dvv
from tests.impl.test_antientropy_followup import _batch_step
from tests.impl.test_antientropy_followup import _node as _followup_node
from tests.impl.test_node_driver import make_config

KEY = b"cart"
#: a retired lifetime of a node outside the cluster
OLD = "n9~000000000001"
#: a copy holding a value-less entry of ``OLD`` and a value
COPY = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([(OLD, 2, []), ("n8~000000000002", 1,
                                                                  [b"milk"])]))


def _node() -> Node:
    node = Node("n1", make_config(3, n=3, r=2, w=2, retired_keep=0),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    return node


def _key_records(node: Node, message: KeyRecords) -> list[KeyRecords]:
    """The KeyRecords ``node`` sends n2 for ``message`` from n2 (its writes persisted)."""
    out = persist(node.storage.engine, node.receive(1.0, "n2", message))
    return [e.message for e in out if isinstance(e, Send) and isinstance(e.message, KeyRecords)]


def test_a_node_told_its_knowledge_sends_a_batchs_own_copy_back_by_what_the_batch_names() -> None:
    """The refinement harness's node (:meth:`impl.retired.RetiredActors.tell`: it
    learns nothing from carried retirements) holds no copy; a batch's copy is the
    union already, and names ``OLD`` retired: the peer prunes the copy's entry of
    ``OLD`` when it writes it again, so the union goes back (naming nothing: the
    peer told ``OLD`` itself; ``on_key_records__mutmut_46``: ``prunes_copy(union,
    None)``, the batch's retirements not read: nothing sent back)."""
    node = _node()
    node.retired.tell({})
    batch = KeyRecords((KEY,), (encode_record(COPY),), 3, reply=True,
                       retired=encode_retired({OLD: 1}))
    (back,) = _key_records(node, batch)
    assert (back.keys, back.reply, back.session) == ((KEY,), False, 3)
    assert back.records == (encode_record(COPY),)
    assert back.retired == b"" and node.retired.known == {}  # (told: it learnt nothing)


def test_every_follow_up_is_counted() -> None:
    """n1 knows ``OLD`` retired and sent n2 batches in sessions 5 and 6; both answers
    hold ``OLD``'s entry, which n1's merge prunes: each is followed up once, and
    ``anti-entropy-followups`` counts 2 (``on_key_records__mutmut_73``: ``= 1``)."""
    node = _node()
    node.retired.take(encode_retired({OLD: 1}))
    for session in (5, 6):
        node.anti_entropy._sent_batches[("n2", session)] = None
        answer = KeyRecords((KEY,), (encode_record(COPY),), session, reply=False)
        (back,) = _key_records(node, answer)
        assert (back.reply, back.session) == (False, session)
        assert decode_retired(back.retired) == {OLD: 1}
    assert node.stats["anti-entropy-followups"] == 2


def test_a_malformed_step_is_the_peers_fault_with_the_checks_message() -> None:
    """A Merkle step naming a depth other than this node's tree of the range raises
    PeerDataError with the message of the check it failed
    (``on_merkle_exchange__mutmut_19``: the message ``None``)."""
    node = _node()
    opened = [e.message for e in node.fire(1.0, AntiEntropyRound("n2"))
              if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
    step = dataclasses.replace(opened[0], depth=opened[0].depth + 1)
    with pytest.raises(PeerDataError) as raised:
        node.anti_entropy.on_merkle_exchange("n2", step)
    assert raised.value.__cause__ is not None
    assert str(raised.value) == str(raised.value.__cause__) != "None"


@pytest.mark.parametrize("opened", [True, False])
def test_the_answer_to_a_whole_batch_completes_the_exchange_with_its_sender(
        opened: bool) -> None:
    """n1 sent n2 a whole batch of range (lo, hi) in session 7, an exchange n1 opened:
    n2's answer, merged, completes the exchange of that range with n2 (the listeners
    of ``synced`` told, once; ``on_key_records__mutmut_65``: ``_completed(None,
    ...)``, never). In an exchange not live at n1 (not opened by it, nor a peer's
    whose root it answered, since its last ``forget_sessions``: one of before its
    disk was replaced), it completes nothing (session 36)."""
    node = _node()
    pair_range = (0, 1 << 20)
    if opened:
        node.anti_entropy._live[("n2", 7)] = pair_range
    node.anti_entropy._full_batches[("n2", 7)] = pair_range
    node.anti_entropy._sent_batches[("n2", 7)] = None
    told: list[tuple[tuple[int, int], str]] = []
    node.anti_entropy.synced.append(lambda done, peer: told.append((done, peer)))
    answer = KeyRecords((KEY,), (encode_record(COPY),), 7, reply=False)
    _key_records(node, answer)
    _key_records(node, answer)
    assert told == ([(pair_range, "n2")] if opened else [])


def test_the_whole_batches_awaiting_an_answer_are_bounded_the_oldest_dropped() -> None:
    """A batch holding every out-of-sync key of its range is remembered with its
    range, (peer, session) -> (lo, hi), until answered; at most
    ``SYNC_SESSIONS_LIMIT`` of them, the oldest dropped first
    (``on_merkle_exchange__mutmut_46``: ``!=``, a whole batch not remembered;
    ``_48``: its range None; ``_49``: ``>=``, one fewer; ``_51``:
    ``popitem(last=True)``, the newest dropped)."""
    holding = MemoryStorage("always")
    holding.write(KEY, encode_record(COPY))
    finder, src, step = _batch_step(_followup_node("n1", holding),
                                    _followup_node("n2", MemoryStorage("always")))
    extra = 3
    for session in range(1, SYNC_SESSIONS_LIMIT + extra + 1):
        finder.receive(2.0, src, dataclasses.replace(step, session=session))
    batches = finder.anti_entropy._full_batches
    assert len(batches) == SYNC_SESSIONS_LIMIT
    order = list(batches)
    assert (order[0], order[-1]) == ((src, extra + 1), (src, SYNC_SESSIONS_LIMIT + extra))
    assert set(batches.values()) == {(step.lo, step.hi)}


def test_trees_found_in_sync_complete_the_exchange_of_their_range() -> None:
    """Two replicas holding the same record: the peer asked finds the trees in sync
    and answers the root's children, which the node that asked finds in sync: the
    exchange of that range complete there, the range and the peer named
    (``on_merkle_exchange__mutmut_75``: the range None; ``_76``: the peer None).
    Not at the peer asked: it did not open the exchange (session 36: a peer's root
    may be of before this node's disk was replaced)."""
    nodes = {}
    for name in ("n1", "n2"):
        storage = MemoryStorage("always")
        storage.write(KEY, encode_record(COPY))
        nodes[name] = _followup_node(name, storage)
    told: dict[str, list[tuple[object, object]]] = {"n1": [], "n2": []}
    for name, node in nodes.items():
        node.anti_entropy.synced.append(
            lambda done, peer, name=name: told[name].append((done, peer)))
    opened = [e.message for e in nodes["n1"].fire(1.0, AntiEntropyRound("n2"))
              if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
    assert opened
    for step in opened:
        answers = [e.message for e in nodes["n2"].receive(1.0, "n1", step)
                   if isinstance(e, Send)]
        assert len(answers) == 1 and isinstance(answers[0], MerkleExchange)
        assert not [e for e in nodes["n1"].receive(1.0, "n2", answers[0])
                    if isinstance(e, Send)]
    assert told == {"n1": [((step.lo, step.hi), "n2") for step in opened], "n2": []}


def test_the_range_of_a_position_is_the_held_one_that_holds_it() -> None:
    """:meth:`RangeTrees.range_of`: ranges are [lo, hi), a gap between two held ranges
    and past the last is no range (``range_of__mutmut_2``: ``+ 1``, a range two on;
    ``_8``: ``or``, the one before a gap; ``_11``: ``<=``, a range's end its own)."""
    trees = RangeTrees(4, 2)
    trees.reset([(0, 10), (10, 20), (20, 30), (40, 50), (50, 60)], MemoryStorage("always"))
    expected = {0: (0, 10), 9: (0, 10), 10: (10, 20), 25: (20, 30), 30: None, 39: None,
                40: (40, 50), 50: (50, 60), 59: (50, 60), 60: None, 1 << 20: None}
    assert {position: trees.range_of(position) for position in expected} == expected


def test_a_round_given_a_key_of_any_range_opens_that_range() -> None:
    """``AntiEntropyRound(peer, key)`` for a key of each of the three ranges, the last
    too: one exchange, on that range (``on_round__mutmut_21``: ``break`` at the first
    range not the key's, nothing opened past the first)."""
    node = _node()
    ranges = node.anti_entropy.trees.ranges
    keys = {}
    for i in range(1000):
        held = node.anti_entropy.trees.range_of(position_of(b"k%d" % i))
        keys.setdefault(held, b"k%d" % i)
    assert set(keys) == set(ranges) and len(ranges) == 3
    for held, key in keys.items():
        effects = node.fire(1.0, AntiEntropyRound("n2", key))
        opened = [(e.message.lo, e.message.hi) for e in effects
                  if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]
        assert opened == [held]
