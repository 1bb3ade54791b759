"""A node restarted with a cluster file whose ``[cluster] nodes`` (the initial members)
differ from its peers' is refused at its hello, naming both lists (session 30's user
probe).

Before, ``nodes`` was not among the settings a hello compares
(:data:`impl.runtime.SHARED_SETTINGS`): three ``vdynamo serve`` processes, n2
restarted with ``nodes = ["n1", "n2", "n3", "n4"]`` and a ``[nodes.n4]`` section (an
operator adding a node by editing the file instead of ``vdynamo join``; n4 never
started) connected and said nothing. n2's ``/status`` listed n4 as an ``up`` member
of a four-node ring while n1 and n3 kept three: the nodes disagreed for good on
which nodes hold a key (with five nodes, 29 anti-entropy exchanges dropped as of an
unknown range at n2 within 6 s), and nothing said why.

Since session 32 n2's own store, which recorded the settings it ran with, refuses
the start at once (``impl.serve.check_store_settings``: exit 2 naming ``nodes``); a
store that records none (a new disk, a file of before) still meets the hello's
refusal, which this test then shows."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from impl.config import ClusterConfig
from impl.runtime import members_text, shared_settings
from tests.runtime.procs import ROOT, ServedNodes, free_ports


def test_a_node_restarted_with_other_initial_members_is_refused_naming_them(
        tmp_path: Path) -> None:
    with ServedNodes(tmp_path, ("n1", "n2", "n3"), ["gossip_interval = 0.25"]) as nodes:
        nodes.start("n1", "n2", "n3")
        nodes.wait_ready("n1", "n2", "n3")
        refused_before = nodes.status("n1")["refused_peers"]
        nodes.kill("n2")
        peer, http = free_ports(2, set(nodes.peer.values()) | set(nodes.http.values()))
        edited = nodes.config.read_text().replace(
            'nodes = ["n1", "n2", "n3"]', 'nodes = ["n1", "n2", "n3", "n4"]')
        edited += f'\n[nodes.n4]\npeer = "127.0.0.1:{peer}"\nhttp = "127.0.0.1:{http}"\n'
        own = tmp_path / "n2.toml"
        own.write_text(edited)
        own.chmod(0o600)
        again = subprocess.run([sys.executable, "-m", "vdynamo", "serve", str(own), "--node",
                                "n2"], capture_output=True, text=True, timeout=30, cwd=ROOT,
                               check=False)
        assert again.returncode == 2, again.stderr  # its store ran with three (session 32)
        assert "nodes 'n1,n2,n3' then, 'n1,n2,n3,n4' now" in again.stderr, again.stderr
        own.write_text(edited.replace("[nodes.n2]\n", '[nodes.n2]\ndata = "new-n2.sqlite"\n'))
        shared, nodes.config = nodes.config, own
        nodes.start("n2")
        nodes.config = shared
        deadline = time.monotonic() + 15
        log = tmp_path / "n2.log"
        while time.monotonic() < deadline:
            refused = nodes.status("n1")["refused_peers"]
            assert isinstance(refused, int) and isinstance(refused_before, int)
            if refused > refused_before and "'n1,n2,n3' at n" in log.read_text():
                break
            time.sleep(0.1)
        # before: 0 refused, nothing logged, n2 serving a ring of four with n4 "up"
        assert nodes.status("n1")["refused_peers"] != refused_before
        assert "nodes 'n1,n2,n3,n4' here, 'n1,n2,n3' at n" in log.read_text()
        n1_members = nodes.status("n1")["membership"]
        assert isinstance(n1_members, dict) and sorted(n1_members) == ["n1", "n2", "n3"]


def test_the_initial_members_compare_as_the_strategy_reads_them() -> None:
    """Strategy 3 sorts the names before it places partitions (the order in the file
    moves no key); strategies 1 and 2 and evenly-spaced lay the ring out in the
    file's order, so another order is another ring. A list too long for a hello's
    setting (255 characters) is sent as its count and digest."""
    base = ClusterConfig(nodes=("n1", "n2", "n3"))
    assert members_text(base) == members_text(base.replace(nodes=("n3", "n1", "n2")))
    assert dict(shared_settings(base))["nodes"] == "n1,n2,n3"
    assert members_text(base) != members_text(base.replace(nodes=("n1", "n2", "n3", "n4")))
    for strategy in ("strategy1", "strategy2", "evenly-spaced"):
        one = base.replace(partitioning=strategy)
        assert members_text(one) != members_text(one.replace(nodes=("n3", "n1", "n2")))
    many = tuple(f"node-with-a-quite-long-name-{i:02d}" for i in range(10))
    text = members_text(base.replace(nodes=many))
    assert text.startswith("10 nodes, sha256 ") and len(text) <= 255
    assert text != members_text(base.replace(nodes=(*many[:-1], "other")))
