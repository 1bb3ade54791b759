"""impl.antientropy: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score"): a rebuild keeps the trees' settings; a key the peer lacks is sent
back."""

from __future__ import annotations

import math

import pytest

from impl import antientropy
from impl.antientropy import RangeTrees
from impl.effects import Effect, Send, SetTimer
from impl.errors import BadMessageError, InvalidValueError
from impl.merkle import TreeShape
from impl.messages import KeyRecords, MerkleExchange
from impl.node import Node
from impl.positions import position_of
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.ring import RING_SIZE
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config

KEY = b"cart"
RECORD = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"milk",
                                 coordinator="n1", client_id="c1", now=0.0))


def _node(storage: MemoryStorage | None = None, name: str = "n1") -> Node:
    node = Node(name, make_config(3, n=3, r=2, w=2), storage or MemoryStorage("always"),
                seed=1)
    node.start(0.0)
    return node


def test_a_rebuild_keeps_the_trees_shape_and_their_bound_on_pending_writes() -> None:
    node = _node()
    trees = node.anti_entropy.trees
    trees.max_pending = 3
    node.anti_entropy.rebuild()
    rebuilt = node.anti_entropy.trees
    assert rebuilt is not trees
    assert (rebuilt.fanout, rebuilt.depth, rebuilt.max_pending) == (
        trees.fanout, trees.depth, 3)
    assert rebuilt.ranges == trees.ranges


def test_a_key_the_peer_has_no_record_of_is_sent_back_to_it() -> None:
    """``b""`` in a KeyRecords: the sender holds no record of that key; the receiver
    keeps its own and answers with it."""
    storage = MemoryStorage("always")
    storage.write(KEY, RECORD)
    node = _node(storage)
    effects = node.receive(1.0, "n2", KeyRecords((KEY,), (b"",), 5, reply=True))
    generation = node.guard.generation if node.guard is not None else ""  # restore guard
    assert effects == [Send("n2", KeyRecords((KEY,), (RECORD,), 5, reply=False,
                                             generation=generation))]
    assert node.stats["dropped"] == 0


def test_a_batch_of_out_of_sync_keys_is_bounded_in_bytes_and_in_count(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each key costs its length plus its record's (none: 0); a key that takes the
    budget below 0 ends the batch, one that leaves exactly 0 is taken; the first key
    is always taken; at most ``KEY_RECORDS_KEYS`` keys."""
    storage = MemoryStorage("always")
    for key in (b"k1", b"k3"):
        storage.write(key, b"R" * 8)
    node = _node(storage)
    batch = node.anti_entropy._key_batch
    monkeypatch.setattr(antientropy, "KEY_RECORDS_BYTES", 12)
    assert batch((b"k1", b"kx", b"k3")) == (b"k1", b"kx")  # 12 - 10 - 2 = 0, then -10
    monkeypatch.setattr(antientropy, "KEY_RECORDS_BYTES", 22)
    assert batch((b"k1", b"kx", b"k3")) == (b"k1", b"kx", b"k3")
    monkeypatch.setattr(antientropy, "KEY_RECORDS_BYTES", 5)
    assert batch((b"k1", b"k3")) == (b"k1",)  # over the budget alone: taken anyway
    monkeypatch.setattr(antientropy, "KEY_RECORDS_BYTES", 8 << 20)
    keys = tuple(b"m%d" % i for i in range(300))
    assert antientropy.KEY_RECORDS_KEYS == 256
    assert batch(keys) == keys[:256]


def test_the_answer_to_an_exchange_is_not_answered() -> None:
    """A KeyRecords with ``reply`` False ends the exchange: merged, never answered,
    even when this node holds more than it was sent."""
    storage = MemoryStorage("always")
    storage.write(KEY, RECORD)
    node = _node(storage)
    assert node.receive(1.0, "n2", KeyRecords((KEY,), (b"",), 5, reply=False)) == []
    newer = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"eggs",
                                    coordinator="n2", client_id="c2", now=0.0))
    effects = node.receive(1.0, "n2", KeyRecords((KEY,), (newer,), 6, reply=False))
    assert [e for e in effects if isinstance(e, Send)] == []
    assert effects  # the merge of both siblings is written


def test_the_shape_of_an_exchange_is_the_one_it_names() -> None:
    """Every field counts, the depth too (ours is the default one: a peer's may not be)."""
    message = MerkleExchange(1, 16, 1 << 20, 4, 2, "buckets")
    assert antientropy.shape_of(message) == TreeShape(16, 1 << 20, 4, 2)
    with pytest.raises(BadMessageError, match=r"^MerkleExchange: bad tree shape: "):
        antientropy.shape_of(MerkleExchange(1, 16, 1 << 20, 4, 30, "buckets"))


def _exchange(starter: Node, peer: Node) -> list[tuple[str, KeyRecords]]:
    """Run one anti-entropy exchange ``starter`` begins with ``peer`` to its end,
    performing the writes; every KeyRecords sent, with its sender."""
    nodes = {starter.name: starter, peer.name: peer}
    sent: list[tuple[str, KeyRecords]] = []
    sessions: set[int] = set()

    def performed(name: str, effects: list[Effect]) -> list[tuple[str, Effect]]:
        return [(name, e) for e in persist(nodes[name].storage.engine, effects)]

    queue = performed(starter.name, starter.fire(1.0, AntiEntropyRound(peer.name)))
    while queue:
        src, effect = queue.pop(0)
        if not isinstance(effect, Send) or effect.dest not in nodes:
            continue
        if isinstance(effect.message, KeyRecords):
            sent.append((src, effect.message))
            assert effect.message.session in sessions  # the exchange's own session
        if isinstance(effect.message, MerkleExchange):
            sessions.add(effect.message.session)
        queue += performed(effect.dest, nodes[effect.dest].receive(1.0, src, effect.message))
    return sent


def test_an_exchange_sends_the_empty_bytes_for_a_key_the_finder_lacks() -> None:
    """Whichever side starts, the replica lacking the key ends with it; when the side
    that finds the key out of sync is the one lacking it, it sends ``b""`` for it."""
    empties = []
    for starts_lacking in (True, False):
        holder_storage = MemoryStorage("always")
        holder_storage.write(KEY, RECORD)
        holder = _node(holder_storage, "n2")
        lacking = _node(MemoryStorage("always"), "n1")
        sent = (_exchange(lacking, holder) if starts_lacking else _exchange(holder, lacking))
        assert lacking.record(KEY) is not None
        empties += [records for src, message in sent if src == "n1"
                    for records in message.records]
    assert b"" in empties


def test_every_exchange_about_a_range_not_held_is_counted() -> None:
    node = _node()
    for session in (1, 2):
        assert node.receive(1.0, "n2", MerkleExchange(session, 5, 6, 16, 3, "buckets")) == []
    assert node.stats["anti-entropy-unknown-range"] == 2


def test_the_out_of_sync_keys_sent_are_counted_over_exchanges() -> None:
    holder_storage = MemoryStorage("always")
    holder_storage.write(KEY, RECORD)
    holder = _node(holder_storage, "n2")
    lacking = _node(MemoryStorage("always"), "n1")
    _exchange(lacking, holder)
    holder_storage.write(b"other", RECORD)
    holder.anti_entropy.rebuild()  # the write went around the node
    _exchange(lacking, holder)
    assert lacking.record(b"other") is not None
    assert holder.stats["anti-entropy-keys"] + lacking.stats["anti-entropy-keys"] == 2


def test_a_round_comes_again_an_interval_later_even_when_anti_entropy_is_off() -> None:
    interval = make_config().anti_entropy_interval
    for enabled in (True, False):
        node = Node("n1", make_config(3, n=3, r=2, w=2, anti_entropy=enabled),
                    MemoryStorage("always"), seed=1)
        node.start(0.0)
        effects = node.fire(2.0, AntiEntropyRound())
        assert effects[0] == SetTimer(AntiEntropyRound(), 2.0 + interval)
        assert len(effects) == (1 if not enabled else 1 + len(node.anti_entropy.trees))


def test_a_round_with_a_named_peer_covers_exactly_the_ranges_both_replicate() -> None:
    node = Node("n1", make_config(5, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    held = node.anti_entropy.trees.ranges
    shared = [(lo, hi) for lo, hi in held if "n4" in node.partitioning.range_owners(lo, 3)]
    assert 0 < len(shared) < len(held)
    sends = [e for e in node.fire(1.0, AntiEntropyRound("n4")) if isinstance(e, Send)]
    assert {e.dest for e in sends} == {"n4"}
    assert [(e.message.lo, e.message.hi) for e in sends
            if isinstance(e.message, MerkleExchange)] == shared


def test_a_round_skips_suspected_replicas_and_ranges_with_none_reachable() -> None:
    node = Node("n1", make_config(5, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    ranges = node.anti_entropy.trees.ranges
    # the other replicas of the first range held are suspected: that range is skipped,
    # and the rounds go on with the next ones
    suspected = [n for n in node.partitioning.range_owners(ranges[0][0], 3) if n != "n1"]
    node.set_suspected({n: math.inf for n in suspected})
    reachable = {(lo, hi): [n for n in node.partitioning.range_owners(lo, 3)
                            if n != "n1" and n not in suspected] for lo, hi in ranges}
    assert reachable[ranges[0]] == [] and any(reachable.values())
    for now in (1.0, 2.0, 3.0):
        sends = [e for e in node.fire(now, AntiEntropyRound()) if isinstance(e, Send)]
        assert [(e.message.lo, e.message.hi) for e in sends
                if isinstance(e.message, MerkleExchange)] == [r for r, o in reachable.items() if o]
        for send in sends:
            assert isinstance(send.message, MerkleExchange)
            assert send.dest in reachable[(send.message.lo, send.message.hi)]


def test_a_tree_update_refuses_a_record_that_is_not_bytes() -> None:
    with pytest.raises(InvalidValueError, match=r"^record must be bytes, got str$"):
        RangeTrees(16, 3).update(KEY, "record")  # type: ignore[arg-type]


def test_pending_writes_reach_the_trees_once_max_pending_keys_wait() -> None:
    """Session 9: ``RangeTrees.update__mutmut_7`` (``>``) let one more key wait."""
    storage = MemoryStorage("always")
    trees = RangeTrees(4, 2, max_pending=3)
    trees.reset([(0, RING_SIZE)], storage)
    trees.update(b"a", RECORD)
    trees.update(b"b", RECORD)
    assert len(trees._pending) == 2
    trees.update(b"c", RECORD)
    assert trees._pending == {}  # applied: the third key reached the bound


def test_the_first_round_comes_at_a_drawn_point_of_the_first_interval() -> None:
    """Session 9: ``AntiEntropy.first_timers__mutmut_5`` to ``_10`` (the draw's bounds
    or the sign changed)."""
    node = _node()
    drawn: list[tuple[float, float]] = []

    def draw(lo: float, hi: float) -> float:
        drawn.append((lo, hi))
        return 3.0

    assert node.anti_entropy.first_timers(10.0, draw) == [SetTimer(AntiEntropyRound(), 13.0)]
    assert drawn == [(0, node.config.anti_entropy_interval)]


def test_a_key_at_the_end_of_a_range_is_not_in_its_tree() -> None:
    """Session 9: ``RangeTrees._apply__mutmut_13`` (``position <= hi``) put a key whose
    position is a range's (exclusive) end into that range's tree."""
    storage = MemoryStorage("always")
    end = position_of(b"edge")
    trees = RangeTrees(4, 2)
    trees.reset([(0, end)], storage)
    empty = trees.get(0, end)
    assert empty is not None
    root = empty.root()
    trees.update(b"edge", RECORD)
    tree = trees.get(0, end)
    assert tree is not None and tree.root() == root and len(tree) == 0


def test_by_default_pending_writes_reach_the_trees_at_4096_keys() -> None:
    """Session 9: ``RangeTrees.__init____mutmut_1`` (the default bound 4097)."""
    trees = RangeTrees(4, 2)
    trees.reset([(0, RING_SIZE)], MemoryStorage("always"))
    for i in range(4095):
        trees.update(b"k%d" % i, RECORD)
    assert len(trees._pending) == 4095
    trees.update(b"last", RECORD)
    assert trees._pending == {}


def test_trees_never_reset_hold_no_range_and_take_writes() -> None:
    """Session 9: ``RangeTrees.__init____mutmut_7``, ``_8`` (no first ``_los`` or
    ``_ranges``): before its first reset a RangeTrees holds nothing, and a write to it
    is dropped when the trees are next read."""
    trees = RangeTrees(4, 2)
    assert trees.ranges == [] and len(trees) == 0
    trees.update(KEY, RECORD)
    assert trees.get(0, RING_SIZE) is None and trees._pending == {}


def test_a_round_given_a_key_opens_the_exchange_on_that_keys_range_alone() -> None:
    """``AntiEntropyRound(peer, key)`` (a driver's, session 31's lockstep of two keys):
    one exchange, on the range holding ``key``; without ``key`` one on every range the
    two share (three nodes, N = 3: every range)."""
    node = _node()
    assert len(node.anti_entropy.trees) == 3

    def opened(timer: AntiEntropyRound) -> list[tuple[int, int]]:
        return [(e.message.lo, e.message.hi) for e in node.fire(1.0, timer)
                if isinstance(e, Send) and isinstance(e.message, MerkleExchange)]

    everywhere = opened(AntiEntropyRound("n2"))
    assert sorted(everywhere) == sorted(node.anti_entropy.trees.ranges)
    held = node.anti_entropy.trees.range_of(position_of(KEY))
    assert held is not None
    assert opened(AntiEntropyRound("n2", KEY)) == [held]
