"""impl.membership: the behaviours session 48's mutmut run of the whole file found no
test for (docs/refinement.md, "Mutation score of read_repair, forwarding, retired,
reaping, membership (session 48)"): an entry covers another only with both of its
registers at least as high (session 26), the words of a move past the version
headroom and of a departure's shortfall (session 24), a view's JSON row with split
registers read back, and the view digest's size. Pure functions, deterministic.
"""

from __future__ import annotations

import json
import random

import pytest

from impl.errors import BadMessageError, InvalidValueError, VersionHeadroomError
from impl.membership import (
    BEATS_FORMAT,
    ON_RING,
    PEER_VERSION_LIMIT,
    Member,
    Membership,
    MemberStatus,
    beats_from_bytes,
    beats_to_bytes,
    claim_leave,
    departure_shortfall,
    force_remove,
    initial_membership,
    merge_conflict,
)
from spec.ring import Partitioning, Strategy, strategy1, strategy3

UP, LEAVING = MemberStatus.UP, MemberStatus.LEAVING


def test_an_entry_covers_another_only_with_both_registers_as_high() -> None:
    """A newer status register with an older tokens register (a claimant's move the
    entry has not heard) does not cover the other entry, nor the other way round
    (``Member.covers__mutmut_2``: ``or``, either register enough)."""
    status_newer = Member("n1", 5, LEAVING, (1,), status_version=5, tokens_version=2)
    tokens_newer = Member("n1", 4, UP, (2,), status_version=1, tokens_version=4)
    assert not status_newer.covers(tokens_newer)
    assert not tokens_newer.covers(status_newer)
    joined = status_newer.join(tokens_newer)
    assert joined.covers(status_newer) and joined.covers(tokens_newer)


def test_a_move_past_the_version_headroom_is_refused_word_for_word() -> None:
    """(``Membership.move__mutmut_8``: the message None.)"""
    view = Membership((Member("n1", PEER_VERSION_LIMIT - 2, UP, (1,)),
                       Member("n2", 1, UP, (2,))))
    with pytest.raises(VersionHeadroomError) as refused:
        view.move("n1", (3,))
    assert str(refused.value) == (
        f"membership: 'n1' cannot announce a change: version {PEER_VERSION_LIMIT} would "
        "not be below 2**62 (PEER_VERSION_LIMIT), and every peer refuses a view with it")


def test_a_row_with_split_registers_reads_back() -> None:
    """A moved member's row carries ``[settled, [status_version, tokens_version]]``
    (six fields): its JSON reads back to the same view (``from_json__mutmut_44``:
    rows of 4, 5 or 7 fields)."""
    view = initial_membership(strategy1(("n1", "n2", "n3"), 2, random.Random(1)).ring)
    moved = view.move("n2", view.get("n2").tokens[:1])  # type: ignore[union-attr]
    assert Membership.from_json(moved.to_json()) == moved
    assert len(moved.to_json()["members"][1]) == 6  # type: ignore[index]


def test_a_view_digest_is_sixteen_bytes() -> None:
    """The view digest a reap query carries (:meth:`impl.node.Node._members`) is a
    16-byte blake2b (``digest__mutmut_4``: blake2b's default 64; ``_5``: 17)."""
    view = initial_membership(strategy1(("n1", "n2", "n3"), 2, random.Random(1)).ring)
    assert len(view.digest()) == 16 and view.digest() == view.digest()


def _view(*members: tuple[str, MemberStatus]) -> Membership:
    return Membership(tuple(Member(node, 1, status, (i + 1,))
                            for i, (node, status) in enumerate(members)))


def test_a_departures_shortfall_names_who_stays_and_who_goes() -> None:
    """The reason a departure waits (session 24), word for word: the other
    departures going first, the members staying (one: "member"; none: "none")
    (``departure_shortfall__mutmut_14``, ``_18``: the ``with ... going too`` part
    when nothing else goes; ``_16``: the names of those going joined wrongly;
    ``_19``, ``_21``: "member" for one; ``_29``, ``_30``: "none")."""
    four = _view(("n1", UP), ("n2", UP), ("n3", LEAVING), ("n4", UP))
    assert departure_shortfall(four, "n3", 3, ()) is None
    assert departure_shortfall(four, "n3", 3, ("n4",)) == (
        "with n4 going too, it would leave 2 members (n1, n2), fewer than N = 3 replicas "
        "per key; it completes once a node joins")
    assert departure_shortfall(four, "n3", 3, ("n4", "n2")) == (
        "with n2, n4 going too, it would leave 1 member (n1), fewer than N = 3 replicas "
        "per key; it completes once a node joins")
    two = _view(("n1", UP), ("n2", LEAVING))
    assert departure_shortfall(two, "n2", 2, ()) == (
        "it would leave 1 member (n1), fewer than N = 2 replicas per key; it completes "
        "once a node joins")
    assert departure_shortfall(two, "n2", 2, ("n1",)) == (
        "with n1 going too, it would leave 0 members (none), fewer than N = 2 replicas "
        "per key; it completes once a node joins")


def _row_view(row: list[object]) -> dict[str, object]:
    return {"format": Membership((Member("n1", 1, UP),)).to_json()["format"], "members": [row]}


def test_the_split_registers_of_a_row_are_read_and_checked() -> None:
    """A six-field row's registers are read as given, 0 included; one whose settled
    flag is no bool, whose registers are not a pair of ints >= 0, is refused
    (``from_json__mutmut_55`` to ``_59``, ``_64``, ``_66``, ``_68``, ``_88`` to
    ``_94``: the six-field checks loosened, tightened or skipped)."""
    read = Membership.from_json(_row_view(["n1", 0, "up", ["1"], False, [0, 0]]))
    assert read.members == (Member("n1", 0, UP, (1,), False, 0, 0),)
    read = Membership.from_json(_row_view(["n1", 3, "up", ["1"], True, [3, 1]]))
    assert read.members == (Member("n1", 3, UP, (1,), True, 3, 1),)
    shape = "member 0 must be \\[node, version, status, tokens\\]"
    registers = "member 0 register versions must be ints >= 0"
    for bad, words in ((["n1", 3, "up", ["1"], "yes", [3, 1]], shape),
                       (["n1", 3, "up", ["1"], True, (3, 1)], shape),
                       (["n1", 3, "up", ["1"], True, [3]], shape),
                       (["n1", 3, "up", ["1"], True, [3, 1, 1]], shape),
                       (["n1", 3, "up", ["1"], True, [-1, 1]], registers),
                       (["n1", 3, "up", ["1"], True, [3, "1"]], registers),
                       (["n1", 3, "up", ["1"], True, [3, True]], registers)):
        with pytest.raises(BadMessageError, match=words):
            Membership.from_json(_row_view(bad))


def test_a_claimed_leave_hands_no_partition_to_a_member_being_removed() -> None:
    """5 members (strategy 3, Q = 32), n3 leaving and n5 force-removed: the claim of
    n3's leave, which left alone would move two of n3's partitions to n5, gives
    them to the staying members instead (session 24's review); n5 keeps exactly its
    own, and every partition is held (``claim_leave__mutmut_15``, ``_16``, ``_17``:
    the other departures mis-collected; ``_to_staying__mutmut_1`` to ``_4``,
    ``_6``, ``_10``, ``_11``: the redirection skipped or applied to the wrong
    tokens)."""
    ring = strategy3(["n1", "n2", "n3", "n4", "n5"], 32, random.Random(1)).ring
    view = force_remove(initial_membership(ring).announce("n3", status=LEAVING), "n5", 3)
    on_ring = view.ring()
    assert on_ring is not None
    partitioning = Partitioning(Strategy.EQUAL_PARTITIONS, on_ring, 6, 32)
    alone = partitioning.without_node("n3", random.Random(1)).ring
    assert set(alone.tokens_of("n5")) > set(ring.tokens_of("n5"))
    claimed = claim_leave(view, "n3", partitioning, random.Random(1))
    tokens = claimed.tokens(ON_RING)
    assert tokens["n5"] == ring.tokens_of("n5") and "n3" not in tokens
    assert sorted(t for held in tokens.values() for t in held) == sorted(ring.tokens)
    assert {n: len(tokens[n]) for n in ("n1", "n2", "n4")} == {"n1": 9, "n2": 9, "n4": 8}


def test_a_view_contains_its_members_only() -> None:
    """(``Membership.__contains____mutmut_2``: ``!=``, every name but a lone member's.)"""
    view = _view(("n1", UP), ("n2", UP))
    assert "n1" in view and "n2" in view and "n3" not in view
    assert "n2" not in _view(("n1", UP))


def test_heartbeats_with_another_shape_are_refused() -> None:
    """A heartbeats field with a key besides ``format`` and ``beats``, or JSON that is
    no object, is refused as malformed (``beats_from_bytes__mutmut_10``: ``and``, the
    extra key let through and a JSON number a TypeError)."""
    assert beats_from_bytes(beats_to_bytes({"n1": (1, 2, 3)})) == {"n1": (1, 2, 3)}
    for bad in ({"format": BEATS_FORMAT, "beats": {}, "more": 1}, 5, ["format", "beats"]):
        with pytest.raises(BadMessageError, match="heartbeats: expected"):
            beats_from_bytes(json.dumps(bad).encode())


def test_a_conflict_both_views_hold_alike_is_ours() -> None:
    """This node's own view gives token 5 to n1 and n2; a peer's view holds equal
    copies of both entries (other objects, neither register higher): the conflict is
    this node's (InvalidValueError), not the peer's (``merge_conflict__mutmut_14``,
    ``_16``: ``>=``, an equal entry of the peer's taken as the winner and blamed)."""
    mine = Membership((Member("n1", 1, UP, (1, 5)), Member("n2", 1, UP, (2, 5))))
    theirs = Membership.from_json(mine.to_json())
    assert theirs == mine and theirs.members[0] is not mine.members[0]
    for peer in (mine, theirs):
        with pytest.raises(InvalidValueError, match="this node's own view: the merged "
                           "view gives token 5 to 'n1' and 'n2'"):
            merge_conflict(mine, peer)


def test_a_peers_conflict_after_an_entry_both_views_share_is_found() -> None:
    """The peer's view holds this node's very entry of n1 (one object) and then a
    newer n2 claiming n1's token 1: the peer's conflict (``merge_conflict__mutmut_11``:
    ``break`` at the shared entry, the entries after it never looked at)."""
    mine = Membership((Member("n1", 1, UP, (1,)), Member("n2", 1, UP, (2,))))
    theirs = Membership((mine.members[0], Member("n2", 3, UP, (1,))))
    with pytest.raises(BadMessageError, match="gives token 1 to 'n1' and 'n2'"):
        merge_conflict(mine, theirs)


def test_a_peers_entry_winning_by_its_tokens_alone_is_blamed() -> None:
    """The peer's n2 holds a newer tokens register only (a claimant's move, its status
    register as ours) that claims n1's token 1: the conflict is the peer's
    (``merge_conflict__mutmut_22``: ``and``, an entry of the peer's counted as its
    only when both registers win)."""
    mine = Membership((Member("n1", 1, UP, (1,)), Member("n2", 1, UP, (2,))))
    theirs = Membership((mine.members[0],
                         Member("n2", 3, UP, (1,), status_version=1, tokens_version=3)))
    with pytest.raises(BadMessageError, match="gives token 1 to 'n1' and 'n2'"):
        merge_conflict(mine, theirs)


def test_heartbeats_bytes_are_compact() -> None:
    """(``beats_to_bytes__mutmut_2``: JSON's default separators, a space after each.)"""
    assert beats_to_bytes({"n1": (1, 2, 3), "n2": (4, 5, 6)}) == (
        b'{"beats":{"n1":[1,2,3],"n2":[4,5,6]},"format":"vdynamo.beats.v2"}')


def test_only_a_view_of_at_most_64_kib_is_kept_parsed() -> None:
    """A view's bytes parse to one kept object while they take at most 64 KiB; larger
    ones are parsed afresh each time, not held in the cache
    (``Membership.from_bytes__mutmut_4``: ``or``, every view kept)."""
    small = _view(("n1", UP), ("n2", UP)).to_bytes()
    assert Membership.from_bytes(small) is Membership.from_bytes(small)
    large = Membership(tuple(Member(f"n{i}", 1, UP, tuple((1 << 120) + 64 * i + t
                                                          for t in range(64)))
                             for i in range(40))).to_bytes()
    assert len(large) > 1 << 16
    first, again = Membership.from_bytes(large), Membership.from_bytes(large)
    assert first == again and first is not again


def test_a_view_of_exactly_64_kib_is_kept_parsed() -> None:
    """The bound is inclusive (``Membership.from_bytes__mutmut_6``: ``<``); and a view
    of :class:`Membership` itself is kept (``_5``: ``cls is not Membership``)."""
    members = tuple(Member(f"n{i}", 1, UP, tuple((1 << 120) + 64 * i + t for t in range(64)))
                    for i in range(25))
    short = len(Membership((*members, Member("p", 1, UP))).to_bytes())
    raw = Membership((*members, Member("p" * (1 + (1 << 16) - short), 1, UP))).to_bytes()
    assert len(raw) == 1 << 16
    assert Membership.from_bytes(raw) is Membership.from_bytes(raw)


def test_a_views_bytes_are_kept() -> None:
    """A view sends the same bytes object in every gossip until it changes (session
    41; ``Membership.to_bytes__mutmut_1``, ``_2``, ``_3``: the kept bytes never looked
    up; ``_17``, ``_18``: kept under another id, or nothing kept)."""
    view = _view(("n1", UP), ("n2", UP), ("n3", UP))
    raw = view.to_bytes()
    assert view.to_bytes() is raw and Membership.from_bytes(raw) == view


def test_a_register_version_that_is_no_int_is_refused() -> None:
    """A register version must be an int (not a bool, not a float) in [0, version]
    (``Member.__post_init____mutmut_62``: ``and``, a float in range let through;
    ``_63``: ``and``, a bool let through)."""
    for bad in (2.0, True):
        with pytest.raises(BadMessageError, match="status_version of 'n1' must be an int "
                           "in \\[0, version\\]"):
            Member("n1", 3, UP, status_version=bad)  # type: ignore[arg-type]
    assert Member("n1", 3, UP, status_version=2).status_version == 2
