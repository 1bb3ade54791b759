"""A replaced disk started again at once waits out its start round although its
peers are up (session 17's review of the start announce, :meth:`impl.node.Node.start`).

3 ``vdynamo serve`` processes, N = 3, R = 2, W = 2, every start heard; then six
times: n1 killed, its ``n1.sqlite*`` deleted, started again at once. Each start is
a shadow round (the announce of a fresh store): it ends when both peers answered,
or after ``shadow_round_s`` (2 s; ``/status`` stats ``shadow-round-timeout``),
client requests deferred meanwhile. The reviewer's runs (SIGTERM or SIGKILL, n1
down 0-0.2 s): the round timed out in 3 of 6 and 1 of 4 starts, and ended 0.9-2.0 s
after the HTTP port opened when answered; with n1 down 3 s it ended as the port
opened (answered) every time. Each time n1 was told it is a replaced disk (stats
``rebuilding`` 1): the cost is the wait, not a read. The supposed cause (not
shown): a peer answers the first gossip of a start once, and over its connection
to the previous process, which it has not yet seen die, so the answer is lost and
the round waits for the peer's next gossip round. Closing a peer's outbound
connection when its inbound one from the restarted node ends (tried, not kept)
changed nothing: timeouts [1, 0, 1, 0, 0, 1] still. Strict xfail until fixed; the
chance that all six starts are answered by luck was about 1 in 64 in those runs,
and the test takes about 22 s: it runs in the soak profile only
(``HYPOTHESIS_PROFILE=soak``), where a chance pass is a signal to look, not noise in CI.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PROFILE
from tests.runtime.procs import ServedNodes

NAMES = ("n1", "n2", "n3")
STARTS = 6


def _status(nodes: ServedNodes, name: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{nodes.http[name]}/status",
                                timeout=5) as response:
        status = json.loads(response.read())
    assert isinstance(status, dict)
    return status


def _timeouts(directory: Path) -> list[int]:
    """Per start of n1: its ``shadow-round-timeout`` count once the round ended."""
    timeouts = []
    with ServedNodes(directory, NAMES, ["r = 2", "w = 2"]) as nodes:
        for name in NAMES:
            nodes.start(name)
        time.sleep(3.0)  # every node heard every other's start
        for _ in range(STARTS):
            nodes.kill("n1")
            for path in directory.glob("n1.sqlite*"):  # the disk replaced
                path.unlink()
            nodes.start("n1")
            deadline = time.monotonic() + 10
            while (status := _status(nodes, "n1")).get("shadow_round") is not None:
                assert time.monotonic() < deadline, "n1's start round never ended"
                time.sleep(0.02)
            stats = status["stats"]
            assert isinstance(stats, dict)
            assert stats.get("rebuilding") == 1  # told it is a replaced disk
            timeouts.append(int(stats.get("shadow-round-timeout", 0)))
    return timeouts


@pytest.mark.skipif(PROFILE != "soak", reason="soak only: 22 s, a 1-in-64 chance pass")
@pytest.mark.xfail(strict=True, reason="a peer's answer to a quick restart's announce "
                   "is lost: the round waits out shadow_round_s (docs/runtime.md, "
                   "'Review of the rebuild (session 17)')")
def test_a_replaced_disk_started_at_once_is_answered_by_its_peers(tmp_path: Path) -> None:
    assert _timeouts(tmp_path) == [0] * STARTS
