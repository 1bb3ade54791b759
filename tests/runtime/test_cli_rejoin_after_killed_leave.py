"""``vdynamo join`` of a node SIGKILLed right after its leave, before it announced the
settlement (session 50's data probe; docs/runtime.md, "A user's probe of the data kinds
(session 50)").

``vdynamo cluster up --nodes 4``, keys written at W = 3, ``vdynamo leave n4``; n4 is
SIGKILLed as soon as n1's ``/status`` shows it ``left`` (its handover done; only n4
announces the settlement). ``leave`` says "n4 left". A key is updated and another
deleted through n1, then ``vdynamo join n4`` (``serve --rejoin`` on n4's old data
file). Before the fix n4 announced its settlement, logged "every node here left the
ring" and stopped: ``join`` exited 1 ("n4 exited"), and so did every later ``join``.
Now it joins (:func:`impl.gossip.left_unsettled`), answers the updated key and the
deleted one at R = 1, and n1 sees it ``up``.

Mutants, each run and seen failing (session 50): ``Node``'s ``fresh`` without the
unsettled store, and ``Gossiper.settle`` without its ``_rejoin_once_left`` (the
settlement's own gossip is answered by no peer: n4 stopped; the simulator's test,
tests/impl/test_rejoin_left_unsettled.py, does not see this one). Loopback only,
bounded (about 10 s), every process stopped by :func:`procs.cluster_up`."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from subprocess import CompletedProcess

from tests.runtime import procs
from tests.runtime.procs import cli, cluster_up, http, request, state, wait_until


def _status_of(directory: Path, at: str, node: str) -> str | None:
    try:
        code, _, body = request("GET", http(directory, at) + "/status", timeout=2)
    except OSError:
        return None
    entry = json.loads(body)["membership"].get(node) if code == 200 else None
    return None if entry is None else str(entry["status"])


def test_a_node_killed_before_its_settlement_joins_again(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "4", *procs.FAST_UP):
        base = http(directory, "n1")
        keys = [f"k{i}" for i in range(12)]
        for key in keys:
            assert request("PUT", f"{base}/kv/{key}?w=3", b"v1")[0] == 200
        pid = state(directory)["nodes"]["n4"]["pid"]
        left: list[CompletedProcess[str]] = []
        leave = threading.Thread(
            target=lambda: left.append(cli("leave", "n4", "--dir", str(directory))))
        leave.start()
        try:
            wait_until(lambda: _status_of(directory, "n1", "n4") == "left", 30,
                       "n1 sees n4 left")
            os.kill(pid, signal.SIGKILL)
        finally:
            leave.join(60)
        assert left and left[0].returncode == 0, left

        def context(key: str) -> str:
            return request("GET", f"{base}/kv/{key}")[1]["x-vdynamo-context"]

        assert request("PUT", f"{base}/kv/k0", b"v2",
                       {"X-Vdynamo-Context": context("k0")})[0] == 200
        assert request("DELETE", f"{base}/kv/k1",
                       headers={"X-Vdynamo-Context": context("k1")})[0] == 200
        joined = cli("join", "n4", "--dir", str(directory))
        assert joined.returncode == 0, joined.stderr
        n4 = http(directory, "n4")
        assert request("GET", f"{n4}/kv/k0?r=1")[2] == b"v2"
        assert request("GET", f"{n4}/kv/k1?r=1")[0] == 404
        wait_until(lambda: _status_of(directory, "n1", "n4") == "up", 30, "n1 sees n4 up")
        time.sleep(0.5)
        assert [key for key in keys[2:]
                if request("GET", f"{n4}/kv/{key}?r=3")[2] != b"v1"] == []
