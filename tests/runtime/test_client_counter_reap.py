"""client-vclock over HTTP: a client that forgot its counter writes a key whose
tombstone was reaped, and a put with a context read before the delete must not
supersede that acknowledged write (session 19's data probe; the simulator's
twin: ``tests/impl/test_client_counter_reap.py``).

alice writes ``k`` five times through n1 (``X-Vdynamo-Client-Counter`` 0-4: her
clock entry reaches 5), bob reads it; alice deletes it with a get's context and
the tombstone is reaped on all three nodes (``/status`` ``keys`` 0). alice,
restarted, sends counter 0 again with a blind ``PUT v6`` (200); bob
writes ``bob`` with his old context through n2 (200). Before the fix v6 was
minted ``{alice: 1}``, which bob's ``{alice: 5, bob: 1}`` dominated on every
replica: ``GET ?r=3`` answered ``bob`` alone. Right value: both, as siblings.
(The floor surviving a restart of the node is the simulator test's
``test_the_floor_holds_at_every_replica_that_reaped_and_across_a_restart``.)
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from pathlib import Path

from tests.runtime.procs import ServedNodes
from tests.runtime.procs import http_call as _call

NAMES = ("n1", "n2", "n3")


def _keys(nodes: ServedNodes, name: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{nodes.http[name]}/status",
                                timeout=5) as response:
        return int(json.loads(response.read())["keys"])


def test_a_forgetful_clients_put_after_a_reap_survives_a_pre_delete_context(
        tmp_path: Path) -> None:
    lines = ['clock = "client-vclock"', "tombstone_grace_s = 1.0"]
    with ServedNodes(tmp_path, NAMES, lines) as nodes:
        for name in NAMES:
            nodes.start(name)
        nodes.wait_ready(*NAMES)
        context = ""
        for count in range(5):
            headers = {"X-Vdynamo-Client": "alice", "X-Vdynamo-Client-Counter": str(count)}
            if context:
                headers["X-Vdynamo-Context"] = context
            status, answer, _ = _call("PUT", nodes.url("n1", "?w=3"), b"a%d" % count, headers)
            assert status == 200
            context = answer["x-vdynamo-context"]
        bob = _call("GET", nodes.url("n2", "?r=3"))[1]["x-vdynamo-context"]
        read = _call("GET", nodes.url("n1", "?r=3"))[1]["x-vdynamo-context"]
        assert _call("DELETE", nodes.url("n1", "?w=3"), None, {
            "X-Vdynamo-Context": read, "X-Vdynamo-Client": "alice",
            "X-Vdynamo-Client-Counter": "5"})[0] == 200
        deadline = time.monotonic() + 20
        while any(_keys(nodes, name) for name in NAMES):  # reaped everywhere
            assert time.monotonic() < deadline, [_keys(nodes, name) for name in NAMES]
            time.sleep(0.2)
        forgetful = {"X-Vdynamo-Client": "alice", "X-Vdynamo-Client-Counter": "0"}
        assert _call("PUT", nodes.url("n1"), b"v6", forgetful)[0] == 200
        assert _call("PUT", nodes.url("n2"), b"bob", {
            "X-Vdynamo-Context": bob, "X-Vdynamo-Client": "bob"})[0] == 200
        time.sleep(1.0)
        status, _, body = _call("GET", nodes.url("n3", "?r=3"), None,
                                {"Accept": "application/json"})
        assert status == 300, body
        assert sorted(base64.b64decode(v) for v in json.loads(body)["values"]) == [b"bob", b"v6"]
