"""``vdynamo get``, ``put`` and ``delete`` bound their wait on a hung node and name it
(session 52; session 51's service probe: with n1 SIGSTOPped, ``vdynamo put`` and
``get`` through ``--dir`` each took 10.6 s, the library's ``timeout_s`` on n1 before
the next node, and said nothing of it).

A node of ``--dir`` whose process is stopped (state T) is asked last and named; a
node given by ``--node`` that accepts connections and never answers (the kernel
accepts a stopped process's connections) is left after ``--timeout`` seconds (5 by
default) and named. One real node (``cluster up --nodes 1``); the hung node is a
stopped ``sleep``-like process whose command line reads as a ``vdynamo serve`` of
the directory's file, and a listening socket that never accepts.

Mutants checked to fail: the stopped node not put last (``process_stopped`` False:
the get waits 5 s on it, and nothing is named); ``_name_silent`` not called (the
``--node`` line missing); ``--timeout`` not passed to ``connect`` (10 s: over the
bound). Session 53: each node's part is ``--node-timeout``, ``--timeout`` the
whole command's. Session 52's review: every node that runs stopped, the others down, was
compared with every node (``len(nodes)``), not those running: the get waited 5 s
on the stopped one; that mutant fails the last part.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.runtime.procs import cli, cluster_up, state


def test_a_hung_node_is_asked_last_and_named(tmp_path: Path) -> None:
    with cluster_up(tmp_path / "c", "--nodes", "1", "--n", "1", "--r", "1",
                                     "--w", "1") as directory, socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)  # connections complete in the kernel's backlog; never answered
        port = hung.getsockname()[1]
        config = str((directory / "cluster.toml").resolve())
        fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                 "serve", config, "--node", "n0"])
        try:
            cmdline = Path(f"/proc/{fake.pid}/cmdline")
            deadline = time.monotonic() + 10  # exec'd (its command line read) first
            while b"serve" not in cmdline.read_bytes():
                assert time.monotonic() < deadline, "the stand-in never started"
                time.sleep(0.01)
            os.kill(fake.pid, signal.SIGSTOP)
            while Path(f"/proc/{fake.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
                assert time.monotonic() < deadline, "the stand-in never stopped"
                time.sleep(0.01)
            written = state(directory)
            written["nodes"] = {"n0": {"pid": fake.pid, "http": port, "peer": port},
                                **written["nodes"]}  # n0 first: asked first before
            (directory / "cluster.json").write_text(json.dumps(written))
            began = time.monotonic()
            put = cli("put", "k", "v", "--dir", str(directory))
            got = cli("get", "k", "--dir", str(directory))
            took = time.monotonic() - began
            assert put.returncode == 0 and got.returncode == 0, (put, got)
            assert got.stdout.startswith("v\n"), got
            said = f"n0 (127.0.0.1:{port}) is stopped (SIGSTOP?): asked last"
            assert said in put.stderr and said in got.stderr, (put, got)
            assert took < 4.0, took  # before: 10 s each, on n0's /status
            n1 = f"127.0.0.1:{state(directory)['nodes']['n1']['http']}"
            began = time.monotonic()
            got = cli("get", "k", "--node", f"127.0.0.1:{port}", "--node", n1,
                      "--node-timeout", "0.5")  # (--timeout: the whole command's since
            # session 53; each node's part is --node-timeout)
            took = time.monotonic() - began
            assert got.returncode == 0 and got.stdout.startswith("v\n"), got
            assert f"vdynamo get: no answer within 0.5 s from 127.0.0.1:{port}" in (
                got.stderr), got
            assert took < 3.0, took
            bad = cli("get", "k", "--node", n1, "--timeout", "0")
            assert bad.returncode == 2 and "must be seconds in (0, 3600]" in bad.stderr
            # n1 down, n0 stopped: every node that runs is stopped, said at once
            # (session 52's review: before, 5 s on n0 after n1 refused)
            assert cli("cluster", "stop", "n1", "--dir", str(directory)).returncode == 0
            began = time.monotonic()
            got = cli("get", "k", "--dir", str(directory))
            took = time.monotonic() - began
            assert got.returncode == 1 and (
                "that runs is stopped (SIGSTOP?): n0; nothing was sent" in got.stderr), got
            assert took < 3.0, took
        finally:
            fake.kill()
            fake.wait()
