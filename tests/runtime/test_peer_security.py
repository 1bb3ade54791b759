"""Peers are authenticated: a process without the cluster secret changes nothing.

Live nodes on loopback (issue 14, "Security first"; the case
20-forged-peer-frame.py as a test)."""

from __future__ import annotations

import asyncio
import base64
import logging
import struct
from pathlib import Path

import pytest

from impl import errors
from impl.config import ClusterConfig
from impl.messages import ReadRepair
from impl.peer_auth import HELLO_HEAD_BYTES, NONCE_BYTES, TAG_BYTES, Dialer, parse_hello_head
from impl.runtime import EXAMPLE_SECRETS, Address, check_secret, load_runtime_config
from impl.serve import main
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock
from tests.runtime.live import (
    call,
    closed_by_node,
    cluster,
    dial,
    frame,
    run,
    url,
)


def _dominating_repair(key: bytes, value: bytes) -> ReadRepair:
    """A read repair whose clock dominates anything the test cluster wrote."""
    record = apply_put(Record.empty(ClockMode.DVV),
                       VClock.of({"n1": 10**6, "n2": 10**6, "n3": 10**6}),
                       value, coordinator="n1", client_id="x", now=0.0)
    return ReadRepair(key=key, record=encode_record(record))


def _values(body: dict[str, object]) -> list[bytes]:
    values = body["values"]
    assert isinstance(values, list)
    return sorted(base64.b64decode(v) for v in values)


def test_a_peer_without_the_secret_is_refused_logged_and_changes_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    forged = frame(_dominating_repair(b"cart", b"FORGED"))

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            status, _, _ = await call("PUT", url(servers[0], "/kv/cart"), b"milk")
            assert status == 200
            for server in servers:
                address = server.peer_address
                assert address is not None
                # the hello of the version before authentication, naming a member
                reader, writer = await asyncio.open_connection(address.host, address.port)
                writer.write(b"VDYNHELO" + struct.pack(">H", 2) + b"n2" + forged)
                assert await closed_by_node(reader)
                writer.close()
                # the authenticated hello, with a wrong secret: our side sees the node's
                # proof fail; an attacker would answer the challenge anyway
                # (naming another member: a hello naming the node itself is refused
                # before its proof, session 26)
                member = "n3" if server.name == "n2" else "n2"
                with pytest.raises(errors.BadMessageError, match="secret"):
                    await dial(server, member, secret=b"not the cluster secret")
                reader, writer = await asyncio.open_connection(address.host, address.port)
                writer.write(Dialer(b"not the cluster secret", member, server.name).hello())
                length, info_length = parse_hello_head(
                    await reader.readexactly(HELLO_HEAD_BYTES))
                await reader.readexactly(length + info_length + NONCE_BYTES + TAG_BYTES)
                writer.write(bytes(TAG_BYTES) + forged)
                assert await closed_by_node(reader)
                writer.close()
            await asyncio.sleep(0.3)
            for server in servers:
                assert server.refused_peers == 2, server.name
                assert server.node.record(b"cart") is not None
            status, _, body = await call("GET", url(servers[0], "/kv/cart?r=3"))
            assert status == 200 and _values(body) == [b"milk"]
    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        run(scenario())
    refusals = [r.getMessage() for r in caplog.records if "refused peer" in r.getMessage()]
    assert len(refusals) == 6
    assert all("127.0.0.1" in line for line in refusals)  # the address is named
    assert any("version" in line for line in refusals)
    assert any("secret" in line for line in refusals)


@pytest.mark.parametrize("attack", ["bad-mac", "replayed"])
def test_a_frame_that_fails_its_mac_closes_the_connection_and_changes_nothing(
        tmp_path: Path, attack: str) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            target = servers[1]
            reader, writer, sealer = await dial(target, "n3")
            innocent = sealer.seal(frame(_dominating_repair(b"other", b"fine")))
            forged = frame(_dominating_repair(b"cart", b"FORGED"))
            if attack == "bad-mac":
                writer.write(forged + bytes(TAG_BYTES))
            else:  # a frame the peer did seal, sent a second time
                writer.write(innocent + innocent[:-TAG_BYTES] + innocent[-TAG_BYTES:])
            await writer.drain()
            assert await closed_by_node(reader)
            writer.close()
            assert target.refused_peers == 1
            assert target.node.record(b"cart") is None
            # the cluster itself still talks: a w=3 put reaches every replica
            status, _, _ = await call("PUT", url(servers[0], "/kv/after?w=3"), b"ok")
            assert status == 200
    run(scenario())


def test_every_message_type_is_refused_without_its_mac(tmp_path: Path) -> None:
    """The tag is checked before the frame's type is looked at: a frame of any type
    code (known or not) whose tag fails closes the connection as a refused peer.
    (A runtime that skipped the check for one type, say ReplicaPut, passed the tests
    above, which forge only a ReadRepair.)"""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            target = servers[1]
            await servers[2].stop()  # the test speaks as n3: the real one must not reconnect
            body = bytes(4)
            for code in range(256):
                reader, writer, _ = await dial(target, "n3")
                writer.write(b"VDYN\x01" + bytes([code]) + struct.pack(">I", len(body)) + body
                             + bytes(TAG_BYTES))
                await writer.drain()
                assert await closed_by_node(reader), f"type {code}"
                writer.close()
                assert target.refused_peers == code + 1, f"type {code}"
    run(scenario())


def test_one_undecodable_frame_is_dropped_alone_and_the_next_one_is_delivered(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            target = servers[1]
            await servers[2].stop()  # the test speaks as n3: the real one must not reconnect
            reader, writer, sealer = await dial(target, "n3")
            writer.write(sealer.seal(b"VDYN\x01\xff\x00\x00\x00\x00"))  # unknown type
            writer.write(sealer.seal(frame(_dominating_repair(b"k", b"repaired"))))
            await writer.drain()
            for _ in range(50):
                if target.node.record(b"k") is not None:
                    break
                await asyncio.sleep(0.05)
            record = target.node.record(b"k")
            assert record is not None
            assert target.refused_peers == 0
            assert not await closed_by_node(reader, timeout=0.2)  # still open
            writer.close()
    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        run(scenario())
    dropped = [r.getMessage() for r in caplog.records if "dropped a frame" in r.getMessage()]
    assert len(dropped) == 1 and "from n3" in dropped[0] and "type 255" in dropped[0]


def _write_cluster_file(tmp_path: Path, secret: str | None) -> Path:
    line = "" if secret is None else f'secret = "{secret}"\n'
    path = tmp_path / "cluster.toml"
    path.write_text('[cluster]\nnodes = ["a"]\nn = 1\nr = 1\nw = 1\n' + line
                    + '[nodes.a]\npeer = "0"\nhttp = 0\n')
    return path


@pytest.mark.parametrize("secret", [None, "vdynamo-default-secret-change-me",
                                    "change me, at least 16 bytes", "short"])
def test_serve_refuses_a_missing_public_or_short_secret(
        tmp_path: Path, secret: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_cluster_file(tmp_path, secret)
    assert main([str(path), "--all"]) == 2
    assert "secret" in capsys.readouterr().err
    # --insecure-dev lets it through (a short one is stretched to 32 bytes)
    config = load_runtime_config(path, insecure_dev=True)
    assert len(config.cluster.secret) >= 16


def test_secret_checks_and_loopback_defaults(tmp_path: Path) -> None:
    assert EXAMPLE_SECRETS[0] == ClusterConfig(nodes=("a",), n=1, r=1, w=1).secret
    assert check_secret(b"s" * 16) == b"s" * 16
    assert check_secret(b"short", insecure_dev=True) != b"short"
    config = load_runtime_config(_write_cluster_file(tmp_path, "a private secret!"),
                                 insecure_dev=False)
    assert config.nodes["a"].peer == Address("127.0.0.1", 0)  # a bare port: loopback
    assert config.nodes["a"].http == Address("127.0.0.1", 0)
    assert Address.parse("10.0.0.1:7001", "x") == Address("10.0.0.1", 7001)


def test_a_peer_that_reconnects_replaces_its_old_connection(tmp_path: Path) -> None:
    """Authenticated connections are never idle-evicted; one per peer keeps a peer
    whose old connection died silently from filling the cap."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            await servers[2].stop()  # the test speaks as n3: the real one must not reconnect
            old_reader, old_writer, _ = await dial(servers[1], "n3")
            await asyncio.sleep(0.1)
            new_reader, new_writer, _ = await dial(servers[1], "n3")
            assert await closed_by_node(old_reader, timeout=2)
            assert not await closed_by_node(new_reader, timeout=0.2)
            for writer in (old_writer, new_writer):
                writer.close()
    run(scenario())


def test_frames_split_and_batched_anyhow_are_delivered_and_an_oversized_one_closes(
        tmp_path: Path) -> None:
    """The node reads a peer's stream in chunks (impl.runtime._read_frames): frames
    that arrive several in one segment, or a byte at a time, are all delivered in
    order; a header announcing more than max_frame_bytes closes the connection
    before the body is sent."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            _, writer, sealer = await dial(node)
            sealed = [sealer.seal(frame(_dominating_repair(f"batched-{i}".encode(), b"v")))
                      for i in range(3)]
            writer.write(b"".join(sealed))  # three frames in one segment
            last = sealer.seal(frame(_dominating_repair(b"trickled", b"v")))
            for index in range(len(last)):  # one frame a byte at a time
                writer.write(last[index:index + 1])
                await writer.drain()
                if index % 64 == 0:
                    await asyncio.sleep(0)
            for _ in range(100):
                if node.node.record(b"trickled") is not None:
                    break
                await asyncio.sleep(0.02)
            assert all(node.node.record(f"batched-{i}".encode()) is not None
                       for i in range(3))
            assert node.node.record(b"trickled") is not None
            writer.close()
            dropped = node.dropped_frames
            reader, writer, sealer = await dial(node)
            header = frame(_dominating_repair(b"huge", b"v"))[:10]
            oversized = header[:6] + struct.pack(">I", node.config.max_frame_bytes)
            writer.write(oversized)  # a header only: the node must not wait for the body
            await writer.drain()
            assert await closed_by_node(reader)
            assert node.dropped_frames == dropped + 1
            writer.close()
    run(scenario())
