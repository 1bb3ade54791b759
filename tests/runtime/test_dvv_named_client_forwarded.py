"""A named raw writer's chain in dvv through a node that is *not* the key's replica
(session 58's review of red team 8's change): the node forwards the put to a
coordinator (impl/forwarding.py) with the writer's name (``HttpApi._request_of``;
from session 58 to 59 the shared client id instead), and the coordinator places
the dot by ``spec.dvv.dot_actor``'s fresh pairs (every client's since session 59)
so the chain after the writer's three blind puts supersedes itself: ``[a, b, c29]``.

Two nodes on loopback, N = 1, every PUT sent to n1; the four keys are all n2's on
this ring (n1's ``/status`` counts 0 keys, n2's 4: every put was forwarded).
Mutants: ``_request_of`` passing the header's name in dvv with session 58's
``dot_actor`` (session 58); ``dot_actor`` returning the actor past the pair's unread
value unless the client is ``http`` (session 59): the forwarded chain is refused
(413, "more than 25 siblings") at ``c23``.
About 6 s; every process stopped."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.runtime.procs import FAST_UP, cluster_up, http
from tests.runtime.procs import http_call as _call

KEYS = ("k0", "k1", "k2", "k3")


def test_a_named_writers_forwarded_chain_supersedes_itself(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "2", "--n", "1", "--r", "1", "--w", "1",
                    *FAST_UP):
        n1, n2 = http(directory, "n1"), http(directory, "n2")
        named = {"X-Vdynamo-Client": "shop-7"}
        for key in KEYS:
            url = f"{n1}/kv/{key}"
            for value in (b"a", b"b", b"c0"):
                status, _, body = _call("PUT", url, value, named)
                assert status == 200, (key, status, body)
            for i in range(1, 30):
                headers = {**named, "X-Vdynamo-Context": json.loads(body)["context"]}
                status, _, body = _call("PUT", url, b"c%d" % i, headers)
                assert status == 200, (key, i, status, body)
            status, _, body = _call("GET", url, headers={"Accept": "application/json"})
            values = sorted(base64.b64decode(v) for v in json.loads(body)["values"])
            assert (status, values) == (300, [b"a", b"b", b"c29"]), (key, values)
        held = [json.loads(_call("GET", f"{url}/status")[2])["keys"] for url in (n1, n2)]
        assert held == [0, len(KEYS)], f"the keys' owners moved (n1, n2 hold {held})"
