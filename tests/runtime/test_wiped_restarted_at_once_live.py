"""A replaced disk restarted before any peer answered it, on real ``vdynamo serve``
processes (session 52; the simulator's cases: tests/impl/test_wiped_restarted_at_once.py).

3 nodes, N = 3, 20 keys written at W = 3; n2 and n3 killed; n1 killed, its
``n1.sqlite*`` deleted, started (its start round asks n2 and n3, both down, and
times out: ``shadow_round_s = 0.5``), killed again; n2 and n3 started, then n1.
Its second start must be told it is a replaced disk (``/status`` ``rebuild`` not
null) and its gets at R = 1 must read every key. Before the fix the second start
counted 2, later than the old disk's 1 that n2 and n3 heard: they took it for a
restart of the old store, and it was never told (``rebuild`` null 10 s after its
start, seen on ``8b99a572``). The deterministic way to a start no peer answered
with real processes (a crash within the first round trip is a race).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.runtime.procs import ServedNodes
from tests.runtime.procs import http_call as _call

NAMES = ("n1", "n2", "n3")
KEYS = 20


def _wait(nodes: ServedNodes, name: str, what: str,
          done: Callable[[dict[str, object]], bool]) -> dict[str, object]:
    """``name``'s ``/status`` once ``done(status)`` holds (AssertionError naming
    ``what`` after 10 s)."""
    deadline = time.monotonic() + 10
    while not done(status := nodes.status(name)):
        assert time.monotonic() < deadline, (
            f"{name}: {what} not within 10 s: rebuild {status.get('rebuild')}, "
            f"shadow_round {status.get('shadow_round')}, stats {status.get('stats')}")
        time.sleep(0.05)
    return status


def test_a_replaced_disk_restarted_before_a_peer_answered_is_told(tmp_path: Path) -> None:
    with ServedNodes(tmp_path, NAMES, ['clock = "dvv"', "r = 2", "w = 2",
                                       "gossip_interval = 0.25", "request_timeout = 5",
                                       "shadow_round_s = 0.5"]) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)  # every node heard every other's start
        for index in range(KEYS):
            url = f"http://127.0.0.1:{nodes.http['n1']}/kv/k{index}?w=3"
            assert _call("PUT", url, b"v%d" % index)[0] == 200
        nodes.kill("n2")
        nodes.kill("n3")
        nodes.kill("n1")
        for path in tmp_path.glob("n1.sqlite*"):  # the disk replaced
            path.unlink()
        nodes.start("n1")
        first = _wait(nodes, "n1", "the start round's end",
                      lambda s: s.get("shadow_round") is None)
        stats = first["stats"]
        assert isinstance(stats, dict) and stats.get("shadow-round-timeout") == 1
        nodes.kill("n1")  # no peer answered this start
        nodes.start("n2", "n3")
        nodes.wait_ready("n2", "n3")
        nodes.start("n1")
        _wait(nodes, "n1", "told it is a replaced disk", lambda s: s.get("rebuild") is not None)
        missed = 0
        for index in range(KEYS):
            status, _, body = _call(
                "GET", f"http://127.0.0.1:{nodes.http['n1']}/kv/k{index}?r=1")
            missed += (status, body) != (200, b"v%d" % index)
        assert missed == 0
