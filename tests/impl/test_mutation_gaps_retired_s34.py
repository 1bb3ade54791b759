"""Mutation gaps of impl/retired.py (session 34): the mutants of
:meth:`impl.retired.RetiredActors.prunes_copy` that the tests of anti-entropy's
back-send let live (docs/refinement.md, "Session 34: the changed functions of
antientropy, read_repair, retired, versions"). Whether a peer whose copy is
``record`` prunes an entry of it, by what this node knows and what the peer's
message told: unit tests on a :class:`~impl.storage.memory.MemoryStorage`,
deterministic, no cluster.
"""

from __future__ import annotations

from impl.records import ClockMode, Record
from impl.retired import RETIRED_KNOWN_META, RetiredActors
from impl.storage.memory import MemoryStorage
from impl.versions import decode_retired, encode_retired
from spec import dvv

ME = "me~0123456789ab"


def _actor(node: str, n: int) -> str:
    return f"{node}~{n:012x}"


def _record(*entries: tuple[str, int, list[bytes]]) -> Record:
    return Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(entries))


def _knowing(retired: dict[str, int], *, keep: int = 0) -> RetiredActors:
    node = RetiredActors(MemoryStorage(), ME, enabled=True, keep=keep)
    if retired:
        node.take(encode_retired(retired))
    return node


OLD = _actor("a", 1)
#: a value-less entry of ``OLD`` and a live node's value
COPY = _record((OLD, 2, []), (_actor("b", 9), 1, [b"v"]))


def test_a_copy_holding_an_entry_of_a_known_retirement_is_pruned_by_the_peer() -> None:
    """This node knows ``OLD`` retired: a copy holding its value-less entry loses it
    (``prunes_copy__mutmut_1``: enabled answers False; ``_17``: known answers
    False; ``_20``: no retirements passed; ``_22``, ``_26``: the count ``keep``
    dropped, the byte budget, which one entry does not pass)."""
    assert _knowing({OLD: 1}).prunes_copy(COPY, b"")
    assert not _knowing({OLD: 1}, keep=-1).prunes_copy(COPY, b"")  # (within the budget)


def test_knowing_nothing_and_told_nothing_prunes_nothing() -> None:
    """(``prunes_copy__mutmut_18``: ``return True``.) Nor does a node disabled."""
    assert not _knowing({}).prunes_copy(COPY, b"")
    disabled = RetiredActors(MemoryStorage(), ME, enabled=False, keep=0)
    assert not disabled.prunes_copy(COPY, encode_retired({OLD: 1}))


def test_what_the_message_told_counts_as_known() -> None:
    """Knowing nothing, a message naming ``OLD`` retired: the peer prunes its entry
    (``prunes_copy__mutmut_5``: the told field not read; ``_6``: only this node's
    own actor taken from it). A message naming this node's own actor retired
    prunes nothing of its entries."""
    assert _knowing({}).prunes_copy(COPY, encode_retired({OLD: 1}))
    mine = _record((ME, 2, []), (_actor("b", 9), 1, [b"v"]))
    assert not _knowing({}).prunes_copy(mine, encode_retired({ME: 1}))


def _two_lifetimes(newer: str, older: str) -> Record:
    """A value-less entry of ``older`` and a value of ``newer`` (node a's)."""
    return _record((older, 3, []), (newer, 4, [b"v"]))


def test_told_ranks_order_the_lifetimes_by_age() -> None:
    """``keep`` 1 keeps the newest retired lifetime of a node the copy holds: told
    a~..02 rank 3 and a~..01 rank 5, the value-less entry of a~..02 (the older by
    rank, the newer by name) goes; told a~..01 rank 1 and a~..02 rank 0, the
    value-less entry of a~..02 (rank 0) goes, not kept as a tie of rank 1 broken
    by the name (``prunes_copy__mutmut_7``: every told rank None, ordered by name;
    ``_16``: ``get(actor, 1)``, rank 0 taken as 1; ``_13``, ``_15``: max with
    None raises)."""
    a1, a2 = _actor("a", 1), _actor("a", 2)
    node = _knowing({}, keep=1)
    assert node.prunes_copy(_two_lifetimes(a1, a2), encode_retired({a1: 5, a2: 3}))
    assert node.prunes_copy(_two_lifetimes(a1, a2), encode_retired({a1: 1, a2: 0}))
    # (and the other way round nothing goes: the value-less entry is the newest's)
    assert not node.prunes_copy(_two_lifetimes(a2, a1), encode_retired({a1: 5, a2: 3}))


def test_a_known_rank_above_the_told_one_is_kept() -> None:
    """This node knows a~..02 at rank 6, the message tells it at rank 1 and a~..01
    at rank 5: a~..02 stays the newer, so the value-less entry of a~..01 goes
    (``prunes_copy__mutmut_12``: ``known.get(None, 0)``, the told rank 1 taken:
    a~..02 the older, its value kept, nothing pruned)."""
    a1, a2 = _actor("a", 1), _actor("a", 2)
    node = _knowing({a2: 6}, keep=1)
    assert node.prunes_copy(_two_lifetimes(a2, a1), encode_retired({a1: 5, a2: 1}))


def test_a_node_told_its_knowledge_knows_exactly_that_and_learns_nothing() -> None:
    """:meth:`RetiredActors.tell` (the refinement harness's oracle): the node knows
    exactly what it is told, its own live actor left out, forgets what it knew,
    gossips the new knowledge (not the one cached before), takes nothing from a
    gossip or a carried field afterwards (still answering whether it names its
    own actor) and stores nothing. A disabled node is told nothing."""
    storage = MemoryStorage()
    node = RetiredActors(storage, ME, enabled=True)
    node.take(encode_retired({_actor("a", 1): 1}))
    before = node.to_gossip()
    meta = storage.get_meta(RETIRED_KNOWN_META)
    told = {_actor("b", 2): 4, _actor("c", 3): 0}
    node.tell({**told, ME: 5})
    assert node.known == told and not node.learns
    assert decode_retired(node.to_gossip()) == told != decode_retired(before)
    assert node.take(encode_retired({_actor("d", 4): 1, ME: 6})) is True
    assert node.known == told
    assert storage.get_meta(RETIRED_KNOWN_META) == meta
    disabled = RetiredActors(MemoryStorage(), ME, enabled=False)
    disabled.tell(told)
    assert disabled.known == {} and disabled.learns
