"""``vdynamo put`` and ``get`` pass over a hung coordinator after ``--node-timeout``
(session 53), on real processes.

Session 52's note: with n1 SIGSTOPped (its kernel still accepts connections), ``vdynamo
put KEY v --node N2 --node N1`` of a key n1 leads was sent to n1 and answered "the write
may have been made (outcome unknown)" after the whole ``--timeout`` (5 s: 6.5-6.7 s
wall on this session's machine), and ``get`` waited 5 s on n1 before n2 (6.2 s).
Now a put is sent to a node only once it answered within a second or answers
``GET /health`` within ``--node-timeout`` (the probe; nothing of the put sent to it
otherwise), and a get moves on after ``--node-timeout``: both answered by n2.

Two nodes, N = 2, R = W = 1 (n2 alone serves each key); n1 SIGSTOPped, resumed before
the cluster is stopped; the keys are those whose preference list n1 leads (the ring as
n2's ``/status`` gives it). Fails on e0ef9711 (no ``--node-timeout``: exit 2) and on
the mutants: the probe skipped (the put sent to n1: exit 1, outcome unknown after
``--timeout``), a get's bound the whole deadline (the get over the time bound).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from impl.http_client import Router
from tests.runtime.procs import cli, cluster_up, request, state


def test_a_hung_coordinator_is_passed_over_after_the_node_timeout(tmp_path: Path) -> None:
    with cluster_up(tmp_path / "c", "--nodes", "2", "--n", "2", "--r", "1",
                    "--w", "1") as directory:
        nodes = state(directory)["nodes"]
        n1, n2 = (f"127.0.0.1:{nodes[name]['http']}" for name in ("n1", "n2"))
        router = Router([n2])
        router.learn(json.loads(request("GET", f"http://{n2}/status")[2]))
        led = [key for key in (f"k{i}" for i in range(64))
               if router.candidates(key)[0] == f"http://{n1}"][:2]
        assert led, "no key led by n1"
        os.kill(nodes["n1"]["pid"], signal.SIGSTOP)
        try:
            for key in led:
                flags = ("--node", n2, "--node", n1, "--node-timeout", "1", "--timeout", "8")
                began = time.monotonic()
                put = cli("put", key, "v", *flags)
                got = cli("get", key, *flags)
                took = time.monotonic() - began
                assert put.returncode == 0, put  # before: 1, outcome unknown, n1 sent it
                assert f"no answer within 1 s from n1 ({n1})" in put.stderr, put
                assert got.returncode == 0 and got.stdout.startswith("v\n"), got
                assert f"no answer within 1 s from n1 ({n1})" in got.stderr, got
                assert took < 7.0, took  # under one --timeout for both (each 1 s on n1)
        finally:
            os.kill(nodes["n1"]["pid"], signal.SIGCONT)
