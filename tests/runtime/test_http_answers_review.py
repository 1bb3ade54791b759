"""Faults a reviewer found in session 53's HTTP answers (docs/runtime.md, "Review of
the HTTP answers (session 53, review)").

1. A get's ``Last-Modified`` later than its ``Date``. The date is the wall clock of
   the node whose HTTP port took the write; read through a node whose clock is
   behind, the answer said the value was modified after the answer was made. RFC
   9110 8.8.2.1: "An origin server with a clock MUST NOT generate a Last-Modified
   date that is later than the server's time of message origination (Date)"; a
   date derived from metadata that is in the future "MUST" be replaced with the
   Date. Mutant checked to fail: the clamp removed (``last_modified`` given no
   ``now_ms``): ``Last-Modified`` an hour after ``Date``.
2. A 413 of a value over ``max_value_bytes``, the limit a client meets first, named
   no ``limit`` in its body (its message did not name the setting, and the body's
   ``limit`` is read from the message), nor did the 414 of a key over
   ``max_key_bytes`` but for a PUT; session 53 documents ``max_value_bytes`` and
   ``max_key_bytes`` among the limits a 413 names. Mutant checked to fail: the
   messages without the setting's name again (the first session 53 form).
"""

from __future__ import annotations

import email.utils
from pathlib import Path

from impl.http_values import last_modified, seal_value
from tests.runtime.live import call, cluster, parse_response, raw, run, url


def _seconds(date: str) -> float:
    return email.utils.parsedate_to_datetime(date).timestamp()


def test_last_modified_is_never_later_than_the_answer_s_date(tmp_path: Path) -> None:
    """A PUT through n2 whose clock is an hour ahead, its GET through n1 (and n3):
    ``Last-Modified`` is at most ``Date`` (before the fix: an hour after it)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1, n2 = servers[0], servers[1]
            real = n2.now
            n2.now = lambda: real() + 3600  # type: ignore[method-assign]
            status, _, body = await call("PUT", url(n2, "/kv/k?w=3"), b"ahead")
            assert status == 200, body
            n2.now = real  # type: ignore[method-assign]
            for reader in (n1, servers[2]):
                status, headers, _ = await call("GET", url(reader, "/kv/k?r=3"))
                assert status == 200 and "last-modified" in headers, headers
                modified, date = _seconds(headers["last-modified"]), _seconds(headers["date"])
                assert modified <= date, (headers["last-modified"], headers["date"])
                assert date - modified < 5  # replaced by (about) the answer's date
    run(scenario())


def test_last_modified_in_the_future_is_the_answer_s_time() -> None:
    """The unit: a value's time after ``now_ms`` reads as ``now_ms``; one before as
    itself; none without a time."""
    now = 1_700_000_000_000
    ahead = seal_value(b"x", None, now + 3_600_000)
    behind = seal_value(b"y", None, now - 10_000)
    assert last_modified([ahead], now) == email.utils.formatdate(now // 1000, usegmt=True)
    assert last_modified([behind], now) == email.utils.formatdate(now // 1000 - 10, usegmt=True)
    assert last_modified([behind, ahead], now) == email.utils.formatdate(now // 1000,
                                                                         usegmt=True)
    assert last_modified([behind, seal_value(b"z", None)], now) is None


def test_every_size_refusal_names_its_limit(tmp_path: Path) -> None:
    """``max_value_bytes`` 100, ``max_key_bytes`` 16: a PUT of 101 bytes (its
    Content-Length), a chunked PUT announcing a chunk over the limit, a GET and a
    DELETE of a 17-byte key: each body names the setting in ``limit`` (before: none
    but the PUT's key, whose message named the setting by chance)."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=100, max_key_bytes=16) as servers:
            n1 = servers[0]
            status, _, body = await call("PUT", url(n1, "/kv/k"), b"x" * 101)
            assert status == 413 and body.get("limit") == "max_value_bytes", body
            status, _, body = await call("PUT", url(n1, "/kv/k"), b"x" * 100)
            assert status == 200, body  # exactly the limit: taken
            chunked = (b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       b"Connection: close\r\n\r\n10\r\n" + b"y" * 16 + b"\r\n65\r\n")
            status, _, body = parse_response(await raw(n1.http_address, chunked))
            assert status == 413 and body.get("limit") == "max_value_bytes", body
            long_key = "/kv/" + "k" * 17
            for method in ("GET", "DELETE", "PUT"):
                status, _, body = await call(method, url(n1, long_key),
                                             b"v" if method == "PUT" else None)
                assert status == 414 and body.get("limit") == "max_key_bytes", (method, body)
    run(scenario())

