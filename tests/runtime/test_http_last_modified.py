"""A get's ``Last-Modified`` (session 53): each value written over HTTP keeps its
write time in its envelope (``\\x00vdy2``, :mod:`impl.http_values`), the wall clock
of the node whose HTTP port took the PUT, in ms; a 200 or 300 sends the latest of
its values' times as an HTTP-date, none when a value has no time (written before
session 53). The time is never used for ordering: a write with a read's context
supersedes what it read whatever the clocks say.

Mutant checked to fail: the PUT sealed without its time (``seal_value(body,
content_type)``, the ``vdy1`` envelope): no Last-Modified, the live test fails.
"""

from __future__ import annotations

import email.utils
import time
from pathlib import Path

from impl.http_values import (
    TIMED_MAGIC,
    body_bytes,
    last_modified,
    open_value,
    seal_value,
    written_ms,
)
from impl.versions import values
from tests.runtime.live import call, cluster, run, url


def _seconds(date: str) -> float:
    return email.utils.parsedate_to_datetime(date).timestamp()


def test_the_timed_envelope_reads_back_and_a_value_without_a_time_has_no_date() -> None:
    """``seal_value`` with a time: ``open_value`` and ``body_bytes`` read the body,
    ``written_ms`` the time; a truncated one reads as raw bytes; ``last_modified``
    is the latest of the values' times, None when one has none."""
    sealed = seal_value(b"body", b"text/plain", 1_700_000_000_123)
    assert sealed.startswith(TIMED_MAGIC)
    assert open_value(sealed) == ("text/plain", b"body") and body_bytes(sealed) == 4
    assert written_ms(sealed) == 1_700_000_000_123
    assert written_ms(seal_value(b"body", None)) is None
    cut = sealed[:len(TIMED_MAGIC) + 1 + len(b"text/plain") + 7]
    assert open_value(cut) == ("application/octet-stream", cut) and written_ms(cut) is None
    later = seal_value(b"x", None, 1_700_000_005_999)
    assert last_modified([sealed, later], None) == "Tue, 14 Nov 2023 22:13:25 GMT"
    assert last_modified([sealed, seal_value(b"old", None)], None) is None
    assert last_modified([], None) is None


def test_a_get_sends_the_latest_write_time_and_it_orders_nothing(tmp_path: Path) -> None:
    """Three nodes: a PUT through n1; its GET (raw and JSON) has a Last-Modified
    within a second of the PUT; two blind siblings: the 300 has the later one's; a
    PUT with the 300's context through n2 whose clock is an hour behind replaces
    both (dates order nothing), and its Last-Modified is an hour earlier."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1, n2 = servers[0], servers[1]
            before = time.time()
            status, _, _ = await call("PUT", url(n1, "/kv/k"), b"one", {"X-Vdynamo-Client": "a"})
            assert status == 200
            after = time.time()
            status, headers, _ = await call("GET", url(n1, "/kv/k?r=3"))
            assert status == 200 and "last-modified" in headers, headers  # before: none
            assert int(before) - 1 <= _seconds(headers["last-modified"]) <= after + 1
            await call("PUT", url(n1, "/kv/k"), b"two", {"X-Vdynamo-Client": "b"})
            status, headers, read = await call("GET", url(n1, "/kv/k?r=3"))
            assert status == 300 and len(read["values"]) == 2, read
            record = n1.node.record(b"k")
            assert record is not None
            latest = max(written_ms(stored) or 0 for stored in values(record))
            assert _seconds(headers["last-modified"]) == latest // 1000
            real = n2.now
            n2.now = lambda: real() - 3600  # type: ignore[method-assign]
            status, _, _ = await call("PUT", url(n2, "/kv/k"), b"three",
                                      {"X-Vdynamo-Context": read["context"]})
            assert status == 200
            status, headers, read = await call("GET", url(n1, "/kv/k?r=3"))
            assert status == 200 and read["values"] == ["dGhyZWU="], read
            assert _seconds(headers["last-modified"]) < before - 3000
    run(scenario())
