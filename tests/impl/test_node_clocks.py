"""Siblings in each clock mode, through the whole node (coordinator and replicas)."""

from __future__ import annotations

import pytest

from impl.messages import PutRequest
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put

KEY = b"cart"


def concurrent_puts(clock: str, same_coordinator: bool) -> list[bytes]:
    driver = Driver.start(make_config(clock=clock))
    top = list(driver.nodes["n1"].preference_list(KEY)[:3])
    # two clients write with no context (each unaware of the other)
    driver.request(top[0], PutRequest(1, KEY, b"a", client_id="alice"))
    driver.now += 0.01
    second = top[0] if same_coordinator else top[1]
    driver.request(second, PutRequest(2, KEY, b"b", client_id="bob"))
    driver.advance(2.0)
    assert driver.replies[1].error is None and driver.replies[2].error is None
    return sorted(ok_get(driver.get(top[2], KEY, r=3, settle=1.0)).values)


@pytest.mark.parametrize(("clock", "same", "expected"), [
    ("dvv", True, [b"a", b"b"]),
    ("dvv", False, [b"a", b"b"]),
    ("client-vclock", True, [b"a", b"b"]),
    ("client-vclock", False, [b"a", b"b"]),
    ("server-vclock", True, [b"b"]),  # loses the concurrent write (the paper's scheme)
    ("server-vclock", False, [b"a", b"b"]),
    ("lww", True, [b"b"]),
    ("lww", False, [b"b"]),
])
def test_concurrent_writes(clock: str, same: bool, expected: list[bytes]) -> None:
    assert concurrent_puts(clock, same) == expected


@pytest.mark.parametrize("clock", ["dvv", "client-vclock", "server-vclock", "lww"])
def test_the_context_collapses_siblings(clock: str) -> None:
    driver = Driver.start(make_config(clock=clock))
    top = list(driver.nodes["n1"].preference_list(KEY)[:3])
    ok_put(driver.put(top[0], KEY, b"a", client_id="alice", settle=0.5))
    ok_put(driver.put(top[1], KEY, b"b", client_id="bob", settle=0.5))
    got = ok_get(driver.get(top[2], KEY, settle=0.5))
    ok_put(driver.put(top[2], KEY, b"merged", got.context, client_id="carol", settle=0.5))
    assert ok_get(driver.get(top[0], KEY, r=3)).values == [b"merged"]


def test_put_result_context_covers_the_written_version() -> None:
    driver = Driver.start(make_config())
    top = list(driver.nodes["n1"].preference_list(KEY)[:3])
    first = ok_put(driver.put(top[0], KEY, b"a", settle=0.5))
    ok_put(driver.put(top[1], KEY, b"b", first.context, settle=0.5))
    assert ok_get(driver.get(top[2], KEY, r=3)).values == [b"b"]
