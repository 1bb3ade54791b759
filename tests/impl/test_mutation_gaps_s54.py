"""Mutation gaps of session 54's new lines in ``impl/`` (issue 12; docs/refinement.md,
"Mutation score of session 54's lines (session 54)"): the admission's small writes'
budget (:meth:`impl.admission.ByteAdmission._head_fits`, :meth:`~impl.admission.
ByteAdmission.poke`), a rebuilding node's unacknowledged writes and a marked store's
silent empty copies (:mod:`impl.node`), and :func:`impl.quick_init.quick_init`.

Each test names the mutmut 3.8.1 mutants it kills (``impl.MODULE.FUNCTION`` number, as
made in a fresh copy of main at dbba9e95); each was run by hand (``MUTANT_UNDER_TEST``
in mutmut's copy) and seen failing, and the module's no-such mutant passing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from impl.admission import ByteAdmission
from impl.cluster import SimulatedCluster
from impl.effects import Send
from impl.errors import InvalidValueError
from impl.messages import (
    GetRequest,
    HintAck,
    HintDelivery,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
)
from impl.node import Node
from impl.positions import position_of
from impl.quick_init import quick_init


class _Clock:
    """An injected monotonic clock, seconds."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Held:
    """Bytes in flight: ``large`` of larger writes, ``small`` of small writes' records,
    ``gets`` of gets' records; an admission over them (limit 800: the small writes'
    budget 100; a small write is up to 10 bytes)."""

    def __init__(self, large: int = 0, small: int = 0, gets: int = 0) -> None:
        self.large, self.small, self.gets = large, small, gets
        self.clock = _Clock()

    def admission(self) -> ByteAdmission:
        return ByteAdmission(lambda: self.large + self.small + self.gets, 800, 5.0,
                             get_held=lambda: self.gets, small=10,
                             small_held=lambda: self.small, clock=self.clock)


def _woken(admission: ByteAdmission) -> list[bool]:
    """Which of the requests waiting (oldest first) :meth:`ByteAdmission.poke` woke:
    a woken one looks at its turn again when the loop runs next."""
    return [waiter.wake.done() for waiter in admission.queue]


def test_the_head_sets_aside_one_small_byte_and_counts_the_reserved_ones() -> None:
    """:meth:`ByteAdmission._head_fits`: with 1 byte of small writes in flight, a head
    that fits only without it fits (``_head_fits`` 12: ``aside > 1``); bytes reserved
    for puts whose bodies are still read count in flight beside the set-aside
    (``_head_fits`` 14: ``- reserved``)."""
    held = _Held(large=100, small=1)
    admission = held.admission()
    assert not admission.fits(700)  # 101 + 700 > 800
    assert admission._head_fits(700)  # the 1 byte set aside: 800
    held.large, held.small = 45, 50
    admission.reserve(10)
    assert not admission._head_fits(750)  # 45 + 10 + 750 = 805 > 800, the 50 aside
    assert admission._head_fits(745)


def test_poke_wakes_the_first_small_write_whose_lane_fits_and_no_other() -> None:
    """No larger write waiting: two small writes wait (the writes' bytes, the gets'
    set aside, leave no room for them); a poke wakes neither until the writes' bytes
    (the reserved ones included) fall, then the first only; the gets' bytes stay set
    aside. Kills ``poke`` 17 (the writes' bytes unset: a TypeError), 18 (``-
    reserved``), 19 (``+ get_held``), 20 and 21 (``and``/``or``: a small write woken
    whether its lane fits or not)."""
    held = _Held(large=785, gets=300)
    admission = held.admission()
    admission.reserve(10)  # 795 of writes in flight

    async def request() -> bool:
        admitted = await admission.admit(10, write=True)
        held.large += 10 * admitted  # started: counted before the next is looked at
        return admitted

    async def scenario() -> None:
        first = asyncio.ensure_future(request())
        second = asyncio.ensure_future(request())
        await asyncio.sleep(0)
        assert len(admission.queue) == 2 and admission.large_writes_waiting == 0
        admission.poke()
        assert _woken(admission) == [False, False]  # 795 + 10 > 800
        held.large = 780  # 790 + 10 fits
        admission.poke()
        assert _woken(admission) == [True, False]
        assert await asyncio.wait_for(first, 1.0)
        await asyncio.sleep(0.05)
        admission.poke()
        assert not second.done() and _woken(admission) == [False]  # 800 + 10 > 800
        admission.close()
        assert not await second

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_poke_wakes_a_small_write_behind_a_large_one_within_the_budget_only() -> None:
    """A larger write waits; a small one behind it waits while the small writes'
    records in flight and it are over their budget (95 + 10 > 100): a poke leaves it
    waiting (``poke`` 27, 28, 29, 30: the budget not passed to ``_lane_fits``, or its
    arguments shifted, compared with the limit) and wakes it when they fall (90)."""
    held = _Held(large=700, small=95)
    admission = held.admission()

    async def scenario() -> None:
        large = asyncio.ensure_future(admission.admit(200, write=True))
        await asyncio.sleep(0)
        small = asyncio.ensure_future(admission.admit(10, write=True))
        await asyncio.sleep(0)
        assert len(admission.queue) == 2 and admission.large_writes_waiting == 1
        admission.poke()
        assert _woken(admission) == [False, False]
        held.small = 90
        admission.poke()
        assert _woken(admission) == [False, True]
        assert await asyncio.wait_for(small, 1.0)
        admission.close()
        assert not await large

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_poke_opens_the_shut_lane_at_its_instant() -> None:
    """A small write waits behind a larger one while a write's timeout shut the lane
    (:meth:`ByteAdmission.shut_lane`); a poke at the instant the lane opens again
    (the clock at ``lane_shut_until``, injected) wakes it, as ``_small_passes`` admits
    it then (``poke`` 14: ``<=``, the lane still shut at that instant)."""
    held = _Held(large=700)
    admission = held.admission()

    async def scenario() -> None:
        large = asyncio.ensure_future(admission.admit(200, write=True))
        await asyncio.sleep(0)
        admission.shut_lane()
        small = asyncio.ensure_future(admission.admit(10, write=True))
        await asyncio.sleep(0)
        admission.poke()
        assert _woken(admission) == [False, False]
        held.clock.now = admission.lane_shut_until
        assert admission._small_passes(10)
        admission.poke()
        assert _woken(admission) == [False, True]
        assert await asyncio.wait_for(small, 1.0)
        admission.close()
        assert not await large

    asyncio.run(asyncio.wait_for(scenario(), 10))


@contextlib.contextmanager
def n1_rebuilding(keys: int) -> Iterator[tuple[SimulatedCluster, bytes]]:
    """5 nodes, N = 3, R = W = 2, ``keys`` keys written at W = 3, then n1's disk
    replaced: the cluster 0.5 s later, n1 rebuilding (anti-entropy every 30 s: the
    rebuild outlasts a test), and n2's record of the first key (``old0``)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3,
                          anti_entropy_interval=30.0) as cluster:
        for i in range(keys):
            cluster.client().put(b"old%d" % i, b"old", w=3)
        cluster.run_until_quiet()
        record = cluster.node("n2").storage.read(b"old0")
        assert record is not None
        cluster.wipe("n1")
        cluster.run_for(0.5)
        assert cluster.node("n1").rebuild.active
        yield cluster, record


def _hint_acked(node: Node, now: float, key: bytes, record: bytes, hint_id: int) -> bool:
    """Whether ``node`` answers a fallback's :class:`HintDelivery` of ``key`` with its
    :class:`HintAck` (the fallback then deletes its hint)."""
    effects = node.receive(now, "n2", HintDelivery(hint_id, key, record))
    return Send("n2", HintAck(hint_id)) in effects


def test_a_rebuilding_node_acks_hints_of_ranges_rebuilt_or_not_its_own_and_in_a_change(
        ) -> None:
    """A rebuilding node (n1's disk replaced, anti-entropy every 30 s: the rebuild
    outlasts the test) withholds its ``HintAck`` only for a key of a range it
    replicates and has not rebuilt (:meth:`Node._unrebuilt_mine`): a key of a range
    it has rebuilt (its exchanges with every peer done, ``Rebuild.synced``) is
    acknowledged (``_unrebuilt_mine`` 7: ``unrebuilt(None)``, every range counted
    unrebuilt), so is a key of no range it replicates (5: ``or``), and, once a ring
    change is under way (n6 joining), a key not rebuilt whose range moves to n6 (1:
    ``True`` in a change: the join's handoff never ends). (s54-revrebuild, merged
    after this branch, withholds during a join the acks of keys the node keeps on
    both rings; a key that moves is acknowledged on either tree.) Its silences to
    reads of the range not rebuilt are counted, each once, as ``rebuild-silent-get``
    (``_silent_if_rebuilding`` 26, 28, 29: counted under the marked store's name, or
    misnamed; on main's b1d7e526, where the line is its own, ``= 1``); each
    ``HintDelivery`` and ``ReplicaPut`` left unacknowledged is counted once under its
    own name (``_unacked_if_rebuilding`` 13-21), and only its acknowledgement is
    withheld: what else it sends (the one-way merge's ask,
    :attr:`impl.replica.Replica.one_way`, stubbed) still goes (23: ``or``, every
    ``Send`` dropped), and the put's handler is given the time (2: ``None``, which
    only that ask reads)."""
    with n1_rebuilding(8) as (cluster, record):
        n1 = cluster.node("n1")

        def range_of(key: bytes) -> tuple[int, int] | None:
            return n1.anti_entropy.trees.range_of(position_of(key))

        keys = [b"k%d" % i for i in range(400)]
        mine = [key for key in keys if range_of(key) is not None]
        other = next(key for key in keys if range_of(key) is None)
        pending = {key_range for key_range, _ in n1.rebuild.pending}
        assert len(pending) >= 2
        rebuilt = next(iter(pending))
        for pair in [pair for pair in n1.rebuild.pending if pair[0] == rebuilt]:
            assert not n1.rebuild.synced(pair)  # its exchanges done: rebuilt
        assert n1.rebuild.active
        done = next(key for key in mine if range_of(key) == rebuilt)
        undone = next(key for key in mine if n1.rebuild.unrebuilt(range_of(key)))
        now = cluster.now
        silent = n1.stats["rebuild-silent-get"]
        for op_id in (8, 9):  # silent to reads, each counted
            assert n1.receive(now, "n2", ReplicaGet(op_id, undone)) == []
        assert n1.stats["rebuild-silent-get"] == silent + 2
        assert not n1.stats["unconfirmed-silent-get"]
        unacked = n1.stats["rebuild-unacked-hint"], n1.stats["rebuild-unacked-put"]
        assert not _hint_acked(n1, now, undone, record, 1)  # withheld: not rebuilt
        for op_id in (5, 6):  # a coordinator's write to it: stored, not acknowledged
            assert not [effect for effect in n1.receive(now, "n2", ReplicaPut(
                op_id, undone, record)) if isinstance(effect, Send)]
        assert (n1.stats["rebuild-unacked-hint"], n1.stats["rebuild-unacked-put"]) == (
            unacked[0] + 1, unacked[1] + 2)
        # what else the put sends is sent (the one-way hook's ask, stubbed here)
        asked = Send("n3", ReplicaGet(77, undone))
        given: list[object] = []
        one_way = n1.replica.one_way
        n1.replica.one_way = lambda at, *args: given.append(at) or [asked]  # type: ignore
        sent = n1.receive(now, "n2", ReplicaPut(7, undone, record))
        assert [effect for effect in sent if isinstance(effect, Send)] == [asked]
        assert given == [now]  # the handler was given the time
        n1.replica.one_way = one_way
        assert _hint_acked(n1, now, done, record, 2)
        assert _hint_acked(n1, now, other, record, 3)
        cluster.join("n6")
        for _ in range(100):  # until n1 hears of the join
            cluster.run_for(0.1)
            if cluster.node("n1").gossiper.changing():
                break
        n1 = cluster.node("n1")
        gossiper = n1.gossiper
        assert gossiper.changing() and n1.rebuild.active
        moving = [key for key in mine if n1.rebuild.unrebuilt(range_of(key))
                  and "n1" not in gossiper.future.preference_list(key, 3)]
        assert moving  # (n6 takes over some of n1's keys not rebuilt)
        assert _hint_acked(n1, cluster.now, moving[0], record, 4)


def test_a_marked_store_answers_a_read_of_a_key_it_holds_a_hint_of() -> None:
    """n1's and n2's disks replaced while n3-n5 (which heard the old disks) are down:
    n1 is marked (not confirmed by every live peer) and not told it is a replaced
    disk, so not rebuilding. Its empty copy of a key is silent to a ``ReplicaGet``;
    once it keeps a hint of the key (a fallback's ``ReplicaPut`` for n3) it answers
    (:meth:`Node._unrebuilt_copy`: the hint is a write it took since its empty start;
    ``_unrebuilt_copy`` 7: ``hinted(None)``, the hint not looked at, silent). As a
    coordinator its own empty copy is uncounted; the two are counted once each under
    their own names (``unconfirmed-silent-get``: ``_silent_if_rebuilding`` 24, 25,
    26; ``unconfirmed-uncounted-read``: ``_uncounted_read`` 5, 8, 11, 12, 13)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3) as cluster:
        cluster.client().put(b"old", b"old", w=3)
        cluster.run_until_quiet()
        record = cluster.node("n3").storage.read(b"old")
        assert record is not None
        for name in ("n3", "n4", "n5"):
            cluster.crash(name)
        cluster.wipe("n1")
        cluster.wipe("n2")
        cluster.run_for(3.0)
        n1 = cluster.node("n1")
        assert n1._unconfirmed_fresh and not n1.rebuild.active
        key = b"hinted"
        now = cluster.now
        for op_id in (1, 2):  # empty, marked: silent, each counted
            assert n1.receive(now, "n2", ReplicaGet(op_id, key)) == []
        assert n1.stats["unconfirmed-silent-get"] == 2 and not n1.stats["rebuild-silent-get"]
        empty = next(k for k in (b"e%d" % i for i in range(100))
                     if n1.preference_list(k)[0] == "n1")  # (an owner reads its own)
        for request_id in (1, 2):
            n1.client_request(now, GetRequest(request_id, empty, r=1))
        assert n1.stats["unconfirmed-uncounted-read"] == 2
        assert not n1.stats["rebuild-uncounted-read"]
        n1.receive(now, "n2", ReplicaPut(2, key, record, hint="n3"))
        assert n1.replica.hinted(key) is not None
        (answer,) = n1.receive(now, "n2", ReplicaGet(3, key))
        assert isinstance(answer, Send) and isinstance(answer.message, ReplicaGetReply)
        assert n1.stats["unconfirmed-silent-get"] == 2


def test_quick_init_refuses_a_field_that_is_not_a_slot_and_says_what_it_wants() -> None:
    """A frozen dataclass that declares ``__slots__`` itself (empty) has a field with a
    default that is a class attribute, not a slot: refused, naming the field
    (``_slot_setter`` 5: ``return``, no setter, the class's ``__init__`` broken only
    when called; 7: no message). A class that is not a frozen slotted dataclass is
    refused with the whole requirement (``quick_init`` 17, 18, 19: its tail
    misspelt); one whose ``__init__`` is its own and no Python function (no
    ``__code__``) as one whose ``__init__`` is its own (30, 35: the ``getattr``
    defaults dropped, an AttributeError)."""
    @dataclass(frozen=True)
    class Declared:
        __slots__ = ()
        a: int = 0

    with pytest.raises(InvalidValueError, match=r"Declared\.a is not a slot"):
        quick_init(Declared)

    @dataclass(frozen=True)
    class Unslotted:
        a: int

    with pytest.raises(InvalidValueError,
                       match=r"Unslotted is not a frozen dataclass with slots=True$"):
        quick_init(Unslotted)

    @dataclass(frozen=True, slots=True)
    class Builtin:
        a: int = 0
        __init__ = object.__init__  # its own, and no code object

    with pytest.raises(InvalidValueError, match="Builtin has no __init__ made by dataclass"):
        quick_init(Builtin)


def test_a_quick_init_is_of_its_class_s_module() -> None:
    """The quick ``__init__`` keeps what the generated one says of itself: its module
    (a profile or ``help()`` names it; ``quick_init`` 132: ``None``), name and doc."""
    @quick_init
    @dataclass(frozen=True, slots=True)
    class Quick:
        a: int

    init = Quick.__init__
    generated = init.__wrapped_dataclass_init__  # type: ignore[attr-defined]
    assert init.__module__ == generated.__module__ == __name__
    assert init.__qualname__ == generated.__qualname__
    assert init.__doc__ == generated.__doc__
    assert Quick(3).a == 3
