"""`vdynamo cluster up` on a cluster whose nodes run says so on stderr, and which it
starts when some do not (session 48's new user's walk: a second `up` printed its URLs
as a start does, whether it started nothing or a node killed meanwhile). Two nodes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.runtime.procs import alive, cli, cluster_up, state, wait_until


def test_up_says_what_it_started(tmp_path: Path) -> None:
    with cluster_up(tmp_path / "c", "--nodes", "2", "--n", "1", "--r", "1", "--w", "1",
                    "--wait-ready", "0") as directory:
        again = cli("cluster", "up", "--dir", str(directory), "--wait-ready", "0")
        assert again.returncode == 0, again
        assert again.stderr == (f"vdynamo cluster up: every node of {directory} was "
                                "running; nothing was started\n")
        pid = state(directory)["nodes"]["n2"]["pid"]
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)  # (a child of this process: `up` ran here)
        wait_until(lambda: not alive(pid), 5.0, "n2 gone")
        restarted = cli("cluster", "up", "--dir", str(directory), "--wait-ready", "0")
        assert restarted.returncode == 0, restarted
        assert restarted.stderr == (f"vdynamo cluster up: starting n2; the others of "
                                    f"{directory} were running\n")
