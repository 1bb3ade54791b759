"""A peer's kept record bounds adopted from its hello (session 23's review of
session 22's service fixes; case 20's kind: what one peer's hello may change).

A hello carries the sender's kept record bounds, and the receiver raises its own
to them (``NodeServer._adopt_record_bounds``), which raises its frame limit
(``NodeServer.frame_limit``: the memory one peer connection may buffer) and goes
on in its own hellos. Until this review any authenticated claim was taken (2^40 B
raised the frame limit to 2 GiB, and the receiver's hellos raised every other
node's), and in memory only: a store whose records came from peers under their
bounds forgot them at a restart. Now a claim is cut to what a 64 MiB frame (or a
``max_frame_bytes`` frame, if larger) carries, logged once per peer and claim,
and what is taken is written in the store's ``record_bounds`` entry."""

from __future__ import annotations

import asyncio
import logging

import pytest

from impl import wire
from impl.config import DEFAULT_FRAME_BYTES, ClusterConfig, adoptable_record_bytes
from impl.messages import ReadRepair
from impl.peer_auth import (
    HELLO_HEAD_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    Acceptor,
    parse_hello_head,
)
from impl.runtime import NodeServer
from impl.storage.memory import MemoryStorage
from tests.runtime.test_peer_frame_limit import _sized
from tests.runtime.test_peer_limits import _info

_LIMITS = {"max_value_bytes": 65536, "max_record_bytes": 262144, "max_frame_bytes": 8393728}


def _server(storage: MemoryStorage) -> NodeServer:
    """n1 of three over ``storage`` (not started: no sockets), with the least frame
    its limits allow."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), restore_guard=False, **_LIMITS)
    return NodeServer("n1", config, storage, {})


def test_a_peers_huge_kept_bounds_are_cut_to_a_64_mib_frame_and_the_peer_named(
        caplog: pytest.LogCaptureFixture) -> None:
    """n2's hello claims 2^40 B, twice: n1 takes the record a 64 MiB frame carries,
    its frame limit 64 MiB (2 GiB before), one WARNING naming n2, the claim and
    that no ``max_frame_bytes`` carries it; the siblings bound is taken as said."""
    async def scenario() -> NodeServer:
        server = _server(MemoryStorage("always"))
        for _ in range(2):
            server._compare_limits("n2", _info(server, kept_record_bytes=1 << 40,
                                               kept_record_siblings=200))
        return server

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        server = asyncio.run(scenario())
    assert server.node.replica.kept_bounds == (adoptable_record_bytes(server.config), 200)
    assert server.frame_limit == DEFAULT_FRAME_BYTES  # before: 1 << 31
    lines = [r.getMessage() for r in caplog.records if "kept_record_bytes" in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("n1: peer n2's hello says its store keeps records of up "
                               "to 1099511627776 bytes"), lines
    assert "no max_frame_bytes carries that (2 GiB at most): check n2" in lines[0]


def test_a_claim_within_the_stores_own_bounds_is_not_called_over(
        caplog: pytest.LogCaptureFixture) -> None:
    """A store whose own bounds (its earlier limits) are 1 GiB: a peer of the same
    history claiming them is no claim over what this node takes (no WARNING; a
    mutant leaving the store's bounds out of the cut logged one)."""
    async def scenario() -> NodeServer:
        server = _server(MemoryStorage("always"))
        server.node.replica.kept_bounds = (1 << 30, 75)
        server._compare_limits("n2", _info(server, kept_record_bytes=1 << 30,
                                           kept_record_siblings=75))
        return server

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        server = asyncio.run(scenario())
    assert server.node.replica.kept_bounds == (1 << 30, 75)
    assert not [r for r in caplog.records if "kept_record_bytes" in r.getMessage()]


def test_a_claim_within_64_mib_is_taken_whole() -> None:
    """The bounds of a lowering from the default limits (24 MiB kept, the frame
    limit 8,393,728 B) are taken as said: the cut leaves legitimate bounds alone."""
    async def scenario() -> NodeServer:
        server = _server(MemoryStorage("always"))
        server._compare_limits("n2", _info(server, kept_record_bytes=24 << 20,
                                           kept_record_siblings=75))
        return server

    server = asyncio.run(scenario())
    assert server.node.replica.kept_bounds[0] == 24 << 20
    assert _LIMITS["max_frame_bytes"] < server.frame_limit < DEFAULT_FRAME_BYTES


def test_adopted_bounds_outlive_a_restart() -> None:
    """n1 (a replaced disk, or a node joined after the lowering) adopts n2's bounds
    of 24 MiB and 200 siblings, then restarts on the same store: it keeps them
    (before: the configuration's, 863,232 B and 75 siblings here, and a frame
    limit of 8,393,728 B, so once the nodes of the earlier limits had left the
    records they stored were refused and their frames dropped)."""
    storage = MemoryStorage("always")

    async def adopt() -> tuple[int, int]:
        server = _server(storage)
        server._compare_limits("n2", _info(server, kept_record_bytes=24 << 20,
                                           kept_record_siblings=200))
        return server.node.replica.kept_bounds

    async def restarted() -> NodeServer:
        return _server(storage)

    assert asyncio.run(adopt()) == (24 << 20, 200)
    server = asyncio.run(restarted())
    assert server.node.replica.kept_bounds == (24 << 20, 200)
    assert server.frame_limit > _LIMITS["max_frame_bytes"]


def test_a_dialer_learns_the_acceptors_bounds_and_frame_from_its_challenge() -> None:
    """n1 dials n2 (frames go dialer to acceptor): n2's challenge carries its limits
    and kept bounds, from which n1 takes n2's frame (``_note_peer_frame``) and n2's
    bounds. A mutant that compared nothing on the dialer's side passed every test of
    session 22: in their clusters each pair also connects the other way."""
    async def scenario() -> NodeServer:
        n1 = _server(MemoryStorage("always"))
        n2_info = _info(n1, max_frame_bytes=9 << 20, kept_record_bytes=24 << 20,
                        kept_record_siblings=200)

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            length, info_length = parse_hello_head(await reader.readexactly(HELLO_HEAD_BYTES))
            name, info = await reader.readexactly(length), await reader.readexactly(info_length)
            acceptor = Acceptor(n1.config.secret, "n2", n2_info)
            _, challenge = acceptor.on_hello(name, info, await reader.readexactly(NONCE_BYTES))
            writer.write(challenge)
            acceptor.on_proof(await reader.readexactly(TAG_BYTES))
            writer.close()

        listener = await asyncio.start_server(accept, "127.0.0.1", 0)
        async with listener:
            port = listener.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await n1._dial_hello("n2", reader, writer)
            writer.close()
        return n1

    n1 = asyncio.run(scenario())
    assert n1.node.replica.kept_bounds == (24 << 20, 200)
    assert n1.peer_limits_differ["n2"]["max_frame_bytes"] == (8393728, 9 << 20)
    assert n1._peer_max_frame("n2") > 24 << 20


def test_no_frame_over_the_cut_goes_to_a_peer_whose_hello_kept_less(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer of the same limits adopts this node's kept bounds from its hello only
    up to the cut; a record over it, within this node's own bounds (its earlier
    limits), would close that peer's connection at every resend: held back
    (``withheld_records``). The cut is set to 12 MiB here (64 MiB by default) to
    keep the record small. Before the cut's own review the record was queued. A
    peer whose own hello kept as much takes it."""
    monkeypatch.setattr("impl.runtime.adoptable_record_bytes", lambda config: 12 << 20)

    async def scenario() -> NodeServer:
        server = _server(MemoryStorage("always"))
        server.node.replica.kept_bounds = (24 << 20, 75)  # the store's own, earlier
        server._compare_limits("n2", _info(server, kept_record_bytes=1 << 20,
                                           kept_record_siblings=75))
        record = ReadRepair(b"k", _sized(16_000_000, b"k"))
        assert server.config.max_frame_bytes < len(wire.encode(record)) < server.frame_limit
        server._send("n2", record)
        # n3's store kept as much (the same history): its own bounds take the frame
        server._compare_limits("n3", _info(server, kept_record_bytes=24 << 20,
                                           kept_record_siblings=75))
        server._send("n3", record)
        return server

    assert asyncio.run(scenario()).withheld_records == 1  # n2's; before: 0
