"""A key stored under a larger ``max_key_bytes`` stays readable, deletable and
writable (with the context of a read) once the limit is lowered on every node
(session 18's service probe; case 22's kind: limits changed by an operator must
not strand keys; session 17 did it for ``max_value_bytes``).

Scenario: three ``vdynamo serve`` processes with ``max_key_bytes = 400`` store a
value under a 300-byte key; the operator lowers the limit to 200 in the cluster
file and restarts every node. Before, the HTTP port answered 414 to every
request for the key (a GET, a DELETE, a PUT with the context of an earlier read),
and the replicas refused its ReplicaGets and records: the key was stranded for
good. Now the GET (R=3 at every node) answers the value, a PUT with its context
replaces it, a DELETE is taken, and no node drops a message; a blind PUT to it, or
to a new key over the limit, still gets 414 (nothing written), and so does a GET
or DELETE of a long key no value is stored under (as before)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.runtime.procs import ServedNodes, http_call

NAMES = ("n1", "n2", "n3")


def test_a_key_stored_under_a_larger_key_limit_is_served_after_the_limit_is_lowered(
        tmp_path: Path) -> None:
    lines = ["n = 3", "r = 2", "w = 2", "max_key_bytes = 400", "anti_entropy_interval = 0.5"]
    with ServedNodes(tmp_path, NAMES, lines) as nodes:
        def at(name: str, key: str, query: str = "") -> str:
            return f"http://127.0.0.1:{nodes.http[name]}/kv/{key}{query}"

        for name in NAMES:
            nodes.start(name)
        nodes.wait_ready(*NAMES)
        long_key, other = "L" * 300, "M" * 300
        assert http_call("PUT", at("n1", long_key, "?w=3"), b"old")[0] == 200
        nodes.restart_with("max_key_bytes = 400", "max_key_bytes = 200")
        time.sleep(1.5)  # a few anti-entropy rounds
        nodes.wait_ready(*NAMES)
        for name in NAMES:  # before: 414
            status, headers, body = http_call("GET", at(name, long_key, "?r=3"))
            assert (status, body) == (200, b"old"), (name, status, body[:200])
        blind = http_call("PUT", at("n2", long_key), b"blind")
        assert blind[0] == 414 and b"context of a read" in blind[2], blind
        never = http_call("GET", at("n3", other, "?r=3"))  # never stored: 414 as before
        assert never[0] == 414 and b"no value is stored under it" in never[2], never
        assert http_call("DELETE", at("n3", other))[0] == 414
        assert http_call("GET", at("n3", "K" * 200))[0] == 404  # absent, at the limit
        assert http_call("PUT", at("n3", other), b"new")[0] == 414
        put = http_call("PUT", at("n1", long_key, "?w=3"), b"new",
                        {"X-Vdynamo-Context": headers["x-vdynamo-context"]})
        assert put[0] == 200, put  # before: 414
        for name in NAMES:
            assert http_call("GET", at(name, long_key, "?r=3"))[::2] == (200, b"new"), name
        deleted = http_call("DELETE", at("n2", long_key, "?w=3"))
        assert deleted[0] == 200, deleted  # before: 414
        assert http_call("GET", at("n1", long_key, "?r=3"))[0] == 414  # no value left
        assert http_call("GET", at("n1", "K" * (1 << 20) + "K"))[0] in (414, 431)
        for name in NAMES:
            status, _, body = http_call("GET", f"http://127.0.0.1:{nodes.http[name]}/status")
            stats = json.loads(body)["stats"]
            assert stats.get("dropped", 0) == 0, (name, stats)


def test_a_replica_that_missed_a_long_key_takes_it_after_the_limit_is_lowered(
        tmp_path: Path) -> None:
    """The same, with n3 down while the key was written (w=2): once every node runs
    the lowered limit, n3 stores nothing of the key. Before, it refused the key's
    record at every anti-entropy round and every read repair, for good (dropped
    messages counting up at n3: case 22's "re-sent forever"); a peer's key within
    ``KEY_BYTES_CEILING`` is now taken as a peer's value over ``max_value_bytes``
    is (the limit is the client's, at the HTTP port), and n3 holds the key."""
    lines = ["n = 3", "r = 2", "w = 2", "max_key_bytes = 400", "anti_entropy_interval = 0.5"]
    with ServedNodes(tmp_path, NAMES, lines) as nodes:
        long_key = "L" * 300
        for name in NAMES:
            nodes.start(name)
        nodes.wait_ready(*NAMES)
        nodes.kill("n3")
        url = f"http://127.0.0.1:{nodes.http['n1']}/kv/{long_key}?w=2"
        assert http_call("PUT", url, b"old")[0] == 200
        nodes.restart_with("max_key_bytes = 400", "max_key_bytes = 200")
        nodes.start("n3")
        deadline = time.monotonic() + 20
        while True:  # anti-entropy (or a hint) brings the key to n3
            status, _, body = http_call(
                "GET", f"http://127.0.0.1:{nodes.http['n3']}/kv/{long_key}?r=1")
            if (status, body) == (200, b"old") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert (status, body) == (200, b"old"), (status, body[:200])
        status, _, body = http_call("GET", f"http://127.0.0.1:{nodes.http['n3']}/status")
        stats = json.loads(body)["stats"]
        assert stats.get("dropped", 0) == 0, stats  # before: one per round
