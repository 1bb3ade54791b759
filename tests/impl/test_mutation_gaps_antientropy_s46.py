"""Mutation gaps of impl/antientropy.py (session 46): survivors of the session's
mutmut run (docs/refinement.md, "Session 46, the survivors settled") that the tests
of anti-entropy let live. The mechanism of one node driven alone, its messages
handed to it directly (not through :meth:`impl.node.Node.receive`, whose
``_stamp`` would stamp a message made unstamped), deterministic.
"""

from __future__ import annotations

import collections
import itertools
import random

import pytest

import impl.antientropy
from impl.antientropy import SYNC_SESSIONS_LIMIT, AntiEntropy, to_exchange
from impl.effects import Effect, Send
from impl.merkle import Level
from impl.messages import KeyRecords, MerkleExchange
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.ring import Partitioning
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config

KEY = b"cart"
#: a store generation per node ("<incarnation>.<token>", as the guard makes)
GEN = {"n1": "3.a1", "n2": "5.b2"}
RECORD = apply_put(Record.empty(ClockMode.DVV), VClock(), b"milk", coordinator="n1",
                   client_id="c1", now=0.0)


def _node(name: str, storage: MemoryStorage | None = None) -> Node:
    node = Node(name, make_config(3, n=3, r=2, w=2), storage or MemoryStorage("always"),
                seed=1)
    node.start(0.0)
    return node


def _counted(mechanism: AntiEntropy, generation: str) -> list[int]:
    """``mechanism``'s generation made ``generation``, its calls counted."""
    calls = [0]

    def stamp() -> str:
        calls[0] += 1
        return generation

    mechanism.generation = stamp
    return calls


def _sends(out: list[Effect]) -> list[Send]:
    return [e for e in out if isinstance(e, Send)]


def _stamps(sends: list[Send]) -> set[str]:
    """The generations the anti-entropy messages of ``sends`` carry."""
    return {s.message.generation for s in sends
            if isinstance(s.message, MerkleExchange | KeyRecords)}


def _exchange(send: Send) -> MerkleExchange:
    assert isinstance(send.message, MerkleExchange)
    return send.message


def test_every_step_of_an_exchange_is_made_stamped_and_a_round_asks_the_generation_once() -> None:
    """n1 holds a key n2 lacks; an exchange n1 opens runs to the end, each message
    handed to the other's mechanism: every MerkleExchange and KeyRecords carries its
    sender's generation (``_open__mutmut_29``, ``_40``; ``_made__mutmut_19``, ``_30``,
    ``_42``, ``_52``; ``on_merkle_exchange__mutmut_136``, ``_145``;
    ``on_key_records__mutmut_90``: unstamped, the node's ``_stamp`` copies each), and
    a round, of either kind, asks the generation once (``on_round__mutmut_19``,
    ``_47``, ``_50``, ``_68``, ``_71``; ``_open__mutmut_1``: once per range opened)."""
    holding = MemoryStorage("always")
    holding.write(KEY, encode_record(RECORD))
    nodes = {"n1": _node("n1", holding), "n2": _node("n2")}
    calls = {name: _counted(node.anti_entropy, GEN[name]) for name, node in nodes.items()}
    mechanism = nodes["n1"].anti_entropy
    assert len(mechanism.trees.ranges) >= 2
    for timer in (AntiEntropyRound(), AntiEntropyRound("n2")):
        calls["n1"][0] = 0
        opened = _sends(mechanism.on_round(1.0, timer))
        assert len(opened) >= 2 and calls["n1"] == [1]
        assert _stamps(opened) == {GEN["n1"]}
    queue = [("n1", s) for s in _sends(mechanism.on_round(1.0, AntiEntropyRound("n2")))]
    kinds: collections.Counter[tuple[str, str]] = collections.Counter()
    while queue:
        src, send = queue.pop(0)
        if send.dest not in nodes:
            continue
        message = send.message
        assert isinstance(message, MerkleExchange | KeyRecords)
        assert message.generation == GEN[src], (src, message)
        kinds[(type(message).__name__, getattr(message, "step", ""))] += 1
        dest = nodes[send.dest].anti_entropy
        out = (dest.on_merkle_exchange(src, message) if isinstance(message, MerkleExchange)
               else dest.on_key_records(src, message))
        queue += [(send.dest, s) for s in _sends(out)]
    assert kinds[("MerkleExchange", "level")] >= 2 and kinds[("MerkleExchange", "buckets")]
    assert kinds[("KeyRecords", "")] >= 2, kinds  # the batch and the answer


def test_a_mechanism_built_alone_stamps_nothing_and_has_no_rebuild() -> None:
    """Without a node's guard and rebuild: generation "" and no pair pending
    (``AntiEntropy.__init____mutmut_10``, ``_22``: None, called by the round)."""
    node = _node("n1")
    mechanism = AntiEntropy("n1", node.config, node.replica, node.quorum,
                            lambda: node.gossiper.partitioning, node.gossiper.my_ranges,
                            random.Random(1), itertools.count(1), collections.Counter())
    opened = _sends(mechanism.on_round(1.0, AntiEntropyRound()))
    assert opened and _stamps(opened) == {""}


def test_a_rebuilding_round_opens_each_pending_pair_once_beside_the_picked_replica() -> None:
    """Every (range, peer) pending: a round opens each range with n2 and n3 once each,
    the picked one not twice (``on_round__mutmut_18``: pending not asked;
    ``_74``: to None; ``_80``, ``_81``, ``_82``: the filter), the generation asked
    once (``_76``, ``_79``: once per pending pair opened)."""
    mechanism = _node("n1").anti_entropy
    calls = _counted(mechanism, GEN["n1"])
    ranges = mechanism.trees.ranges
    mechanism.pending = lambda: {(r, peer) for r in ranges for peer in ("n2", "n3")}
    opened = _sends(mechanism.on_round(1.0, AntiEntropyRound()))
    by_range: dict[tuple[int, int], list[str]] = collections.defaultdict(list)
    for send in opened:
        assert isinstance(send.message, MerkleExchange)
        by_range[(send.message.lo, send.message.hi)].append(send.dest)
    assert set(by_range) == set(ranges)
    assert all(sorted(dests) == ["n2", "n3"] for dests in by_range.values()), by_range
    assert calls == [1]


def test_an_exchange_opened_alone_is_stamped_with_the_generation() -> None:
    """``_open`` without a generation stamps :attr:`AntiEntropy.generation`'s
    (``_open__mutmut_2``: None)."""
    mechanism = _node("n1").anti_entropy
    _counted(mechanism, GEN["n1"])
    tree = mechanism.trees.get(*mechanism.trees.ranges[0])
    assert tree is not None
    assert _stamps([mechanism._open("n2", tree)]) == {GEN["n1"]}


class _CountingRing:
    """A partitioning whose ``range_owners`` calls are counted."""

    def __init__(self, ring: Partitioning) -> None:
        self.ring = ring
        self.calls = 0

    def range_owners(self, lo: int, n: int) -> tuple[str, ...]:
        self.calls += 1
        return self.ring.range_owners(lo, n)


def test_the_owners_of_each_range_are_asked_of_a_ring_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rounds on one ring ask ``range_owners`` once per range (session 19's memo;
    ``on_round__mutmut_25``, ``_26``: asked every round)."""
    node = _node("n1")
    mechanism = node.anti_entropy
    ring = _CountingRing(node.gossiper.partitioning)
    monkeypatch.setattr(mechanism, "_ring", lambda: ring)
    for now in (1.0, 2.0):
        assert _sends(mechanism.on_round(now, AntiEntropyRound()))
    assert ring.calls == len(mechanism.trees.ranges)


def _fail_compare(*args: object) -> None:
    raise AssertionError("the in-sync step went through compare")


def test_an_in_sync_root_and_children_take_the_fast_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two empty replicas: n1's root is answered with the children and the children
    with nothing (the exchange complete at a live opener), neither through
    :func:`impl.merkle.compare` (session 42's fast path; ``on_merkle_exchange__mutmut_16``
    to ``_19``, ``_22`` to ``_25``: the slow path taken), the answer stamped
    (``_50``, ``_61``)."""
    n1, n2 = _node("n1").anti_entropy, _node("n2").anti_entropy
    _counted(n2, GEN["n2"])
    done: list[tuple[tuple[int, int], str]] = []
    n1.synced.append(lambda pair_range, peer: done.append((pair_range, peer)))
    monkeypatch.setattr(impl.antientropy, "compare", _fail_compare)
    root = _exchange(_sends(n1.on_round(1.0, AntiEntropyRound("n2")))[0])
    (answer,) = _sends(n2.on_merkle_exchange("n1", root))
    children = _exchange(answer)
    assert (children.level, children.generation) == (1, GEN["n2"])
    assert n1.on_merkle_exchange("n2", children) == []
    assert done == [((root.lo, root.hi), "n2")]


def test_an_in_sync_step_below_the_children_completes_a_live_exchange_unanswered() -> None:
    """A level-2 step and a buckets step in sync, of a session live at n1: answered
    with nothing and the exchange complete, told with its peer, session and range
    (``on_merkle_exchange__mutmut_93``, ``_94``, ``_97``: taken for the root and
    answered with the children; ``_149`` to ``_151``: not told)."""
    mechanism = _node("n1").anti_entropy
    done: list[tuple[tuple[int, int], str]] = []
    mechanism.synced.append(lambda pair_range, peer: done.append((pair_range, peer)))
    lo, hi = mechanism.trees.ranges[0]
    shape = mechanism.trees.shape(lo, hi)
    steps = [MerkleExchange(7, lo, hi, shape.fanout, shape.depth, "level", 2, (0,)),
             MerkleExchange(8, lo, hi, shape.fanout, shape.depth, "buckets",
                            indexes=(0,))]
    for step in steps:
        mechanism._begin("n2", step.session, (lo, hi))
        assert mechanism.on_merkle_exchange("n2", step) == []
    assert done == [((lo, hi), "n2")] * 2


def test_an_empty_level_goes_with_no_hashes() -> None:
    """``to_exchange`` of a Level of no hashes (``to_exchange__mutmut_4``: unpacked,
    a ValueError)."""
    shape = _node("n1").anti_entropy.trees.shape(*_node("n1").anti_entropy.trees.ranges[0])
    message = to_exchange(3, Level(shape, 1, (0,), ()))
    assert (message.indexes, message.hashes, message.level) == ((), (), 1)


def test_the_live_exchanges_are_bounded_at_the_limit() -> None:
    """``SYNC_SESSIONS_LIMIT`` live exchanges kept, the oldest dropped
    (``_begin__mutmut_3``: one fewer)."""
    mechanism = _node("n1").anti_entropy
    for session in range(SYNC_SESSIONS_LIMIT + 1):
        mechanism._begin("n2", session, (0, 1))
    assert len(mechanism._live) == SYNC_SESSIONS_LIMIT and ("n2", 0) not in mechanism._live


def test_a_pruned_ask_is_a_fresh_stamped_session_and_its_key_moves_to_the_newest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The ask (kept entries stubbed) is a batch of one key in a fresh session, stamped,
    naming the retirements of what it sends (``ask_pruned__mutmut_44``: session 0;
    ``_45``: unstamped; ``_47``: no tail); a key asked again after the timeout is the
    newest asked, and ``SYNC_SESSIONS_LIMIT`` keys are kept (``_19``: the key left
    oldest, dropped; ``_23``: one fewer kept)."""
    node = _node("n1")
    mechanism = node.anti_entropy
    monkeypatch.setattr(node.replica, "kept_pruned", lambda merged, theirs: True)
    monkeypatch.setattr(node.replica, "carried", lambda *records: b"tail")
    _counted(mechanism, GEN["n1"])
    mechanism.ids = itertools.count(77)
    mechanism._asked = collections.OrderedDict(
        (b"k%d" % i, 0.0) for i in range(SYNC_SESSIONS_LIMIT))
    later = node.config.request_timeout + 1.0
    (ask,) = _sends(mechanism.ask_pruned(later, "n2", b"k0", RECORD, RECORD, True,
                                         union=RECORD))
    message = ask.message
    assert isinstance(message, KeyRecords) and ask.dest == "n2"
    assert (message.session, message.reply, message.generation, message.retired) == (
        77, True, GEN["n1"], b"tail")
    assert message.records == (encode_record(RECORD),)
    assert _sends(mechanism.ask_pruned(later, "n2", KEY, RECORD, RECORD, True, union=RECORD))
    asked = mechanism._asked
    assert len(asked) == SYNC_SESSIONS_LIMIT and b"k0" in asked and b"k1" not in asked


def test_a_batch_naming_a_key_the_peer_lacks_gets_our_copy_back() -> None:
    """A batch's empty record for a key n1 holds: the copy goes back, its retirements
    asked of the copy alone (``on_key_records__mutmut_62``: of the copy and None)."""
    holding = MemoryStorage("always")
    holding.write(KEY, encode_record(RECORD))
    node = _node("n1", holding)
    seen: list[tuple[Record, ...]] = []

    def carried(*records: Record) -> bytes:
        seen.append(records)
        return b""

    node.replica.carried = carried
    out = _sends(node.anti_entropy.on_key_records(
        "n2", KeyRecords((KEY,), (b"",), 5, reply=True)))
    (back,) = out
    assert isinstance(back.message, KeyRecords)
    assert back.message.records == (encode_record(RECORD),)
    assert seen == [(RECORD,)]


def test_in_sync_children_listed_out_of_order_complete_a_live_exchange_unanswered() -> None:
    """A level-1 step of n1's own children hashes, listed last index first (a peer
    may: :func:`impl.merkle.check` takes any order), misses the fast path and is
    found in sync by :func:`impl.merkle.compare`: answered with nothing and the
    exchange complete (``on_merkle_exchange__mutmut_98``: taken for the root and
    answered with the children)."""
    holding = MemoryStorage("always")
    for i in range(64):
        holding.write(b"k%d" % i, encode_record(RECORD))
    mechanism = _node("n1", holding).anti_entropy
    done: list[tuple[tuple[int, int], str]] = []
    mechanism.synced.append(lambda pair_range, peer: done.append((pair_range, peer)))
    lo, hi = mechanism.trees.ranges[0]
    tree = mechanism.trees.get(lo, hi)
    assert tree is not None
    indexes, hashes = tree.level_items(1)
    assert len(indexes) >= 2
    mechanism._begin("n2", 9, (lo, hi))
    step = MerkleExchange(9, lo, hi, tree.shape.fanout, tree.shape.depth, "level", 1, (0,),
                          indexes[::-1], hashes[::-1])
    assert mechanism.on_merkle_exchange("n2", step) == []
    assert done == [((lo, hi), "n2")]
