"""A node's lww stamps after the host's wall clock is stepped (NTP) while it runs
(session 50's probe of the clock kinds, case 03's kind; docs/runtime.md, "A user's
probe of the clock and delete kinds (session 50)").

The runtime's clock is the loop's monotonic clock plus the offset to ``time.time()``
taken once, at the start (``impl.runtime.NodeServer.now``, session 13): a node started
before NTP corrected the host's clock keeps that error until it restarts. Seen on
three ``vdynamo serve`` processes, lww, n1 under libfaketime with its offset in a file
(``FAKETIME_TIMESTAMP_FILE``, ``FAKETIME_NO_CACHE=1``, ``DONT_FAKE_MONOTONIC=1``): n1
started an hour behind, its stamps an hour behind; the file set to ``+0s`` (the
host's clock corrected, a process started there reads the right time): n1's stamps
still an hour behind, 1.5 s and 6.5 s later. For that hour (or a day, or for good
after a clock far ahead is corrected back) a blind write through n1 to a key it
missed loses to the older writes of other nodes, and its pair times in the
vector-clock modes age others' pairs (docs/runtime.md, session 30's truncation
row). Known and documented since session 13. Fixed by the lead in the same session:
the node's one clock also times its deadlines, failure detector and hints, which a
step of the offset would jump with it, so the stamps take the wall clock
(``PutCoordinator.wall_lead``, set at each input by ``NodeServer.input_now``) and the
timers keep the loop's (``NodeServer.now``). Checked here, in process, with the wall
clock stepped by patching ``time.time`` after the start. Mutant checked: ``input_now``
not setting ``wall_lead`` (the tree before): the stamp 3600 s behind, fails.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from impl.messages import PutRequest
from impl.records import ClockMode
from tests.runtime.live import cluster, run

#: how far the host's wall clock is stepped after the nodes started (seconds)
STEP_S = 3600.0


def test_an_lww_stamp_follows_the_host_clock_after_an_ntp_step(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's clock is stepped an hour ahead (it was an hour behind at the node's
    start, NTP corrected it): a put's stamp is within a minute of the corrected
    ``time.time()`` (before the fix: an hour behind it), and the node's own clock,
    which times its deadlines, did not jump."""
    async def scenario() -> None:
        async with cluster(tmp_path, clock="lww") as servers:
            server = servers[1]
            real = time.time
            monkeypatch.setattr(time, "time", lambda: real() + STEP_S)
            reply = await server.request(PutRequest(server.next_request_id(), b"k", b"v1"))
            assert reply.error is None
            record = server.node.record(b"k")
            assert record is not None and record.mode is ClockMode.LWW
            (sibling,) = record.siblings
            stepped = time.time()
            monkeypatch.setattr(time, "time", real)
            assert abs(server.now() - real()) < 60.0  # the timers' clock did not jump
            assert abs(sibling.stamp - stepped) < 60.0, (
                f"stamp {sibling.stamp - stepped:+.0f} s from the host's clock")
    run(scenario())


def test_a_skew_of_the_nodes_clock_offset_still_reaches_its_stamps(tmp_path: Path) -> None:
    """The tests that skew a node by its ``clock_offset`` (test_truncation_skew_live.py:
    two days behind; test_http_conditional.py's lww ``If-Match``: 30 s ahead) skew its
    stamps, not only its timers: ``wall_lead`` is the host clock's step since the
    node's start, not ``time.time() - now`` (session 50's review: with the latter the
    offset was taken back at each input, every put stamped ``time.time()``, and those
    tests' skews were gone, their checks unable to fail). Fails on dc9d8b58 (stamp
    30 s behind the skewed clock)."""
    async def scenario() -> None:
        async with cluster(tmp_path, clock="lww") as servers:
            server = servers[1]
            server.clock_offset += 30.0
            reply = await server.request(PutRequest(server.next_request_id(), b"k", b"v1"))
            assert reply.error is None
            record = server.node.record(b"k")
            assert record is not None
            (sibling,) = record.siblings
            assert abs(sibling.stamp - (time.time() + 30.0)) < 10.0, (
                f"stamp {sibling.stamp - time.time():+.0f} s from the host's clock")
    run(scenario())
