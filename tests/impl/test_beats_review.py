"""Session 26's review of the gossiped heartbeats (``Gossip.beats``) and of the peers'
JSON it is parsed with: malformed bytes are the peer's data, each named.

An integer of over Python's 4,300 digits makes ``json.loads`` raise a plain
ValueError ("Exceeds the limit (4300 digits) for integer string conversion"), which
the view, seen-digest and heartbeat parsers did not catch: a peer with the cluster
secret could make any node log an internal error of its own (the message dropped
all the same). Now :class:`~impl.errors.BadMessageError`, and at a node the peer's
data (``PeerDataError``, ``"beats"``/``"view"``/``"seen"``).
"""

from __future__ import annotations

import pytest

from impl.errors import BadMessageError
from impl.membership import (
    BEATS_LIMIT,
    Membership,
    beats_from_bytes,
    beats_to_bytes,
    seen_from_bytes,
    seen_to_bytes,
)
from impl.messages import Gossip, SeenDigest
from impl.node import HEARTBEAT_STRIDE, heartbeat_generation
from impl.storage.memory import MemoryStorage
from tests.conftest import InternalErrors
from tests.impl.test_internal_errors import _driver

HUGE = b"9" * 5000  # over Python's 4,300-digit limit of int()


@pytest.mark.parametrize(("data", "why"), [
    (b"\xff", "not valid JSON"),
    (b"[" * 100_000, "not valid JSON"),
    (b'{"format":"vdynamo.beats.v2","beats":{"n1":[1,1,' + HUGE + b"]}}", "not valid JSON"),
    (b'{"format":"vdynamo.beats.v0","beats":{}}', "expected"),
    # session 26's ages (session 27: heartbeats): refused whole, naming the format
    (b'{"format":"vdynamo.beats.v1","beats":{"n1":1000}}', "expected.*v2"),
    (b'{"format":"vdynamo.beats.v2","beats":[]}', "expected"),
    (b'{"format":"vdynamo.beats.v2","beats":{"n1":1000}}', "the heartbeat of 'n1'"),
    (b'{"format":"vdynamo.beats.v2","beats":{"n1":[1,1]}}', "the heartbeat of 'n1'"),
    (b'{"format":"vdynamo.beats.v2","beats":{"n1":[1,2,3,4]}}', "the heartbeat of 'n1'"),
    (b'{"format":"vdynamo.beats.v2","beats":{"n1":[1,1,-1]}}', "the heartbeat of 'n1'"),
    (b'{"format":"vdynamo.beats.v2","beats":{"n1":[true,1,0]}}', "the heartbeat of 'n1'"),
    (b'{"format":"vdynamo.beats.v2","beats":{"n1":[1,1.5,0]}}', "the heartbeat of 'n1'"),
    (b'{"format":"vdynamo.beats.v2","beats":{"n1":[1,9223372036854775808,0]}}',
     "the heartbeat of 'n1'"),
    (b'{"format":"vdynamo.beats.v2","beats":{"n1":{"generation":1,"version":1,"age":0}}}',
     "the heartbeat of 'n1'"),
    (b'{"format":"vdynamo.beats.v2","beats":{"":[1,1,0]}}', "the heartbeat of ''"),
    (beats_to_bytes({f"n{i}": (1, 1, 0) for i in range(BEATS_LIMIT + 1)}), "over 4096"),
])
def test_malformed_heartbeats_are_refused_naming_why(data: bytes, why: str) -> None:
    with pytest.raises(BadMessageError, match=why):
        beats_from_bytes(data)


def test_the_limit_itself_and_the_empty_field_are_taken() -> None:
    most = {f"n{i}": (i, (1 << 63) - 1 - i, i % 7) for i in range(BEATS_LIMIT)}
    assert beats_from_bytes(beats_to_bytes(most)) == most
    assert beats_from_bytes(b"") == {}


def test_a_huge_integer_in_a_view_or_a_seen_digest_is_the_peers_data() -> None:
    with pytest.raises(BadMessageError, match="not valid JSON"):
        Membership.from_bytes(b'{"format":"x","members":' + HUGE + b"}")
    with pytest.raises(BadMessageError, match="not valid JSON"):
        seen_from_bytes(b'{"format":"x","seen":' + HUGE + b"}")


@pytest.mark.parametrize("what", ["beats", "view", "seen"])
def test_a_huge_integer_from_a_peer_is_dropped_as_its_data_not_internal(
        what: str, internal_errors: InternalErrors) -> None:
    """Before: ``internal-error`` counted 1 and an internal error logged, each case."""
    driver = _driver()
    view = driver.nodes["n2"].gossiper.view.to_bytes()
    message = {"beats": Gossip(view, beats=b'{"format":"vdynamo.beats.v2","beats":{"n1":['
                               + HUGE + b",1,0]}}"),
               "view": Gossip(b'{"format":"x","members":' + HUGE + b"}"),
               "seen": SeenDigest(b'{"format":"x","seen":' + HUGE + b"}")}[what]
    node = driver.nodes["n1"]
    before = node.stats.get("dropped", 0)
    assert node.receive(driver.now, "n2", message) == []
    assert node.stats["dropped"] == before + 1
    assert node.stats["internal-error"] == 0
    assert node.log[-1].endswith(f"(peer data: {what})"), node.log[-1]
    assert internal_errors.records == []


def test_fresher_news_is_kept_and_strangers_and_itself_are_not_taken(
        internal_errors: InternalErrors) -> None:
    """``Node._take_beats``: a beat is dated ``now - age``; an older heartbeat from a
    later message neither replaces the one held nor dates it newer (else a relay of
    old news would hold a dead member alive), nor does the same heartbeat again with
    a smaller age (session 26's fault: a cycle of relays refreshed the news by a
    transit a hop); the same one with a larger age dates it older (a shorter path); a
    higher version, or a later generation with a lower version (a restart), is taken,
    dated by its age but never before the beat it replaces; heartbeats of names not in
    the view are not kept (a peer could grow the table by 4,096 names a message); nor
    this node's own, nor a generation over a year ahead of its clock."""
    driver = _driver()
    node = driver.nodes["n1"]
    view = driver.nodes["n2"].gossiper.view.to_bytes()
    now = driver.now

    def beats(at: float, **held: tuple[int, int, int]) -> None:
        assert node.receive(at, "n2", Gossip(view, beats=beats_to_bytes(held))) == []

    def dated() -> float:
        return node.heartbeat_updated["n3"]

    node.heartbeats.clear()
    node.heartbeat_updated.clear()
    beats(now, n3=(5, 10, 1000))
    assert node.heartbeats["n3"] == (5, 10) and dated() == pytest.approx(now - 1.0)
    beats(now + 3, n3=(5, 9, 0), n1=(9, 99, 0), mallory=(1, 1, 0))
    assert node.heartbeats["n3"] == (5, 10) and dated() == pytest.approx(now - 1.0)
    beats(now + 4, n3=(5, 10, 0))  # the same beat relayed on, its transit uncounted
    assert dated() == pytest.approx(now - 1.0)  # (session 26: now + 4)
    beats(now + 4, n3=(5, 10, 6000))  # the same beat by a path of shorter transits
    assert dated() == pytest.approx(now - 2.0)
    assert "mallory" not in node.heartbeats and "n1" not in node.heartbeats
    beats(now + 5, n3=(5, 11, 500))
    assert node.heartbeats["n3"] == (5, 11) and dated() == pytest.approx(now + 4.5)
    beats(now + 6, n3=(6, 1, 9000))  # a later start: above every beat of the earlier,
    assert node.heartbeats["n3"] == (6, 1) and dated() == pytest.approx(now + 4.5)  # not older
    beats(now + 7, n3=(int(now) + 7 + 86400 * 365 + 1, 1, 0))  # bogus: over a year ahead
    assert node.heartbeats["n3"] == (6, 1) and dated() == pytest.approx(now + 4.5)
    assert internal_errors.records == []


def test_each_gossip_counts_its_own_version_up_and_a_restart_its_generation() -> None:
    """``Node._beats_to_send``: the sender's own heartbeat rises at every batch of
    gossip (else a live member's news would stop rising and it would look down); a
    restart on the same store takes a generation above the last start's even when
    the clock has not advanced (``impl.node.heartbeat_generation``: Cassandra's
    rule, the kept generation plus one)."""
    driver = _driver()
    node = driver.nodes["n1"]
    generation, version = node.heartbeat
    first = beats_from_bytes(node._beats_to_send(driver.now))["n1"]
    second = beats_from_bytes(node._beats_to_send(driver.now))["n1"]
    step = HEARTBEAT_STRIDE  # (a multiple each: above every step a peer counted)
    top = (version // step + 1) * step
    assert first == (generation, top, 0) and second == (generation, top + step, 0)
    store = MemoryStorage()
    assert heartbeat_generation(store, 100.7) == 100
    assert heartbeat_generation(store, 100.9) == 101  # (a second start within it)
    assert heartbeat_generation(store, 50.0) == 102  # (the clock set back)
    assert heartbeat_generation(store, 500.0) == 500


def test_a_gossip_without_beats_or_floor_is_the_earlier_frame() -> None:
    """``tail``/``tailblob`` (impl.wire): both empty, neither is written, so a node
    of an earlier version reads the frame; beats given, the floor before them is
    written even when 0 (session 26's review: writing the floor always passed
    every test)."""
    from impl.wire import decode, encode
    bare = Gossip(b"{}", reply=True, generation="", yours="")
    with_floor = Gossip(b"{}", reply=True, generation="", yours="", floor=7)
    with_beats = Gossip(b"{}", reply=True, generation="", yours="", beats=b"b")
    assert len(encode(with_floor)) == len(encode(bare)) + 8
    assert len(encode(with_beats)) == len(encode(bare)) + 8 + 4 + 1
    for message in (bare, with_floor, with_beats):
        assert decode(encode(message)) == message


def test_a_message_heard_directly_counts_the_held_beat_one_up_dated_now(
        internal_errors: InternalErrors) -> None:
    """``Node._heard_directly`` (session 27's review): any message but a gossip from
    a member counts the heartbeat held of it one up, dated at its arrival, so relays
    carry it (a member whose link to a node is cut is known alive through the
    others' hearing of its every message, not only of its gossip); once per instant,
    never past the member's next own beat (``HEARTBEAT_STRIDE``), and nothing without
    a heartbeat held (no generation known)."""
    driver = _driver()
    node = driver.nodes["n1"]
    digest = SeenDigest(seen_to_bytes(driver.nodes["n3"].gossiper.seen), reply=False)
    now = driver.now
    node.heartbeats.pop("n3", None)
    node.heartbeat_updated.pop("n3", None)
    node.receive(now, "n3", digest)
    assert "n3" not in node.heartbeats
    node.heartbeats["n3"], node.heartbeat_updated["n3"] = (5, 2 * HEARTBEAT_STRIDE), now - 4
    node.receive(now, "n3", digest)
    node.receive(now, "n3", digest)  # (the same instant: one step)
    assert node.heartbeats["n3"] == (5, 2 * HEARTBEAT_STRIDE + 1)
    assert node.heartbeat_updated["n3"] == now
    node.heartbeats["n3"] = (5, 3 * HEARTBEAT_STRIDE - 1)  # the last step below the next
    node.receive(now + 1, "n3", digest)
    assert node.heartbeats["n3"] == (5, 3 * HEARTBEAT_STRIDE - 1)
    assert node.heartbeat_updated["n3"] == now
    assert internal_errors.records == []
