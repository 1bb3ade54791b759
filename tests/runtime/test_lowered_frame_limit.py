"""A key stored under a larger ``max_frame_bytes`` stays readable after the operator
lowers it (session 22's service probe; case 22's kind: limits that strand data;
left open by session 21's second service probe).

Scenario: three ``vdynamo serve`` processes with ``request_timeout = 30`` and
``max_record_bytes = 10 MiB`` (the derived frame limit 64 MiB); nine blind puts of
1,000,000 bytes at w=3 make a 9 MB record on every replica. The operator lowers the
limits (``max_value_bytes = 65536``, ``max_record_bytes = 262144``,
``max_frame_bytes = 8393728``, the least the file accepts for those) and restarts
every node.

``request_timeout`` is 30 s, not 5 (session 45): each put rewrites the growing record
(up to 9 MB) on three replicas, and on 2 shared cores beside two CPU burners (about
a third of a core for the test) a put's quorum took more than 5 s: a 504, twice in
two runs. What the test claims is about the limits, not how fast a starved node writes.
The client waits as long as the nodes do (``timeout=30``, session 50): a clean clone
at a load of 14 beside seven helpers timed a put out at urllib's 10 s."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.runtime.procs import ServedNodes, http_call

NAMES = ("n1", "n2", "n3")
_BEFORE = "max_record_bytes = 10485760"
_LOWERED = "max_value_bytes = 65536\nmax_record_bytes = 262144\nmax_frame_bytes = 8393728"


def test_a_record_over_a_lowered_frame_limit_is_still_read_at_quorum(tmp_path: Path) -> None:
    lines = ["n = 3", "r = 2", "w = 2", "request_timeout = 30", _BEFORE,
             "anti_entropy_interval = 0.5"]
    with ServedNodes(tmp_path, NAMES, lines) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        for _ in range(9):
            assert http_call("PUT", nodes.url("n1", "?w=3"), os.urandom(1_000_000),
                             timeout=30)[0] == 200
        nodes.restart_with(_BEFORE, _LOWERED)
        time.sleep(1.5)  # a few anti-entropy rounds
        nodes.wait_ready(*NAMES)
        for name in NAMES:
            status, headers, body = http_call("GET", nodes.url(name, "?r=2"),
                                              headers={"Accept": "application/json"},
                                              timeout=30)
            assert status == 300, (name, status, body[:200])
            assert len(json.loads(body)["values"]) == 9
        # the documented way out: a put with the read's context replaces the siblings
        status, _, body = http_call("PUT", nodes.url("n2", "?w=3"), b"one",
                                    headers={"X-Vdynamo-Context": headers["x-vdynamo-context"]})
        assert status == 200, body[:200]
        status, _, body = http_call("GET", nodes.url("n3", "?r=3"))
        assert (status, body) == (200, b"one")
