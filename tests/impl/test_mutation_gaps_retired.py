"""Mutation gaps of impl/retired.py (session 33): the mutants of
:class:`impl.retired.RetiredActors` that the tests of
tests/impl/test_dvv_retired_pruning.py and tests/impl/test_dvv_retired_carried.py
did not kill (docs/refinement.md, "Session 33: impl/retired.py"). Unit tests on a
:class:`~impl.storage.memory.MemoryStorage`, deterministic, no cluster.
"""

from __future__ import annotations

from impl.records import ClockMode
from impl.retired import GOSSIPED_PER_NODE, RETIRED_KNOWN_META, RetiredActors
from impl.storage.memory import MemoryStorage
from impl.versions import RETIRED_WIRE_LIMIT, decode_retired, encode_retired

ME = "me~0123456789ab"


class _CountingStorage(MemoryStorage):
    """A MemoryStorage counting its ``set_meta`` calls by name."""

    def __init__(self) -> None:
        super().__init__()
        self.meta_writes: dict[str, int] = {}

    def set_meta(self, name: str, value: bytes) -> None:
        self.meta_writes[name] = self.meta_writes.get(name, 0) + 1
        super().set_meta(name, value)


def _actor(node: str, n: int) -> str:
    return f"{node}~{n:012x}"


def test_a_node_prefix_holding_a_tilde_is_its_own_node() -> None:
    """A node's actors are grouped by the prefix before the *last* ``~``: two
    nodes ``x~1`` and ``x~2`` each keep their newest ``GOSSIPED_PER_NODE`` in the
    gossip, not ``GOSSIPED_PER_NODE`` between them (``_newest__mutmut_8``:
    ``partition``)."""
    retired = RetiredActors(MemoryStorage(), ME, enabled=True)
    told = {_actor(node, i): i for node in ("x~1", "x~2")
            for i in range(GOSSIPED_PER_NODE)}
    retired.take(encode_retired(told))
    assert decode_retired(retired.to_gossip()) == told


def test_a_heard_entry_longer_than_the_wire_limit_is_read_at_start() -> None:
    """``RETIRED_KNOWN_META`` holds what this node heard of every node (256 each),
    so more lines than a gossip may carry: 20 nodes of 250 (5000 > 4096) are all
    read back at start, not dropped as malformed (``__init____mutmut_10``: the
    wire limit)."""
    storage = MemoryStorage()
    heard = {_actor(f"n{node}", i): i for node in range(20) for i in range(250)}
    assert len(heard) > RETIRED_WIRE_LIMIT
    storage.set_meta(RETIRED_KNOWN_META, encode_retired(heard))
    assert RetiredActors(storage, ME, enabled=True).known == heard


def test_only_dvv_with_actor_epochs_knows_retired_actors() -> None:
    """``for_mode``: enabled in dvv with epochs only (``for_mode__mutmut_7``:
    ``or``)."""
    storage = MemoryStorage()
    assert RetiredActors.for_mode(storage, ME, ClockMode.DVV, True).enabled
    assert not RetiredActors.for_mode(storage, ME, ClockMode.DVV, False).enabled
    for mode in ClockMode:
        if mode is not ClockMode.DVV:
            assert not RetiredActors.for_mode(storage, ME, mode, True).enabled


def test_a_gossip_telling_nothing_new_writes_nothing() -> None:
    """``take`` stages ``RETIRED_KNOWN_META`` only when it learnt something: the
    same gossip again (every round, the common case) or one telling only lower
    ranks writes nothing (``_add__mutmut_12``: ``return True``)."""
    storage = _CountingStorage()
    retired = RetiredActors(storage, ME, enabled=True)
    data = encode_retired({_actor("a", 1): 5, _actor("b", 2): 3})
    assert retired.take(data) is False
    assert storage.meta_writes == {RETIRED_KNOWN_META: 1}
    assert retired.take(data) is False
    assert retired.take(encode_retired({_actor("a", 1): 2})) is False
    assert storage.meta_writes == {RETIRED_KNOWN_META: 1}


def test_a_lower_rank_never_replaces_a_known_one() -> None:
    """A gossip naming a known actor at a lower rank, beside a new one, keeps the
    known rank (``_add__mutmut_21``: ``merged.get(None, 0)``); a new actor of rank
    0 is kept at rank 0 (``_add__mutmut_25``: default 1)."""
    retired = RetiredActors(MemoryStorage(), ME, enabled=True)
    retired.take(encode_retired({_actor("a", 1): 5}))
    retired.take(encode_retired({_actor("a", 1): 3, _actor("b", 2): 0}))
    assert retired.known == {_actor("a", 1): 5, _actor("b", 2): 0}


def test_renewing_to_an_actor_heard_as_retired_forgets_it() -> None:
    """``renew(actor)``: the new live actor is never known as retired, even if a
    gossip named it before (``renew__mutmut_2``: ``pop(None)``)."""
    storage = MemoryStorage()
    retired = RetiredActors(storage, ME, enabled=True)
    new = "me~ba9876543210"
    retired.take(encode_retired({new: 4}))
    assert new in retired.known
    retired.renew(new)
    assert new not in retired.known
    assert new not in decode_retired(retired.to_gossip())


def test_a_disabled_node_takes_no_gossip() -> None:
    """lww / vector clocks / no epochs: ``take`` learns nothing, writes nothing and
    returns False, even for data naming its own actor (``take__mutmut_1``:
    ``and``); empty data returns False (``take__mutmut_4``)."""
    storage = _CountingStorage()
    retired = RetiredActors(storage, ME, enabled=False)
    assert retired.take(encode_retired({ME: 1, _actor("a", 1): 2})) is False
    assert retired.known == {}
    assert storage.meta_writes == {}
    assert RetiredActors(MemoryStorage(), ME, enabled=True).take(b"") is False


def test_a_gossip_over_the_wire_limit_keeps_the_highest_ranks() -> None:
    """Past ``RETIRED_WIRE_LIMIT`` (4096) the gossip keeps the highest ranks, ties
    by the higher actor id: 4097 nodes of one actor, ranks falling as ids rise, the
    two lowest tied at 0: the one dropped is node 4095's (rank 0, the lower id of
    the tie). Kills ``to_gossip__mutmut_11`` (no key: by id), ``_14`` and ``_18``
    (lowest ranks kept), ``_15`` (ties by insertion order)."""
    retired = RetiredActors(MemoryStorage(), ME, enabled=True)
    count = RETIRED_WIRE_LIMIT + 1
    known = {_actor(f"n{i:05d}", i): max(RETIRED_WIRE_LIMIT - 1 - i, 0)
             for i in range(count)}
    retired.known = known  # (ids ascending in insertion order)
    told = decode_retired(retired.to_gossip())
    dropped = set(known) - set(told)
    assert dropped == {_actor(f"n{RETIRED_WIRE_LIMIT - 1:05d}", RETIRED_WIRE_LIMIT - 1)}
    assert len(told) == RETIRED_WIRE_LIMIT


def test_a_heard_entry_over_its_bound_counts_as_none() -> None:
    """``RETIRED_KNOWN_META`` is read with a bound of 1 Mi lines (a corrupt or
    hostile entry is not decoded whole at every start): one line more counts as
    none (forgetting a retirement only prunes less). Kills ``__init____mutmut_15``
    (``2 << 20``) and ``_16`` (``1 << 21``); the original refuses it before
    decoding a line."""
    storage = MemoryStorage()
    lines = "\n".join(f"0 n~{i:012x}" for i in range((1 << 20) + 1))
    storage.set_meta(RETIRED_KNOWN_META, lines.encode())
    assert RetiredActors(storage, ME, enabled=True).known == {}
