"""Case 01 (a node whose disk was replaced) over HTTP in ``client-vclock``: a blind
put through the wiped node must not vanish (session 13's probe).

A client that names itself (``X-Vdynamo-Client: alice``) but sends no
``X-Vdynamo-Client-Counter``: after ``PUT v1``, a GET and ``PUT v2`` with its
context (``{alice: 2}`` on every replica), n1 is killed, its data file deleted and
n1 started again; a blind ``PUT v3`` through n1 was minted ``{alice: 1}`` (n1 stores
nothing to count from), acknowledged, and dropped by n2 and n3 as seen: ``GET ?r=3``
answered ``v2``. A request without the counter now counts from the node's clock in
microseconds (``impl.http_api``), so v3 is minted above v2. (Until the review of
session 13 every client without ``X-Vdynamo-Client`` was this one client ``http``;
now each of its writes is a client of its own, so its blind v3 is a sibling of v2:
``tests/impl/test_client_counter_amnesia.py``.) Since session 23 v3 is minted
under the pair of n1's new lifetime actor and alice, a sibling of v2 (it did not
read v2): both kept (docs/runtime.md, "client-vclock counters unique (session 23)").
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.runtime.procs import FAST_ROUNDS, ServedNodes
from tests.runtime.procs import http_call as _call

NAMES = ("n1", "n2", "n3")


def test_a_blind_put_through_a_wiped_node_survives_in_client_vclock(tmp_path: Path) -> None:
    # request_timeout 5 s, not the default 1 s: the first request after a node's
    # restart under load (two busy loops beside the test, session 24) missed 1 s
    with ServedNodes(tmp_path, NAMES, ['clock = "client-vclock"', "request_timeout = 5",
                                       *FAST_ROUNDS]) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        alice = {"X-Vdynamo-Client": "alice"}
        assert _call("PUT", nodes.url("n1"), b"v1", alice)[0] == 200
        _, headers, _ = _call("GET", nodes.url("n1", "?r=3"))
        context = {"X-Vdynamo-Context": headers["x-vdynamo-context"], **alice}
        assert _call("PUT", nodes.url("n1", "?w=3"), b"v2", context)[0] == 200
        nodes.kill("n1")
        files = list(tmp_path.glob("n1.sqlite*"))
        assert tmp_path / "n1.sqlite" in files
        for path in files:  # the disk replaced
            path.unlink()
        nodes.start("n1")
        assert _call("PUT", nodes.url("n1"), b"v3", alice)[0] == 200  # blind, acknowledged
        time.sleep(1.0)
        nodes.wait_rebuilt("n1")  # a get at R = 3 waits for the replaced disk (impl.rebuild)
        status, _, body = _call("GET", nodes.url("n2", "?r=3"))
        # v3 did not read v2: siblings since session 23 (before: v3 alone, minted above
        # v2 by the node's clock or a re-mint), v3 kept either way
        assert status == 300 and b"v2" in body and b"v3" in body
