"""``impl.admission.ByteAdmission``: small writes pass the larger writes waiting,
within their own budget, and cannot keep the head waiting in turn (session 54;
docs/runtime.md, "Small puts beside saturating large ones, across processes").
The bytes in flight are variables of the test.

Mutants checked to fail: ``_small_passes`` refusing whenever a larger write waits
(session 52's rule: the first test); ``_head_fits`` without the set-aside (``fits``
alone: the second); the budget not checked (``small_held() + size`` compared with
``limit``: the first test's budget case). The third test (session 54's review)
fails at eba640c8: ``_lane_fits`` let a small write larger than the budget pass
beside no small write in flight.
"""

from __future__ import annotations

import asyncio

from impl.admission import ByteAdmission


class _Bytes:
    """Bytes in flight: ``large`` of large writes, ``small`` of small writes."""

    def __init__(self, large: int, small: int = 0) -> None:
        self.large, self.small = large, small

    def admission(self, limit: int = 800, wait: float = 5.0) -> ByteAdmission:
        return ByteAdmission(lambda: self.large + self.small, limit, wait,
                             get_held=lambda: 0, small=10,
                             small_held=lambda: self.small)


def test_a_small_write_passes_a_large_one_waiting_within_the_small_budget() -> None:
    """Limit 800 (budget 100), 700 bytes of a large write in flight, a write of 200
    waits: a 10-byte write is admitted at once (before session 54 it waited behind
    the large one), and again while the small writes hold 90 of their budget;
    at 95 it waits (budget), and goes when they fall."""
    bytes_ = _Bytes(700)
    admission = bytes_.admission()

    async def scenario() -> None:
        large = asyncio.ensure_future(admission.admit(200, write=True))
        await asyncio.sleep(0)
        assert admission.large_writes_waiting == 1
        assert admission.admits_now(10, write=True)  # passes the large one
        assert not admission.admits_now(11, write=True)  # not small: behind it
        assert not admission.admits_now(0)  # a get: as before (the head's room)
        bytes_.small = 90
        assert admission.admits_now(10, write=True)
        bytes_.small = 95
        assert not admission.admits_now(10, write=True)  # over the small budget
        small = asyncio.ensure_future(admission.admit(10, write=True))
        await asyncio.sleep(0.05)
        assert not small.done()
        bytes_.small = 0
        admission.poke()
        assert await asyncio.wait_for(small, 1.0)
        assert not large.done()  # 700 + 200 > 800: the large one still waits
        bytes_.large = 0
        admission.poke()
        assert await asyncio.wait_for(large, 1.0)

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert admission.small_passed >= 2 and not admission.queue


def test_small_writes_in_flight_do_not_keep_the_large_head_waiting() -> None:
    """A 700-byte write waits for another's 700 bytes (limit 800); the small writes
    keep 100 bytes in flight throughout (a steady stream of them). When the large
    one in flight ends, the head goes: the small writes' bytes are set aside for
    it, at most the budget (before: 700 + 100 > 800, it waited its whole wait and
    was refused). The bytes in flight then stay within limit + budget (900)."""
    bytes_ = _Bytes(700, small=100)
    admission = bytes_.admission(wait=0.5)

    async def scenario() -> bool:
        head = asyncio.ensure_future(admission.admit(700, write=True))
        await asyncio.sleep(0.05)
        assert not head.done()
        bytes_.large = 0
        admission.poke()
        return await head

    assert asyncio.run(asyncio.wait_for(scenario(), 10))
    assert bytes_.small + 700 <= admission.limit + admission.small_budget
    bytes_.small = 150  # more than the budget: only 100 of them set aside
    bytes_.large = 0
    assert not ByteAdmission._head_fits(admission, 751)
    assert ByteAdmission._head_fits(admission, 750)


def test_a_small_write_over_the_budget_does_not_pass_a_large_one() -> None:
    """``max_pending_requests`` 2 (limit 800: a small write is up to 400 bytes, the
    budget 100): 800 bytes of a large write in flight, a write of 500 waits. A
    300-byte write does not pass it (before session 54's review it did, with no
    small write in flight: 1,100 bytes in flight, past ``limit + small_budget``);
    a 100-byte one does, and none more while it is in flight."""
    bytes_ = _Bytes(800)
    admission = ByteAdmission(lambda: bytes_.large + bytes_.small, 800, 5.0,
                              get_held=lambda: 0, small=400, small_held=lambda: bytes_.small)

    async def scenario() -> None:
        large = asyncio.ensure_future(admission.admit(500, write=True))
        await asyncio.sleep(0)
        assert admission.large_writes_waiting == 1
        assert not admission.admits_now(300, write=True)
        assert admission.admits_now(100, write=True)
        bytes_.small = 100
        assert not admission.admits_now(1, write=True)
        assert bytes_.large + bytes_.small <= admission.limit + admission.small_budget
        admission.close()
        assert not await large

    asyncio.run(asyncio.wait_for(scenario(), 10))
