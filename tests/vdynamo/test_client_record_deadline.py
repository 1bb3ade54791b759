"""The default call deadline grows with the call's record (session 57).

Before: a client's default deadline (:data:`DEADLINE_S`, or twice ``timeout_s``) was
the same for a put of a 16 MiB value as for a 100-byte one, and the same on a cluster
of 32 MiB records as on one of the default limits, while a node's patience grows with
the record (:func:`impl.config.record_patience`) and such a cluster's
``request_timeout`` is at least its ``max_record_bytes`` at 4 MiB/s (8 s): the client
could give up on a put (OutcomeUnknownError) that its coordinator was still allowed
to complete (docs/runtime.md, session 54's "Left open"). Now the default deadline adds
twice :meth:`Router.call_record_s`; a deadline given is kept as given.

Each call here goes to port 1 with every request refused by a stand-in of
``_bound`` that records the call's time left (no socket is opened).

Mutants checked to fail (docs/runtime.md, session 57): ``call_record_s`` returning 0
(all three grown cases); ``Client.put`` not passing the value's size to ``_drive``
(the put cases, sync); ``AsyncClient._until`` without the growth (the async case);
the growth applied to a given deadline (the given case).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import impl.http_client as http_client
from impl.errors import LocalError
from impl.http_client import (
    DEADLINE_S,
    NODE_TIMEOUT_S,
    AsyncClient,
    Client,
    NoNodeError,
    Router,
    _Stated,
)

RATE = float(4 << 20)  # impl.config.RECORD_BYTES_PER_SECOND
MIB = 1 << 20


@pytest.fixture
def lefts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The seconds each request's call had left when it was bounded; every request
    refused (ConnectError) at once."""
    seen: list[float] = []

    def refuse(method: str, timeout_s: float, deadline_s: float | None,
               until: float | None, record_s: float = 0.0) -> float:
        seen.append(float("inf") if until is None else until - time.monotonic())
        raise httpx.ConnectError("refused by the test")

    monkeypatch.setattr(http_client, "_bound", refuse)
    yield seen


def _large(router: Router, record_bytes: int) -> None:
    """The router as if a node's ``/status`` stated ``max_record_bytes``."""
    router._stated = {"n1": _Stated(None, False, record_bytes)}


def test_call_record_s_scales_with_the_record() -> None:
    router = Router(["127.0.0.1:1"])
    assert router.call_record_s() == 0.0
    assert router.call_record_s(100) == pytest.approx(100 / RATE)  # a small put: ~0
    assert router.call_record_s(16 * MIB) == pytest.approx(4 - NODE_TIMEOUT_S + 4)
    _large(router, 32 * MIB)  # request_timeout >= 8 s
    assert router.call_record_s() == pytest.approx(8 - NODE_TIMEOUT_S)
    assert router.call_record_s(16 * MIB) == pytest.approx(8 - NODE_TIMEOUT_S + 4)
    with pytest.raises(LocalError, match="value_bytes must be >= 0"):
        router.call_record_s(-1)


def test_a_large_put_has_a_longer_default_deadline(lefts: list[float]) -> None:
    with Client(["127.0.0.1:1"]) as client:
        with pytest.raises(NoNodeError):
            client.put("k", b"v" * 100)
        small = max(lefts)
        assert DEADLINE_S - 0.5 < small <= DEADLINE_S + 0.01  # as before
        lefts.clear()
        with pytest.raises(NoNodeError):
            client.put("k", bytearray(16 * MIB))
        assert max(lefts) == pytest.approx(DEADLINE_S + 2 * (3 + 4), abs=0.5)  # 24 s


def test_a_cluster_of_large_records_lengthens_every_key_call(lefts: list[float]) -> None:
    with Client(["127.0.0.1:1"]) as client:
        _large(client.router, 32 * MIB)
        for call in (lambda: client.get("k"), lambda: client.delete("k"),
                     lambda: client.put("k", memoryview(b"v" * 1000))):
            lefts.clear()
            with pytest.raises(NoNodeError):
                call()
            assert max(lefts) == pytest.approx(DEADLINE_S + 2 * 7, abs=0.5)  # 24 s


def test_the_async_client_grows_it_too(lefts: list[float]) -> None:
    async def put() -> None:
        async with AsyncClient(["127.0.0.1:1"]) as client:
            with pytest.raises(NoNodeError):
                await client.put("k", b"v" * (16 * MIB))
    asyncio.run(put())
    assert max(lefts) == pytest.approx(DEADLINE_S + 14, abs=0.5)


@pytest.mark.parametrize("given", [3.0, None])
def test_a_given_deadline_is_kept(lefts: list[float], given: Any) -> None:
    with Client(["127.0.0.1:1"], deadline_s=given) as client:
        _large(client.router, 32 * MIB)
        with pytest.raises(NoNodeError):
            client.put("k", b"v" * (16 * MIB))
    expected = float("inf") if given is None else given
    assert max(lefts) == pytest.approx(expected, abs=0.5)
