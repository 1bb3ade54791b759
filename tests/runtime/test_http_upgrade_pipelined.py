"""Many requests asking to switch protocols with a body, pipelined in one read, are
each answered (session 22's service probe). Such a request's Upgrade is ignored and
its head parsed again without it (``impl.http_api._Parse``, session 14's probe B);
the parse of the rest of the read was a recursive call per request, so 700 of them
in one 56 KB write (a client of a few lines: ``Connection: upgrade``, ``Upgrade:
a``, a one-byte body) raised RecursionError out of the parser: the connection was
dropped with no answer to any of them, and nothing was counted or logged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from impl.http_api import _Parse
from tests.conftest import InternalErrors
from tests.runtime.live import cluster, raw, run

_ONE = (b"GET /kv/k HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: a\r\n"
        b"Content-Length: 1\r\n\r\nz")


def test_a_thousand_upgrades_with_a_body_in_one_read_are_each_parsed() -> None:
    parse = _Parse(65536)
    parse.feed(_ONE * 1000)  # RecursionError before
    assert len(parse.ready) == 1000 and not parse.dead
    assert all(r.problem is None and r.target == b"/kv/k" for r in parse.ready)


def test_seven_hundred_pipelined_upgrades_are_each_answered(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            answer = await raw(node.http_address, _ONE * 700 + b"GET /health HTTP/1.1\r\n"
                               b"Host: x\r\nConnection: close\r\n\r\n", timeout=20.0)
            statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
            # 700 answers of the key (404: nothing stored), then /health's 200;
            # before: the connection closed with no answer at all
            assert statuses.count(b"404") == 700 and statuses[-1] == b"200", (
                len(statuses), answer[:200])
    run(scenario())


def test_an_exception_of_the_parser_is_a_500_and_an_internal_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        internal_errors: InternalErrors) -> None:
    """A bug of ours in the parser (here a RecursionError put in by hand) answers
    the requests parsed before it, then 500 naming an internal error, counted as
    one; before, the connection was dropped without an answer or a log line."""
    real = _Parse.feed

    def feed(self: _Parse, data: bytes) -> None:
        real(self, data)
        if b"boom" in data:
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(_Parse, "feed", feed)

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            answer = await raw(node.http_address, b"GET /health HTTP/1.1\r\nHost: x\r\n"
                               b"X-A: boom\r\n\r\n")
            statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
            assert statuses == [b"200", b"500"], answer[:300]
            assert b"internal error parsing a request: RecursionError" in answer
            assert node.node.stats["internal-error"] == 1
            assert [r.exc_info[0] for r in internal_errors.take()
                    if r.exc_info] == [RecursionError]
    run(scenario())
