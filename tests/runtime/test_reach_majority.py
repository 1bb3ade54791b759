"""A node that a majority of the ring's members cannot reach is not ready, though
some peer reaches it; one that a majority can reach stays ready
(:meth:`impl.runtime.NodeServer.unreached`).

Session 32 left it open (docs/runtime.md, "Client and peer-port probe (session
32)"): only a node reached by no peer was unready. n1 of five whose address three
peers' files do not give (their dials of n1 refused), reached by n2 alone, said
``ready`` while the three peers' answers to it were lost: its puts 504 and its
reads past R = 1 503. In this test's loop, the peers' dials of the restarted n1
refused for good (:func:`tests.runtime.live.restarted_refused`); every node stopped
at the end."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from impl.runtime import REACH_GRACE_S
from tests.runtime.live import QUIET, call, cluster, restarted_refused, run, url

FOR_GOOD = 1_000_000


async def _reach(tmp_path: Path, nodes: tuple[str, ...], refusing: tuple[str, ...],
                 ) -> tuple[dict[str, Any], int, str]:
    """n1 of ``nodes`` restarted in a quiet cluster, the peers ``refusing`` never
    connecting to it: its /status once every peer took its connection
    ``REACH_GRACE_S`` ago, and a put's (status, message) through it."""
    async with cluster(tmp_path, nodes=nodes, **QUIET) as servers:
        new = await restarted_refused(servers, tmp_path / "n1.sqlite",
                                      {name: [FOR_GOOD] for name in refusing})
        try:
            for _ in range(200):  # every peer dialed by n1's gossip rounds
                if len(new._dialed_at) == len(nodes) - 1:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(REACH_GRACE_S + 0.5)
            _, _, status = await call("GET", url(new, "/status"))
            code, _, answer = await call("PUT", url(new, "/kv/k?w=1"), b"v")
            return status, code, str(answer.get("message"))
        finally:
            await new.stop()


FIVE = ("n1", "n2", "n3", "n4", "n5")


@pytest.mark.parametrize(("nodes", "refusing"), [
    (FIVE, ("n3", "n4", "n5")),  # reached by n2 alone: 2 of 5 may answer it
    (FIVE[:4], ("n3", "n4")),  # reached by n2 alone: 2 of 4, half: no quorum
])
def test_a_node_a_majority_cannot_reach_is_not_ready(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, nodes: tuple[str, ...],
        refusing: tuple[str, ...]) -> None:
    """Not ready, ``reached_by`` n2, ``not_reached_by`` the refusing peers, a put
    503 naming the members and that no majority can answer it, and the log says so.
    Before: ``ready`` true (n2 had connected), the put 200."""
    caplog.set_level(logging.WARNING, logger="vdynamo")
    status, code, message = run(_reach(tmp_path, nodes, refusing), limit=60)
    assert (status["ready"], status["reached_by"], status["not_reached_by"]) == (
        False, ["n2"], list(refusing))
    assert code == 503, message
    assert f"of the {len(nodes)} members take this node's connections" in message
    assert "no majority of the members can answer it (those that did: n2)" in message
    assert "no majority of the members has connected: not ready" in caplog.text


def test_a_node_a_majority_reaches_stays_ready(tmp_path: Path) -> None:
    """n1 of five reached by n2 and n3, not by n4 and n5: n1, n2 and n3 are a
    majority, so n1 stays ready (its quorums can be made), ``not_reached_by`` naming
    n4 and n5 all the same; a put through it 200."""
    status, code, message = run(_reach(tmp_path, FIVE, ("n4", "n5")), limit=60)
    assert (status["ready"], status["reached_by"], status["not_reached_by"]) == (
        True, ["n2", "n3"], ["n4", "n5"])
    assert code == 200, message
