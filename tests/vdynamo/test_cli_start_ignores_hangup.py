"""A node started by ``vdynamo cluster start``/``up``/``join`` survives a SIGHUP sent
before its ``vdynamo serve`` installed its handler (session 53's review).

Session 53 made SIGHUP a re-read of the cluster file ("a node lost to a reload is the
worse surprise"), but the handler exists only once the node serves: in its first second
or so (Python's start, the imports, the store opened) SIGHUP had its default action.
On a real cluster (``/tmp/s53r/c2``, session 53's machine) ``kill -HUP`` of n4 0.8 s
after ``cluster start n4`` left a zombie, nothing in its log, and ``cluster status``
named n4 down. Now :func:`vdynamo.cluster_cli._start` starts the process with SIGHUP
ignored (it stays so across exec), until ``vdynamo serve`` sets its handler.

The child here is a stand-in for ``python -m vdynamo serve`` (``sys.executable``
patched to a shell script): it sends itself SIGHUP first thing, then writes a line.
Fails on 39071267 (the shell is killed by its SIGHUP: no line). Mutant checked:
``_hangup_ignored`` yielding without setting SIG_IGN (fails). About 0.1 s.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from vdynamo import cluster_cli


def _ended(pid: int) -> bool:
    """Whether child ``pid`` ended (reaped here, or already by its Popen's finalizer)."""
    try:
        return os.waitpid(pid, os.WNOHANG) != (0, 0)
    except ChildProcessError:
        return True


def test_a_node_started_survives_a_hangup_at_its_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "alive"
    script = tmp_path / "serve.sh"
    script.write_text(f"#!/bin/sh\nkill -HUP $$\necho alive > {marker}\nexec sleep 30\n")
    script.chmod(0o755)
    (tmp_path / "n1").mkdir()
    monkeypatch.setattr(sys, "executable", str(script))
    monkeypatch.setattr(cluster_cli, "_runs", lambda directory, pid, node: True)
    before = signal.getsignal(signal.SIGHUP)
    pid = cluster_cli._start(tmp_path, "n1")
    try:
        assert signal.getsignal(signal.SIGHUP) == before  # this process's, given back
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            if _ended(pid):
                break  # (killed by its SIGHUP)
            time.sleep(0.01)
        assert marker.exists(), "the child was killed by a SIGHUP at its start"
    finally:
        if not _ended(pid):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
