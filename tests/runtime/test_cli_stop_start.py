"""``vdynamo cluster stop NODE`` and ``vdynamo cluster start NODE``: one node of a local
cluster stopped gracefully and started again, the others left running (session 50's
operator walk: there was no such command; the documented stop of one node was SIGTERM
to the PID ``cluster status`` shows, as ``riak stop`` and ``nodetool drain`` do on one
node of Riak and Cassandra).

One cluster of three processes (N = 2, so a key of the stopped node has a fallback
that holds a hint for it), bounded, every process stopped (:func:`cluster_up`)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from tests.runtime.procs import FAST_UP, cli, cluster_up, http, request, state, wait_until

KEYS = [f"k{i}" for i in range(12)]


def _status(directory: Path, node: str) -> dict[str, Any]:
    code, _, body = request("GET", http(directory, node) + "/status")
    assert code == 200, (node, code)
    answer: dict[str, Any] = json.loads(body)
    return answer


def _hints_for(directory: Path, holders: list[str], intended: str) -> int:
    return sum(int(_status(directory, node)["hints_pending"].get(intended, 0))
               for node in holders)


def _row(directory: Path, node: str) -> list[str]:
    shown = cli("cluster", "status", "--dir", str(directory))
    return next(line for line in shown.stdout.splitlines() if line.startswith(f"{node} ")
                ).split()


def test_one_node_stopped_gracefully_its_hints_kept_and_started_again(
        tmp_path: Path) -> None:
    """``cluster stop n3``: exit 0, a graceful stop; ``cluster status`` shows n3 down
    (exit 1); a second stop, a stop of an unknown node, a start of a running one:
    exit 1 naming why. Writes meanwhile leave hints for n3 at n1 and n2. ``cluster
    stop n1`` while a read through it waits (n2 held by SIGSTOP, so R = 2 cannot be
    met before ``request_timeout``): the read is answered (503), not cut; n1's hints
    for n3 are kept across its stop and start. ``cluster start n3``: ready, the
    hints delivered, every key read back at R = 2.

    Mutants (each run, each failing this test): ``_terminate`` sending SIGKILL, not
    SIGTERM (the read in flight cut: ``RemoteDisconnected``, no status);
    ``_start_node`` returning before ``_launch`` (n3 never ready); ``serve``'s
    ``stopping`` line not logged (n3's log names no SIGTERM); ``_quorum_warning``
    never warning (session 51: the stop of n1 with n3 down is not warned);
    ``_file_problem`` never a problem (session 51: the broken file not said);
    n2, SIGSTOPped, counted among the nodes serving (session 51's review: the
    partitions without n2 only)."""
    with cluster_up(tmp_path / "c", "--nodes", "3", "--n", "2", "--r", "1", "--w", "1",
                    *FAST_UP, "--set", "request_timeout=3") as directory:
        where = ["--dir", str(directory)]
        # an edit that does not load, made before the stop: said by `stop` (session
        # 51: nothing said, and the node stopped then could not start again)
        good = (directory / "cluster.toml").read_text()
        (directory / "cluster.toml").write_text(good + "this is = = broken\n")
        stopped = cli("cluster", "stop", "n3", *where)
        told = "warning: the cluster file does not load: "
        assert f"vdynamo cluster stop: {told}" in stopped.stderr, stopped.stderr
        (directory / "cluster.toml").write_text(good)
        assert stopped.returncode == 0, stopped
        assert stopped.stdout.startswith("n3 stopped (a graceful stop in "), stopped.stdout
        assert "running: n1, n2" in stopped.stdout, stopped.stdout
        assert "replicas running" not in stopped.stderr, stopped.stderr  # R = W = 1 of 2 left
        assert state(directory)["nodes"]["n3"]["pid"] is None
        log = (directory / "n3" / "node.log").read_text()
        assert "n3: stopping (SIGTERM)" in log and '"n3: stopped"' in log, log[-600:]
        assert _row(directory, "n3")[1:3] == ["-", "down"]
        assert cli("cluster", "status", *where).returncode == 1
        again = cli("cluster", "stop", "n3", *where)
        assert again.returncode == 1 and "n3 is not running" in again.stderr, again
        assert f"`vdynamo cluster start n3 --dir {directory}`" in again.stderr, again
        unknown = cli("cluster", "stop", "n9", *where)
        assert unknown.returncode == 1 and "no node n9" in unknown.stderr, unknown
        running = cli("cluster", "start", "n1", *where)
        assert running.returncode == 1 and "n1 is already running" in running.stderr, running

        for key in KEYS:
            code, _, _ = request("PUT", http(directory, "n1") + f"/kv/{key}?w=1", b"v-" +
                                 key.encode())
            assert code == 200, (key, code)
        wait_until(lambda: _hints_for(directory, ["n1", "n2"], "n3") > 0, 10,
                   "hints for n3")
        time.sleep(1.0)  # (every put answered: the last fallback writes land meanwhile)
        held_by_n1 = _hints_for(directory, ["n1"], "n3")

        n2 = state(directory)["nodes"]["n2"]["pid"]
        answered: list[object] = []
        url = http(directory, "n1") + "/kv/k0?r=2"

        def read() -> None:
            try:
                answered.append((request("GET", url, timeout=20)[0], time.monotonic()))
            except OSError as error:
                answered.append(error)

        os.kill(n2, signal.SIGSTOP)
        try:
            reader = threading.Thread(target=read)
            reader.start()
            time.sleep(0.5)
            began = time.monotonic()
            stop_n1 = cli("cluster", "stop", "n1", *where)
            reader.join(20)
        finally:
            os.kill(n2, signal.SIGCONT)
        assert stop_n1.returncode == 0 and "a graceful stop" in stop_n1.stdout, stop_n1
        # n1 and n3 down: the keys they both replicate have none of their 2 running
        # (session 51: said nothing before; tests/vdynamo/test_cli_stop_quorum_warning.py)
        assert "vdynamo cluster stop: warning: with n1 stopped, " in stop_n1.stderr, stop_n1
        assert "than R=1, W=1 (the fewest 0, of " in stop_n1.stderr, stop_n1.stderr
        # n2 SIGSTOPped serves nothing: every partition is left with none (session 51's
        # review: n2 counted running, only the partitions without it were named)
        short, total = stop_n1.stderr.split("with n1 stopped, ")[1].split(
            " partitions")[0].split(" of the ring's ")
        assert short == total, stop_n1.stderr
        assert "running: n2 (its process stopped: SIGSTOP?)" in stop_n1.stdout, stop_n1
        assert len(answered) == 1 and isinstance(answered[0], tuple), answered
        code, at = answered[0]
        assert code in (503, 504) and at > began, answered  # answered during the stop

        assert cli("cluster", "start", "n1", *where).returncode == 0
        assert _hints_for(directory, ["n1"], "n3") == held_by_n1 > 0, held_by_n1
        started = cli("cluster", "start", "n3", *where)
        assert started.returncode == 0, started
        assert started.stdout.strip() == f"n3 {http(directory, 'n3')}", started.stdout
        assert _row(directory, "n3")[2:4] == ["ready", "up"]
        wait_until(lambda: _hints_for(directory, ["n1", "n2"], "n3") == 0, 15,
                   "the hints for n3 delivered")
        assert _status(directory, "n3")["keys"] > 0
        for key in KEYS:
            code, _, body = request("GET", http(directory, "n3") + f"/kv/{key}?r=2")
            assert (code, body) == (200, b"v-" + key.encode()), (key, code, body)
