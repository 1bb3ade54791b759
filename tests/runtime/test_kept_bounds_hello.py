"""The kept record bounds in a hello (session 22's review of session 21's fix).

Each hello carries the sender's kept record bounds (``kept_record_bytes``,
``kept_record_siblings``: :data:`impl.runtime.KEPT_BOUNDS`) and a receiver that
authenticated the sender raises its own to them (``NodeServer._adopt_record_bounds``),
so that a replaced disk takes the records its peers stored under larger limits.
Hand mutants of that code survived the tests of session 21: a hello with the two
bounds swapped, adoption of the bytes bound alone (of the siblings one alone),
and adoption from the hello of a dialer that then failed the challenge. These
tests kill them, on three nodes in the test's loop (loopback). The last ones:
a ``max_frame_bytes`` below the kept record bytes is named at the start, and
each over-frame drop is logged once per peer and kind (probe (d) of the review,
docs/runtime.md)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from impl.config import ClusterConfig, merge_sides, merged_record_bytes
from impl.messages import ReplicaPut
from impl.peer_auth import HelloInfo, PeerAuthError
from impl.runtime import KEPT_BOUNDS, NodeServer
from impl.storage.memory import MemoryStorage
from tests.runtime.live import cluster, dial_hello, run


def _kept(server: NodeServer, record_bytes: int, siblings: int) -> HelloInfo:
    """A hello's info naming ``server``'s cluster and these kept bounds."""
    return HelloInfo(server.config.name, tuple(zip(KEPT_BOUNDS, (record_bytes, siblings),
                                                   strict=True)))


async def _hello(server: NodeServer, info: HelloInfo, secret: bytes | None = None) -> None:
    """One hello to ``server`` as n2 saying ``info``, closed once through."""
    if secret is None:
        _, writer, _, _ = await dial_hello(server, "n2", info=info)
    else:
        _, writer, _, _ = await dial_hello(server, "n2", secret, info)
    writer.close()
    await asyncio.sleep(0.05)


def test_a_hello_says_the_kept_bytes_and_siblings_each_under_its_name(
        tmp_path: Path) -> None:
    """A store that ran with no other limits keeps its configuration's bounds:
    3 sides x its record bytes, and 75 siblings (3 x 25). Before the tests of
    session 22, a hello carrying them swapped passed every test."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False) as servers:
            target = servers[0]
            _, writer, _, info = await dial_hello(target)
            writer.close()
            said = dict(info.limits)
            config = target.config
            assert (said["kept_record_bytes"], said["kept_record_siblings"]) == (
                merged_record_bytes(config), merge_sides(config) * config.max_siblings)
            assert target.node.replica.kept_bounds == (said["kept_record_bytes"],
                                                       said["kept_record_siblings"])
    run(scenario())


def test_an_authenticated_peer_raises_each_bound_and_never_lowers_one(
        tmp_path: Path) -> None:
    """Both bounds rise to a peer's larger ones, each on its own; smaller ones
    change nothing."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False) as servers:
            target = servers[0]
            own_bytes, own_siblings = target.node.replica.kept_bounds
            await _hello(target, _kept(target, own_bytes + 1, own_siblings))
            assert target.node.replica.kept_bounds == (own_bytes + 1, own_siblings)
            await _hello(target, _kept(target, own_bytes, own_siblings + 1))
            assert target.node.replica.kept_bounds == (own_bytes + 1, own_siblings + 1)
            await _hello(target, _kept(target, 1, 1))
            assert target.node.replica.kept_bounds == (own_bytes + 1, own_siblings + 1)
    run(scenario())


def test_a_dialer_that_fails_the_challenge_teaches_no_bounds(tmp_path: Path) -> None:
    """A hello's info arrives before its sender proved anything: a dialer without
    the cluster secret claiming huge bounds changes none (the acceptor adopts only
    once the proof passed)."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False) as servers:
            target = servers[0]
            before = target.node.replica.kept_bounds
            with pytest.raises(PeerAuthError):  # the node's challenge came after its
                # reading of the hello (Acceptor.on_hello), where it must adopt nothing
                await _hello(target, _kept(target, 1 << 40, 1 << 20), b"another secret" * 2)
            assert target.node.replica.kept_bounds == before
    run(scenario())


def test_a_frame_over_the_limit_is_logged_once_per_peer_and_kind(
        caplog: pytest.LogCaptureFixture) -> None:
    """Three ReplicaPuts of a 10 MB record to n2 and one to n1's other peer, over a
    9 MiB ``max_frame_bytes``: each dropped and counted, one line per peer. Before
    session 22's review each drop logged a line (a key kept from earlier limits is
    sent again at every round: 78 lines at one node in a 4 s wait and 9 GETs)."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), n=2, r=1, w=1, max_siblings=1,
                           max_value_bytes=1 << 20, max_frame_bytes=9 << 20)
    big = ReplicaPut(1, b"k", b"x" * 10_000_000)

    async def sent() -> int:
        server = NodeServer("n1", config, MemoryStorage("always"), {})
        for dest in ("n2", "n2", "n2", "n3"):
            server._send(dest, big)
        return server.dropped_frames

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        assert asyncio.run(sent()) == 4
    lines = [r.getMessage() for r in caplog.records if "dropped alone" in r.getMessage()]
    assert [line.split(" is ")[0] for line in lines] == ["n1: ReplicaPut to n2",
                                                        "n1: ReplicaPut to n3"], lines
    assert "further ReplicaPut messages to n2 over it are counted in dropped_frames" in lines[0]
