"""A node restarted with its addresses changed in the cluster file is dialed at the
new ones by the running nodes (session 30's user probe).

Before, a running node took a known node's addresses from the file once, at its
start: three ``vdynamo serve`` processes, n2 stopped, its ``peer`` and ``http``
ports changed in the file (a port taken on its host), n2 started again. n1 and n3
dialed n2's old peer port for ever, each dial refused and nothing logged: 10 of 10
puts at ``w=3`` through n1 and through n2 answered 504 and reads at ``r=3`` 503,
still 40 s later, and ``/status`` advertised n2's old HTTP port to clients. Now
the file is re-read (when it changed) as a known peer passes its hello and when a
dial fails, and a changed address is adopted and logged."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from tests.runtime.procs import ServedNodes, free_ports, request


def test_a_peer_restarted_at_other_ports_is_dialed_there(tmp_path: Path) -> None:
    with ServedNodes(tmp_path, ("n1", "n2", "n3"), ["gossip_interval = 0.25"]) as nodes:
        nodes.start("n1", "n2", "n3")
        nodes.wait_ready("n1", "n2", "n3")
        nodes.kill("n2")
        peer, http = free_ports(2, set(nodes.peer.values()) | set(nodes.http.values()))
        text = nodes.config.read_text()
        for old, new in ((nodes.peer["n2"], peer), (nodes.http["n2"], http)):
            assert text.count(f"127.0.0.1:{old}") == 1
            text = text.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}")
        nodes.config.write_text(text)
        nodes.peer["n2"], nodes.http["n2"] = peer, http
        nodes.start("n2")
        nodes.wait_ready("n2")
        n1 = f"http://127.0.0.1:{nodes.http['n1']}"
        deadline = time.monotonic() + 15
        codes: list[int] = []
        while time.monotonic() < deadline:
            codes = [request("PUT", f"{n1}/kv/k{i}?w=3", b"v", timeout=5)[0] for i in range(3)]
            if codes == [200] * 3:
                break
            time.sleep(0.2)
        assert codes == [200] * 3, codes  # before: 504 for good
        with urllib.request.urlopen(f"{n1}/status", timeout=5) as answer:
            advertised = json.loads(answer.read())["http"]["n2"]
        assert advertised == f"127.0.0.1:{http}"
        assert "n1: n2 now has peer 127.0.0.1:" in (tmp_path / "n1.log").read_text()
