"""``/status`` shows whether a node's fresh store is still unconfirmed (session 59).

s59-sighup's CI-style rounds saw the first GET at r=3 of a new cluster answer 503
although every node's ``/health`` said ready: a process cluster's nodes start with
``announce`` on (a process cannot know that its cluster is brand new), so each starts
on a fresh store *unconfirmed* until every live peer has named its start
(:mod:`impl.restore_guard`), and until then it answers no ``ReplicaGet`` of a key it
holds no copy of (``unconfirmed-silent-get``); under load the wait passed
``request_timeout``. The mark was visible nowhere over HTTP. ``/status`` now has
``fresh_unconfirmed`` (:attr:`impl.node.Node.unconfirmed`).

Making ``/health`` not ready while it holds was tried and reverted the same session:
a node then stays not ready while any live peer cannot reach it
(``test_peer_port_own_file``: n2 and n3 never ready with n1's peer port wrong in one
file; ``test_peer_secret_unready``: the phrase hid the secret's), because such a peer
never names its start (docs/runtime.md, "The unconfirmed fresh store shown (session
59)").

Scenario: three nodes in this process with a kept directory (``announce`` on, as a
process cluster's), all ready; ``fresh_unconfirmed`` is false on each once every
peer named it; n1 marked unconfirmed again reads true; a GET at r=3 through n2 of a
key nobody wrote is then still 404 once n1 is confirmed again.

Mutant: the field always False (``"fresh_unconfirmed": False``): fails (``False is
True``, 3 of 3 runs).
"""

from __future__ import annotations

import asyncio
import tempfile
import time

import httpx

import impl
from tests.runtime.live import run


def test_status_shows_an_unconfirmed_fresh_store() -> None:
    async def scenario() -> None:
        with tempfile.TemporaryDirectory(prefix="vdynamo-ready-") as directory:
            async with impl.LocalCluster(nodes=3, directory=directory, n=3, r=2, w=2) \
                    as cluster, httpx.AsyncClient(timeout=5.0) as http:
                deadline = time.monotonic() + 30.0
                flags: dict[str, object] = {}
                while time.monotonic() < deadline:
                    flags = {server.name: (await http.get(f"{url}/status")).json()[
                        "fresh_unconfirmed"] for server, url in zip(
                            cluster.servers, cluster.urls, strict=True)}
                    if set(flags.values()) == {False}:
                        break
                    await asyncio.sleep(0.05)
                assert flags == {"n1": False, "n2": False, "n3": False}, flags
                n1 = cluster.servers[0]
                n1.node._unconfirmed_fresh = True  # (as a start no peer has named yet)
                status = (await http.get(f"{cluster.urls[0]}/status")).json()
                assert status["fresh_unconfirmed"] is True, status["fresh_unconfirmed"]
                n1.node._unconfirmed_fresh = False
                answer = await http.get(f"{cluster.urls[1]}/kv/never-written",
                                        params={"r": "3"})
                assert answer.status_code == 404, (answer.status_code, answer.text)

    run(scenario())
