"""Nodes whose [cluster] limits differ say so: one warning per peer naming each
differing limit and both values, and ``peer_limits_differ`` in /status.

Session 14's probe B: during a rolling change of ``max_value_bytes`` a replica
refuses a peer's record holding a value over its own limit, and hints, read
repair and anti-entropy send it again at every round, with nothing saying why.
Each hello now carries the sender's record limits (impl.peer_auth.HelloInfo,
authenticated with the rest of the hello) and each node compares them with its
own (``NodeServer._compare_limits``)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

import vdynamo
from impl.config import ClusterConfig
from impl.messages import HintDelivery, KeyRecords, PutRequest, ReadRepair, ReplicaPut
from impl.peer_auth import HelloInfo
from impl.records import encode_record
from impl.runtime import COMPARED_LIMITS, Address, NodeAddresses, NodeServer, RuntimeConfig
from impl.serve import serve
from impl.versions import ClockMode, Record, apply_put
from spec.vclock import VClock
from tests.runtime.live import (
    NAMES,
    QUIET,
    SECRET,
    call,
    cluster,
    dial,
    parse_response,
    run,
    settled,
    url,
)
from tests.runtime.procs import free_ports


def _info(server: NodeServer, **changes: int) -> HelloInfo:
    limits = {name: int(getattr(server.config, name)) for name in COMPARED_LIMITS}
    limits.update(changes)
    return HelloInfo(server.config.name, tuple(sorted(limits.items())))


def test_a_peer_with_other_limits_is_named_once_with_both_values(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        # no restore guard: no fresh store's startup gossip, whose real connection
        # from n2 would interleave with the dials as n2 below (Node._announce_fresh);
        # and no gossip or anti-entropy round (QUIET): a dial as n2 replaces the real
        # n2's connection, which n2 dialed again at its next round, its true limits
        # ("now runs the same") read before the check under load (session 58: a 1.5 s
        # pause injected before it failed 3 of 3 runs so, none with QUIET)
        async with cluster(tmp_path, **QUIET) as servers:
            target = servers[0]
            mine = target.config.max_value_bytes
            # n1's own connection to the real n2 first (a put to every replica): else
            # the hellos below, forged as n2's, make n1 connect back to the real n2
            # (NodeServer._connect_back, session 32), whose hello gives n2's true
            # limits, and the test's n2 seems to flip between the two
            assert (await call("PUT", url(target, "/kv/k?w=3"), b"v"))[0] == 200
            for _ in range(100):
                if "n2" in target._outbound:
                    break
                await asyncio.sleep(0.05)
            assert "n2" in target._outbound
            for _ in range(3):  # reconnects say nothing new
                _, writer, _ = await dial(target, "n2",
                                          info=_info(target, max_value_bytes=2048))
                writer.close()
                await asyncio.sleep(0.05)
            assert target.status()["peer_limits_differ"] == {
                "n2": {"max_value_bytes": {"here": mine, "there": 2048}}}
            assert target.refused_peers == 0  # warned, not refused
            _, writer, _ = await dial(target, "n2", info=_info(target))  # the same again
            writer.close()
            await asyncio.sleep(0.05)
            assert target.status()["peer_limits_differ"] == {}
    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        run(scenario())
    lines = [r.getMessage() for r in caplog.records if "limits" in r.getMessage()]
    assert len(lines) == 2, lines
    assert (f"n1: peer n2 runs other [cluster] limits: max_value_bytes {1 << 20} here, "
            "2048 at n2") in lines[0]
    assert "now runs the same" in lines[1]


def test_nodes_with_the_same_limits_say_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            assert (await call("PUT", url(servers[0], "/kv/k?w=3"), b"v"))[0] == 200
            for server in servers:
                assert server.status()["peer_limits_differ"] == {}
    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        run(scenario())
    assert not [r for r in caplog.records if "limits" in r.getMessage()]


def _record(value: bytes) -> bytes:
    return encode_record(apply_put(Record.empty(ClockMode.DVV), VClock.of({}), value,
                                   coordinator="n1", client_id="x", now=0.0))


def test_records_the_peer_would_refuse_are_held_back_and_counted(tmp_path: Path) -> None:
    """A peer announcing a smaller max_value_bytes is not sent the records it would
    refuse (it refused them at every round of hints, read repair and anti-entropy);
    the rest still goes, and once the limits agree the records go again."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1, n2, _ = servers
            n1._compare_limits("n2", _info(n1, max_value_bytes=2048))
            queued = n1._queued_bytes.get("n2", 0)
            big, small = _record(b"x" * 4096), _record(b"y" * 100)
            n1._send("n2", ReadRepair(b"big", big))
            n1._send("n2", HintDelivery(1, b"big", big))
            assert n1.withheld_records == 2
            assert n1._queued_bytes.get("n2", 0) == queued  # nothing queued for n2
            n1._send("n2", KeyRecords((b"big", b"small"), (big, small), session=1))
            assert n1.withheld_records == 3
            assert n1._queued_bytes.get("n2", 0) > queued  # the small record went
            n1._send("n2", ReplicaPut(7, b"big", big))
            assert n1.status()["withheld_records"] == 4
            before = n1._queued_bytes.get("n2", 0)
            n1._send("n3", ReadRepair(b"big", big))  # n3 announced nothing smaller
            assert n1.withheld_records == 4
            n1._compare_limits("n2", _info(n1))  # the limits agree again: sent as before
            n1._send("n2", ReadRepair(b"big", big))
            assert n1.withheld_records == 4 and n1._queued_bytes.get("n2", 0) > before
            await asyncio.sleep(0.2)
            assert n2.node.record(b"big") is not None  # the repair reached n2
    run(scenario())


def _raised_n1(tmp_path: Path, **changes: Any) -> tuple[RuntimeConfig, RuntimeConfig]:
    """The configurations of a rolling raise of ``max_value_bytes``: n1's (2 MiB),
    then n2's and n3's (1 MiB), N = 3, R = 1, with ``changes``."""
    ports = free_ports(6)
    nodes = {name: NodeAddresses(Address("127.0.0.1", ports[2 * i]),
                                 Address("127.0.0.1", ports[2 * i + 1]),
                                 tmp_path / f"{name}.sqlite")
             for i, name in enumerate(NAMES)}
    common: dict[str, Any] = {"n": 3, "r": 1, "replica_timeout": 0.2,
                              "request_timeout": 1.0, "secret": SECRET, **changes}
    return (RuntimeConfig(ClusterConfig(nodes=NAMES, max_value_bytes=2 << 20, **common),
                          nodes),
            RuntimeConfig(ClusterConfig(nodes=NAMES, **common), nodes))


async def _heard(server: NodeServer, peers: set[str]) -> None:
    """Wait (5 s at most) until ``server`` has had the hellos of ``peers`` (gossip's
    connections) and noted each one's limits as differing."""
    for _ in range(100):
        if peers <= set(server.peer_limits_differ):
            return
        await asyncio.sleep(0.05)


def test_a_rolling_change_of_max_value_bytes_is_named_and_nothing_is_sent_to_be_refused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Real nodes: n1 already runs max_value_bytes = 2 MiB, n2 and n3 still 1 MiB.
    A 1.5 MiB put through n1 is stored on n1; n2 and n3 are named in n1's log and
    never sent the record (before, each refused it -- ``stats.dropped`` -- at every
    put, read repair and anti-entropy round)."""
    new, old = _raised_n1(tmp_path, w=1, anti_entropy_interval=0.5)

    async def scenario() -> None:
        servers = [*await serve(new, ["n1"]), *await serve(old, ["n2", "n3"])]
        try:
            await settled(servers)  # past the start's shadow rounds (session 58)
            n1, n2, n3 = servers
            await _heard(n1, {"n2", "n3"})
            assert n1.peer_limits_differ["n2"]["max_value_bytes"] == (2 << 20, 1 << 20)
            status, _, _ = await call("PUT", url(n1, "/kv/big"), b"v" * (3 << 19))
            assert status == 200
            await asyncio.sleep(1.5)  # anti-entropy rounds
            assert n1.withheld_records >= 2
            assert n2.node.stats["dropped"] == 0 and n3.node.stats["dropped"] == 0
            assert n2.node.record(b"big") is None and n3.node.record(b"big") is None
        finally:
            for server in servers:
                await server.stop()
    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        run(scenario())
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("n1: ")]
    assert any(f"max_value_bytes {2 << 20} here, {1 << 20} at n2" in line for line in lines)
    held = [line for line in lines if "holding back records n2" in line]
    assert len(held) == 1
    assert (f"(its max_value_bytes {1 << 20}, max_key_bytes 1024; here {2 << 20}, 1024)"
            in held[0])


def test_a_put_fewer_than_w_homes_could_store_is_refused_413_at_once(
        tmp_path: Path) -> None:
    """Session 30's user probe: n1 raised to max_value_bytes = 2 MiB, n2 and n3 still
    1 MiB. A 1.5 MiB put through n1 with W = 2 could reach one home only (n1): it was
    stored on n1 and answered 504 after ``request_timeout`` (outcome unknown), each
    retry a put that can never be acknowledged. Now 413 at once, naming both peers and
    their limits, nothing written; with W = 1 it is stored as before, and a small
    value at W = 3 is unaffected; a delete is never refused for the limits."""
    new, old = _raised_n1(tmp_path, w=2)

    async def scenario() -> None:
        servers = [*await serve(new, ["n1"]), *await serve(old, ["n2", "n3"])]
        try:
            await settled(servers)  # past the start's shadow rounds (session 58)
            n1 = servers[0]
            await _heard(n1, {"n2", "n3"})
            # with Expect: refused with its head, no 100 (session 30's review: the
            # 413 came after the whole value; HttpApi._head_refusal)
            address = n1.http_address
            assert address is not None
            reader, writer = await asyncio.open_connection(address.host, address.port)
            writer.write(b"PUT /kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                         b"Expect: 100-continue\r\n\r\n" % (3 << 19))
            answer = await asyncio.wait_for(reader.read(), 5.0)  # then the node closes
            writer.close()
            assert not answer.startswith(b"HTTP/1.1 100"), answer[:60]
            status, _, body = parse_response(answer)
            assert status == 413 and "W=2" in body["message"], body
            value = b"v" * (3 << 19)
            loop = asyncio.get_running_loop()
            started = loop.time()
            status, _, body = await call("PUT", url(n1, "/kv/big"), value)
            assert status == 413, (status, body)
            assert loop.time() - started < 0.5  # at once, not after request_timeout
            assert n1.node.record(b"big") is None  # nothing written
            message = str(body)
            for peer in ("n2", "n3"):
                assert f"{peer} (max_value_bytes {1 << 20}, max_key_bytes 1024)" in message
            assert "W=2" in message
            status, _, _ = await call("PUT", url(n1, "/kv/big?w=1"), value)
            assert status == 200  # one home can take it: as before
            assert n1.node.record(b"big") is not None
            status, _, _ = await call("PUT", url(n1, "/kv/small?w=3"), b"s")
            assert status == 200
            status, _, _ = await call("DELETE", url(n1, "/kv/big?w=1"), b"")
            assert status in (200, 204)
        finally:
            for server in servers:
                await server.stop()
    run(scenario())


def test_the_homes_limits_are_judged_as_each_home_judges_them(tmp_path: Path) -> None:
    """Session 30's review of ``NodeServer.unreplicable``: what a home's
    ``max_value_bytes`` limits is the body (``impl.http_values.body_bytes``), not
    the stored value with its content type; a 1 MiB ``text/plain`` body, which n2
    and n3 (1 MiB) store, was refused 413 through n1 (2 MiB) at W = 2 (the sealed
    value is 1 MiB + 15 bytes). Through n2, whose peer n1 runs the larger limit,
    nothing is refused for it; a key over the homes' ``max_key_bytes`` is named, and
    the 413's ``limit`` is the one passed (session 53's review: ``max_value_bytes``
    for the key too; mutant checked to fail: ``error_body`` picking by
    ``LIMIT_NAMES``'s order again)."""
    ports = free_ports(6)
    nodes = {name: NodeAddresses(Address("127.0.0.1", ports[2 * i]),
                                 Address("127.0.0.1", ports[2 * i + 1]),
                                 tmp_path / f"{name}.sqlite")
             for i, name in enumerate(NAMES)}
    common: dict[str, Any] = {"n": 3, "r": 1, "w": 2, "replica_timeout": 0.2,
                              "request_timeout": 1.0, "secret": SECRET}
    new = RuntimeConfig(ClusterConfig(nodes=NAMES, max_value_bytes=2 << 20,
                                      max_key_bytes=2048, **common), nodes)
    old = RuntimeConfig(ClusterConfig(nodes=NAMES, **common), nodes)

    async def scenario() -> None:
        servers = [*await serve(new, ["n1"]), *await serve(old, ["n2", "n3"])]
        try:
            await settled(servers)  # past the start's shadow rounds (session 58)
            n1, n2 = servers[0], servers[1]
            await _heard(n1, {"n2", "n3"})
            await _heard(n2, {"n1"})
            text = {"content-type": "text/plain"}
            status, _, body = await call("PUT", url(n1, "/kv/edge"), b"e" * (1 << 20), text)
            assert status == 200, (status, body)  # every home takes a 1 MiB body
            status, _, body = await call("PUT", url(n1, "/kv/over"), b"o" * ((1 << 20) + 1),
                                         text)
            assert status == 413 and f"its {(1 << 20) + 1}-byte value" in str(body), body
            assert body["limit"] == "max_value_bytes", body  # session 53's review
            first = next(key for key in (f"c{i}" for i in range(100))
                         if n1.node.preference_list(key.encode())[0] == "n1")
            async with vdynamo.connect_async([f"http://{n1.http_address}"]) as client:
                with pytest.raises(vdynamo.RequestRefusedError) as refused:
                    await client.put(first, b"o" * ((1 << 20) + 1))  # routed to n1
            assert refused.value.status == 413 and "W=2" in str(refused.value)
            status, _, body = await call("PUT", url(n2, "/kv/edge2?w=3"), b"e" * (1 << 20),
                                         text)
            assert status == 200, (status, body)  # n1's larger limits refuse nothing
            status, _, body = await call("PUT", url(n1, "/kv/" + "k" * 1024), b"v")
            assert status == 200, (status, body)  # a key of the homes' limit exactly
            status, _, body = await call("PUT", url(n1, "/kv/" + "k" * 1500), b"v")
            assert status == 413, (status, body)
            assert f"n2 (max_value_bytes {1 << 20}, max_key_bytes 1024)" in str(body)
            # the limit the key passed (session 53's review: "max_value_bytes" before,
            # the first of the two the message named)
            assert body["limit"] == "max_key_bytes", body
            assert n1.node.record(b"k" * 1500) is None
        finally:
            for server in servers:
                await server.stop()
    run(scenario())


def test_the_openapi_document_names_the_413_of_a_put_fewer_than_w_homes_could_store(
        ) -> None:
    """Session 30's review: the put's 413 documented values over this node's limits
    only; ``NodeServer.unreplicable`` refuses one its homes' smaller limits refuse."""
    from impl.openapi import document
    put = document(ClusterConfig(nodes=NAMES))["paths"]["/kv/{key}"]["put"]
    described = put["responses"]["413"]["description"]
    assert "fewer than W" in described and "max_key_bytes" in described


def test_a_key_stored_before_max_key_bytes_was_lowered_stays_replaceable_at_w_1(
        tmp_path: Path) -> None:
    """Session 30's review: ``unreplicable`` judged this node by its own
    ``max_key_bytes`` too, though its own checks had let the put through (a key
    stored before the limit was lowered, written with its context:
    ``impl.forwarding._stored_key``). With every node lowered to 1,024 and n1
    raising ``max_value_bytes`` (a rolling change: its peers' limits differ), the
    replacement of a 1,500-byte key through n1 at W = 1, which n1 stores, was
    refused 413 (before that commit: 200). A delete of it at W = 2, which only n1
    can store, is not refused 413 for the limits either."""
    long_key = "k" * 1500
    before, _ = _raised_n1(tmp_path, w=3, max_key_bytes=2048)
    new, old = _raised_n1(tmp_path, w=2)
    new = dataclasses.replace(new, nodes=before.nodes)
    old = dataclasses.replace(old, nodes=before.nodes)

    async def scenario() -> None:
        servers = await serve(dataclasses.replace(before, cluster=dataclasses.replace(
            before.cluster, max_value_bytes=1 << 20)), NAMES)
        try:
            await settled(servers)  # past the start's shadow rounds (session 58)
            status, _, body = await call("PUT", url(servers[0], f"/kv/{long_key}"), b"v1")
            assert status == 200, (status, body)
        finally:
            for server in servers:
                await server.stop()
        servers = await serve(old, NAMES)  # every node lowered alike: no limit differs
        try:
            await settled(servers)  # past the start's shadow rounds (session 58)
            status, headers, body = await call("GET", url(servers[0], f"/kv/{long_key}"))
            assert status == 200, (status, body)
            status, _, body = await call("PUT", url(servers[0], f"/kv/{long_key}?w=3"),
                                         b"v1", {"x-vdynamo-context":
                                                 headers["x-vdynamo-context"]})
            assert status == 200, (status, body)  # no home is judged: every one stores it
        finally:
            for server in servers:
                await server.stop()
        servers = [*await serve(new, ["n1"]), *await serve(old, ["n2", "n3"])]
        try:
            await settled(servers)  # past the start's shadow rounds (session 58)
            n1 = servers[0]
            await _heard(n1, {"n2", "n3"})
            status, headers, body = await call("GET", url(n1, f"/kv/{long_key}?r=1"))
            assert status == 200, (status, body)
            context = {"x-vdynamo-context": headers["x-vdynamo-context"]}
            status, headers, body = await call("PUT", url(n1, f"/kv/{long_key}?w=1"), b"v2",
                                               context)
            assert status == 200, (status, body)
            context = {"x-vdynamo-context": headers["x-vdynamo-context"]}
            status, _, body = await call("DELETE", url(n1, f"/kv/{long_key}?w=2"), None,
                                         context)
            assert status != 413, (status, body)
        finally:
            for server in servers:
                await server.stop()
    run(scenario())


def test_a_put_through_a_node_not_among_the_homes_is_judged_by_the_homes_alone(
        tmp_path: Path) -> None:
    """Session 30's review, four nodes, N = 3, W = 2: n1 and n4 raised to
    ``max_key_bytes`` = 2,048 (``max_value_bytes`` the same everywhere), n2 and n3
    still 1,024. A 1,500-byte key whose homes are n1, n2, n3 is refused 413 at once
    through n4 (not a home: it would forward it), though n4 itself and the fourth
    node of the list could store it; one whose homes hold n1 and n4 is stored
    through n4; a key of any length within every limit is unaffected at W = 3."""
    names = ("n1", "n2", "n3", "n4")
    ports = free_ports(8)
    nodes = {name: NodeAddresses(Address("127.0.0.1", ports[2 * i]),
                                 Address("127.0.0.1", ports[2 * i + 1]),
                                 tmp_path / f"{name}.sqlite")
             for i, name in enumerate(names)}
    common: dict[str, Any] = {"nodes": names, "n": 3, "r": 1, "w": 2, "secret": SECRET,
                              "replica_timeout": 0.2, "request_timeout": 1.0}
    new = RuntimeConfig(ClusterConfig(max_key_bytes=2048, **common), nodes)
    old = RuntimeConfig(ClusterConfig(**common), nodes)

    async def scenario() -> None:
        servers = [*await serve(new, ["n1", "n4"]), *await serve(old, ["n2", "n3"])]
        try:
            await settled(servers)  # past the start's shadow rounds (session 58)
            n1, n4 = servers[0], servers[1]
            await _heard(n4, {"n2", "n3"})
            keys = [f"{i:04d}" + "x" * 1496 for i in range(200)]
            homes = {key: n4.node.preference_list(key.encode())[:3] for key in keys}
            outside = next(k for k in keys if set(homes[k]) == {"n1", "n2", "n3"})
            inside = next(k for k in keys if {"n1", "n4"} <= set(homes[k]))
            loop = asyncio.get_running_loop()
            started = loop.time()
            status, _, body = await call("PUT", url(n4, f"/kv/{outside}"), b"v")
            assert status == 413, (status, body)
            assert loop.time() - started < 0.5  # at once, not after request_timeout
            assert "n4" not in str(body) and "n2 (max_value_bytes" in str(body)
            assert n1.node.record(outside.encode()) is None
            status, _, body = await call("PUT", url(n4, f"/kv/{inside}?w=3"), b"v")
            assert status == 413 and "W=3" in str(body), (status, body)  # the request's W
            status, _, body = await call("PUT", url(n4, f"/kv/{inside}"), b"v")
            assert status == 200, (status, body)
            status, _, body = await call("PUT", url(n4, "/kv/short?w=3"), b"v")
            assert status == 200, (status, body)
        finally:
            for server in servers:
                await server.stop()
    run(scenario())


def test_while_ranges_move_each_quorum_group_is_judged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 30's review: during a membership change a put needs W acks in each
    quorum group (``SloppyQuorum.groups``: the current and the future top N), and
    ``unreplicable`` judged the current top N alone. A joining n4 that announced a
    smaller ``max_value_bytes`` (the groups and its hello set here, as a node sees
    them mid-join) takes no 2,000-byte value: the future group n1, n2, n4 has two
    homes that could store it, so a put at W = 3 is refused, naming n4; W = 2 is
    not."""
    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False) as servers:
            n1 = servers[0]
            n1.peer_limits_differ["n4"] = {"max_value_bytes": (1 << 20, 1000)}
            future = ("n1", "n2", "n4")
            monkeypatch.setattr(n1.node.quorum, "groups", lambda key, writing=False: (
                (("n1", "n2", "n3"), future) if writing else ()))
            put = PutRequest(1, b"k", b"v" * 2000, w=3)
            refused = n1.unreplicable(put)
            assert refused is not None and "n4 (max_value_bytes 1000" in str(refused)
            assert n1.unreplicable(dataclasses.replace(put, w=2)) is None
            # n3 refuses too, in the current group, which two can still ack: named is
            # what leaves the future group n1, n4, n5 short, not n3
            for peer in ("n3", "n5"):
                n1.peer_limits_differ[peer] = {"max_value_bytes": (1 << 20, 1000)}
            future = ("n1", "n4", "n5")
            refused = n1.unreplicable(dataclasses.replace(put, w=2))
            assert refused is not None and "n5 (max_value_bytes" in str(refused)
            assert "n3" not in str(refused)
    run(scenario())

