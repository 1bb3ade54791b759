"""A client made with the library's defaults (``vdynamo.connect(nodes)``, nothing else
given) passes over a node that hangs (session 54), on real processes.

Session 54's probe (``probes/23a-library-failover-defaults.py``, 3 nodes): with the
defaults of before (``timeout_s`` 10 s, no ``deadline_s``) a client that had put and
read a key through n1 and then found n1 SIGSTOPped took 10 s for each get of a key n1
leads (then answered by another node), and each put and delete of such a key was sent
to n1 and raised OutcomeUnknownError after 10 s: a write whose fate the user must
then find out, though two nodes answered at once. The defaults now: each call ends
by ``DEADLINE_S`` (10 s) and each node's part by ``TIMEOUT_S`` (2 s), a write is
sent only to a node that answered within ``FRESH_S`` or answers ``GET /health``
first: the get, the put and the delete are answered by n2 after about 2 s on n1.

Two nodes, N = 2, R = W = 1 (n2 alone serves each key); n1 SIGSTOPped, resumed before
the cluster is stopped. Each call is the first of its own client to n1 since the stop
(each client put and read its key through n1 first, then waited ``FRESH_S``: a program
that does other work between its calls), so none knows n1 hangs. Fails on the mutants
(``/tmp/s54svclib/mut.sh``, docs/runtime.md): the default deadline None, as before
session 54 (the put sent to n1: OutcomeUnknownError), ``probe_writes`` left False (the
same), the default ``timeout_s`` 10 s, as before (the put 10.1 s, over the bound). It
imports ``DEADLINE_S``, which dbba9e95 has not.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import vdynamo
from impl.http_client import DEADLINE_S, FRESH_S, Client, Router
from tests.runtime.procs import cluster_up, request, state


def test_the_defaults_pass_over_a_hung_node_and_never_send_it_a_write(
        tmp_path: Path) -> None:
    with cluster_up(tmp_path / "c", "--nodes", "2", "--n", "2", "--r", "1",
                    "--w", "1") as directory:
        nodes = state(directory)["nodes"]
        n1, n2 = (f"127.0.0.1:{nodes[name]['http']}" for name in ("n1", "n2"))
        router = Router([n2])
        router.learn(json.loads(request("GET", f"http://{n2}/status")[2]))
        led = [key for key in (f"k{i}" for i in range(64))
               if router.candidates(key)[0] == f"http://{n1}"][:3]
        assert len(led) == 3, "too few keys led by n1"
        calls: list[tuple[str, Callable[[Client, str], Any]]] = [
            ("put", lambda client, key: client.put(key, b"new")),
            ("get", lambda client, key: client.get(key).values),
            ("delete", lambda client, key: client.delete(key))]
        clients = [vdynamo.connect([n1, n2]) for _ in calls]  # the user's defaults
        try:
            for client, key in zip(clients, led, strict=True):
                client.put(key, b"old")  # through n1, the key's first node
                assert client.get(key).values == [b"old"]
                assert client.router.suspected() == []
            time.sleep(FRESH_S + 0.2)  # nothing fresh: n1 is asked first
            os.kill(nodes["n1"]["pid"], signal.SIGSTOP)
            try:
                for (what, call), client, key in zip(calls, clients, led, strict=True):
                    began = time.monotonic()
                    answer = call(client, key)  # before: OutcomeUnknownError (a write)
                    took = time.monotonic() - began
                    assert answer, (what, answer)
                    assert what != "get" or answer == [b"old"], answer
                    assert client.router.suspected() == [f"http://{n1}"], what
                    # about TIMEOUT_S (2 s) on n1; before: 10 s (the old timeout_s)
                    assert took < DEADLINE_S / 2, (what, took)
            finally:
                os.kill(nodes["n1"]["pid"], signal.SIGCONT)
        finally:
            for client in clients:
                client.close()
