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

from impl.errors import InvalidValueError
from impl.runtime import REACH_GRACE_S
from tests.runtime.live import QUIET, call, cluster, restarted_refused, run, url

FOR_GOOD = 1_000_000


async def _reach(tmp_path: Path, nodes: tuple[str, ...], refusing: tuple[str, ...],
                 undialed: tuple[str, ...] = ()) -> tuple[dict[str, Any], int, str]:
    """n1 of ``nodes`` restarted, the peers ``refusing`` never connecting to it (a
    quiet cluster), or n1 never connecting to the peers ``undialed`` (every node's
    gossip rounds 0.2 s apart: they connect to it): its /status once every peer
    took its connection, or connected to it, ``REACH_GRACE_S`` ago (ready until
    then), and a put's (status, message) through it."""
    quiet = dict(QUIET) if not undialed else {"restore_guard": False,
                                               "gossip_interval": 0.2}
    async with cluster(tmp_path, nodes=nodes, **quiet) as servers:
        new = await restarted_refused(servers, tmp_path / "n1.sqlite",
                                      {name: [FOR_GOOD] for name in refusing},
                                      {name: [FOR_GOOD] for name in undialed})
        try:
            for _ in range(200):  # every peer dialed by n1, or dialing it
                if (len(new._dialed_at) + len(new.cannot_dial) == len(nodes) - 1
                        and len(new._reached_by) + len(refusing) == len(nodes) - 1):
                    break
                await asyncio.sleep(0.05)
            # ready within the grace: a peer may connect, a dial may pass, any time now
            assert new.health()["ready"] is True, new.unreached()
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
    assert f"{', '.join(refusing)} take this node's connections but have not" in message
    assert (f"{len(refusing)} of the {len(nodes)} members cannot exchange messages with "
            "this node both ways, so no majority of the members can answer it") in message
    assert ("no majority of the members exchanges messages with it both ways: not ready"
            in caplog.text)


def test_a_node_a_majority_reaches_stays_ready(tmp_path: Path) -> None:
    """n1 of five reached by n2 and n3, not by n4 and n5: n1, n2 and n3 are a
    majority, so n1 stays ready (its quorums can be made), ``not_reached_by`` naming
    n4 and n5 all the same; a put through it 200."""
    status, code, message = run(_reach(tmp_path, FIVE, ("n4", "n5")), limit=60)
    assert (status["ready"], status["reached_by"], status["not_reached_by"]) == (
        True, ["n2", "n3"], ["n4", "n5"])
    assert code == 200, message


def test_a_node_that_cannot_dial_a_majority_is_not_ready(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The mirror: n1 of three reached by n2 and n3 (their gossip) but unable to dial
    either (its file giving them wrong addresses: every dial refused), so every
    message it sends them is lost: not ready once ``REACH_GRACE_S`` passed, its put
    503 naming them, one log line. Before: ``ready`` (both had connected), the put
    200 at W = 1 and 504 at W = 2."""
    caplog.set_level(logging.WARNING, logger="vdynamo")
    status, code, message = run(_reach(tmp_path, FIVE[:3], (), ("n2", "n3")), limit=60)
    assert (status["ready"], status["reached_by"], sorted(status["cannot_dial"])) == (
        False, ["n2", "n3"], ["n2", "n3"])
    assert code == 503, message
    assert "this node cannot connect to n2, n3, connected to it" in message
    assert "2 of the 3 members cannot exchange messages with this node both ways" in message
    assert caplog.text.count("n1: not ready: ") == 1, caplog.text


def test_a_node_that_cannot_dial_a_minority_stays_ready(tmp_path: Path) -> None:
    """n1 of three unable to dial n2 alone: n1 and n3 are a majority, so n1 stays
    ready, n2 named in ``cannot_dial``; a put through it 200."""
    status, code, message = run(_reach(tmp_path, FIVE[:3], (), ("n2",)), limit=60)
    assert (status["ready"], sorted(status["cannot_dial"])) == (True, ["n2"])
    assert code == 200, message


async def _removed_peer(tmp_path: Path) -> tuple[bool, bool, list[str], tuple[str, ...]]:
    """Five nodes (gossip 0.2 s, suspicion 0.5 s: a member down 2 s is removable), n1
    restarted, n4's and n5's dials of it refused for good: n1 ready (2 of 5 cut off).
    Then n5 stopped and force-removed through n2: n1's readiness once its view has n5
    ``removing``, its ``not_reached_by`` and its view's live members."""
    async with cluster(tmp_path, nodes=FIVE, gossip_interval=0.2,
                       suspicion_timeout=0.5) as servers:
        new = await restarted_refused(servers, tmp_path / "n1.sqlite",
                                      {"n4": [FOR_GOOD], "n5": [FOR_GOOD]})
        try:
            await asyncio.sleep(REACH_GRACE_S + 0.5)
            before = bool(new.health()["ready"])
            await servers[4].stop()
            for _ in range(100):  # n2 holds n5 down after its window (2 s)
                try:
                    await servers[1].force_remove("n5")
                    break
                except InvalidValueError:
                    await asyncio.sleep(0.2)
            for _ in range(100):  # the removal gossiped to n1
                if "n5" not in new.node.view.live_nodes:
                    break
                await asyncio.sleep(0.05)
            return (before, bool(new.health()["ready"]), new.unreached_by(),
                    new.node.view.live_nodes)
        finally:
            await new.stop()


def test_a_force_removed_peer_no_longer_counts(tmp_path: Path) -> None:
    """n1 of five not reached by n4 and n5 (2 of 5: ready); n5 then stopped for good and
    force-removed: the members are four, and of them n4 alone cannot reach n1 (1 of
    4), so n1 stays ready. Before (session 33's review): n5, no longer a member, was
    still counted against the four members, 2 of 4, and n1 said not ready, every
    request 503, because the operator removed a dead node."""
    before, after, unreached, members = run(_removed_peer(tmp_path), limit=90)
    assert members == ("n1", "n2", "n3", "n4")
    assert (before, after, unreached) == (True, True, ["n4", "n5"])
