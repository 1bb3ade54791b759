"""``impl.admission.ByteAdmission``: admission by bytes, first come first served,
each request waiting at most its bound (session 24; docs/runtime.md, "Service
overload (session 24)"). The bytes in flight are a variable of the test."""

from __future__ import annotations

import asyncio

from impl.admission import ByteAdmission


def _run(scenario: object) -> None:
    asyncio.run(asyncio.wait_for(scenario, 10))  # type: ignore[arg-type]


def test_a_large_request_waits_at_the_head_and_small_ones_behind_it_do_not_pass() -> None:
    async def scenario() -> None:
        held = [60]
        admission = ByteAdmission(lambda: held[0], 150, wait=5.0)
        order: list[str] = []

        async def request(name: str, size: int) -> None:
            assert await admission.admit(size)
            order.append(name)
            held[0] += size  # started: counted before the next is looked at

        assert admission.admits_now(80)  # fits, none waiting
        large = asyncio.create_task(request("large", 100))
        await asyncio.sleep(0)
        small = asyncio.create_task(request("small", 10))  # fits, but behind the large
        await asyncio.sleep(0.05)
        assert order == [] and len(admission.queue) == 2
        assert not admission.admits_now(10)  # a Forward may not pass them either
        held[0] = 0  # the request in flight ends
        admission.poke()
        await asyncio.gather(large, small)
        assert order == ["large", "small"] and held[0] == 110
        assert admission.waited == 2 and admission.expired == 0 and not admission.queue

    _run(scenario())


def test_a_request_whose_turn_does_not_come_is_refused_at_its_wait_and_the_next_goes() -> None:
    async def scenario() -> None:
        held = [100]
        admission = ByteAdmission(lambda: held[0], 150, wait=0.2)
        loop = asyncio.get_running_loop()
        began = loop.time()
        large = asyncio.create_task(admission.admit(100))
        await asyncio.sleep(0.1)
        small = asyncio.create_task(admission.admit(10))  # its wait ends 0.1 s later
        assert not await large  # 100 + 100 > 150 for its whole wait
        assert 0.15 <= loop.time() - began < 1.0
        assert await small  # the head gone, 100 + 10 fits: admitted at once
        assert admission.expired == 1 and admission.waited == 1 and not admission.queue

    _run(scenario())


def test_nothing_in_flight_admits_any_size() -> None:
    admission = ByteAdmission(lambda: 0, 150, wait=1.0)
    assert admission.admits_now(150) and admission.admits_now(10**9)
    assert ByteAdmission(lambda: 1, 150, wait=1.0).admits_now(149)
    assert not ByteAdmission(lambda: 1, 150, wait=1.0).admits_now(150)
