"""Session 31's removal that crosses a join, on real processes (session 32's operator
probe; docs/runtime.md, "Operator probe (session 32)").

``vdynamo cluster up`` (4 nodes, N = 3, R = W = 2, strategy 3, fast rounds, suspicion
1 s), 20 keys written at W = 3; n4 SIGKILLed for good; ``vdynamo join n5`` (its own
process: it waits for n5 to be ready); once n1 holds n4 down, ``vdynamo remove n4``.
Meanwhile a sequential client reads (R = 2) and rewrites the keys with the read's
context through n1, n2 and n3 in turn. Right values: the removal is accepted while
n5 joins (exit 0: before session 31 it was refused, "a membership change is in
progress", and the join waited for n4 for good), ``vdynamo join`` exits 0 (n5
ready), n1 sees n4 ``removed`` and n5 ``up``, and every key reads back at R = 3,
through n1 and through n5, as the last value acknowledged (a put answered with an
error may or may not be there). Loopback only, bounded (about 30 s), every
process stopped (``procs.cluster_up``; the join's own process is waited for).
Soak-only, as its twin test_cli_remove_during_leave.py (13-26 s of real processes;
CI keeps the in-process tests/impl/test_removal_during_join.py, whose mutant is the
same refusal restored)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import vdynamo
from tests.runtime import procs
from tests.runtime.procs import FAST_UP, ROOT, cluster_up, http, members, state, wait_until
from vdynamo.client import Client

KEYS = [f"key-{i}" for i in range(20)]
WRITERS = ("n1", "n2", "n3")


class _Writer(threading.Thread):
    """Read-modify-writes over :data:`KEYS` through :data:`WRITERS` in turn until
    stopped: ``acked[key]`` is the last value acknowledged, ``unsure[key]`` the values
    of puts answered with an error since (written or not)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(daemon=True)
        self.directory = directory
        self.acked = {key: f"v-{key}".encode() for key in KEYS}
        self.unsure: dict[str, set[bytes]] = {key: set() for key in KEYS}
        self.done = threading.Event()
        self.writes = 0

    def run(self) -> None:
        clients = {name: vdynamo.connect([http(self.directory, name)], timeout_s=5.0)
                   for name in WRITERS}
        try:
            step = 0
            while not self.done.is_set():
                key, db = KEYS[step % len(KEYS)], clients[WRITERS[step % len(WRITERS)]]
                step += 1
                value = f"w{step}-{key}".encode()
                try:
                    context = db.get(key).context
                    db.put(key, value, context=context)
                except vdynamo.DynamoError:
                    self.unsure[key].add(value)
                    continue
                self.acked[key], self.unsure[key] = value, set()
                self.writes += 1
                time.sleep(0.02)
        finally:
            for db in clients.values():
                db.close()

    def wrong(self, db: Client) -> list[tuple[str, list[bytes]]]:
        """The keys whose read at R = 3 misses the last acknowledged value or holds
        a value never written since it."""
        wrong = []
        for key in KEYS:
            values = db.get(key, r=3).values
            if (self.acked[key] not in values
                    or any(v != self.acked[key] and v not in self.unsure[key] for v in values)):
                wrong.append((key, values))
        return wrong


SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"


@pytest.mark.skipif(not SOAK, reason="soak only (13-26 s of real processes)")
def test_a_member_killed_before_a_join_is_removed_and_the_join_completes(
        tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "4", *FAST_UP, "--set", "suspicion_timeout=1.0"):
        with vdynamo.connect([http(directory, "n1")]) as db:
            for key in KEYS:
                db.put(key, f"v-{key}".encode(), w=3)
        writer = _Writer(directory)
        writer.start()
        os.kill(state(directory)["nodes"]["n4"]["pid"], signal.SIGKILL)
        join = subprocess.Popen([sys.executable, "-m", "vdynamo", "join", "n5", "--dir",
                                 str(directory)], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: members(directory, "n1").get("n5") == "joining", 20,
                       "n1 sees n5 joining")
            removed = procs.remove_once_down(directory, "n4")
            assert removed.returncode == 0, removed.stderr
            _, err = join.communicate(timeout=60)
            assert join.returncode == 0, err
        finally:
            if join.poll() is None:
                join.kill()
                join.wait(10)
            writer.done.set()
            writer.join(30)
        wait_until(lambda: {node: members(directory, "n1").get(node) for node in ("n4", "n5")}
                   == {"n4": "removed", "n5": "up"}, 30, "n4 removed and n5 up at n1")
        assert writer.writes > 0
        for at in ("n1", "n5"):
            with vdynamo.connect([http(directory, at)], timeout_s=5.0) as db:
                assert writer.wrong(db) == [], at
