"""An interrupt while ``cluster up`` waits for a node's process to show leaves the
node recorded, so ``cluster down`` stops it (red team 15).

``vdynamo cluster start n1`` run under libfaketime (probe 03m) failed in its own
``time.sleep`` a few ms after starting the node (``OSError: [Errno 22]``, any
Python's sleep under that environment): ``_start`` had not returned its PID, so
``cluster.json`` named none, ``cluster status`` showed n1 without a pid and
``cluster down`` left it running, recorded nowhere. Ctrl-C in the same window (up
to ``_EXEC_WAIT_S`` while ``/proc/PID/cmdline`` is empty) did the same. ``_start``
now sets the PID in the node's entry (``entry=``) as soon as the process exists;
``join`` writes its state in a ``finally`` too (the stand-in ``_start``s of four
test files take ``entry`` and are unchanged otherwise: ``_launch`` still records
the pid ``_start`` returns).

One real node on loopback, stopped by ``cluster down`` (SIGKILL if it failed).
Mutant, run and reverted: the ``entry["pid"] = process.pid`` line dropped: the
recorded pid is None (assert fails); the node, left running, killed by the test's
``finally`` (found by its command line).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from tests.runtime.procs import alive, state, wait_until
from vdynamo import cluster_cli


def test_an_interrupt_in_the_start_wait_leaves_the_node_recorded_for_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "c"
    runs = cluster_cli._runs

    def interrupted(where: Path, pid: int | None, node: str) -> bool:
        if pid is not None:  # _start's wait for the new process (not the pre-checks)
            raise KeyboardInterrupt
        return runs(where, pid, node)

    monkeypatch.setattr(cluster_cli, "_runs", interrupted)
    started: list[int] = []
    try:
        try:
            code = cluster_cli.main_cluster(
                ["up", "--nodes", "1", "--n", "1", "--r", "1", "--w", "1",
                 "--dir", str(directory), "--wait-ready", "0"])
        except KeyboardInterrupt:
            code = 130
        monkeypatch.undo()
        assert code == 130
        pid = state(directory)["nodes"]["n1"]["pid"]
        started = [pid] if pid else []
        assert pid is not None and alive(pid)
        assert cluster_cli.main_cluster(["down", "--dir", str(directory)]) == 0
        wait_until(lambda: not alive(pid), 20, "n1 stopped by cluster down")
    finally:  # (the node's process found by its command line when none was recorded)
        config = str((directory / "cluster.toml").resolve()).encode()
        if not started:
            time.sleep(1)  # (its exec, so that its command line shows)
        for proc in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if proc.name.isdigit() and config in (proc / "cmdline").read_bytes():
                    started.append(int(proc.name))
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
