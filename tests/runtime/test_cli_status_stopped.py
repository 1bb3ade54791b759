"""``vdynamo cluster status`` names a node whose process is stopped (SIGSTOP, Ctrl-Z)
``stopped``, not ``starting`` (session 30's user probe: a node stopped by SIGSTOP
showed ``starting`` for as long as it stayed stopped)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.runtime.procs import cli, cluster_up, state


def test_a_stopped_node_is_said_stopped_and_ready_again_once_continued(
        tmp_path: Path) -> None:
    with cluster_up(tmp_path / "c") as directory:
        pid = state(directory)["nodes"]["n2"]["pid"]
        os.kill(pid, signal.SIGSTOP)
        try:
            shown = cli("cluster", "status", "--dir", str(directory))
        finally:
            os.kill(pid, signal.SIGCONT)
        assert shown.returncode == 1, shown
        row = next(line for line in shown.stdout.splitlines() if line.startswith("n2 "))
        assert row.split()[2] == "stopped", row  # before: starting
        again = cli("cluster", "status", "--wait-ready", "10", "--dir", str(directory))
        assert again.returncode == 0, again
