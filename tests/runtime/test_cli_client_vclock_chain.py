"""A shell's read-modify-write loop through the CLI (``vdynamo get --json``, then
``vdynamo put --context``) in client-vclock keeps no superseded or deleted value
alive on a replica that missed it (session 48's review of the data probe,
docs/runtime.md "Review of the data probe's fix (session 48, review)").

Three real nodes, N = 3, R = W = 2, ``clock = "client-vclock"``, truncation lowered
to ``vclock_threshold = 2``, ``vclock_max_pairs = 4`` (the default 50 shows the same
after 60 read-modify-writes, 20 CPU-s). ``k = v0`` and ``d = d0`` are written at
W = 3; n3 is SIGKILLed; each key is read and written with the read's context 8 times,
each step a ``vdynamo get`` and a ``vdynamo put`` call of their own; ``d`` is deleted
with a get's context; n3 is started again on its file (it holds ``v0`` and ``d0``).
Right value (Dynamo paper 4.4: a put with a get's context supersedes what the get
read): ``get --r 3`` prints ``v8`` alone, and nothing for ``d`` (exit 1). And a
blind ``vdynamo put s z`` after ``put s x`` and ``put s y --context`` (one name now)
is a sibling of ``y``: ``[y, z]``.

Before the fix every CLI call was a library client of its own, a fresh
``X-Vdynamo-Client`` name (session 48's data probe named the library's client in
client-vclock, one name per ``vdynamo.connect``): each put added a pair to the key's
clock, truncation dropped the pairs of the older values, and n3's ``v0`` and ``d0``
were no longer dominated: ``[v8, v0]`` and ``[d0]``, the deleted value back (run and
seen; at the default truncation ``[v80, v0]``, ``[d0]`` after 80 steps). Fixed: the
CLI names itself with one name per user and host
(:func:`vdynamo.kv_cli.cli_client_id`), as one library client shared by threads (a
coordinator takes a fresh entry of the pair for a put it holds a value of the pair
the context does not cover, so its blind puts stay siblings:
tests/runtime/test_client_name_by_mode.py). 5.8 CPU-s with pytest's start and the three
nodes (this session's machine, under load). Mutants run and seen failing: the CLI's
name not set (``[v8, v0]``), ``impl.http_client.NAMED_CLOCKS`` of dvv alone (the data
probe's fix reverted: ``[v8, v0]``), the fresh-entry rule off on the nodes
(``impl.versions._client_pair_entry`` always entry 0: ``[y]``, ``z`` lost).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.runtime.procs import FAST_ROUNDS, ROOT, ServedNodes, cli
from vdynamo.kv_cli import cli_client_id

NAMES = ("n1", "n2", "n3")
STEPS = 8


def test_a_cli_read_modify_write_loop_keeps_no_stale_copy_alive(tmp_path: Path) -> None:
    lines = ["n = 3", "r = 2", "w = 2", 'clock = "client-vclock"', "vclock_threshold = 2",
             "vclock_max_pairs = 4", *FAST_ROUNDS]
    with ServedNodes(tmp_path, NAMES, lines) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        at = [arg for name in ("n1", "n2") for arg in ("--node", f"127.0.0.1:{nodes.http[name]}")]

        def context(key: str) -> str:
            got = cli("get", *at, key, "--json")
            assert got.returncode == 0, got.stderr
            text: str = json.loads(got.stdout)["context"]
            return text

        for key, value in (("k", "v0"), ("d", "d0")):
            assert cli("put", *at, key, value, "--w", "3").returncode == 0
        # the one name's blind put after its own read-modify-write: a sibling of it
        assert cli("put", *at, "s", "x").returncode == 0
        assert cli("put", *at, "s", "y", "--context", context("s")).returncode == 0
        assert cli("put", *at, "s", "z").returncode == 0
        both = cli("get", *at, "s")
        assert sorted(both.stdout.splitlines()[:-1]) == ["y", "z"], both.stdout
        nodes.kill("n3")
        for i in range(1, STEPS + 1):
            for key, prefix in (("k", "v"), ("d", "d")):
                put = cli("put", *at, key, f"{prefix}{i}", "--context", context(key))
                assert put.returncode == 0, put.stderr
        deleted = cli("delete", *at, "d", "--context", context("d"))
        assert deleted.returncode == 0, deleted.stderr
        nodes.start("n3")
        nodes.wait_ready("n3")
        every = [*at, "--node", f"127.0.0.1:{nodes.http['n3']}"]
        got = cli("get", *every, "k", "--r", "3")
        assert got.stdout.splitlines()[:-1] == [f"v{STEPS}"], got.stdout
        gone = cli("get", *every, "d", "--r", "3")
        assert (gone.returncode, gone.stdout.splitlines()[:-1]) == (1, []), gone.stdout


def test_every_cli_process_of_a_user_sends_one_name() -> None:
    """The chain above runs its CLI calls in this process; each real call is a process
    of its own, so the name must not depend on the process (a mutant naming it by its
    pid or a random draw fails here: checked with ``os.getpid()``)."""
    code = "from vdynamo.kv_cli import cli_client_id; print(cli_client_id())"
    names = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True, timeout=60).stdout.strip()
             for _ in range(2)}
    assert names == {cli_client_id()}, names
