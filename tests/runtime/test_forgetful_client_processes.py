"""client-vclock on real ``vdynamo serve`` processes: a client that forgot its
counter writes while the nodes holding its later version are down (session 22's
data probe, its real-process run; fixed in session 23).

3 nodes on loopback, N = 3: alice's ``PUT v1 ?w=3`` (``X-Vdynamo-Client-Counter:
0``); n3 killed; bob's and alice's (counter 1) read-then-writes ``v2`` and ``v3``
through n1; n1 and n2 killed, n3 started; alice, restarted, reads ``?r=1`` through
n3 (``v1``) and writes ``v4 ?w=1`` with that context and counter 0 (200); n1 and n2
started. Before session 23 ``GET ?r=3`` answered ``v3`` alone for 5 of 5 keys (v4
minted ``{alice: 2}``, dominated by v3's ``{alice: 2, bob: 1}``); the right value is
``v3`` and ``v4`` (v4 did not read v3). docs/runtime.md, "client-vclock counters
unique (session 23)"; the simulator's twin: tests/impl/test_forgetful_client_partition.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.runtime.procs import FAST_ROUNDS, ServedNodes, assert_no_internal_errors
from tests.runtime.procs import http_call as _call

NAMES = ("n1", "n2", "n3")


def test_a_forgetful_clients_write_while_its_later_version_is_down_is_kept(
        tmp_path: Path) -> None:
    with ServedNodes(tmp_path, NAMES, ['clock = "client-vclock"', *FAST_ROUNDS]) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        alice = {"X-Vdynamo-Client": "alice"}

        def read_then_write(node: str, value: bytes, who: dict[str, str]) -> None:
            _, headers, _ = _call("GET", nodes.url(node))
            context = {"X-Vdynamo-Context": headers["x-vdynamo-context"], **who}
            assert _call("PUT", nodes.url(node), value, context)[0] == 200

        assert _call("PUT", nodes.url("n1", "?w=3"), b"v1",
                     {**alice, "X-Vdynamo-Client-Counter": "0"})[0] == 200
        nodes.kill("n3")
        read_then_write("n1", b"v2", {"X-Vdynamo-Client": "bob"})
        read_then_write("n1", b"v3", {**alice, "X-Vdynamo-Client-Counter": "1"})
        nodes.kill("n1")
        nodes.kill("n2")
        nodes.start("n3")
        status, headers, body = _call("GET", nodes.url("n3", "?r=1"))
        assert (status, body) == (200, b"v1")  # n3 missed v2 and v3
        stale = {"X-Vdynamo-Context": headers["x-vdynamo-context"], **alice,
                 "X-Vdynamo-Client-Counter": "0"}
        assert _call("PUT", nodes.url("n3", "?w=1"), b"v4", stale)[0] == 200
        nodes.start("n1", "n2")
        nodes.wait_ready(*NAMES)
        status, _, body = _call("GET", nodes.url("n2", "?r=3"))
        assert status == 300 and b"v3" in body and b"v4" in body  # before: 200, v3
        assert b"v1" not in body and b"v2" not in body
    assert_no_internal_errors(sorted(tmp_path.glob("*.log")))
