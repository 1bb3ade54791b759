"""``vdynamo remove NODE`` on real processes: a node killed for good is force-removed
(riak_core's ``riak-admin cluster force-remove``; docs/runtime.md, "Force-remove of a
node down for good").

``vdynamo cluster up`` (5 nodes, N = 3), 30 keys written, n5 killed (SIGKILL). The
refusals first: ``remove`` of a running node (the CLI, then the node's admin
endpoint for a node it heard from lately), an admin request without the token,
and an unknown node. Then ``remove n5``: every running member shows n5
``removed``, and every key reads back at R = 3. n5 started again on its old data
file is refused by its peers, stops by itself naming why, and changes nothing.

The cluster gossips every :data:`GOSSIP_S` s and suspects a silent peer after
:data:`SUSPICION_S` s (``cluster up --set``; defaults 1 s and 3 s), so the window
in which a node heard from is refused (max(4 suspicion timeouts, 10 gossip
intervals): 12 s by default, :meth:`impl.node.Node.force_remove`) is 4 s and the
removal settles sooner (session 19: 27.5 s of mostly idle wall before); hint scans
and anti-entropy run at ``procs.FAST_UP``'s 0.25 s and 0.5 s too (session 38: n5
seen removed by every member 2.4 -> 1.5 s after the removal, the file 10.8 -> 8.0 s).

Loopback only, bounded (about 20 s), and every process is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import vdynamo
from impl.http_api import ADMIN_FORCE_REMOVE, admin_authorization
from impl.runtime_config import load_runtime_config
from tests.runtime import procs
from tests.runtime.procs import alive, cli, cluster_up, http, request, state, wait_until

RUNNING = ("n1", "n2", "n3", "n4")
GOSSIP_S = 0.25
SUSPICION_S = 1.0
#: how long a node must have been unheard before it can be force-removed
WINDOW_S = max(4 * SUSPICION_S, 10 * GOSSIP_S)


def _status_of(directory: Path, at: str, node: str) -> str | None:
    code, _, body = request("GET", http(directory, at) + "/status")
    if code != 200:
        return None
    entry = json.loads(body)["membership"].get(node)
    return None if entry is None else str(entry["status"])


def _admin(directory: Path, at: str, node: str, token: str) -> tuple[int, str]:
    code, _, body = request("POST", http(directory, at) + f"{ADMIN_FORCE_REMOVE}?node={node}",
                            b"", headers={"Authorization": f"Bearer {token}"})
    return code, json.loads(body).get("message", "") if body else ""


def test_remove_a_killed_node_then_its_return_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "5", *procs.FAST_UP,
                    "--set", f"suspicion_timeout={SUSPICION_S}"):
        keys = [f"key-{i}" for i in range(30)]
        with vdynamo.connect([http(directory, "n1")]) as db:
            for key in keys:
                db.put(key, f"v-{key}".encode())
        read = load_runtime_config(directory / "cluster.toml")
        settings, peer_n1 = read.cluster, str(read.nodes["n1"].peer)
        assert (settings.gossip_interval, settings.suspicion_timeout) == (GOSSIP_S, SUSPICION_S)

        def token(node: str) -> str:  # one request's (session 19's service probe)
            return admin_authorization(settings.secret, settings.name, node=node,
                                       member="n1", address=peer_n1,
                                       stamp=int(time.time()))
        os.kill(state(directory)["nodes"]["n5"]["pid"], signal.SIGKILL)

        refused = cli("remove", "n2", "--dir", str(directory))
        assert refused.returncode == 1 and "n2 is running" in refused.stderr
        assert _admin(directory, "n1", "n2", "wrong")[0] == 401
        code, message = _admin(directory, "n1", "n2", token("n2"))
        assert code == 409 and "'n2' is up" in message
        code, message = _admin(directory, "n1", "n9", token("n9"))
        assert code == 409 and "unknown node 'n9'" in message
        assert _status_of(directory, "n1", "n2") == "up"
        # n2 as if not started here (by hand): the member refuses, and the hint is a
        # command that runs as shown (session 49: "(`vdynamo leave`)", no node, no --dir)
        held = state(directory)
        pid, held["nodes"]["n2"]["pid"] = held["nodes"]["n2"]["pid"], None
        (directory / "cluster.json").write_text(json.dumps(held))
        try:
            refused = cli("remove", "n2", "--dir", str(directory))
        finally:
            held["nodes"]["n2"]["pid"] = pid
            (directory / "cluster.json").write_text(json.dumps(held))
        assert refused.returncode == 1 and "'n2' is up" in refused.stderr, refused.stderr
        assert "`vdynamo leave`" not in refused.stderr
        assert f"run `vdynamo remove n2 --dir {directory}` again" in refused.stderr

        removed = procs.remove_once_down(directory, "n5")  # once n1 suspects n5
        assert removed.returncode == 0, removed.stderr
        wait_until(lambda: all(_status_of(directory, at, "n5") == "removed"
                               for at in RUNNING), 30, "every member sees n5 removed")
        with vdynamo.connect([http(directory, "n2")]) as db:
            assert [key for key in keys
                    if db.get(key, r=3).values != [f"v-{key}".encode()]] == []

        config = str((directory / "cluster.toml").resolve())
        log = directory / "n5" / "again.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "vdynamo", "serve", config, "--node", "n5"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        try:
            process.wait(timeout=30)
        finally:
            if alive(process.pid):
                process.kill()
                process.wait()
        assert "force-removed" in log.read_text()
        assert all(_status_of(directory, at, "n5") == "removed" for at in RUNNING)
        with vdynamo.connect([http(directory, "n3")]) as db:
            assert [key for key in keys
                    if db.get(key, r=3).values != [f"v-{key}".encode()]] == []


def test_a_removal_that_would_leave_fewer_than_n_names_the_way_on(tmp_path: Path) -> None:
    """Three nodes, N = 3, n3 killed: its removal is refused (two members would be
    left) with the way on named, a join first (session 49's operator walk: the
    refusal named none; `vdynamo join n4` then stays joining while n3 is down, and
    `vdynamo remove n3` is taken: by hand, docs/runtime.md, "An operator runs a
    cluster (session 49)"). About 6 s of three idle nodes."""
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "3", *procs.FAST_UP,
                    "--set", f"suspicion_timeout={SUSPICION_S}"):
        os.kill(state(directory)["nodes"]["n3"]["pid"], signal.SIGKILL)
        refused = procs.remove_once_down(directory, "n3")
        assert refused.returncode == 1
        assert refused.stderr.endswith(
            "removing 'n3' would leave 2 members, fewer than N = 3 replicas per key: join a "
            f"node first (`vdynamo join NAME --dir {directory}`; it stays joining while n3 "
            "is down, and counts), then remove n3\n"), refused.stderr
