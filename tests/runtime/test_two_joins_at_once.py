"""Two nodes joining at once (session 17's data probe), on real ``vdynamo serve``
processes: the operator adds ``[nodes.n4]`` and ``[nodes.n5]`` to the cluster file
in one edit and starts both (riak_core's ``cluster join`` of two nodes before one
``cluster commit``; Cassandra bootstrapping two nodes).

A running node learns a joining node's addresses by re-reading the cluster file
when that node says hello (``NodeServer._learn``). It read the file only when its
mtime changed, and kept only the addresses of the node it looked up: the read for
n4's hello learned n4, n5's hello then found the file unchanged and was refused as
"hello from unknown node 'n5'" at every seed, for good. n5 stayed ``not-joined``
(45 s later every request to it answered 503 "has not joined the ring yet").
Right value: both nodes become ready and serve the values written before they
joined.

The cluster runs its background rounds faster than the defaults (``procs.FAST_ROUNDS``:
gossip and hint scans every 0.25 s, anti-entropy every 0.5 s): the joins take as
many rounds as before, sooner (session 19: 21 s wall for 5 CPU-s before).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from impl.runtime import NodeServer, load_runtime_config
from impl.storage.memory import MemoryStorage
from tests.runtime.procs import FAST_ROUNDS, ServedNodes, assert_no_internal_errors, free_ports
from tests.runtime.procs import http_call as _call

NAMES = ("n1", "n2", "n3")
JOINERS = ("n4", "n5")
KEYS = [f"k{i}" for i in range(12)]


def _ready(nodes: ServedNodes, name: str) -> bool:
    try:
        status, _, _ = _call("GET", f"http://127.0.0.1:{nodes.http[name]}/health/ready")
    except OSError:
        return False
    return status == 200


def test_two_nodes_added_in_one_edit_of_the_cluster_file_both_join(tmp_path: Path) -> None:
    with ServedNodes(tmp_path, NAMES, FAST_ROUNDS) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        base = f"http://127.0.0.1:{nodes.http['n1']}/kv/"
        for key in KEYS:
            assert _call("PUT", base + key + "?w=3", key.encode())[0] == 200
        sections = []
        for name in JOINERS:
            nodes.peer[name], nodes.http[name] = free_ports(2, _ports(nodes))
            sections += ["", f"[nodes.{name}]", f'peer = "127.0.0.1:{nodes.peer[name]}"',
                         f'http = "127.0.0.1:{nodes.http[name]}"']
        with nodes.config.open("a") as file:  # one edit names both
            file.write("\n".join(sections) + "\n")
        for name in JOINERS:
            nodes.start(name)
        deadline = time.monotonic() + 40
        while not all(_ready(nodes, name) for name in JOINERS):
            assert time.monotonic() < deadline, {
                name: _call("GET", f"http://127.0.0.1:{nodes.http[name]}/status")[2][:300]
                for name in JOINERS}
            time.sleep(0.1)
        for name in JOINERS:
            status, _, body = _call("GET", f"http://127.0.0.1:{nodes.http[name]}/status")
            assert json.loads(body)["member_status"] == "up", body[:300]
            for key in KEYS:
                status, _, body = _call(
                    "GET", f"http://127.0.0.1:{nodes.http[name]}/kv/{key}?r=1")
                assert (status, body) == (200, key.encode()), (name, key, status, body[:200])
    assert_no_internal_errors(sorted(tmp_path.glob("*.log")))


def test_one_read_of_the_cluster_file_learns_every_node_it_names(tmp_path: Path) -> None:
    """The fault without processes: after the read for n4, n5 is known too; a later
    edit (a sixth section) is read again."""
    nodes = ServedNodes(tmp_path, NAMES, [])
    sections = []
    for name in JOINERS:
        peer, http = free_ports(2, _ports(nodes))
        nodes.peer[name], nodes.http[name] = peer, http
        sections += ["", f"[nodes.{name}]", f'peer = "127.0.0.1:{peer}"',
                     f'http = "127.0.0.1:{http}"']
    with nodes.config.open("a") as file:
        file.write("\n".join(sections) + "\n")

    async def learned() -> tuple[list[bool], object]:
        loaded = load_runtime_config(nodes.config)
        server = NodeServer("n1", loaded.cluster, MemoryStorage(),
                            {name: loaded.nodes[name].peer for name in NAMES})
        server.config_path = nodes.config
        found = [server._learn("n4"), server._learn("n5"), server._learn("n6")]
        with nodes.config.open("a") as file:
            peer, http = free_ports(2, _ports(nodes))
            file.write(f'\n[nodes.n6]\npeer = "127.0.0.1:{peer}"\n'
                       f'http = "127.0.0.1:{http}"\n')
        found.append(server._learn("n6"))
        return found, server.peers.get("n5") == loaded.nodes["n5"].peer

    assert asyncio.run(learned()) == ([True, True, False, True], True)


def _ports(nodes: ServedNodes) -> set[int]:
    """Every port the cluster file names so far."""
    return {*nodes.peer.values(), *nodes.http.values()}
