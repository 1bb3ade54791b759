"""A get is served while half-sent puts wait their turn (session 27's user probe).

Since session 24 a request waits its turn in :class:`impl.admission.ByteAdmission`'s
FIFO queue when the bytes in flight leave it no room, and a get (size 0: its
record is not known before it is read) queued like a put. 200 connections each
sending a put's head of ``Content-Length`` 1,000,000 and 10 bytes of body, then
nothing (the kind of case 21, half-sent requests held open): one put was admitted
and reserved its 1,000,000 bytes, 199 waited, and the first normal GET joined the
queue behind them and was refused 503 at the end of its wait, though 1,000,000
bytes of 1,398,101 left room for it. Now a get that fits is admitted at once,
puts waiting or not; the puts keep their order (docs/runtime.md, "User probe
(session 27)").
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.runtime.live import call, cluster, run, url
from tests.runtime.test_body_after_admission import _head, _open, _until

#: 150 KB in flight at most, values of 100 KB at most
LIMITS = {"max_value_bytes": 100_000, "max_pending_bytes": 150_000,
          "http_idle_timeout_s": 5.0}


def test_a_get_answers_at_once_while_half_sent_puts_wait_their_turn(
        tmp_path: Path) -> None:
    """One half-sent put reserves 100 KB (held whole), two more wait their turn
    (100 KB + 100 KB over 150 KB): a GET answers 200 at once (before: it queued
    behind them and answered 503 at the end of its wait, 1 s here)."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            status, _, body = await call("PUT", url(node, "/kv/k"), b"v")
            assert status == 200, body
            node.admission.wait = 10.0  # the puts wait longer than the get
            node.admission.hold = 10.0  # the first reservation stays whole
            writers = []
            for key in ("slow1", "slow2", "slow3"):
                _, writer = await _open(node)
                writer.write(_head(key, 100_000))
                writers.append(writer)
            await _until(lambda: node.admission.reserved == 100_000
                         and len(node.admission.queue) == 2, "one reserved, two waiting")
            node.admission.wait = 1.0  # the get's (a deadline is set as one queues)
            began = time.monotonic()
            status, _, body = await call("GET", url(node, "/kv/k"))
            assert status == 200, body  # before: 503 at 1 s, "0 other request(s) wait"
            assert time.monotonic() - began < 1.0
            assert [waiter.size for waiter in node.admission.queue] == [100_000] * 2
            for writer in writers:
                writer.close()
            await _until(lambda: not node.admission.queue
                         and node.admission.reserved == 0, "the puts refused or let go")

    run(scenario())
