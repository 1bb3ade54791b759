"""Session 26 on real processes: a member that dies for good during another member's
leave is force-removed, and the leave completes (docs/runtime.md, "Membership fixes
(session 26)"). Before, ``vdynamo remove`` was refused ("a membership change is in
progress") and the leave waited for the dead member for ever.

``vdynamo cluster up`` (5 nodes, N = 3, strategy 3, gossip 0.25 s, suspicion 1 s),
20 keys at W = 3; n3 signalled to leave as ``vdynamo leave`` does, n5 SIGKILLed at
once; ``vdynamo remove n5`` once n1 holds it down; n5 ``removed`` and n3 ``left`` in
n1's view; every key read at R = 3. Loopback only, bounded (about 20 s), every
process stopped; soak-only (the simulator's
``test_a_member_dead_for_good_during_another_leave_is_removed_and_the_leave_completes``
runs in CI)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

import vdynamo
from tests.runtime import procs
from tests.runtime.procs import cluster_up, http, members, state, wait_until

SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"

GOSSIP_S = 0.25
SUSPICION_S = 1.0


@pytest.mark.skipif(not SOAK, reason="soak only (about 20 s of real processes)")
def test_a_member_killed_during_a_leave_is_removed_and_the_leave_completes(
        tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "5", "--set", f"gossip_interval={GOSSIP_S}",
                    "--set", f"suspicion_timeout={SUSPICION_S}"):
        keys = [f"key-{i}" for i in range(20)]
        with vdynamo.connect([http(directory, "n1")]) as db:
            for key in keys:
                db.put(key, f"v-{key}".encode(), w=3)
        os.kill(state(directory)["nodes"]["n3"]["pid"], signal.SIGUSR1)  # as `leave` does
        os.kill(state(directory)["nodes"]["n5"]["pid"], signal.SIGKILL)
        wait_until(lambda: members(directory, "n1").get("n3") == "leaving", 20, "n3 leaving")
        removed = procs.remove_once_down(directory, "n5")  # before: "a membership change"
        assert removed.returncode == 0, removed
        wait_until(lambda: (members(directory, "n1").get("n5"),
                            members(directory, "n1").get("n3")) == ("removed", "left"),
                   30, "n5 removed and n3 left")
        with vdynamo.connect([http(directory, "n1")]) as db:
            wrong = [key for key in keys if db.get(key, r=3).values != [f"v-{key}".encode()]]
        assert wrong == []
