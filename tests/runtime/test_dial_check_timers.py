"""The re-check of a peer this node cannot dial (``NodeServer._check_dialed``, session
44's e877364b: a peer not yet counted is checked again a grace later) ends, and one
chain of checks at most runs per peer (session 44's review; docs/runtime.md).

Before the review: (1) a peer whose dials failed and whose own connection then closed
for good (crashed, removed) stayed in ``cannot_dial`` (cleared only by a dial that
passes), was never counted (:meth:`NodeServer.undialed` needs its connection), and
was checked again every grace until the node stopped; (2) a dial that passed and a
failing one within a grace started a second chain beside the first, still pending,
which went on too: one more timer per grace per such flap."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

from impl.config import ClusterConfig
from impl.metrics import ObservedStorage
from impl.runtime import Address, NodeServer
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import SECRET, run

GRACE_S = 0.5


def _checks(server: NodeServer) -> int:
    """The pending ``_check_dialed`` timers of ``server``'s loop."""
    scheduled = getattr(server.loop, "_scheduled", [])
    return sum(1 for handle in scheduled if not handle.cancelled()
               and getattr(handle, "_callback", None) == server._check_dialed)


async def _alone(tmp_path: Path) -> NodeServer:
    """n1 of three started alone (n2, n3 at a closed port), a 0.5 s reach grace."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), n=3, r=2, w=2, secret=SECRET,
                           reach_grace_s=GRACE_S)
    closed = Address("127.0.0.1", 9)
    server = NodeServer("n1", config, ObservedStorage(SqliteStorage(tmp_path / "n1.sqlite")),
                        {"n2": closed, "n3": closed}, seed=3)
    await server.start(Address("127.0.0.1", 0), Address("127.0.0.1", 0))
    return server


def test_a_peer_gone_after_failed_dials_is_not_checked_forever(tmp_path: Path) -> None:
    """n2's connection up, a dial of it failed, then its connection closed: three
    graces later no check of it is pending (before: one, again every grace)."""
    async def scenario() -> int:
        server = await _alone(tmp_path)
        try:
            server._inbound["n2"] = cast(asyncio.StreamWriter, None)
            server._dial_failed("n2", Address("127.0.0.1", 9), OSError("refused"))
            del server._inbound["n2"]
            await asyncio.sleep(3 * GRACE_S + 0.2)
            return _checks(server)
        finally:
            server._inbound.pop("n2", None)
            await server.stop()
    assert run(scenario()) == 0


def test_a_dial_that_passes_then_fails_keeps_one_check(tmp_path: Path) -> None:
    """n2's connection up: a dial failed, one passed, one failed, within one grace:
    one check of n2 pending, and one after three graces (before: two)."""
    async def scenario() -> tuple[int, int]:
        server = await _alone(tmp_path)
        address = Address("127.0.0.1", 9)
        try:
            server._inbound["n2"] = cast(asyncio.StreamWriter, None)
            server._dial_failed("n2", address, OSError("refused"))
            server._dialed("n2")
            server._dial_failed("n2", address, OSError("refused"))
            now = _checks(server)
            await asyncio.sleep(3 * GRACE_S + 0.2)
            return now, _checks(server)
        finally:
            server._inbound.pop("n2", None)
            await server.stop()
    assert run(scenario()) == (1, 1)
