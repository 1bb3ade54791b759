"""A live node stamps lww versions with the wall clock, not the host's uptime (session
13's probe, the lww and clock-skew kind of case 03).

The runtime handed the core ``loop.time()``: CLOCK_MONOTONIC, seconds since the
host booted. Under ``clock = "lww"`` a version is stamped ``max(now, after(context),
after(stored))``, so between hosts with perfectly synchronised wall clocks a host
up a day longer stamped a day ahead, and after a reboot a node's blind writes lost
to every older write it had not stored yet. Seen on three processes, n2 and n3 in
time namespaces whose monotonic clock is 100,000 s ahead of n1's (hosts up 28 hours
longer): n1 down, a blind ``PUT k v1`` through n2, n1 back, 1.5 s later a blind ``PUT
k v2`` through n1; both 200, and ``GET ?r=3`` answered ``v1``. The node's clock is
now the monotonic clock anchored to the wall clock at its start
(``impl.runtime.NodeServer.now``); timers still run on the loop's clock.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from impl.effects import Effect
from impl.messages import PutRequest
from impl.records import ClockMode
from impl.timers import HintScan, Timer
from tests.runtime.live import cluster, run
from tests.runtime.procs import ServedNodes


def test_an_lww_stamp_is_the_wall_clock(tmp_path: Path) -> None:
    """In one process (the in-process cluster): the stamp of a put is within a
    minute of ``time.time()``, whatever the host's uptime."""
    async def scenario() -> None:
        async with cluster(tmp_path, clock="lww") as servers:
            server = servers[1]
            reply = await server.request(PutRequest(server.next_request_id(), b"k", b"v1"))
            assert reply.error is None
            record = server.node.record(b"k")
            assert record is not None and record.mode is ClockMode.LWW
            (sibling,) = record.siblings
            assert abs(sibling.stamp - time.time()) < 60.0
    run(scenario())


def test_a_timer_never_fires_before_its_time_on_the_node_s_clock(tmp_path: Path) -> None:
    """The loop fires a timer set for ``at`` (node clock) at ``at - clock_offset``
    (loop clock), and uvloop (``vdynamo serve``'s default loop) runs a timer before
    its time as its own clock reads it: measured here, 200 ``call_at`` 12 ms ahead
    ran up to 0.35 ms early (libuv's millisecond timers). The node must still be
    handed ``at`` at least (a deadline handler that sees its deadline not reached
    only re-arms). Here the loop's clock is made to read 0.35 ms before ``at -
    offset``; the node gets ``at``."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            server = servers[0]
            offset = server.clock_offset
            at = server.now() + 10.0
            early = at - offset - 0.00035
            seen: list[float] = []
            real_fire, real_time = server.node.fire, server.loop.time

            def fire(now: float, timer: Timer) -> list[Effect]:
                seen.append(now)
                return []
            server.node.fire = fire  # type: ignore[method-assign]
            server.loop.time = lambda: early  # type: ignore[method-assign]
            try:
                server._on_timer(HintScan(), at)
            finally:
                server.node.fire = real_fire  # type: ignore[method-assign]
                server.loop.time = real_time  # type: ignore[method-assign]
            assert seen == [at]
    run(scenario())


def test_a_timer_set_on_the_node_s_clock_fires_on_time(tmp_path: Path) -> None:
    """A timer set for ``at`` on the node's clock (wall-clock magnitude) fires about
    ``at - now()`` later: the loop is given ``at - clock_offset``. The mutant handing
    the loop ``at`` itself (a time 1.8e9 s ahead of its monotonic clock) never fires
    a timer: no request timeout, gossip round or hint scan."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            server = servers[0]
            seen: list[float] = []
            real_fire = server.node.fire

            def fire(now: float, timer: Timer) -> list[Effect]:
                if isinstance(timer, HintScan):
                    seen.append(now)
                    return []
                return real_fire(now, timer)
            server.node.fire = fire  # type: ignore[method-assign]
            try:
                at = server.now() + 0.05
                server._set_timer(HintScan(), at)
                for _ in range(100):
                    if seen:
                        break
                    await asyncio.sleep(0.02)
            finally:
                server.node.fire = real_fire  # type: ignore[method-assign]
            assert len(seen) == 1 and at <= seen[0] < at + 1.5
    run(scenario())


def _time_namespaces() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run([unshare, "--time", "--fork", "--monotonic", "1000", sys.executable,
                            "-c", "import time; print(time.monotonic())"],
                           capture_output=True, text=True, timeout=10, check=False)
    return probe.returncode == 0



def _call(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.skipif(not _time_namespaces(), reason="needs unshare --time (Linux >= 5.6, root)")
def test_blind_lww_writes_are_ordered_by_the_wall_clock_across_uptimes(tmp_path: Path) -> None:
    """The probe's scenario on real processes (see the module docstring): the later
    blind write, v2, must win."""
    names = ("n1", "n2", "n3")
    offset = {"n1": "0", "n2": "100000", "n3": "100000"}

    def wrapper(name: str) -> list[str]:  # SIGKILL: unshare dies; --kill-child: so does the node
        return ["unshare", "--time", "--fork", "--kill-child", "--monotonic", offset[name]]

    # request_timeout 5 s: the put through n1 follows its restart (session 24, load)
    with ServedNodes(tmp_path, names, ['clock = "lww"', "anti_entropy = false",
                                       "hinted_handoff = false", "request_timeout = 5"],
                     wrapper) as nodes:
        for name in names:
            nodes.start(name)
        nodes.wait_ready(*names)  # the nodes' hellos and start rounds
        nodes.kill("n1")
        assert _call("PUT", nodes.url("n2"), b"v1")[0] == 200
        nodes.start("n1")
        nodes.wait_ready("n1")  # (session 25: was 1 s before its start and 0.5 s after)
        assert _call("PUT", nodes.url("n1"), b"v2")[0] == 200  # a restart after v1, blind
        status, body = _call("GET", nodes.url("n3", "?r=3"))
        assert (status, body) == (200, b"v2")
