"""impl.membership: behaviours mutmut found no test pinned (issue 12, section 5;
docs/refinement.md, "Session 9: membership, reaping, and the open mutants of
session 8").

The pure functions of a ring change, each against its docstring: which status and
which version each announcement carries, when :func:`leave` hands a strategy-3
node's partitions out at once, and what :func:`claim_leave` refuses. Session 10
("Session 10: the rest of membership and gossip"): a view's canonical bytes, and
the refusals of its JSON and bytes word for word.
"""

from __future__ import annotations

import random

import pytest

from impl.errors import BadMessageError, InvalidValueError
from impl.membership import (
    Member,
    Membership,
    MemberStatus,
    claim_join,
    claim_leave,
    claimant,
    initial_membership,
    join,
    leave,
    left,
    seen_all,
    seen_from_bytes,
    seen_merge,
    seen_to_bytes,
)
from spec.ring import Partitioning, strategy1, strategy3

NODES = ("n1", "n2", "n3", "n4")


def _s1() -> Partitioning:
    return strategy1(NODES, 4, random.Random(3))


def _s3(nodes: tuple[str, ...] = NODES) -> Partitioning:
    return strategy3(nodes, 32, random.Random(3))


def _versions(view: Membership) -> dict[str, int]:
    return {member.node: member.version for member in view}


def test_a_node_that_left_joins_again_as_joining_with_one_announcement() -> None:
    """A node that left may join again: its entry becomes ``joining`` (not ``left``)
    with its version bumped by exactly one, and no other member's entry changes
    (strategy 1: nothing moves)."""
    partitioning = _s1()
    view = initial_membership(partitioning.ring).announce("n4", MemberStatus.LEFT, ())
    rest = strategy1(NODES[:3], 4, random.Random(3))
    rejoined = join(view, "n4", rest, random.Random(1))
    member = rejoined.get("n4")
    assert member is not None and member.status is MemberStatus.JOINING
    assert member.version == 3 and len(member.tokens) == 4
    assert _versions(rejoined) == {**_versions(view), "n4": 3}
    given = join(view, "n4", rest, random.Random(1), tokens=(7, 9)).get("n4")
    assert given is not None and (given.status, given.tokens) == (MemberStatus.JOINING, (7, 9))


def test_a_join_draws_tokens_in_proportion_to_its_capacity() -> None:
    """Strategy 1: a node of capacity c draws ``round(T * c)`` tokens (T = 4)."""
    partitioning = _s1()
    view = initial_membership(partitioning.ring)
    member = join(view, "n5", partitioning, random.Random(1), capacity=2.0).get("n5")
    assert member is not None and len(member.tokens) == 8


def test_left_bumps_the_leavers_version_by_one() -> None:
    partitioning = _s1()
    view = leave(initial_membership(partitioning.ring), "n2")
    gone = left(view, "n2", partitioning, random.Random(5))
    assert _versions(gone) == {**_versions(view), "n2": 3}


def test_a_strategy3_leave_hands_the_partitions_out_at_once() -> None:
    """With a strategy-3 partitioning and a random source, the leaving node's
    partitions go to the others at once (their versions bumped by two), and it keeps
    no tokens; the ring of the view is the partitioning without it."""
    partitioning = _s3()
    view = initial_membership(partitioning.ring)
    leaving = leave(view, "n2", partitioning, random.Random(5))
    member = leaving.get("n2")
    assert member is not None and (member.status, member.tokens, member.version) == (
        MemberStatus.LEAVING, (), 2)
    assert leaving.ring() == partitioning.without_node("n2", random.Random(5)).ring
    assert {v for node, v in _versions(leaving).items() if node != "n2"} == {3}


@pytest.mark.parametrize("case", ["strategy1", "no-rng", "alone", "not-on-ring"])
def test_a_leave_outside_strategy3_keeps_its_tokens(case: str) -> None:
    """:func:`leave` announces ``leaving`` with the node's tokens kept (it serves its
    ranges while it hands them over) unless it is given a strategy-3 partitioning
    with the node and another member on it *and* a random source."""
    partitioning = {"strategy1": _s1(), "no-rng": _s3(), "alone": _s3(("n2",)),
                    "not-on-ring": _s3(("n1", "n3", "n4"))}[case]
    view = initial_membership(_s3().ring if case != "strategy1" else partitioning.ring)
    rng = None if case == "no-rng" else random.Random(5)
    leaving = leave(view, "n2", partitioning, rng)
    held = view.get("n2")
    assert held is not None
    assert leaving.get("n2") == Member("n2", 2, MemberStatus.LEAVING, held.tokens,
                                       tokens_version=1)
    assert _versions(leaving) == {**_versions(view), "n2": 2}


def _leaving(nodes: tuple[str, ...] = NODES) -> tuple[Membership, Partitioning]:
    partitioning = _s3(nodes)
    return initial_membership(partitioning.ring).announce("n2", MemberStatus.LEAVING), \
        partitioning


def test_claim_leave_bumps_each_moved_entry_by_two() -> None:
    """The claimant hands the leaver's partitions out: the leaver keeps no tokens and
    its version goes up by two, as every receiver's (a two-node ring is enough)."""
    for nodes in (NODES, ("n1", "n2")):
        view, partitioning = _leaving(nodes)
        claimed = claim_leave(view, "n2", partitioning, random.Random(5))
        member = claimed.get("n2")
        assert member is not None and (member.status, member.tokens, member.version) == (
            MemberStatus.LEAVING, (), 4)
        assert {v for node, v in _versions(claimed).items() if node != "n2"} == {3}
        assert claimed.ring() == partitioning.without_node("n2", random.Random(5)).ring


@pytest.mark.parametrize("case", ["up", "unknown", "no-tokens", "not-on-ring", "alone"])
def test_claim_leave_refuses_a_node_not_leaving_with_tokens_beside_another(case: str) -> None:
    view, partitioning = _leaving()
    node = "n2"
    if case == "up":
        view = initial_membership(partitioning.ring)
    elif case == "unknown":
        node = "n9"
    elif case == "no-tokens":
        view = view.announce("n2", tokens=())
    elif case == "not-on-ring":
        partitioning = _s3(("n1", "n3", "n4"))
    else:
        partitioning = _s3(("n2",))
    with pytest.raises(InvalidValueError) as raised:
        claim_leave(view, node, partitioning, random.Random(5))
    assert str(raised.value) == f"node {node!r} is not a member leaving with tokens"


def test_a_member_whose_vector_lacks_a_node_has_not_seen_it() -> None:
    """:func:`seen_all`: a node missing from a member's vector counts as version 0, so
    the member has not seen an entry of version 1 (nor, trivially, is it needed for a
    required version 0)."""
    assert not seen_all({"a": {}}, ["a"], {"x": 1})
    assert seen_all({"a": {}}, ["a"], {"x": 0})
    assert seen_all({"a": {"x": 1}}, ["a"], {"x": 1})


def test_seen_digest_bytes_are_canonical() -> None:
    """:func:`seen_to_bytes` gives one byte string per digest: compact JSON, keys
    sorted at every level (the bytes travel in SeenDigest messages)."""
    seen = {"b": {"y": 2, "x": 1}, "a": {}}
    assert seen_to_bytes(seen) == (
        b'{"format":"vdynamo.seen.v1","seen":{"a":{},"b":{"x":1,"y":2}}}')


def test_seen_digest_versions_are_bounded_and_the_refusals_named() -> None:
    top = (1 << 63) - 1
    assert seen_from_bytes(seen_to_bytes({"a": {"x": top}})) == {"a": {"x": top}}
    for version in (1 << 63, 1 << 64 - 1):
        with pytest.raises(BadMessageError) as raised:
            seen_from_bytes(seen_to_bytes({"a": {"x": version}}))
        assert str(raised.value) == (
            "membership: seen digest: the entry of 'a' must map nodes to versions")
    with pytest.raises(BadMessageError) as raised:
        seen_from_bytes(b'{"format":"vdynamo.seen.v1","seen":[]}')
    assert str(raised.value) == "membership: seen digest: seen must be an object"


@pytest.mark.parametrize("case", ["unknown", "joining-with-tokens", "up"])
def test_claim_join_refuses_a_node_not_joining_without_tokens(case: str) -> None:
    partitioning = _s3()
    view = initial_membership(partitioning.ring)
    node = {"unknown": "n9", "joining-with-tokens": "n5", "up": "n2"}[case]
    if case == "joining-with-tokens":
        view = view.announce("n5", MemberStatus.JOINING, (5,))
    with pytest.raises(InvalidValueError) as raised:
        claim_join(view, node, partitioning, random.Random(1))
    assert str(raised.value) == f"node {node!r} is not a member joining with no tokens"


@pytest.mark.parametrize("capacity", [None, 2.0])
def test_claim_join_gives_the_share_of_the_capacity_and_announces_every_move(
        capacity: float | None) -> None:
    """The claimant gives a joining node its share of the Q partitions by its capacity
    (1 unless given) and announces every member whose partitions moved, whatever its
    name (a member named ``XXXX`` here), each with its version bumped by two."""
    nodes = ("XXXX", "n1", "n2")
    partitioning = _s3(nodes)
    view = initial_membership(partitioning.ring).announce("n3", MemberStatus.JOINING)
    extra = {} if capacity is None else {"capacity": capacity}
    claimed = claim_join(view, "n3", partitioning, random.Random(1), **extra)
    target = partitioning.with_node("n3", random.Random(1), capacity or 1.0).ring
    assert claimed.ring() == target
    member = claimed.get("n3")
    # Q = 32: a quarter of them, or two fifths (12.8, the largest remainder: 13)
    assert member is not None and len(member.tokens) == (8 if capacity is None else 13)
    assert _versions(claimed) == {"XXXX": 3, "n1": 3, "n2": 3, "n3": 3}


def test_a_moved_member_keeps_its_settled_flag() -> None:
    """A claim moves other members' partitions (their change, if any, is not the
    claim's): each moved entry keeps its own ``settled`` flag, set or not."""
    partitioning = _s3(("n1", "n2", "n4"))
    view = initial_membership(partitioning.ring).announce("n1", settled=True)
    view = view.announce("n3", MemberStatus.JOINING)
    claimed = claim_join(view, "n3", partitioning, random.Random(1))
    flags = {m.node: (m.version, m.settled) for m in claimed}
    assert flags == {"n1": (4, True), "n2": (3, False), "n3": (3, False), "n4": (3, False)}


def test_membership_json_refusals_name_what_was_wrong() -> None:
    with pytest.raises(BadMessageError) as raised:
        Membership.from_json(["members"])
    assert str(raised.value) == "membership: expected a JSON object"
    with pytest.raises(BadMessageError) as raised:
        Membership.from_json({"format": "vdynamo.membership.v0", "members": []})
    assert str(raised.value) == ("membership: unknown format 'vdynamo.membership.v0', "
                                 "expected 'vdynamo.membership.v1'")


def test_the_claimant_is_the_lowest_named_up_member_with_tokens() -> None:
    """Neither a joining member holding tokens (strategies 1 and 2 announce them at the
    join) nor an ``up`` member without tokens is the claimant."""
    partitioning = _s1()
    view = initial_membership(partitioning.ring)
    view = view.announce("n0", MemberStatus.JOINING, (11,)).announce("a", MemberStatus.UP)
    assert claimant(view) == "n1"


# ---------------------------------------------------- session 10: views' bytes


def test_a_views_bytes_are_compact_canonical_json() -> None:
    """:meth:`Membership.to_bytes`: compact JSON (no spaces after ``,`` and ``:``;
    the digest and the gossip messages hash and compare these bytes), tokens as
    decimal strings, ``true`` only for a settled entry (kills ``to_bytes``'s
    ``separators`` mutants)."""
    view = Membership((Member("b", 2, MemberStatus.LEAVING, (7, 3), settled=True),
                       Member("a", 1, MemberStatus.UP)))
    assert view.to_bytes() == (
        b'{"format":"vdynamo.membership.v1","members":'
        b'[["a",1,"up",[]],["b",2,"leaving",["3","7"],true]]}')


def test_a_view_naming_a_node_twice_is_refused_word_for_word() -> None:
    """``Membership(...)`` with two entries of one node (kills the message mutant of
    ``Membership.__post_init__``); :meth:`Membership.of` keeps the higher one."""
    first, second = Member("a", 1, MemberStatus.UP), Member("a", 2, MemberStatus.UP)
    with pytest.raises(BadMessageError) as raised:
        Membership((first, second))
    assert str(raised.value) == "membership: a node appears twice"
    assert Membership.of((second, first)) == Membership((second,))


def test_membership_refusals_name_the_type_given() -> None:
    """``merge`` with a non-view and ``from_bytes`` of a non-bytes name the type they
    got (kills the ``type(None)`` mutants of ``merge`` and ``from_bytes``)."""
    with pytest.raises(BadMessageError) as raised:
        Membership().merge({"a": 1})  # type: ignore[arg-type]
    assert str(raised.value) == "membership: can only merge a Membership, got dict"
    with pytest.raises(BadMessageError) as raised:
        Membership.from_bytes("{}")  # type: ignore[arg-type]
    assert str(raised.value) == "membership: expected bytes, got str"


@pytest.mark.parametrize(("extra", "named"), [
    ({"x": 1}, "['x']"),
    ({"members": [], "x": 1}, "['x']"),
    ({}, "[]"),
])
def test_a_views_unexpected_fields_are_named_without_the_expected_ones(
        extra: dict[str, object], named: str) -> None:
    """:meth:`Membership.from_json` names the fields it did not expect, and only
    those: neither ``format`` nor ``members`` (kills the mutants of the names in
    the set subtracted); a missing ``members`` names none."""
    with pytest.raises(BadMessageError) as raised:
        Membership.from_json({"format": "vdynamo.membership.v1", **extra})
    assert str(raised.value) == f"membership: unexpected fields {named}"


def test_a_views_members_must_be_a_list_word_for_word() -> None:
    """(Kills the message mutant of that refusal in :meth:`Membership.from_json`.)"""
    with pytest.raises(BadMessageError) as raised:
        Membership.from_json({"format": "vdynamo.membership.v1", "members": {}})
    assert str(raised.value) == "membership: members must be a list"


def test_a_token_string_longer_than_a_ring_position_is_refused() -> None:
    """A ring position has at most 39 decimal digits (2**128 - 1): a token string of
    40 digits is refused as not a decimal token, even zero-padded to a valid
    position (kills ``len(t) <= 40``, which accepts the padded one)."""
    padded = "0" * 39 + "1"
    doc = {"format": "vdynamo.membership.v1", "members": [["a", 1, "up", [padded]]]}
    with pytest.raises(BadMessageError) as raised:
        Membership.from_json(doc)
    assert str(raised.value) == "membership: member 0 tokens must be a list of decimal strings"
    doc["members"] = [["a", 1, "up", [padded[1:]]]]
    assert Membership.from_json(doc) == Membership((Member("a", 1, MemberStatus.UP, (1,)),))


def test_seen_merge_adds_no_entry_for_a_version_not_above_the_held_one() -> None:
    """:func:`seen_merge` keeps a node's version only when it is above what is held
    (0 when absent): a version 0 adds no entry (kills ``version >= held``, which
    adds one: :meth:`impl.gossip.Gossiper.on_seen` compares the dicts)."""
    assert seen_merge({}, {"m": {"n": 0}}) == {"m": {}}
    assert seen_merge({"m": {"n": 2}}, {"m": {"n": 2, "o": 1}}) == {"m": {"n": 2, "o": 1}}


def test_an_entrys_version_is_below_two_to_the_63() -> None:
    """A version is an int in [0, 2**63) (a signed 64-bit counter): 2**63 - 1 is
    taken, 2**63 refused word for word (kills ``<= 1 << 63``, ``< 2 << 63`` and
    ``< 1 << 64`` in ``Member.__post_init__``)."""
    top = (1 << 63) - 1
    assert Member("a", top, MemberStatus.UP).version == top
    with pytest.raises(BadMessageError) as raised:
        Member("a", 1 << 63, MemberStatus.UP)
    assert str(raised.value) == (
        "membership: version of 'a' must be an int in [0, 2**63), got 9223372036854775808")


def test_a_strategy3_leave_on_a_two_node_ring_hands_the_partitions_out_at_once() -> None:
    """A ring of two nodes is enough: the leaving node's partitions all go to the
    other at once (kills ``len(partitioning.ring.nodes) <= 2`` and ``< 3`` in
    :func:`leave`, which keep its tokens)."""
    partitioning = _s3(("n1", "n2"))
    view = initial_membership(partitioning.ring)
    leaving = leave(view, "n2", partitioning, random.Random(5))
    assert leaving.get("n2") == Member("n2", 2, MemberStatus.LEAVING)
    n1 = leaving.get("n1")
    assert n1 is not None and len(n1.tokens) == 32 and n1.version == 3
