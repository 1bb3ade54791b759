"""``vdynamo cluster up`` of an existing directory takes each node's ports from its
``cluster.toml``, the file the nodes' ``vdynamo serve`` reads (session 30's user
probe).

Before, it waited for each node at the ports ``cluster.json`` recorded when the
cluster was made: n1's ``http`` port edited in ``cluster.toml`` (a port taken on this
machine), ``cluster up`` printed ``n1 not ready within 30 s``, stopped every node it
had started (exit 1), and ``vdynamo get --dir`` and ``cluster status`` still named
the old port."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import urllib.request
from pathlib import Path

from tests.runtime.procs import alive, cli, free_ports, state
from tests.runtime.test_cli_up_counts import _made


def test_a_port_edited_in_the_cluster_file_is_the_one_started_and_recorded(
        tmp_path: Path) -> None:
    directory = tmp_path / "c"
    _made(directory)
    recorded = state(directory)["nodes"]["n1"]["http"]
    taken = {port for entry in state(directory)["nodes"].values()
             for port in (entry["peer"], entry["http"])}
    (new,) = free_ports(1, taken)
    config = directory / "cluster.toml"
    text = config.read_text()
    assert text.count(f"127.0.0.1:{recorded}\"") == 1
    config.write_text(text.replace(f"127.0.0.1:{recorded}\"", f"127.0.0.1:{new}\""))
    try:
        done = cli("cluster", "up", "--dir", str(directory), "--wait-ready", "20")
        assert done.returncode == 0, done.stderr  # before: 1, "n1 not ready within 30 s"
        assert f"n1 http://127.0.0.1:{new}" in done.stdout
        assert f"n1: http port {new}" in done.stderr
        assert state(directory)["nodes"]["n1"]["http"] == new
        with urllib.request.urlopen(f"http://127.0.0.1:{new}/health", timeout=5) as answer:
            assert json.loads(answer.read())["ready"]
        put = cli("put", "k", "v", "--dir", str(directory))
        assert put.returncode == 0, put.stderr
    finally:
        pids = [entry["pid"] for entry in state(directory)["nodes"].values() if entry["pid"]]
        cli("cluster", "down", "--dir", str(directory))
        for pid in pids:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
