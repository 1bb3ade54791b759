"""A client that sends a stale ``X-Vdynamo-Client-Counter`` through a node that holds
nothing of the key, on real ``vdynamo serve`` processes over HTTP: the same path as
``tests/impl/test_client_counter_amnesia.py``'s coordinator that missed the
client's last write, here with the replicas' answer (a ``ReplicaPutAck`` carrying
their record) crossing the wire (session 14).

alice counts her own puts: ``PUT v1`` (counter 0, minted ``{alice: 1}``), then
``PUT v2`` with the context and counter 1 (``{alice: 2}`` on every replica, W=3).
n1 is killed, its data file deleted, n1 started again. A restarted alice (her
counter forgotten: 0 again) writes v3 blind through n1, which mints ``{alice: 1}``.
Before session 14 n2 and n3 dropped it as seen and ``GET ?r=3`` answered v2 (the
node's clock stands in only for a client that sends no counter). Now their acks
carry their record and n1 mints v3 again above it: v3 alone. Since session 23 v3
is minted under the pair of n1's new lifetime actor and alice, which no replica
holds: no re-mint, and v3 is a sibling of v2 (it did not read v2): both kept.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.runtime.procs import FAST_ROUNDS, ServedNodes, assert_no_internal_errors
from tests.runtime.test_client_counter_wipe import NAMES, _call


def test_a_stale_client_counter_through_a_wiped_node_is_minted_again(tmp_path: Path) -> None:
    # request_timeout 5 s, not the default 1 s: the first request after a node's
    # restart under load (two busy loops beside the test, session 24) missed 1 s
    with ServedNodes(tmp_path, NAMES, ['clock = "client-vclock"', "request_timeout = 5",
                                       *FAST_ROUNDS]) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        alice = {"X-Vdynamo-Client": "alice"}
        assert _call("PUT", nodes.url("n1", "?w=3"), b"v1",
                     {**alice, "X-Vdynamo-Client-Counter": "0"})[0] == 200
        _, headers, _ = _call("GET", nodes.url("n1", "?r=3"))
        context = {"X-Vdynamo-Context": headers["x-vdynamo-context"], **alice,
                   "X-Vdynamo-Client-Counter": "1"}
        assert _call("PUT", nodes.url("n1", "?w=3"), b"v2", context)[0] == 200
        nodes.kill("n1")
        for path in tmp_path.glob("n1.sqlite*"):  # the disk replaced
            path.unlink()
        nodes.start("n1")
        forgot = {**alice, "X-Vdynamo-Client-Counter": "0"}
        assert _call("PUT", nodes.url("n1"), b"v3", forgot)[0] == 200  # blind, acknowledged
        time.sleep(1.0)
        nodes.wait_rebuilt("n1")  # a get at R = 3 waits for the replaced disk (impl.rebuild)
        status, _, body = _call("GET", nodes.url("n2", "?r=3"))
        # v3 did not read v2: siblings since session 23 (before: v3 alone, minted above
        # v2 by the node's clock or a re-mint), v3 kept either way
        assert status == 300 and b"v2" in body and b"v3" in body
    assert_no_internal_errors(sorted(tmp_path.glob("*.log")))
