"""impl.logs.WindowedLog on a loop whose clock the test sets (session 32's review):
ten lines a window, the rest summed up once with the right count, a window of
exactly ``window_s`` seconds, and no timer left armed once it is closed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

import pytest

from impl.logs import WindowedLog


class Handle:
    """A timer of :class:`Loop`."""

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Loop:
    """The two calls WindowedLog makes on an event loop, on a clock set by hand."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.handles: list[Handle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> Handle:
        handle = Handle(when, callback)
        self.handles.append(handle)
        return handle

    def armed(self) -> list[Handle]:
        return [handle for handle in self.handles if not handle.cancelled]

    def advance(self, to: float) -> None:
        """Move the clock to ``to``, firing the timers due by then."""
        self.now = to
        for handle in self.armed():
            if handle.when <= to:
                handle.cancelled = True
                handle.callback()


def windowed(loop: Loop) -> WindowedLog:
    return WindowedLog(logging.getLogger("vdynamo.test"), cast(asyncio.AbstractEventLoop, loop),
                       "n1", "failed group commits", "counted", lines=10, window_s=10.0)


def summary(count: int, last: str) -> str:
    return (f"n1: {count} more failed group commits were not logged in 10 s (counted); "
            f"the last: {last}")


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_ten_lines_a_window_then_one_summary_of_the_rest(
        caplog: pytest.LogCaptureFixture) -> None:
    loop = Loop(1000.0)
    windowed_log = windowed(loop)
    with caplog.at_level(logging.ERROR, logger="vdynamo.test"):
        for i in range(25):
            loop.now = 1000.0 + i / 5  # the first one over the ten at 1002 s
            windowed_log.error(f"failure {i}")
        assert messages(caplog) == [f"n1: failure {i}" for i in range(10)]
        assert [handle.when for handle in loop.armed()] == [1010.0]
        loop.advance(1009.999)
        assert len(messages(caplog)) == 10
        loop.advance(1010.0)
    assert messages(caplog)[10:] == [
        summary(15, "failure 24")]
    assert loop.armed() == []


def flooded(caplog: pytest.LogCaptureFixture, count: int) -> tuple[Loop, WindowedLog]:
    """A WindowedLog (10 lines per 10 s) at 1000 s that was handed ``count`` lines "a"."""
    caplog.set_level(logging.ERROR, logger="vdynamo.test")
    loop = Loop(1000.0)
    windowed_log = windowed(loop)
    for _ in range(count):
        windowed_log.error("a")
    return loop, windowed_log


def test_a_window_is_window_s_long(caplog: pytest.LogCaptureFixture) -> None:
    loop, windowed_log = flooded(caplog, 10)
    loop.now = 1009.999  # still the first window: counted
    windowed_log.error("b")
    loop.now = 1010.0  # (the timer not run yet) the next window: summed up, logged
    windowed_log.error("c")
    assert messages(caplog)[10:] == [summary(1, "b"), "n1: c"]
    assert loop.armed() == []


def test_closed_it_sums_up_and_arms_no_timer(caplog: pytest.LogCaptureFixture) -> None:
    loop, windowed_log = flooded(caplog, 12)
    windowed_log.close()
    assert loop.armed() == []
    assert messages(caplog)[10:] == [
        summary(2, "a")]
    for _ in range(3):  # (late reports while the node stops) counted, no timer
        windowed_log.error("b")
    assert loop.armed() == [] and len(messages(caplog)) == 11
    loop.advance(2000.0)
    windowed_log.error("c")  # a new window sums up what the closed one counted
    assert messages(caplog)[11:] == [summary(3, "b"), "n1: c"]
    assert loop.armed() == []


def test_the_summary_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    loop, windowed_log = flooded(caplog, 11)
    loop.advance(1010.0)
    windowed_log.summarize()
    loop.advance(1030.0)
    windowed_log.close()
    summaries = [m for m in messages(caplog) if "more failed" in m]
    assert len(summaries) == 1, summaries
