"""A key stored under a larger ``max_value_bytes`` stays readable, deletable and
writable once the limit is lowered on every node (session 17's service probe;
case 22's kind: a poison record).

Scenario: three ``vdynamo serve`` processes with ``max_value_bytes = 131072``
store a 100,000-byte value; the operator lowers the limit to 65536 in the cluster
file and restarts every node. Before, each replica refused its peers' records
holding a value over its own limit (``Replica.decode``), while a coordinator took
its own copy unchecked: a GET at R=2 or 3 answered 503 (1 of R), a DELETE 503, a
blind PUT of a 3-byte value 504 (outcome unknown), and anti-entropy re-sent the
record every round (36 dropped messages in 6 s): the key was stuck for good. Now
the old value is served, the DELETE and the PUT are taken, and no node drops a
message; a new PUT over the lowered limit still gets its 413."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.runtime.procs import ServedNodes, http_call

NAMES = ("n1", "n2", "n3")


def test_a_value_stored_under_a_larger_limit_is_served_after_the_limit_is_lowered(
        tmp_path: Path) -> None:
    lines = ["n = 3", "r = 2", "w = 2", "max_value_bytes = 131072",
             "anti_entropy_interval = 0.5"]
    with ServedNodes(tmp_path, NAMES, lines) as nodes:
        for name in NAMES:
            nodes.start(name)
        nodes.wait_ready(*NAMES)
        big = b"x" * 100_000
        assert http_call("PUT", nodes.url("n1", "?w=3"), big)[0] == 200
        nodes.restart_with("max_value_bytes = 131072", "max_value_bytes = 65536")
        time.sleep(1.5)  # a few anti-entropy rounds
        nodes.wait_ready(*NAMES)
        for name in NAMES:  # before: 503 "get reached 1 of R=3 replicas"
            status, _, body = http_call("GET", nodes.url(name, "?r=3"))
            assert (status, body) == (200, big), (name, status, body[:200])
        over = http_call("PUT", nodes.url("n2"), b"y" * 65_537)
        assert over[0] == 413, over
        status, headers, _ = http_call("GET", nodes.url("n1"))
        assert status == 200
        put = http_call("PUT", nodes.url("n1", "?w=3"), b"new",
                        {"X-Vdynamo-Context": headers["x-vdynamo-context"]})
        assert put[0] == 200, put  # before: 504
        status, _, body = http_call("GET", nodes.url("n3", "?r=3"))
        assert (status, body) == (200, b"new"), (status, body[:200])
        deleted = http_call("DELETE", nodes.url("n2", "?w=3"))
        assert deleted[0] == 200, deleted  # before: 503
        assert http_call("GET", nodes.url("n1", "?r=3"))[0] == 404
        for name in NAMES:
            stats = nodes.status(name)["stats"]
            assert isinstance(stats, dict)
            assert stats.get("dropped", 0) == 0, (name, stats)  # before: 36 at n1 in 6 s


def test_siblings_stored_under_a_larger_max_siblings_are_served_after_it_is_lowered(
        tmp_path: Path) -> None:
    """The same with ``max_siblings`` 25 lowered to 2 (merges of three sides: 6)
    over a key holding 10 siblings: before, a GET at R=3 answered 503."""
    lines = ["n = 3", "r = 2", "w = 2", "anti_entropy_interval = 0.5"]
    with ServedNodes(tmp_path, NAMES, lines) as nodes:
        for name in NAMES:
            nodes.start(name)
        nodes.wait_ready(*NAMES)
        for i in range(10):
            assert http_call("PUT", nodes.url("n1", "?w=3"), b"v%d" % i)[0] == 200
        nodes.restart_with("n = 3\n", "n = 3\nmax_siblings = 2\n")
        time.sleep(1.5)
        nodes.wait_ready(*NAMES)
        for name in NAMES:
            status, headers, body = http_call("GET", nodes.url(name, "?r=3"),
                                              headers={"Accept": "application/json"})
            assert status == 300, (name, status, body[:200])
            assert len(json.loads(body)["values"]) == 10
        put = http_call("PUT", nodes.url("n2", "?w=3"), b"one",
                        {"X-Vdynamo-Context": headers["x-vdynamo-context"]})
        assert put[0] == 200, put
        assert http_call("GET", nodes.url("n3", "?r=3"))[:3:2] == (200, b"one")
        for name in NAMES:
            stats = nodes.status(name)["stats"]
            assert isinstance(stats, dict)
            assert stats.get("dropped", 0) == 0, (name, stats)
