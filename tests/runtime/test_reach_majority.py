"""A node that a majority of the ring's members cannot reach is not ready, though
some peer reaches it; one that a majority can reach stays ready
(:meth:`impl.runtime.NodeServer.unreached`).

Session 32 left it open (docs/runtime.md, "Client and peer-port probe (session
32)"): only a node reached by no peer was unready. n1 of five whose address three
peers' files do not give (their dials of n1 refused), reached by n2 alone, said
``ready`` while the three peers' answers to it were lost: its puts 504 and its
reads past R = 1 503. In this test's loop, the peers' dials of the restarted n1
refused for good (:func:`tests.runtime.live.restarted_refused`); every node stopped
at the end.

The tests run under a grace of :data:`GRACE_S` (the ``reach_grace_s`` option, 5 s by
default): each waits it out once, and their claims are about which peers count, not
about the grace's length (session 37: the file's 10 tests 66.7 -> 41.8 s of wall
under 2.5 s, monkeypatched; session 44: 1 s, the option; the scratch mutants of the
reach gate killed as before; docs/model-checking.md, "Where CI's test time goes
(session 44): waiting tests"). A check that n1 is still ready inside the grace is
made only while the loop's clock says the grace has not passed (a loaded machine
may get there late: the test never fails on time)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from impl.errors import InvalidValueError
from tests.runtime.live import QUIET, call, cluster, restarted_refused, run, url

FOR_GOOD = 1_000_000
#: the reach grace these tests run with (seconds, ``reach_grace_s``; 5 by default),
#: still past a quiet cluster's connect-backs (under 0.5 s)
GRACE_S = 1.0
#: the grace of the tests whose restarted n1 cannot dial peers that send to it
#: (seconds): n1 counts them only once they were heard since its dials of them began
#: failing, and after a restart their writers' backoff (up to 1 s) and a gossip round
#: that picks n1 (0.2 s, one peer in two) often come later than 1 s, past the moment
#: :func:`_reach` reads the status. (The "not ready" line no longer needs them heard
#: by the grace's end: session 44, ``_check_dialed`` checks again a grace later.)
UNDIALED_GRACE_S = 2.5


async def _reach(tmp_path: Path, nodes: tuple[str, ...], refusing: tuple[str, ...],
                 undialed: tuple[str, ...] = ()) -> tuple[dict[str, Any], int, str]:
    """n1 of ``nodes`` restarted, the peers ``refusing`` never connecting to it (a
    quiet cluster), or n1 never connecting to the peers ``undialed`` (every node's
    gossip rounds 0.2 s apart: they connect to it): its /status once every peer
    took its connection, or connected to it, :data:`GRACE_S` ago
    (:data:`UNDIALED_GRACE_S` with ``undialed``; ready until
    then), and a put's (status, message) through it."""
    quiet = dict(QUIET) if not undialed else {"restore_guard": False,
                                               "gossip_interval": 0.2}
    grace = UNDIALED_GRACE_S if undialed else GRACE_S
    async with cluster(tmp_path, nodes=nodes, reach_grace_s=grace, **quiet) as servers:
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
            # (checked only while the grace of the first peer dialed has not passed)
            first = min([*new._dialed_at.values(), *(
                at for at, _, _ in new._dial_failures.values())], default=new.loop.time())
            ready = new.health()["ready"]
            assert ready is True or new.loop.time() - first >= grace, new.unreached()
            await asyncio.sleep(grace + 0.5)
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
    message it sends them is lost: not ready once the grace passed, its put
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


async def _removed_peer(tmp_path: Path) -> tuple[Any, Any, list[str], tuple[str, ...]]:
    """Five nodes (gossip 0.2 s, suspicion 0.5 s: a member down 2 s is removable; a
    restarted node's shadow round at most 0.5 s), n1
    restarted, n4's and n5's dials of it refused for good: n1 ready (2 of 5 cut off).
    Then n5 stopped and force-removed through n2: n1's readiness once its view has n5
    ``removing``, its ``not_reached_by`` and its view's live members."""
    async with cluster(tmp_path, nodes=FIVE, gossip_interval=0.2, suspicion_timeout=0.5,
                       reach_grace_s=GRACE_S, shadow_round_s=0.5) as servers:
        new = await restarted_refused(servers, tmp_path / "n1.sqlite",
                                      {"n4": [FOR_GOOD], "n5": [FOR_GOOD]})
        try:
            for _ in range(200):  # n2 and n3 connected to n1, n4 and n5 dialed by it,
                # its startup shadow round over (0.5 s here, not the default 2 s: n4
                # and n5 never gossip to it, so it runs its whole length)
                if ({"n2", "n3"} <= new._reached_by and new.node.shadow is None
                        and {"n4", "n5"} <= new._dialed_at.keys()):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(GRACE_S + 0.5)
            before = new.health()["why_not_ready"]
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
            return (before, new.health()["why_not_ready"], new.unreached_by(),
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
    assert (before, after, unreached) == (None, None, ["n4", "n5"])


async def _hung_peers(tmp_path: Path, silent: bool = True, suspicion_timeout: float = 0.5,
                      heard_late: float = 0.0
                      ) -> tuple[bool, bool, list[str], dict[str, Any]]:
    """Three nodes (gossip 0.2 s, suspicion 0.5 s: a member unheard 2 s is down). n2
    and n3 hang as n1 sees them (a SIGSTOP: their connections to n1 stay up, the
    kernel keeping them, but nothing comes on them), and n1's connections to them
    are reset; n1's dials of them then time out at their hellos (the kernel accepts
    for a stopped process). n1's readiness half the grace (:data:`GRACE_S`) after
    the reset (inside it) and the
    grace + 1 s after (``unready``: the samples in between, 0.1 s
    apart, that found it not ready), its ``cannot_dial`` and its put's answer. With
    ``silent`` False n2 and n3 keep sending to n1 (alive, n1's file giving them wrong
    addresses); with ``heard_late`` too, only from that many seconds after the reset
    on (their messages to n1 lost before)."""
    grace = GRACE_S
    since: list[float] = []  # the reset's loop time, once made
    async with cluster(tmp_path, restore_guard=False, gossip_interval=0.2,
                       suspicion_timeout=suspicion_timeout,
                       reach_grace_s=grace) as (n1, n2, n3):
        for _ in range(100):  # every connection up
            if all(len(server._inbound) == len(server._outbound) == 2
                   for server in (n1, n2, n3)):
                break
            await asyncio.sleep(0.05)
        for hung in (n2, n3) if silent or heard_late else ():
            def quiet(dest: str, message: object, real: Any = hung._send) -> None:
                if dest != "n1" or (not silent and since and (
                        n1.loop.time() - since[0] >= heard_late)):
                    real(dest, message)
            hung._send = quiet  # type: ignore[method-assign]
        real_hello = n1._dial_hello

        async def timing_out(peer: str, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> Any:
            if peer in ("n2", "n3"):
                raise TimeoutError
            return await real_hello(peer, reader, writer)

        n1._dial_hello = timing_out  # type: ignore[method-assign]
        for peer in ("n2", "n3"):
            n1._outbound[peer].close()
        reset = n1.loop.time()
        since.append(reset)
        for peer in ("n2", "n3"):  # both dialed again at once
            n1._queues[peer].put_nowait(b"")
        await asyncio.sleep(grace / 2)
        # ready inside the grace (not asked of a loop that got here past it)
        before = bool(n1.health()["ready"]) or n1.loop.time() - reset >= grace
        unready = 0  # samples of n1 not ready, every 0.1 s, to a second past the grace
        for _ in range(int(grace * 5) + 10):
            await asyncio.sleep(0.1)
            unready += not n1.health()["ready"]
        code, _, answer = await call("PUT", url(n1, "/kv/k?w=1"), b"v")
        return before, bool(n1.health()["ready"]), sorted(n1.cannot_dial), {
            "code": code, "message": answer.get("message"), "inbound": sorted(n1._inbound),
            "unready": unready}


def test_hung_peers_count_as_down(tmp_path: Path) -> None:
    """n2 and n3 hung (connected to n1, silent) and n1 unable to dial them: held down
    by n1's failure detector, as crashed peers are (Dynamo's sloppy quorum serves
    on), so n1 stays ready and its W = 1 put 200, ``cannot_dial`` naming both all the
    same. Before (session 33's review, reproduced with real processes: 5 nodes, n3,
    n4, n5 SIGSTOPped, n1's connections to them reset with ``ss -K``): n1 not ready
    and every request 503 from 5 s after the reset, for as long as they hung, where
    the same peers crashed leave it ready."""
    before, after, undialed, answer = run(_hung_peers(tmp_path), limit=60)
    assert answer["inbound"] == ["n2", "n3"]
    assert (before, after, undialed, answer["code"]) == (True, True, ["n2", "n3"], 200), answer


def test_peers_undialed_at_once_log_not_ready_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The same, n2 and n3 alive (sending to n1): n1 not ready, and the line saying
    so is written once though both peers' dials failed at once. Before (session
    33's review): once per peer, two identical lines here (three at five nodes
    with three peers undialed, real processes)."""
    caplog.set_level(logging.WARNING, logger="vdynamo")
    before, after, undialed, answer = run(_hung_peers(tmp_path, silent=False), limit=60)
    assert (before, after, undialed, answer["code"]) == (True, False, ["n2", "n3"], 503)
    assert caplog.text.count("n1: not ready: ") == 1, caplog.text


def test_peers_heard_only_after_the_grace_still_log_not_ready(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The same, n2 and n3 heard by n1 only 1.5 s after the reset (past the 1 s
    grace; before its failure detector holds them down, 2 s): n1 turns not ready
    when they are heard, and says so once. Before (session 44): the grace's one
    check found them not counted yet (nothing heard since the dials failed), and
    no line was ever written: n1 503 with nothing in its log."""
    caplog.set_level(logging.WARNING, logger="vdynamo")
    before, after, undialed, answer = run(
        _hung_peers(tmp_path, silent=False, heard_late=1.5), limit=60)
    assert (before, after, undialed, answer["code"]) == (True, False, ["n2", "n3"], 503)
    assert caplog.text.count("n1: not ready: ") == 1, caplog.text


async def _undialed_then_stopped(tmp_path: Path) -> tuple[bool, bool, list[str]]:
    """n1 of three unable to dial n2 and n3 (their gossip reaching it): not ready past
    the grace (waited for, at most 10 s more); then n2 and n3 stopped (crashed, as far
    as n1 knows: their connections close): n1's readiness 0.5 s later, and its
    ``cannot_dial``."""
    async with cluster(tmp_path, restore_guard=False, gossip_interval=0.2,
                       reach_grace_s=GRACE_S) as servers:
        new = await restarted_refused(servers, tmp_path / "n1.sqlite", {},
                                      {"n2": [FOR_GOOD], "n3": [FOR_GOOD]})
        try:
            for _ in range(200):
                if len(new.cannot_dial) == 2:
                    break
                await asyncio.sleep(0.05)
            # past the grace, until n2 and n3 were heard since (their gossip rounds,
            # 0.2 s, each picking n1 one time in two): not ready, at most 10 s more
            await asyncio.sleep(GRACE_S)
            for _ in range(200):
                if not new.health()["ready"]:
                    break
                await asyncio.sleep(0.05)
            before = bool(new.health()["ready"])
            await servers[1].stop()
            await servers[2].stop()
            await asyncio.sleep(0.5)
            return before, bool(new.health()["ready"]), sorted(new.cannot_dial)
        finally:
            await new.stop()


def test_undialed_peers_that_stop_no_longer_count(tmp_path: Path) -> None:
    """n1 not ready while n2 and n3 run and it cannot dial them; once they stopped
    (down for every node alike: Dynamo's sloppy quorum serves on) n1 is ready at
    once, not only when its failure detector holds them down (12 s at the default
    settings), though ``cannot_dial`` still names them (until a dial passes)."""
    assert run(_undialed_then_stopped(tmp_path), limit=60) == (False, True, ["n2", "n3"])


def test_hung_peers_never_count_before_the_detector_holds_them_down(
        tmp_path: Path) -> None:
    """The same at the default suspicion timeout (3 s: a member unheard 12 s is down,
    past the grace): n1 ready at every sample (0.1 s apart, the grace and 1 s), as n2 and n3,
    hung, sent nothing since its dials of them began failing. Before (session 33's
    review): not ready from the grace's end until its failure detector held them
    down (1.76 s, two real nodes, n2 SIGSTOPped, n1's connection to it reset)."""
    before, after, undialed, answer = run(_hung_peers(tmp_path, suspicion_timeout=3.0),
                                          limit=60)
    assert (before, after, undialed, answer["code"], answer["unready"]) == (
        True, True, ["n2", "n3"], 200, 0), answer
