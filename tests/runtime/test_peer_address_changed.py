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
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.runtime.procs import ROOT, ServedNodes, free_ports, request


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


def test_port_zero_under_serve_all_keeps_the_ports_bound(tmp_path: Path) -> None:
    """The file's port 0 (``vdynamo serve --all`` binds a port per node) is not taken
    as a change when the file is re-read: a first version of the fix above compared
    the file with the running addresses, and set every peer's to port 0 at the
    first hello."""
    path = tmp_path / "cluster.toml"
    lines = ["[cluster]", 'nodes = ["n1", "n2", "n3"]', "gossip_interval = 0.25",
             f'secret = "{"ab" * 20}"', ""]
    for name in ("n1", "n2", "n3"):
        lines += [f"[nodes.{name}]", 'peer = "127.0.0.1:0"', 'http = "127.0.0.1:0"', ""]
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    log = tmp_path / "all.log"
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "vdynamo", "serve", str(path),
                                    "--all"], cwd=tmp_path, stdout=out, stderr=out,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while "n3: peers on" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        n1 = re.search(r"n1: peers on \S+, HTTP on (http://\S+)", log.read_text())
        assert n1 is not None
        deadline = time.monotonic() + 15
        codes: list[int] = []
        while time.monotonic() < deadline:
            codes = [request("PUT", f"{n1.group(1)}/kv/k{i}?w=3", b"v", timeout=5)[0]
                     for i in range(3)]
            if codes == [200] * 3:
                break
            time.sleep(0.2)
        assert codes == [200] * 3, codes
        time.sleep(1)  # rounds of gossip: hellos, re-reads
        assert [request("PUT", f"{n1.group(1)}/kv/j{i}?w=3", b"v", timeout=5)[0]
                for i in range(3)] == [200] * 3
        assert "now has peer" not in log.read_text()
    finally:
        process.kill()
        process.wait(15)
