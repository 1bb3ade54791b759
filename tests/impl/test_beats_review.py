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
)
from impl.messages import Gossip, SeenDigest
from tests.conftest import InternalErrors
from tests.impl.test_internal_errors import _driver

HUGE = b"9" * 5000  # over Python's 4,300-digit limit of int()


@pytest.mark.parametrize(("data", "why"), [
    (b"\xff", "not valid JSON"),
    (b"[" * 100_000, "not valid JSON"),
    (b'{"format":"vdynamo.beats.v1","beats":{"n1":' + HUGE + b"}}", "not valid JSON"),
    (b'{"format":"vdynamo.beats.v0","beats":{}}', "expected"),
    (b'{"format":"vdynamo.beats.v1","beats":[]}', "expected"),
    (b'{"format":"vdynamo.beats.v1","beats":{"n1":-1}}', "the age of 'n1'"),
    (b'{"format":"vdynamo.beats.v1","beats":{"n1":true}}', "the age of 'n1'"),
    (b'{"format":"vdynamo.beats.v1","beats":{"n1":1.5}}', "the age of 'n1'"),
    (b'{"format":"vdynamo.beats.v1","beats":{"":1}}', "the age of ''"),
    (beats_to_bytes({f"n{i}": 1 for i in range(BEATS_LIMIT + 1)}), "over 4096"),
])
def test_malformed_heartbeats_are_refused_naming_why(data: bytes, why: str) -> None:
    with pytest.raises(BadMessageError, match=why):
        beats_from_bytes(data)


def test_the_limit_itself_and_the_empty_field_are_taken() -> None:
    most = {f"n{i}": i for i in range(BEATS_LIMIT)}
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
    message = {"beats": Gossip(view, beats=b'{"format":"vdynamo.beats.v1","beats":{"n1":'
                               + HUGE + b"}}"),
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
    """``Node._take_beats``: an older age from a later message does not push back
    fresher news of a member (else a live member looks down and is removable); ages
    of names not in the view are not kept (a peer could grow the table by 4,096 names
    a message); nor this node's own. Session 26's review: each of the three mutants
    passed every test."""
    driver = _driver()
    node = driver.nodes["n1"]
    view = driver.nodes["n2"].gossiper.view.to_bytes()
    now = driver.now
    node.heard_by_any.clear()
    node.receive(now, "n2", Gossip(view, beats=beats_to_bytes({"n3": 1000})))
    assert node.heard_by_any["n3"] == pytest.approx(now - 1.0)
    node.receive(now, "n2", Gossip(view, beats=beats_to_bytes({"n3": 5000, "n1": 0,
                                                                "mallory": 0})))
    assert node.heard_by_any["n3"] == pytest.approx(now - 1.0)  # not now - 5
    assert "mallory" not in node.heard_by_any and "n1" not in node.heard_by_any
    assert internal_errors.records == []


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
