"""A healthy node restarted into a quiet cluster stays ready: its peers connect back
at its hello, not only when they happen to have something to send it.

Session 32's review of the reach gate (:meth:`impl.runtime.NodeServer.unreached`):
with ``restore_guard = false`` (no startup shadow round, so no peer is asked
anything at the start) and the cluster's views equal (a peer answers a gossip
only when the views differ), n1 restarted dialed its peers for its gossip rounds,
but none of them had a reason to connect to n1 within the reach grace
(``reach_grace_s``, 5 s): n1, with nothing wrong, said ``ready: false``, answered
every request 503 and logged that its peers' files give another ``[nodes.n1]
peer`` (5 nodes, ``gossip_interval`` 3 s: unready from 7.7 s on, still at 25 s).
Real processes on loopback, every one killed at the end."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.runtime.procs import ServedNodes, http_call

#: the reach grace the nodes run with (seconds, ``reach_grace_s``; 5 by default: session
#: 44), shorter than a peer's gossip rounds (3 s), so that a quiet peer's round does not
#: happen to connect to n1 within it
GRACE_S = 1.0


def test_a_restarted_node_is_reached_though_its_peers_are_quiet(tmp_path: Path) -> None:
    names = ("n1", "n2", "n3", "n4", "n5")
    lines = ["n = 3", "r = 2", "w = 2", "restore_guard = false", "gossip_interval = 3",
             "hint_scan_interval = 1", "anti_entropy_interval = 60",
             f"reach_grace_s = {GRACE_S}"]
    with ServedNodes(tmp_path, names, lines) as served:
        served.start(*names)
        served.wait_ready(*names, limit=60)
        served.kill("n1")
        served.start("n1")
        seen: list[tuple[float, object, object]] = []
        began = time.monotonic()
        # past the grace after n1's first gossip round (at most 3 s): without the
        # connect-back n1 is not ready from 7.6 s on under the default 5 s grace
        # (session 37, twice; the window was the grace and 9 s until then)
        while time.monotonic() - began < GRACE_S + 6:
            code, _, body = http_call("GET", f"http://127.0.0.1:{served.http['n1']}/status")
            assert code == 200, body
            status = json.loads(body)
            seen.append((round(time.monotonic() - began, 1), status["ready"],
                         status["not_reached_by"]))
            time.sleep(0.25)
        late = [entry for entry in seen if entry[0] > 3]  # past its start
        assert all(ready is True and not_reached == [] for _, ready, not_reached in late), (
            [entry for entry in late if entry[1] is not True or entry[2]][:5])
