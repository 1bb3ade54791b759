"""``impl.admission.ByteAdmission``: admission by bytes, first come first served,
each request waiting at most its bound (session 24; docs/runtime.md, "Service
overload (session 24)"). The bytes in flight are a variable of the test."""

from __future__ import annotations

import asyncio

from impl.admission import ByteAdmission


def _run(scenario: object) -> None:
    asyncio.run(asyncio.wait_for(scenario, 10))  # type: ignore[arg-type]


class _Requests:
    """Requests admitted by a :class:`ByteAdmission` over bytes in flight ``held``
    (a variable of the test), each counted once started, in ``order``."""

    def __init__(self, held: int) -> None:
        self.held = held
        self.admission = ByteAdmission(lambda: self.held, 150, wait=5.0)
        self.order: list[str] = []

    async def request(self, name: str, size: int) -> None:
        assert await self.admission.admit(size)
        self.order.append(name)
        self.held += size  # started: counted before the next is looked at


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


def test_a_get_that_fits_passes_a_put_that_waits_and_the_put_keeps_its_place() -> None:
    """Session 27's user probe: a get (size 0) queued behind puts that did not fit
    (the bytes reserved by a put whose body is still arriving) was refused at the
    end of its wait, though the bytes left room for it."""
    async def scenario() -> None:
        requests = _Requests(held=0)
        admission = requests.admission
        admission.reserve(100)  # a half-sent put
        large = asyncio.create_task(requests.request("large", 100))  # 200 > 150: waits
        await asyncio.sleep(0)
        small = asyncio.create_task(requests.request("small", 10))  # behind the large
        await asyncio.sleep(0.05)
        assert admission.admits_now(0)  # a get (or a forwarded one): at once
        await asyncio.wait_for(requests.request("get", 0), 0.5)
        assert requests.order == ["get"] and len(admission.queue) == 2
        assert not admission.admits_now(10)  # a put still may not pass them
        admission.release(100)
        await asyncio.gather(large, small)
        assert requests.order == ["get", "large", "small"]
        assert admission.gets_waiting == 0 and admission.waited == 2

    _run(scenario())


def test_a_get_over_the_limit_waits_and_goes_when_it_fits_wherever_it_is_queued() -> None:
    async def scenario() -> None:
        admission = ByteAdmission(lambda: 0, 150, wait=5.0)
        admission.reserve(200)  # over the limit: a get does not fit either
        large = asyncio.create_task(admission.admit(100))
        await asyncio.sleep(0)
        get = asyncio.create_task(admission.admit(0))
        await asyncio.sleep(0.05)
        assert not admission.admits_now(0) and admission.gets_waiting == 1
        admission.release(80)  # 120 reserved: a get fits, the put at the head does not
        assert await asyncio.wait_for(get, 0.5)
        assert not large.done() and [w.size for w in admission.queue] == [100]
        admission.release(120)
        assert await large and admission.gets_waiting == 0

    _run(scenario())


def test_gets_do_not_pass_a_put_that_waits_for_the_bytes_gets_hold() -> None:
    """The bound on passing: a get passes only while the bytes in flight (gets'
    records count there once read) leave the head room; before it, 8 clients
    reading a 600 KB record let 1 of 20 puts of 1 MiB through in 20 s."""
    async def scenario() -> None:
        requests = _Requests(held=60)  # a get's record being answered
        admission = requests.admission
        large = asyncio.create_task(requests.request("large", 100))  # 160 > 150: waits
        await asyncio.sleep(0.05)
        assert admission.fits(0) and not admission.admits_now(0)
        get = asyncio.create_task(requests.request("get", 0))
        await asyncio.sleep(0.05)
        assert requests.order == [] and admission.gets_waiting == 1
        requests.held = 0  # the record answered
        admission.poke()
        await asyncio.gather(large, get)
        assert requests.order == ["large", "get"] and not admission.queue

    _run(scenario())
