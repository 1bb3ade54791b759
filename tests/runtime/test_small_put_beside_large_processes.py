"""A small put is not held behind large puts waiting their turn, on real processes
(session 54; docs/runtime.md, "Small puts beside saturating large ones, across
processes").

Three ``vdynamo serve`` processes on loopback, ``max_pending_bytes`` 150,000 (a
small write: at most 146 bytes). n2 and n3 are stopped (SIGSTOP: saturated
replicas, their connections up, nothing read), so a 100 KB put through n1 at W = 2
stays in flight there until its ``request_timeout`` (3 s, then 504), and a second
one waits its turn behind it (its bytes do not fit). A 10-byte put at W = 1
through n1 then is answered 200 before the first large put is answered: it passes
the large one waiting, within the small writes' budget. Before, it waited behind
the large one, which could go only once the first ended (the 504 at 3 s): it was
answered after it. The order is causal, not a time bound. Every process is
continued and killed at the end.

Mutant checked to fail: ``ByteAdmission._small_passes`` refusing while a larger
write waits (the rule before session 54): the small put answered after the first
large one's 504.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from tests.runtime.procs import ServedNodes, assert_no_internal_errors, http_call, wait_until

NAMES = ("n1", "n2", "n3")
LINES = ["n = 3", "r = 2", "w = 2", "max_value_bytes = 100000", "max_pending_bytes = 150000",
         # 3 s: the small put has about 2.5 s to be answered before the first large
         # put's 504 on a loaded machine (it takes a few ms unloaded)
         "request_timeout = 3.0", "replica_timeout = 1.0"]


def test_a_small_put_passes_large_puts_waiting_at_saturated_replicas(tmp_path: Path) -> None:
    answered: dict[str, tuple[float, int]] = {}

    def put(nodes: ServedNodes, key: str, value: bytes, query: str) -> None:
        status, _, _ = http_call("PUT", f"http://127.0.0.1:{nodes.http['n1']}/kv/{key}{query}",
                                 value, timeout=10)
        answered[key] = (time.monotonic(), status)

    with ServedNodes(tmp_path, NAMES, LINES) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        stopped = [nodes.procs[name].pid for name in ("n2", "n3")]
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        try:
            threads = [threading.Thread(target=put, args=(nodes, "large1", b"l" * 100_000, ""))]
            threads[0].start()
            wait_until(lambda: nodes.status("n1")["pending_bytes"] >= 100_000, 10,
                       "the first large put in flight at n1")
            threads.append(threading.Thread(target=put,
                                            args=(nodes, "large2", b"m" * 100_000, "")))
            threads[1].start()
            wait_until(lambda: nodes.status("n1")["admission"]["waiting"] == 1, 10,
                       "the second large put waiting its turn at n1")
            put(nodes, "small", b"s" * 10, "?w=1")
            for thread in threads:
                thread.join(15)
            admission = nodes.status("n1")["admission"]
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)
    assert answered["small"][1] == 200, answered
    assert answered["large1"][1] == 504, answered  # its replicas never answered
    assert answered["small"][0] < answered["large1"][0], answered  # before: after it
    assert admission["small_passed"] >= 1, admission
    assert_no_internal_errors(tmp_path / f"{name}.log" for name in NAMES)
