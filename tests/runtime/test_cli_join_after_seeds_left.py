"""A node joins a local cluster whose initial members have all left (session 47's data
probe, case 07's kind: a rolling replacement, Riak's "join the new node, then the old
one leaves" once per node).

A joining node gossips first with the cluster's seeds (``[cluster] seeds``, by default
the initial members ``[cluster] nodes``: paper 4.8.2, "seeds ... known to all nodes")
and takes its tokens from the first view a seed answers with. ``vdynamo cluster up``
writes the initial members as ``nodes`` and ``vdynamo join`` only appended the new
node's section, so once every initial member had left a joining node asked only
nodes that no longer run: ``vdynamo join n7`` after n4-n6 replaced n1-n3 (one join,
then one leave, three times) answered "n7 not ready within 30 s: member_status
not-joined" and n7 stayed so for good (503 to every request); the next ``leave``
then waited for ever for a member that never joined. The smallest cluster shows it:
one node (N = 1), n2 joins, n1 leaves, n3 joins. Now ``vdynamo join`` names the
members still in the cluster as the file's ``seeds`` when none of the seeds it gives
is one (:func:`vdynamo.cluster_cli.main_join`).

Loopback only, bounded (each command waits at most 30-120 s; about 6 s here), every
process stopped (:func:`tests.runtime.procs.cluster_up`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import vdynamo
from tests.runtime.procs import FAST_UP, ROOT, cli, cluster_up, http, state
from vdynamo.cluster_cli import _answer


def test_a_node_joins_after_every_initial_member_left(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "1", "--n", "1", "--r", "1", "--w", "1", *FAST_UP):
        with vdynamo.connect([http(directory, "n1")]) as db:
            db.put("k", b"v1")
        joined = cli("join", "n2", "--dir", str(directory))
        assert joined.returncode == 0, joined.stderr
        left = cli("leave", "n1", "--dir", str(directory))
        assert left.returncode == 0, left.stderr
        joined = cli("join", "n3", "--dir", str(directory))
        assert joined.returncode == 0, joined.stderr  # before: not-joined for good
        with open(directory / "cluster.toml", "rb") as config:
            assert tomllib.load(config)["cluster"]["seeds"] == ["n2"]
        with vdynamo.connect([http(directory, "n3")]) as db:
            assert db.get("k").values == [b"v1"]


def test_a_node_joins_through_a_running_member_while_the_seed_is_down(
        tmp_path: Path) -> None:
    """Session 47's review: the seeds (``["n2"]``, written at n3's join) name a
    member that is down. ``join n4`` kept them: n4 asked only n2, no member heard of
    it, and after 30 s "n4 not ready within 30 s: member_status not-joined". Now the
    members running are the seeds when no seed runs (``["n3"]``): n3 hears n4 at
    once, n4's join waits for n2 (down, it holds partitions n4 takes) and completes
    once n2 is back. Mutant checked: members counted running or not (the probe's
    rule) -> n3 never hears of n4 (about 20 s, then this test fails)."""
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "1", "--n", "1", "--r", "1", "--w", "1", *FAST_UP):
        with vdynamo.connect([http(directory, "n1")]) as db:
            db.put("k", b"v1")
        for command in (("join", "n2"), ("leave", "n1"), ("join", "n3")):
            done = cli(*command, "--dir", str(directory))
            assert done.returncode == 0, done.stderr
        pid = state(directory)["nodes"]["n2"]["pid"]
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        join = subprocess.Popen(
            [sys.executable, "-m", "vdynamo", "join", "n4", "--dir", str(directory)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20.0
            while "n4" not in ((_answer(state(directory)["nodes"]["n3"]["http"], "/status")
                                or {}).get("membership") or {}):  # before: never
                assert time.monotonic() < deadline and join.poll() is None
                time.sleep(0.1)
            up = cli("cluster", "up", "--dir", str(directory))  # n2 back
            assert up.returncode == 0, up.stderr
            _, err = join.communicate(timeout=60.0)
        finally:
            if join.poll() is None:
                join.kill()
            join.wait()
        assert join.returncode == 0, err
        with open(directory / "cluster.toml", "rb") as config:
            assert tomllib.load(config)["cluster"]["seeds"] == ["n3"]
        with vdynamo.connect([http(directory, "n4")]) as db:
            assert db.get("k").values == [b"v1"]
